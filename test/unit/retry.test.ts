import { describe, expect, it } from 'vitest';
import { failed, succeeded, type TaskEntry } from '../../src/domain/task.ts';
import {
  DEFAULT_RETRY_POLICY,
  backoffDelay,
  retryCall,
  retryCallUnder,
  runWithRetry,
  sleep as realSleep,
  type RetryPolicy,
} from '../../src/engine/retry.ts';
import type { AttemptOutcome } from '../../src/operations/operation.ts';

const entry: TaskEntry = { line: 1, bucket: 'b', key: 'k', rawKey: 'k' };
const ok: AttemptOutcome = { result: succeeded(entry), retryable: false };
const transient = (n: number): AttemptOutcome => ({
  result: failed(entry, 503, 'SlowDown', `slow down #${n}`),
  retryable: true,
});
const permanent: AttemptOutcome = {
  result: failed(entry, 404, 'NoSuchKey', 'The specified key does not exist.'),
  retryable: false,
};
const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 };

/** A sleep that records the delays and never waits. */
function fakeSleep(): { sleep: (ms: number, signal?: AbortSignal) => Promise<void>; delays: number[] } {
  const delays: number[] = [];
  return { delays, sleep: async (ms) => void delays.push(ms) };
}

/** Attempts that answer from a script, one outcome per attempt. */
function scripted(...outcomes: AttemptOutcome[]): { attempt: (n: number) => Promise<AttemptOutcome>; calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    attempt: async (n) => {
      calls.push(n);
      const o = outcomes[Math.min(n - 1, outcomes.length - 1)];
      if (o === undefined) throw new Error('no outcome scripted');
      return o;
    },
  };
}

describe('DEFAULT_RETRY_POLICY', () => {
  it('is 5 attempts, 200 ms base, 20 s cap (docs/job-lifecycle.md#retries)', () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({ maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 20_000 });
    expect(Object.isFrozen(DEFAULT_RETRY_POLICY)).toBe(true);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially up to the cap (random at its maximum)', () => {
    const max = (): number => 0.999999999;
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, policy, max))).toEqual([99, 199, 399, 799, 999]);
    expect(backoffDelay(50, policy, max)).toBe(999);
    expect(backoffDelay(5000, DEFAULT_RETRY_POLICY, max)).toBe(19_999); // 2^4999 overflow stays capped
  });

  it('is full jitter: 0 when random is 0, always in [0, ceiling)', () => {
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
    for (let attempt = 1; attempt <= 12; attempt++) {
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      for (let i = 0; i < 200; i++) {
        const d = backoffDelay(attempt, policy);
        expect(Number.isInteger(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(ceiling);
      }
    }
  });

  it('spreads over the range (jitter is not a constant)', () => {
    const seen = new Set(Array.from({ length: 200 }, () => backoffDelay(4, policy)));
    expect(seen.size).toBeGreaterThan(50);
  });

  it('treats a random() of exactly 1 and an attempt below 1 safely', () => {
    expect(backoffDelay(1, policy, () => 1)).toBe(99);
    expect(backoffDelay(0, policy, () => 0.5)).toBe(50);
    expect(backoffDelay(1, { ...policy, baseDelayMs: 0 }, () => 0.5)).toBe(0);
  });
});

describe('runWithRetry', () => {
  it('returns the first success without sleeping', async () => {
    const { sleep, delays } = fakeSleep();
    const run = await runWithRetry(scripted(ok).attempt, policy, sleep);
    expect(run).toMatchObject({ attempts: 1, aborted: false, retryable: false });
    expect(run.result.status).toBe('succeeded');
    expect(delays).toEqual([]);
  });

  it('retries transient failures until success, with backoff between attempts', async () => {
    const { sleep, delays } = fakeSleep();
    const s = scripted(transient(1), transient(2), ok);
    const retries: number[] = [];
    const run = await runWithRetry(
      s.attempt,
      policy,
      sleep,
      undefined,
      (n) => retries.push(n),
      () => 0.5,
    );
    expect(run.attempts).toBe(3);
    expect(run.result.status).toBe('succeeded');
    expect(s.calls).toEqual([1, 2, 3]);
    expect(retries).toEqual([1, 2]);
    expect(delays).toEqual([50, 100]);
  });

  it('gives up after maxAttempts and returns the LAST attempt', async () => {
    const { sleep, delays } = fakeSleep();
    const s = scripted(transient(1), transient(2), transient(3), transient(4), transient(5), ok);
    const run = await runWithRetry(s.attempt, policy, sleep);
    expect(run.attempts).toBe(5);
    expect(run.retryable).toBe(true);
    expect(run.result).toMatchObject({
      status: 'failed',
      httpStatus: 503,
      errorCode: 'SlowDown',
      message: 'slow down #5',
    });
    expect(s.calls).toEqual([1, 2, 3, 4, 5]);
    expect(delays).toHaveLength(4);
  });

  it('does not retry a permanent failure', async () => {
    const { sleep, delays } = fakeSleep();
    const s = scripted(permanent, ok);
    const run = await runWithRetry(s.attempt, policy, sleep);
    expect(run.attempts).toBe(1);
    expect(run.result).toMatchObject({ status: 'failed', httpStatus: 404, errorCode: 'NoSuchKey' });
    expect(delays).toEqual([]);
  });

  it('stops at a permanent failure that follows transient ones', async () => {
    const s = scripted(transient(1), permanent, ok);
    const run = await runWithRetry(s.attempt, policy, fakeSleep().sleep);
    expect(run.attempts).toBe(2);
    expect(run.result.errorCode).toBe('NoSuchKey');
  });

  it('maxAttempts 1 means no retry at all', async () => {
    const run = await runWithRetry(
      scripted(transient(1), ok).attempt,
      { ...policy, maxAttempts: 1 },
      fakeSleep().sleep,
    );
    expect(run).toMatchObject({ attempts: 1, retryable: true });
  });

  it('abort during the backoff sleep stops retrying and returns the last outcome', async () => {
    const ac = new AbortController();
    const s = scripted(transient(1), ok);
    const sleep = (_ms: number, signal?: AbortSignal): Promise<void> => {
      ac.abort();
      return Promise.reject(signal?.reason ?? new Error('aborted'));
    };
    const run = await runWithRetry(s.attempt, policy, sleep, ac.signal);
    expect(run).toMatchObject({ attempts: 1, aborted: true, retryable: true });
    expect(run.result.errorCode).toBe('SlowDown');
    expect(s.calls).toEqual([1]);
  });

  it('abort during an attempt prevents the next one', async () => {
    const ac = new AbortController();
    const { sleep, delays } = fakeSleep();
    const calls: number[] = [];
    const run = await runWithRetry(
      async (n) => {
        calls.push(n);
        ac.abort();
        return transient(n);
      },
      policy,
      sleep,
      ac.signal,
    );
    expect(run).toMatchObject({ attempts: 1, aborted: true });
    expect(calls).toEqual([1]);
    expect(delays).toEqual([]);
  });

  it('rejects when already aborted before the first attempt (there is no outcome)', async () => {
    const ac = new AbortController();
    ac.abort(new Error('job cancelled'));
    const s = scripted(ok);
    await expect(runWithRetry(s.attempt, policy, fakeSleep().sleep, ac.signal)).rejects.toThrow('job cancelled');
    expect(s.calls).toEqual([]);
  });

  it('propagates a rejection of the attempt itself (not a task result)', async () => {
    const boom = async (): Promise<AttemptOutcome> => {
      throw new Error('bug');
    };
    await expect(runWithRetry(boom, policy, fakeSleep().sleep)).rejects.toThrow('bug');
  });
});

describe('retryCall (a request that is not a task)', () => {
  const slowDown = (n: number): Error => Object.assign(new Error(`slow down #${n}`), { transient: true });
  const isTransient = (err: unknown): boolean => (err as { transient?: boolean }).transient === true;
  /** Calls that throw the scripted errors, then answer `value`. */
  function failing(errors: Error[], value = 'ok'): { call: (n: number) => Promise<string>; calls: number[] } {
    const calls: number[] = [];
    return {
      calls,
      call: async (n) => {
        calls.push(n);
        const err = errors[n - 1];
        if (err !== undefined) throw err;
        return value;
      },
    };
  }

  it('retries transient errors with the policy backoff and returns the value', async () => {
    const { sleep, delays } = fakeSleep();
    const c = failing([slowDown(1), slowDown(2)]);
    await expect(retryCall(c.call, isTransient, policy, sleep, undefined, () => 0.5)).resolves.toBe('ok');
    expect(c.calls).toEqual([1, 2, 3]);
    expect(delays).toEqual([backoffDelay(1, policy, () => 0.5), backoffDelay(2, policy, () => 0.5)]);
  });

  it('throws the LAST error after maxAttempts', async () => {
    const errors = [1, 2, 3, 4, 5, 6].map(slowDown);
    const c = failing(errors);
    await expect(retryCall(c.call, isTransient, policy, fakeSleep().sleep)).rejects.toBe(errors[4]);
    expect(c.calls).toEqual([1, 2, 3, 4, 5]);
  });

  it('throws a permanent error at once', async () => {
    const { sleep, delays } = fakeSleep();
    const gone = new Error('NoSuchBucket');
    const c = failing([slowDown(1), gone]);
    await expect(retryCall(c.call, isTransient, policy, sleep)).rejects.toBe(gone);
    expect(c.calls).toEqual([1, 2]);
    expect(delays).toHaveLength(1);
  });

  it('abort during the backoff sleep throws the last error without another call', async () => {
    const ac = new AbortController();
    const first = slowDown(1);
    const c = failing([first]);
    const sleep = (_ms: number, signal?: AbortSignal): Promise<void> => {
      ac.abort();
      return Promise.reject(signal?.reason ?? new Error('aborted'));
    };
    await expect(retryCall(c.call, isTransient, policy, sleep, ac.signal)).rejects.toBe(first);
    expect(c.calls).toEqual([1]);
  });

  it('retryCallUnder binds a policy: the RetryCall an operation prepare() gets', async () => {
    const { sleep, delays } = fakeSleep();
    const retry = retryCallUnder({ ...policy, maxAttempts: 2 }, sleep);
    const c = failing([slowDown(1), slowDown(2)]);
    await expect(retry(() => c.call(c.calls.length + 1), isTransient, new AbortController().signal)).rejects.toThrow(
      'slow down #2',
    );
    expect(c.calls).toEqual([1, 2]);
    expect(delays).toHaveLength(1);
  });
});

describe('sleep (the real one)', () => {
  it('resolves after the delay and rejects at once on abort', async () => {
    await expect(realSleep(1)).resolves.toBeUndefined();
    const ac = new AbortController();
    const p = realSleep(60_000, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    const pre = new AbortController();
    pre.abort(new Error('already'));
    await expect(realSleep(60_000, pre.signal)).rejects.toThrow('already');
  });
});

describe('runWithRetry with a throttle rule', () => {
  const internal = (n: number): AttemptOutcome => ({
    result: failed(entry, 500, 'InternalError', `internal #${n}`),
    retryable: true,
  });
  const rule = (maxRetries: number) => ({
    isThrottled: (o: AttemptOutcome) => o.result.errorCode === 'SlowDown',
    maxRetries,
  });

  it('throttled attempts do not use the ordinary attempts: 12 SlowDowns then success, with maxAttempts 2', async () => {
    const { sleep, delays } = fakeSleep();
    const s = scripted(...Array.from({ length: 12 }, (_, i) => transient(i + 1)), ok);
    const run = await runWithRetry(
      s.attempt,
      { ...policy, maxAttempts: 2 },
      sleep,
      undefined,
      undefined,
      () => 0.999,
      rule(50),
    );
    expect(run).toMatchObject({ attempts: 13, aborted: false });
    expect(run.result.status).toBe('succeeded');
    // The backoff still grows with every attempt made, up to the cap.
    expect(delays.slice(0, 5)).toEqual([99, 199, 399, 799, 999]);
    expect(delays).toHaveLength(12);
  });

  it('other transient failures still use the ordinary attempts', async () => {
    const s = scripted(transient(1), internal(2), transient(3), internal(4), ok);
    const run = await runWithRetry(
      s.attempt,
      { ...policy, maxAttempts: 2 },
      fakeSleep().sleep,
      undefined,
      undefined,
      Math.random,
      rule(50),
    );
    expect(run.attempts).toBe(4);
    expect(run.result.errorCode).toBe('InternalError');
  });

  it('past its own budget a throttled attempt counts as an ordinary one', async () => {
    const s = scripted(transient(1));
    const run = await runWithRetry(
      s.attempt,
      { ...policy, maxAttempts: 3 },
      fakeSleep().sleep,
      undefined,
      undefined,
      Math.random,
      rule(4),
    );
    expect(run.attempts).toBe(7); // 4 free throttled retries + 3 ordinary attempts
    expect(run.result.errorCode).toBe('SlowDown');
  });
});
