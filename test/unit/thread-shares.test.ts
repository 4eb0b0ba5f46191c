// The threads placement's pure parts (src/execution/threads.ts): how many threads run a job, how
// its slots and rate are split among them, when the job counts as idle, and when and where a job
// spreads to one more thread (with the slots a thread that joins may use).
import { describe, expect, it } from 'vitest';
import {
  allIdle,
  chooseThread,
  joinGrant,
  shouldSpread,
  splitShares,
  threadsFor,
} from '../../src/execution/threads.ts';

describe('threadsFor', () => {
  it('is bounded by the concurrency, the chunks left and rate/10, and is at least 1', () => {
    expect(threadsFor(64, undefined)).toBe(64);
    expect(threadsFor(3, undefined)).toBe(3);
    expect(threadsFor(64, undefined, 2)).toBe(2);
    expect(threadsFor(64, 25)).toBe(2);
    expect(threadsFor(64, 25, 1)).toBe(1);
    expect(threadsFor(64, 5)).toBe(1);
    expect(threadsFor(0, undefined)).toBe(1);
    expect(threadsFor(64, undefined, 0)).toBe(1);
  });
});

describe('splitShares', () => {
  it('splits the slots evenly, the first threads taking the remainder, summing to the total', () => {
    expect(splitShares(64, undefined, [false, false])).toEqual({ capacity: [32, 32], rate: undefined });
    expect(splitShares(7, undefined, [false, false, false])).toEqual({ capacity: [3, 2, 2], rate: undefined });
    expect(splitShares(1, undefined, [false, false])).toEqual({ capacity: [1, 0], rate: undefined });
    expect(splitShares(0, undefined, [false, false])).toEqual({ capacity: [0, 0], rate: undefined });
  });

  it('gives a thread that ended nothing and its share to the others', () => {
    expect(splitShares(64, undefined, [true, false])).toEqual({ capacity: [0, 64], rate: undefined });
    expect(splitShares(5, undefined, [false, true, false])).toEqual({ capacity: [3, 0, 2], rate: undefined });
  });

  it('divides the rate among the threads still running', () => {
    expect(splitShares(64, 100, [false, false])).toEqual({ capacity: [32, 32], rate: 50 });
    expect(splitShares(64, 100, [false, true])).toEqual({ capacity: [64, 0], rate: 100 });
    expect(splitShares(64, 90, [false, false, false])).toEqual({ capacity: [22, 21, 21], rate: 30 });
  });

  it('keeps the whole job when every thread ended (no division by zero)', () => {
    expect(splitShares(8, 40, [true, true])).toEqual({ capacity: [0, 0], rate: 40 });
  });
});

describe('allIdle', () => {
  const part = (epoch: number, idleEpoch: number, inFlight: number, ended = false) => ({
    ended,
    epoch,
    idleEpoch,
    inFlight,
  });

  it('is true once every running thread said idle for its latest change with nothing in flight', () => {
    expect(allIdle([part(1, 1, 0), part(2, 2, 0)])).toBe(true);
    expect(allIdle([])).toBe(true);
  });

  it('waits for a thread whose idle answers an older change', () => {
    expect(allIdle([part(2, 1, 0), part(1, 1, 0)])).toBe(false);
    expect(allIdle([part(0, -1, 0)])).toBe(false);
  });

  it('waits for tasks still in flight', () => {
    expect(allIdle([part(1, 1, 3), part(1, 1, 0)])).toBe(false);
  });

  it('ignores threads that ended', () => {
    expect(allIdle([part(3, 0, 5, true), part(1, 1, 0)])).toBe(true);
    expect(allIdle([part(0, -1, 0, true), part(0, -1, 0, true)])).toBe(true);
  });
});

describe('chooseThread', () => {
  const t = (load: number, busy: number | undefined) => ({ load, busy });

  it('takes the least loaded thread that is not saturated (no full window yet counts as not saturated)', () => {
    expect(chooseThread([t(2, 0.3), t(1, 0.5)], true, 0.8, true)).toBe(1);
    expect(chooseThread([t(1, 0.9), t(2, 0.3)], true, 0.8, true)).toBe(1);
    expect(chooseThread([t(1, 0.9), t(3, undefined)], false, 0.8, false)).toBe(1);
  });

  it('starts a thread when every started one is saturated, while it may', () => {
    expect(chooseThread([], true, 0.8, true)).toBe('new');
    expect(chooseThread([t(1, 0.85), t(1, 0.95)], true, 0.8, false)).toBe('new');
  });

  it('else falls back on the least loaded one only when a job must start somewhere', () => {
    expect(chooseThread([t(2, 0.85), t(1, 0.95)], false, 0.8, true)).toBe(1);
    expect(chooseThread([t(2, 0.85), t(1, 0.95)], false, 0.8, false)).toBeUndefined();
    expect(chooseThread([], false, 0.8, false)).toBeUndefined();
  });
});

describe('shouldSpread', () => {
  const base = { inUse: 1, maxThreads: 2, capacity: 64, queued: true, busy: [0.9], threshold: 0.8 };

  it('spreads when every thread the job uses was saturated over a full window and chunks wait', () => {
    expect(shouldSpread(base)).toBe(true);
    expect(shouldSpread({ ...base, inUse: 2, maxThreads: 4, busy: [0.95, 0.81] })).toBe(true);
  });

  it('does not when a thread is below the threshold or has no full window since the job last spread', () => {
    expect(shouldSpread({ ...base, busy: [0.5] })).toBe(false);
    expect(shouldSpread({ ...base, busy: [undefined] })).toBe(false);
    expect(shouldSpread({ ...base, inUse: 2, maxThreads: 4, busy: [0.95, 0.7] })).toBe(false);
  });

  it('does not without queued chunks, at the thread limit, without a slot for the new thread, or when off', () => {
    expect(shouldSpread({ ...base, queued: false })).toBe(false);
    expect(shouldSpread({ ...base, maxThreads: 1 })).toBe(false);
    expect(shouldSpread({ ...base, capacity: 1 })).toBe(false);
    expect(shouldSpread({ ...base, threshold: 0 })).toBe(false);
  });
});

describe('joinGrant', () => {
  const o = (share: number, inFlight: number, applied = true) => ({ share, inFlight, applied });

  it('grants nothing until the other threads applied their new shares', () => {
    expect(joinGrant(32, 64, [o(32, 10, false)])).toBe(0);
  });

  it('grants what the others do not hold: their shares, or more while tasks above them still run', () => {
    expect(joinGrant(32, 64, [o(32, 64)])).toBe(0);
    expect(joinGrant(32, 64, [o(32, 40)])).toBe(24);
    expect(joinGrant(32, 64, [o(32, 32)])).toBe(32);
    expect(joinGrant(32, 64, [o(32, 5)])).toBe(32);
    expect(joinGrant(22, 64, [o(21, 30), o(21, 21)])).toBe(13);
  });
});
