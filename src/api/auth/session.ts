/**
 * Web sessions of the JSON API: a signed token in the `s3batch_session` cookie, so the web page
 * signs in once with an access key instead of sending the secret with every request.
 *
 * Token: `base64url(JSON {accessKeyId, accountId, exp, epoch: <nonce>}) "." base64url(HMAC-SHA256)`. The MAC
 * is keyed with the server's session key (`<dataDir>/session.key`) and covers the payload and a
 * hash of the key's current secret, so a session ends when its access key is removed, moved to
 * another account or given a new secret, and at `exp` (default lifetime 12 h).
 *
 * Signing out ends the session on the server too: every access key has a session nonce (16 random
 * bytes), kept in `<dataDir>/session-epochs.json`; a token carries the nonce it was issued under
 * and is refused once the key's nonce changed, or when the key has none. Signing out draws a new
 * one, so it ends every session of that access key (all browsers signed in with it), and a copy of
 * the cookie stops working at once, also after a restart. The nonce is random rather than a
 * counter so that losing or deleting the file cannot bring old tokens back: a key without a nonce
 * gets a fresh one at its next sign-in, which no earlier token carries (deleting the file ends
 * every web session). A file of the earlier format (`{"epochs":{"<id>":n}}`, counters) is read as
 * "no nonces": the sessions issued before the upgrade end once.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { S3BatchError } from '../../domain/errors.ts';
import type { AccessKeyStore } from './access-keys.ts';

export const SESSION_COOKIE = 's3batch_session';
const DEFAULT_SESSION_LIFETIME_MS = 12 * 60 * 60 * 1000;
/** Longest token accepted for verification: a real one is about 150 characters. */
const MAX_TOKEN_LENGTH = 1024;

export interface Session {
  readonly accessKeyId: string;
  readonly accountId: string;
  /** Expiry, in milliseconds since the epoch. */
  readonly exp: number;
}

/** The session nonce of each access key; drawing a new one ends every session issued before. */
export interface SessionEpochs {
  /** The key's current nonce, or undefined when it has none (never signed in, or the file was lost). */
  get(accessKeyId: string): string | undefined;
  /** The key's nonce, drawn (and stored, when file-backed) when it has none yet. */
  ensure(accessKeyId: string): string;
  /** Draws a new nonce for the key (and stores it, when file-backed). */
  bump(accessKeyId: string): Promise<void>;
  /** Resolves when every nonce drawn so far is stored. */
  flush(): Promise<void>;
}

const newNonce = (): string => randomBytes(16).toString('base64url');

/** Nonces kept in memory only (tests; a server uses loadSessionEpochs). */
export function memorySessionEpochs(): SessionEpochs {
  const nonces = new Map<string, string>();
  return {
    get: (id) => nonces.get(id),
    ensure(id) {
      let n = nonces.get(id);
      if (n === undefined) nonces.set(id, (n = newNonce()));
      return n;
    },
    bump: async (id) => {
      nonces.set(id, newNonce());
    },
    flush: async () => undefined,
  };
}

/** File name of the nonces under the data folder (named after the counters it held before). */
export const SESSION_EPOCHS_FILE = 'session-epochs.json';

/**
 * Nonces stored in `path` as `{"nonces":{"<accessKeyId>":"<base64url>"}}`, written whole (temporary
 * file and rename) at every change; a missing file, or one of the earlier `{"epochs":…}` format,
 * means no key has a nonce yet (every earlier token is refused).
 */
export async function loadSessionEpochs(path: string): Promise<SessionEpochs> {
  const nonces = new Map<string, string>();
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new S3BatchError('InvalidConfiguration', `Cannot read ${path}: ${(err as Error).message}`);
  }
  if (text !== undefined) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      doc = undefined;
    }
    const isMap = (v: unknown): v is Record<string, unknown> =>
      typeof v === 'object' && v !== null && !Array.isArray(v);
    const current = isMap(doc) ? doc.nonces : undefined;
    // The earlier format (counters): read as no nonces, so that every token issued under it ends.
    const earlier = isMap(doc) ? doc.epochs : undefined;
    if (!isMap(current) && !isMap(earlier))
      throw new S3BatchError(
        'InvalidConfiguration',
        `${path} must hold {"nonces":{"<accessKeyId>":"<nonce>"}}; delete it to end every web session`,
      );
    if (isMap(current))
      for (const [id, n] of Object.entries(current))
        if (typeof n === 'string' && /^[A-Za-z0-9_-]{22}$/.test(n)) nonces.set(id, n);
  }
  let writing: Promise<void> = Promise.resolve();
  const write = async (): Promise<void> => {
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(tmp, `${JSON.stringify({ nonces: Object.fromEntries(nonces) })}\n`, { mode: 0o600 });
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  };
  // One write at a time, each with every nonce so far: the last one written holds them all.
  const save = (): Promise<void> => {
    writing = writing.catch(() => undefined).then(write);
    return writing;
  };
  return {
    get: (id) => nonces.get(id),
    ensure(id) {
      let n = nonces.get(id);
      if (n !== undefined) return n;
      nonces.set(id, (n = newNonce()));
      // Not awaited by the sign-in: if it fails, the token is refused after a restart (sign in again).
      save().catch(() => undefined);
      return n;
    },
    bump(id) {
      nonces.set(id, newNonce());
      return save();
    },
    flush: () => writing.catch(() => undefined),
  };
}

/** Why a token was refused: `expired` (or its key is gone) means "sign in again"; `invalid` means not ours. */
export type SessionCheck = { ok: true; session: Session } | { ok: false; reason: 'invalid' | 'expired' | 'revoked' };

export interface SessionTokens {
  /** A token for this access key (which must be in the store). */
  issue(accessKeyId: string): { token: string; session: Session };
  verify(token: string): SessionCheck;
  /** Ends every session of this access key (sign-out): tokens issued before are refused from now on. */
  revoke(accessKeyId: string): Promise<void>;
  readonly lifetimeMs: number;
}

export interface SessionTokenOptions {
  /** The server's session key (32 random bytes). */
  readonly key: Buffer;
  readonly keys: AccessKeyStore;
  readonly lifetimeMs?: number;
  readonly now?: () => number;
  /** The keys' session nonces; default in memory only. */
  readonly epochs?: SessionEpochs;
}

export function createSessionTokens(opts: SessionTokenOptions): SessionTokens {
  const lifetimeMs = opts.lifetimeMs ?? DEFAULT_SESSION_LIFETIME_MS;
  const now = opts.now ?? Date.now;
  const epochs = opts.epochs ?? memorySessionEpochs();
  const mac = (payload: string, secret: string): Buffer =>
    createHmac('sha256', opts.key)
      .update(payload)
      .update('\n')
      .update(createHash('sha256').update(secret).digest())
      .digest();

  return {
    lifetimeMs,
    revoke: (accessKeyId) => epochs.bump(accessKeyId),
    issue(accessKeyId) {
      const key = opts.keys.get(accessKeyId);
      if (key === undefined) throw new Error(`session for an unknown access key ${accessKeyId}`);
      const session: Session = { accessKeyId: key.accessKeyId, accountId: key.accountId, exp: now() + lifetimeMs };
      // The token also carries the key's session nonce (signed out since: refused).
      const claims = { ...session, epoch: epochs.ensure(key.accessKeyId) };
      const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
      return { token: `${payload}.${mac(payload, key.secretAccessKey).toString('base64url')}`, session };
    },
    verify(token) {
      if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'invalid' };
      const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(token);
      if (m === null) return { ok: false, reason: 'invalid' };
      const [, payload = '', sig = ''] = m; // both groups always match
      let claims: unknown;
      try {
        claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      } catch {
        return { ok: false, reason: 'invalid' };
      }
      if (typeof claims !== 'object' || claims === null) return { ok: false, reason: 'invalid' };
      const { accessKeyId, accountId, exp, epoch } = claims as Record<string, unknown>;
      if (typeof accessKeyId !== 'string' || typeof accountId !== 'string' || typeof exp !== 'number')
        return { ok: false, reason: 'invalid' };
      const key = opts.keys.get(accessKeyId);
      // Unknown key: the token may be genuine (the key was removed) or forged; either way it is refused.
      if (key === undefined) return { ok: false, reason: 'revoked' };
      const given = Buffer.from(sig, 'base64url');
      const expected = mac(payload, key.secretAccessKey);
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        return { ok: false, reason: 'invalid' };
      if (key.accountId !== accountId) return { ok: false, reason: 'revoked' };
      // A token of an earlier nonce (signed out since), or of a key with none (its file was lost or
      // is of the earlier format), has ended.
      const nonce = epochs.get(accessKeyId);
      if (nonce === undefined || epoch !== nonce) return { ok: false, reason: 'revoked' };
      if (exp <= now()) return { ok: false, reason: 'expired' };
      return { ok: true, session: { accessKeyId, accountId, exp } };
    },
  };
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Set-Cookie for a new session: HttpOnly, SameSite=Strict, Path=/, Secure when served over https. */
export function sessionCookie(token: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

/** Set-Cookie that removes the session cookie. */
export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT${secure ? '; Secure' : ''}`;
}
