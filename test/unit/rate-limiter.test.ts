/**
 * The per-job token bucket on a hand-driven clock: the burst, the steady rate, queueing of booked
 * tokens, rate changes, and abandoned waits giving their token back.
 */
import { describe, expect, it } from 'vitest';
import { defaultBurst, takeToken, TokenBucket } from '../../src/engine/rate-limiter.ts';

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('TokenBucket', () => {
  it('gives a full burst at once, then books tokens 1/rate apart', () => {
    const c = clock();
    const b = new TokenBucket(20, c.now); // burst 2
    expect([b.reserve(), b.reserve()]).toEqual([0, 0]);
    expect([b.reserve(), b.reserve(), b.reserve()]).toEqual([50, 100, 150]);
  });

  it('refills at the rate, never beyond the burst', () => {
    const c = clock();
    const b = new TokenBucket(10, c.now); // burst 1
    expect(b.reserve()).toBe(0);
    expect(b.reserve()).toBe(100);
    c.advance(100);
    expect(b.reserve()).toBe(100); // the booked token used the refill
    c.advance(10_000); // idle for long: still one token at most
    expect(b.reserve()).toBe(0);
    expect(b.reserve()).toBe(100);
  });

  it('holds the rate over any window: at most burst + rate·T due in T ms', () => {
    const c = clock();
    const rate = 20;
    const b = new TokenBucket(rate, c.now);
    // 200 callers each booking a token as fast as they can; record when each token is due.
    const due: number[] = [];
    for (let i = 0; i < 200; i++) {
      due.push(c.now() + b.reserve());
      if (i % 7 === 0) c.advance(13);
    }
    for (const start of due) {
      const inWindow = due.filter((t) => t >= start && t < start + 1000).length;
      expect(inWindow).toBeLessThanOrEqual(rate + defaultBurst(rate));
    }
    expect(Math.max(...due) - Math.min(...due)).toBeGreaterThanOrEqual(((200 - defaultBurst(rate)) / rate) * 1000 - 1);
  });

  it('cancel gives a booked token back to the next caller', () => {
    const c = clock();
    const b = new TokenBucket(10, c.now);
    b.reserve();
    expect(b.reserve()).toBe(100);
    b.cancel();
    expect(b.reserve()).toBe(100);
  });

  it('a new rate applies to tokens booked after it', () => {
    const c = clock();
    const b = new TokenBucket(10, c.now);
    b.reserve();
    b.setRate(100); // burst 10, but no tokens yet
    expect(b.ratePerSecond).toBe(100);
    expect(b.reserve()).toBe(10);
    expect(() => b.setRate(0)).toThrow(RangeError);
    expect(() => new TokenBucket(Number.NaN, c.now)).toThrow(RangeError);
  });

  it('after a higher rate, new tokens are due after those booked before it', () => {
    const c = clock();
    const b = new TokenBucket(10, c.now);
    b.reserve(); // the burst
    const booked = [b.reserve(), b.reserve(), b.reserve()];
    expect(booked).toEqual([100, 200, 300]);
    b.setRate(20);
    // The last booked token is due in 300 ms; at 20/s the next one comes 50 ms after it.
    expect(b.reserve()).toBe(350);
    expect(b.reserve()).toBe(400);
  });

  it('defaultBurst is a tenth of a second of tokens, at least one', () => {
    expect([1, 9, 10, 20, 1000].map(defaultBurst)).toEqual([1, 1, 1, 2, 100]);
  });
});

describe('takeToken', () => {
  it('waits the booked time with the given sleep', async () => {
    const c = clock();
    const b = new TokenBucket(10, c.now);
    const slept: number[] = [];
    const sleep = async (ms: number): Promise<void> => {
      slept.push(ms);
      c.advance(ms);
    };
    expect(await takeToken(b, sleep)).toBe(true);
    expect(await takeToken(b, sleep)).toBe(true);
    expect(await takeToken(b, sleep)).toBe(true);
    expect(slept).toEqual([100, 100]);
  });

  it('an aborted wait answers false and returns its token, whether sleep rejects or resolves', async () => {
    const c = clock();
    for (const rejects of [true, false]) {
      const b = new TokenBucket(10, c.now);
      b.reserve(); // the bucket is empty now
      const ac = new AbortController();
      const sleep = (_ms: number, signal?: AbortSignal): Promise<void> =>
        new Promise((resolve, reject) =>
          signal?.addEventListener('abort', () => (rejects ? reject(signal.reason) : resolve())),
        );
      const waiting = takeToken(b, sleep, ac.signal);
      ac.abort();
      expect(await waiting).toBe(false);
      expect(b.reserve()).toBe(100); // the abandoned token is free again: next is 100 ms away, not 200
    }
    const ac = new AbortController();
    ac.abort();
    expect(await takeToken(new TokenBucket(10, c.now), async () => {}, ac.signal)).toBe(false);
  });

  it('rethrows a sleep failure that is not an abort', async () => {
    const c = clock();
    const b = new TokenBucket(1, c.now);
    b.reserve();
    await expect(takeToken(b, async () => Promise.reject(new Error('timer broke')))).rejects.toThrow('timer broke');
  });
});
