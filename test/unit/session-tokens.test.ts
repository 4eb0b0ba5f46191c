/**
 * Web session tokens (src/api/auth/session.ts): a token verifies only under the session key that
 * signed it, with its payload unchanged, before it expires and while its access key is still
 * configured with the same secret and account. Also the cookie helpers and the failed sign-in
 * counter of the session routes. The clock is a variable the tests move.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAccessKeyStore, type AccessKey } from '../../src/api/auth/access-keys.ts';
import {
  clearedSessionCookie,
  createSessionTokens,
  memorySessionEpochs,
  readCookie,
  sessionCookie,
  type SessionTokens,
} from '../../src/api/auth/session.ts';
import { FailedAttempts } from '../../src/api/rest/session-routes.ts';

const KEY_A: AccessKey = {
  accessKeyId: 'AKIDSESSION00000000A',
  secretAccessKey: 'secretA/000000000000000000000000000001',
  accountId: '111122223333',
};
const KEY_B: AccessKey = {
  accessKeyId: 'AKIDSESSION00000000B',
  secretAccessKey: 'secretB/000000000000000000000000000002',
  accountId: '444455556666',
};
const SERVER_KEY = randomBytes(32);
/** One server's session nonces, shared by the token services below (as by one server across restarts). */
const EPOCHS = memorySessionEpochs();
const HOUR = 3_600_000;

function tokens(
  keys: AccessKey[],
  opts: { key?: Buffer; now?: () => number; lifetimeMs?: number } = {},
): SessionTokens {
  return createSessionTokens({
    key: opts.key ?? SERVER_KEY,
    keys: createAccessKeyStore(keys.map((key) => ({ key, source: 'test' }))),
    epochs: EPOCHS,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.lifetimeMs !== undefined ? { lifetimeMs: opts.lifetimeMs } : {}),
  });
}

/** The token with its payload replaced by `claims` (the signature left as it was). */
function withPayload(token: string, claims: unknown): string {
  return `${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${token.split('.')[1]}`;
}

describe('session tokens', () => {
  it('a fresh token verifies to its key and account, and lives 12 hours by default', () => {
    let now = Date.UTC(2026, 0, 1);
    const t = tokens([KEY_A, KEY_B], { now: () => now });
    const { token, session } = t.issue(KEY_B.accessKeyId);
    expect(session).toEqual({ accessKeyId: KEY_B.accessKeyId, accountId: KEY_B.accountId, exp: now + 12 * HOUR });
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(token).not.toContain(KEY_B.secretAccessKey);
    expect(t.verify(token)).toEqual({ ok: true, session });
    now += 12 * HOUR - 1;
    expect(t.verify(token).ok).toBe(true);
    now += 1;
    expect(t.verify(token)).toEqual({ ok: false, reason: 'expired' });
  });

  it('a changed payload, another signature or another server key is refused as invalid', () => {
    const t = tokens([KEY_A, KEY_B]);
    const { token, session } = t.issue(KEY_A.accessKeyId);
    // The same key, pretending to act for another account or to live longer.
    expect(t.verify(withPayload(token, { ...session, accountId: KEY_B.accountId }))).toEqual({
      ok: false,
      reason: 'invalid',
    });
    expect(t.verify(withPayload(token, { ...session, exp: session.exp + 1000 * HOUR }))).toEqual({
      ok: false,
      reason: 'invalid',
    });
    // Another key's identity under A's signature.
    expect(
      t.verify(withPayload(token, { ...session, accessKeyId: KEY_B.accessKeyId, accountId: KEY_B.accountId })),
    ).toEqual({ ok: false, reason: 'invalid' });
    const sig = token.split('.')[1] as string;
    const flipped = `${token.split('.')[0]}.${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
    expect(t.verify(flipped)).toEqual({ ok: false, reason: 'invalid' });
    expect(tokens([KEY_A, KEY_B], { key: randomBytes(32) }).verify(token)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('garbage is refused without throwing', () => {
    const t = tokens([KEY_A]);
    const valid = t.issue(KEY_A.accessKeyId).token;
    for (const bad of [
      '',
      '.',
      'abc',
      'a.b',
      `${valid}x`,
      `${valid}.x`,
      'x'.repeat(5000),
      `!!!.${'A'.repeat(43)}`,
      withPayload(valid, 'a string'),
      withPayload(valid, null),
      withPayload(valid, { accessKeyId: 1 }),
    ]) {
      expect(t.verify(bad).ok, bad.slice(0, 40)).toBe(false);
    }
    expect(t.verify(`${Buffer.from('{not json').toString('base64url')}.${valid.split('.')[1]}`)).toEqual({
      ok: false,
      reason: 'invalid',
    });
  });

  it('a session ends when its key is removed, gets a new secret or moves to another account', () => {
    const { token } = tokens([KEY_A, KEY_B]).issue(KEY_A.accessKeyId);
    expect(tokens([KEY_B]).verify(token)).toEqual({ ok: false, reason: 'revoked' });
    expect(tokens([{ ...KEY_A, secretAccessKey: 'rotated/00000000000000000000000000000009' }]).verify(token)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    expect(tokens([{ ...KEY_A, accountId: '777788889999' }]).verify(token)).toEqual({ ok: false, reason: 'revoked' });
    expect(tokens([KEY_A]).verify(token).ok).toBe(true);
  });

  it('the lifetime is configurable and issuing for an unknown key is a programming error', () => {
    const t = tokens([KEY_A], { now: () => 1000, lifetimeMs: 5000 });
    expect(t.issue(KEY_A.accessKeyId).session.exp).toBe(6000);
    expect(() => t.issue('NOSUCHKEY')).toThrow(/unknown access key/);
  });
});

describe('session cookie', () => {
  it('is HttpOnly, SameSite=Strict, Path=/, and Secure only over https', () => {
    expect(sessionCookie('tok', 43200, false)).toBe(
      's3batch_session=tok; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200',
    );
    expect(sessionCookie('tok', 43200, true)).toBe(
      's3batch_session=tok; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure',
    );
    expect(clearedSessionCookie(false)).toMatch(
      /^s3batch_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0; Expires=Thu, 01 Jan 1970/,
    );
  });

  it('readCookie finds the named cookie among others', () => {
    expect(readCookie('a=1; s3batch_session=abc.def; b=2', 's3batch_session')).toBe('abc.def');
    expect(readCookie('s3batch_session_x=1;s3batch_session=v', 's3batch_session')).toBe('v');
    expect(readCookie('a=1; b', 's3batch_session')).toBeUndefined();
    expect(readCookie(undefined, 's3batch_session')).toBeUndefined();
  });
});

describe('failed sign-in counter', () => {
  it('blocks an address after max failures until its window ends, other addresses unaffected', () => {
    let now = 0;
    const f = new FailedAttempts(3, 60_000, () => now);
    for (let i = 0; i < 3; i++) {
      expect(f.blockedFor('10.0.0.1')).toBe(0);
      f.fail('10.0.0.1');
    }
    expect(f.blockedFor('10.0.0.1')).toBe(60);
    expect(f.blockedFor('10.0.0.2')).toBe(0);
    now = 59_001;
    expect(f.blockedFor('10.0.0.1')).toBe(1);
    now = 60_000;
    expect(f.blockedFor('10.0.0.1')).toBe(0);
    f.fail('10.0.0.1');
    expect(f.blockedFor('10.0.0.1')).toBe(0);
  });

  it('keeps at most maxAddresses windows', () => {
    const f = new FailedAttempts(1, 60_000, () => 0, 2);
    f.fail('a');
    f.fail('b');
    f.fail('c'); // forgets a, the oldest
    expect([f.blockedFor('a'), f.blockedFor('b'), f.blockedFor('c')]).toEqual([0, 60, 60]);
  });
});
