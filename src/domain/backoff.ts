/**
 * Backoff for retries (docs/job-lifecycle.md#retries): the delay before each retry (exponential with full jitter)
 * and a retry loop for a call that throws. Pure: the clock is injected (`sleep`). The engine's task
 * retries (engine/retry.ts) and the storage adapters that retry their own requests share them.
 */

export interface RetryPolicy {
  /** Attempts in total, including the first (≥ 1). */
  readonly maxAttempts: number;
  /** Upper bound of the delay after the first failed attempt. */
  readonly baseDelayMs: number;
  /** Upper bound of any delay. */
  readonly maxDelayMs: number;
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

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
