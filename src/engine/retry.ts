/**
 * Per-task retries (docs/job-lifecycle.md#retries): transient failures are retried with exponential backoff and full
 * jitter, permanent ones are final at once, and only the final attempt's outcome counts.
 *
 * Pure: the clock is injected (`sleep`), so tests never wait. A failed task is data — this never
 * throws for one. It rejects only when the attempt function itself rejects (the operation's own
 * abort on job cancel/pause, or a bug) or when the signal is already aborted before the first
 * attempt (then there is no outcome to return).
 */
import type { AttemptOutcome, RetryCall } from '../operations/operation.ts';

export interface RetryPolicy {
  /** Attempts in total, including the first (≥ 1). */
  readonly maxAttempts: number;
  /** Upper bound of the delay after the first failed attempt. */
  readonly baseDelayMs: number;
  /** Upper bound of any delay. */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 20_000,
});

export interface RetryRun extends AttemptOutcome {
  /** Attempts made (1 = no retry). */
  readonly attempts: number;
  /** True when the signal stopped further retries; `result` is then the last attempt's. */
  readonly aborted: boolean;
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/**
 * Throttled attempts (SlowDown, 429…) say "slow down", not "this task is broken": they are retried
 * on a budget of their own, so a throttling storm slows the job (job-limits.ts) instead of
 * failing tasks. Throttled attempts past `maxRetries` count against the ordinary attempts.
 */
export interface ThrottleRule {
  isThrottled(outcome: AttemptOutcome): boolean;
  readonly maxRetries: number;
}

/** Throttled retries a task may make on top of its ordinary attempts. */
export const DEFAULT_MAX_THROTTLED_RETRIES = 50;

/**
 * Delay before the retry that follows failed attempt `attempt` (1-based): full jitter over
 * [0, min(maxDelayMs, baseDelayMs · 2^(attempt-1))), in whole milliseconds.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  // 2^exponent overflows to Infinity long after the cap is reached; min() keeps it finite.
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.min(Math.floor(r * ceiling), Math.max(0, ceiling - 1));
}

/**
 * Runs `attempt(1)`, `attempt(2)`, … until an outcome is final: success, a permanent failure, the
 * last allowed attempt, or an abort (checked before each retry and during the backoff sleep).
 * With `throttle`, throttled attempts use their own budget first (see ThrottleRule); the backoff
 * grows with every attempt made, throttled or not.
 */
export async function runWithRetry(
  attempt: (n: number) => Promise<AttemptOutcome>,
  policy: RetryPolicy,
  sleep: Sleep,
  signal?: AbortSignal,
  onRetry?: (n: number, outcome: AttemptOutcome, delayMs: number) => void,
  random: () => number = Math.random,
  throttle?: ThrottleRule,
): Promise<RetryRun> {
  const maxAttempts = Math.max(1, Math.floor(policy.maxAttempts));
  signal?.throwIfAborted();
  let ordinary = 0;
  let throttled = 0;
  for (let n = 1; ; n++) {
    const outcome = await attempt(n);
    if (outcome.result.status === 'succeeded' || !outcome.retryable) return { ...outcome, attempts: n, aborted: false };
    if (throttle !== undefined && throttled < throttle.maxRetries && throttle.isThrottled(outcome)) throttled++;
    else ordinary++;
    if (ordinary >= maxAttempts) return { ...outcome, attempts: n, aborted: false };
    if (signal?.aborted) return { ...outcome, attempts: n, aborted: true };
    const delayMs = backoffDelay(n, policy, random);
    onRetry?.(n, outcome, delayMs);
    try {
      await sleep(delayMs, signal);
    } catch (err) {
      if (signal?.aborted) return { ...outcome, attempts: n, aborted: true };
      throw err;
    }
    if (signal?.aborted) return { ...outcome, attempts: n, aborted: true };
  }
}

/**
 * Runs a request that is not a task (an operation's prepare() check) under the same policy:
 * `call(n)` is repeated while it throws an error `isRetryable` accepts, with backoffDelay between
 * attempts, until the last allowed attempt; then its error is thrown. An abort (checked before each
 * retry and during the backoff sleep) ends it with the last error too.
 */
export async function retryCall<T>(
  call: (n: number) => Promise<T>,
  isRetryable: (err: unknown) => boolean,
  policy: RetryPolicy,
  sleep: Sleep,
  signal?: AbortSignal,
  random: () => number = Math.random,
): Promise<T> {
  const maxAttempts = Math.max(1, Math.floor(policy.maxAttempts));
  for (let n = 1; ; n++) {
    try {
      return await call(n);
    } catch (err) {
      if (n >= maxAttempts || signal?.aborted || !isRetryable(err)) throw err;
      try {
        await sleep(backoffDelay(n, policy, random), signal);
      } catch (sleepErr) {
        throw signal?.aborted ? err : sleepErr;
      }
      if (signal?.aborted) throw err;
    }
  }
}

/** The RetryCall an operation's prepare() gets: retryCall under `policy` on the real clock. */
export function retryCallUnder(policy: RetryPolicy, sleepFn: Sleep = sleep): RetryCall {
  return (call, isRetryable, signal) => retryCall(call, isRetryable, policy, sleepFn, signal);
}

/** A real `Sleep` on the global timer; rejects with the signal's reason when aborted. */
export const sleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
