/**
 * The one limit on failed authentication (src/api/auth/auth-limiter.ts) and session epochs
 * (src/api/auth/session.ts): per-client and per-key windows, the owner's way in while a key is
 * over its limit, and sign-out epochs that survive a reload of their file.
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAccessKeyStore } from '../../src/api/auth/access-keys.ts';
import { clientGroup, createAuthLimiter, FailedAttempts, retryAfterOf } from '../../src/api/auth/auth-limiter.ts';
import { createSessionTokens, loadSessionEpochs, SESSION_EPOCHS_FILE } from '../../src/api/auth/session.ts';

const refusal = (f: () => void): { code?: string; retryAfter?: number } => {
  try {
    f();
    return {};
  } catch (err) {
    return { code: (err as { code?: string }).code, retryAfter: retryAfterOf(err) };
  }
};

describe('createAuthLimiter', () => {
  it('blocks a client after its limit, with the seconds left in its window, and forgets it after', () => {
    let now = 0;
    const limiter = createAuthLimiter({ maxPerClient: 3, maxPerKey: 100, now: () => now });
    for (let i = 0; i < 3; i++) {
      expect(refusal(() => limiter.check('10.0.0.1', 'K'))).toEqual({});
      limiter.fail('10.0.0.1', 'K');
    }
    now = 15_000;
    expect(refusal(() => limiter.check('10.0.0.1', 'K'))).toEqual({ code: 'TooManyRequestsException', retryAfter: 45 });
    expect(refusal(() => limiter.check('10.0.0.1', undefined)).code).toBe('TooManyRequestsException');
    expect(refusal(() => limiter.check('10.0.0.2', 'K'))).toEqual({});
    now = 60_000;
    expect(refusal(() => limiter.check('10.0.0.1', 'K'))).toEqual({});
  });

  it('a key over its limit is refused only to clients that failed themselves; unknown keys are not counted', () => {
    const limiter = createAuthLimiter({ maxPerClient: 100, maxPerKey: 2, now: () => 0, isKnownKey: (k) => k === 'K' });
    limiter.fail('10.0.0.1', 'K');
    limiter.fail('10.0.0.2', 'K');
    expect(refusal(() => limiter.check('10.0.0.1', 'K')).code).toBe('TooManyRequestsException');
    expect(refusal(() => limiter.check('10.0.0.9', 'K'))).toEqual({});
    // The failing client may still use other keys.
    expect(refusal(() => limiter.check('10.0.0.1', 'OTHER'))).toEqual({});
    for (let i = 0; i < 5; i++) limiter.fail(`10.1.0.${i}`, 'UNKNOWN');
    limiter.fail('10.0.0.1', 'UNKNOWN');
    expect(refusal(() => limiter.check('10.0.0.1', 'UNKNOWN'))).toEqual({});
  });
});

describe('clientGroup', () => {
  it('keeps IPv4 addresses, unmaps IPv4-mapped ones and counts IPv6 by its /64', () => {
    expect(clientGroup('203.0.113.7')).toBe('203.0.113.7');
    expect(clientGroup('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientGroup('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientGroup('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(clientGroup('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientGroup('2001:db8::')).toBe('2001:db8:0:0::/64');
    expect(clientGroup('::1')).toBe('0:0:0:0::/64');
    expect(clientGroup('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientGroup('2001:db8:1:3::1')).not.toBe(clientGroup('2001:db8:1:2::1'));
  });

  it('one /64 shares one per-client count', () => {
    const limiter = createAuthLimiter({ maxPerClient: 3, maxPerKey: 100, now: () => 0 });
    for (let i = 1; i <= 3; i++) limiter.fail(`2001:db8:1:2::${i}`, 'K');
    expect(refusal(() => limiter.check('2001:db8:1:2::99', 'K')).code).toBe('TooManyRequestsException');
    expect(refusal(() => limiter.check('2001:db8:1:3::1', 'K'))).toEqual({});
  });
});

describe('the per-key ceiling', () => {
  it('turns failures past it into 429 from any address, never refuses a correct key, and is told once', () => {
    let now = 0;
    const told: string[] = [];
    const limiter = createAuthLimiter({
      maxPerClient: 100,
      maxPerKey: 2,
      now: () => now,
      onKeyCeiling: (k) => told.push(k),
    });
    // Ceiling 20 (10 × 2): twenty failures from twenty addresses pass as 403 (no throw) …
    for (let i = 0; i < 20; i++) {
      expect(refusal(() => limiter.check(`10.0.0.${i}`, 'K'))).toEqual({});
      expect(refusal(() => limiter.fail(`10.0.0.${i}`, 'K'))).toEqual({});
    }
    expect(told).toEqual(['K']);
    // … the next failure, from a fresh address, is 429 with the rest of the window …
    now = 10_000;
    expect(refusal(() => limiter.check('10.0.1.1', 'K'))).toEqual({});
    expect(refusal(() => limiter.fail('10.0.1.1', 'K'))).toEqual({ code: 'TooManyRequestsException', retryAfter: 50 });
    expect(told).toEqual(['K']);
    // … while a correct attempt from a fresh address passes check (nothing refuses it before verification).
    expect(refusal(() => limiter.check('10.0.2.1', 'K'))).toEqual({});
    // Another key is not affected; the next window starts afresh.
    expect(refusal(() => limiter.fail('10.0.3.1', 'OTHER'))).toEqual({});
    now = 60_000;
    expect(refusal(() => limiter.fail('10.0.4.1', 'K'))).toEqual({});
  });
});

describe('FailedAttempts memory', () => {
  it('drops expired windows as time passes, without waiting to be full', () => {
    let now = 0;
    const counts = new FailedAttempts(10, 60_000, () => now);
    for (let i = 0; i < 500; i++) counts.fail(`10.0.${i >> 8}.${i & 255}`);
    expect(counts.size).toBe(500);
    now = 30_000;
    for (let i = 0; i < 5; i++) counts.fail(`10.1.0.${i}`);
    expect(counts.size).toBe(505);
    now = 60_000;
    expect(counts.size).toBe(5);
    now = 90_000;
    expect(counts.size).toBe(0);
  });
});

describe('session epochs', () => {
  const KEY = {
    accessKeyId: 'AKIDEPOCH00000000001',
    secretAccessKey: 'epoch-secret-000000000000',
    accountId: '111122223333',
  };
  const keys = createAccessKeyStore([{ key: KEY, source: 'test' }]);

  it('revoke ends every token of the key issued before; the epoch survives a reload of its file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's3batch-epochs-'));
    const file = path.join(dir, SESSION_EPOCHS_FILE);
    const key = Buffer.alloc(32, 7);
    const tokens = createSessionTokens({ key, keys, epochs: await loadSessionEpochs(file) });
    const a = tokens.issue(KEY.accessKeyId).token;
    const b = tokens.issue(KEY.accessKeyId).token;
    expect(tokens.verify(a).ok).toBe(true);
    await tokens.revoke(KEY.accessKeyId);
    expect(tokens.verify(a)).toEqual({ ok: false, reason: 'revoked' });
    expect(tokens.verify(b)).toEqual({ ok: false, reason: 'revoked' });
    const c = tokens.issue(KEY.accessKeyId).token;
    expect(tokens.verify(c).ok).toBe(true);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { nonces: Record<string, string> };
    expect(Object.keys(stored.nonces)).toEqual([KEY.accessKeyId]);
    expect(stored.nonces[KEY.accessKeyId]).toMatch(/^[A-Za-z0-9_-]{22}$/);

    const reloaded = createSessionTokens({ key, keys, epochs: await loadSessionEpochs(file) });
    expect(reloaded.verify(a)).toEqual({ ok: false, reason: 'revoked' });
    expect(reloaded.verify(c).ok).toBe(true);
  });

  it('deleting the file, or one of the earlier counter format, brings no old token back', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's3batch-epochs-'));
    const file = path.join(dir, SESSION_EPOCHS_FILE);
    const key = Buffer.alloc(32, 7);
    const epochs = await loadSessionEpochs(file);
    const tokens = createSessionTokens({ key, keys, epochs });
    const before = tokens.issue(KEY.accessKeyId).token;
    await tokens.revoke(KEY.accessKeyId);
    const after = tokens.issue(KEY.accessKeyId).token;
    await epochs.flush();
    // The file is lost: neither token comes back; a new sign-in works.
    rmSync(file);
    const fresh = createSessionTokens({ key, keys, epochs: await loadSessionEpochs(file) });
    expect(fresh.verify(before)).toEqual({ ok: false, reason: 'revoked' });
    expect(fresh.verify(after)).toEqual({ ok: false, reason: 'revoked' });
    expect(fresh.verify(fresh.issue(KEY.accessKeyId).token).ok).toBe(true);
    // A file of the earlier format (counters) is read as no nonces: a token carrying a counter ends.
    const payload = Buffer.from(
      JSON.stringify({ accessKeyId: KEY.accessKeyId, accountId: KEY.accountId, exp: Date.now() + 60_000, epoch: 0 }),
    ).toString('base64url');
    const mac = createHmac('sha256', key)
      .update(payload)
      .update('\n')
      .update(createHash('sha256').update(KEY.secretAccessKey).digest())
      .digest('base64url');
    writeFileSync(file, JSON.stringify({ epochs: { [KEY.accessKeyId]: 0 } }));
    const upgraded = createSessionTokens({ key, keys, epochs: await loadSessionEpochs(file) });
    expect(upgraded.verify(`${payload}.${mac}`)).toEqual({ ok: false, reason: 'revoked' });
    expect(upgraded.verify(upgraded.issue(KEY.accessKeyId).token).ok).toBe(true);
  });

  it('a damaged epochs file stops the start with a clear message', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's3batch-epochs-'));
    const file = path.join(dir, SESSION_EPOCHS_FILE);
    writeFileSync(file, '[1,2]');
    await expect(loadSessionEpochs(file)).rejects.toMatchObject({ code: 'InvalidConfiguration' });
  });
});
