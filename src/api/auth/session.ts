/**
 * Web sessions of the JSON API: a signed token in the `s3batch_session` cookie, so the web page
 * signs in once with an access key instead of sending the secret with every request.
 *
 * Token: `base64url(JSON {accessKeyId, accountId, exp}) "." base64url(HMAC-SHA256)`. The MAC is
 * keyed with the server's session key (`<dataDir>/session.key`) and covers the payload and a hash
 * of the key's current secret, so a session ends when its access key is removed, moved to another
 * account or given a new secret, and at `exp` (default lifetime 12 h). Sessions are stateless:
 * signing out clears the cookie in the browser; a copied token stays valid until it expires.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
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

/** Why a token was refused: `expired` (or its key is gone) means "sign in again"; `invalid` means not ours. */
export type SessionCheck = { ok: true; session: Session } | { ok: false; reason: 'invalid' | 'expired' | 'revoked' };

export interface SessionTokens {
  /** A token for this access key (which must be in the store). */
  issue(accessKeyId: string): { token: string; session: Session };
  verify(token: string): SessionCheck;
  readonly lifetimeMs: number;
}

export interface SessionTokenOptions {
  /** The server's session key (32 random bytes). */
  readonly key: Buffer;
  readonly keys: AccessKeyStore;
  readonly lifetimeMs?: number;
  readonly now?: () => number;
}

export function createSessionTokens(opts: SessionTokenOptions): SessionTokens {
  const lifetimeMs = opts.lifetimeMs ?? DEFAULT_SESSION_LIFETIME_MS;
  const now = opts.now ?? Date.now;
  const mac = (payload: string, secret: string): Buffer =>
    createHmac('sha256', opts.key)
      .update(payload)
      .update('\n')
      .update(createHash('sha256').update(secret).digest())
      .digest();

  return {
    lifetimeMs,
    issue(accessKeyId) {
      const key = opts.keys.get(accessKeyId);
      if (key === undefined) throw new Error(`session for an unknown access key ${accessKeyId}`);
      const session: Session = { accessKeyId: key.accessKeyId, accountId: key.accountId, exp: now() + lifetimeMs };
      const payload = Buffer.from(JSON.stringify(session)).toString('base64url');
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
      const { accessKeyId, accountId, exp } = claims as Record<string, unknown>;
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
