import { describe, expect, it } from 'vitest';
import { AccountRateLimit } from '../../src/service/account-rate-limit.ts';

function codeOf(f: () => void): string {
  try {
    f();
    return 'ok';
  } catch (err) {
    return (err as { code: string }).code;
  }
}

describe('AccountRateLimit', () => {
  it('allows a burst, then refuses with TooManyRequestsException until tokens refill', () => {
    let t = 0;
    const limit = new AccountRateLimit(10, 5, () => t);
    const first = Array.from({ length: 6 }, () => codeOf(() => limit.take('111122223333')));
    expect(first).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'TooManyRequestsException']);
    t += 100; // one token back at 10 per second
    expect(codeOf(() => limit.take('111122223333'))).toBe('ok');
    expect(codeOf(() => limit.take('111122223333'))).toBe('TooManyRequestsException');
    t += 10_000; // refills up to the burst, never beyond
    expect(Array.from({ length: 6 }, () => codeOf(() => limit.take('111122223333')))).toEqual([
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      'TooManyRequestsException',
    ]);
  });

  it('keeps accounts apart and says what the limit is', () => {
    const limit = new AccountRateLimit(1, 1, () => 0);
    limit.take('111122223333');
    expect(() => limit.take('111122223333')).toThrow(/account 111122223333: at most 1 per second \(bursts of 1\)/);
    expect(codeOf(() => limit.take('444455556666'))).toBe('ok');
  });
});
