/**
 * Adaptive slow-down on a hand-driven clock: multiplicative decrease on throttling (once per
 * cooldown, never below 1), additive increase after a round of successes (never above the
 * limit), limit changes while running, and which failures count as throttling.
 */
import { describe, expect, it } from 'vitest';
import { failed, succeeded, type TaskEntry } from '../../src/domain/task.ts';
import { AdaptiveLimit, isThrottled } from '../../src/engine/adaptive-limit.ts';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

const entry: TaskEntry = { line: 1, bucket: 'b', key: 'k', rawKey: 'k' };

describe('AdaptiveLimit', () => {
  it('starts at its limit and halves on a throttle, once per cooldown', () => {
    const c = clock();
    const a = new AdaptiveLimit({ max: 64, cooldownMs: 1000 }, c.now);
    expect(a.current).toBe(64);
    expect(a.onThrottle()).toBe(true);
    expect(a.current).toBe(32);
    // A burst of throttles from the same round of requests is one signal.
    for (let i = 0; i < 20; i++) expect(a.onThrottle()).toBe(false);
    expect(a.current).toBe(32);
    expect(a.throttled).toBe(21);
    c.advance(1000);
    a.onThrottle();
    expect(a.current).toBe(16);
  });

  it('never goes below 1 however long the storm', () => {
    const c = clock();
    const a = new AdaptiveLimit({ max: 8 }, c.now);
    for (let i = 0; i < 50; i++) {
      a.onThrottle();
      c.advance(5000);
    }
    expect(a.current).toBe(1);
    expect(a.throttled).toBe(50);
  });

  it('grows by one after `current` successes in a row, back up to the limit and no further', () => {
    const c = clock();
    const a = new AdaptiveLimit({ max: 8 }, c.now);
    for (let i = 0; i < 3; i++) {
      a.onThrottle();
      c.advance(1000);
    }
    expect(a.current).toBe(1);
    const trail: number[] = [];
    for (let i = 0; i < 40; i++) {
      a.onSuccess();
      trail.push(a.current);
    }
    // 1 success → 2, 2 more → 3, 3 more → 4 … 7 more → 8: 1+2+…+7 = 28 successes to the limit.
    expect(trail.indexOf(2)).toBe(0);
    expect(trail.indexOf(3)).toBe(2);
    expect(trail.indexOf(8)).toBe(27);
    expect(trail.slice(27).every((v) => v === 8)).toBe(true);
  });

  it('a throttle resets the success streak', () => {
    const c = clock();
    const a = new AdaptiveLimit({ max: 8, cooldownMs: 0 }, c.now);
    a.onThrottle(); // 4
    a.onSuccess();
    a.onSuccess();
    a.onSuccess();
    c.advance(1);
    expect(a.onThrottle()).toBe(true); // 2
    a.onSuccess();
    expect(a.current).toBe(2);
    a.onSuccess();
    expect(a.current).toBe(3);
  });

  it('a new limit: an unthrottled job moves to it, a throttled one stays below it', () => {
    const c = clock();
    const a = new AdaptiveLimit({ max: 4 }, c.now);
    a.setMax(16);
    expect(a.current).toBe(16);
    a.setMax(2);
    expect(a.current).toBe(2);
    a.setMax(32);
    a.onThrottle(); // 16
    a.setMax(64);
    expect([a.current, a.limit]).toEqual([16, 64]);
    a.setMax(10);
    expect([a.current, a.limit]).toEqual([10, 10]);
  });
});

describe('isThrottled', () => {
  it.each([
    [503, 'SlowDown', true],
    [503, 'ServiceUnavailable', true],
    [429, 'TooManyRequests', true],
    [400, 'ThrottlingException', true],
    [400, 'RequestThrottled', true],
    [429, 'TooManyRequestsException', true],
    [500, 'InternalError', false],
    [0, 'ECONNRESET', false],
    [404, 'NoSuchKey', false],
  ])('%i %s → %s', (status, code, expected) => {
    expect(isThrottled(failed(entry, status, code, 'x'))).toBe(expected);
  });

  it('a success is never throttled', () => {
    expect(isThrottled(succeeded(entry))).toBe(false);
  });
});
