/**
 * Per-task retries (docs/job-lifecycle.md#retries): transient failures are retried with exponential backoff and full
 * jitter, permanent ones are final at once, and only the final attempt's outcome counts.
 *
 * Pure: the clock is injected (`sleep`), so tests never wait. A failed task is data — this never
 * throws for one. It rejects only when the attempt function itself rejects (the operation's own
 * abort on job cancel/pause, or a bug) or when the signal is already aborted before the first
 * attempt (then there is no outcome to return).
 */
import { backoffDelay, retryCall, type RetryPolicy, type Sleep } from '../domain/backoff.ts';
import type { AttemptOutcome, RetryCall } from '../operations/operation.ts';

export { backoffDelay, retryCall, type RetryPolicy, type Sleep } from '../domain/backoff.ts';

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
