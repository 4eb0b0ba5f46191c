/**
 * The limits of one running job: its concurrency (the job's limit, lowered by the adaptive
 * slow-down while the storage throttles) and its optional rate of task attempts per second.
 *
 * The runner sizes its slot gate with `effectiveConcurrency` and asks `admit()` for a rate token
 * before a task's first attempt (a revocable wait); the task executor asks `beforeRetry()` before
 * each retry and reports every attempt to `record()`. `onChange` fires when the effective
 * concurrency moves.
 */
import type { AttemptOutcome } from '../operations/operation.ts';
import { AdaptiveLimit, isThrottled } from './adaptive-limit.ts';
import { takeToken, TokenBucket } from './rate-limiter.ts';
import type { Sleep } from './retry.ts';

export interface JobLimitSettings {
  /** Concurrent tasks of the job (the server's per-job default or the job's own tag). */
  readonly maxConcurrentTasks: number;
  /** Attempts per second, retries included; undefined: no rate limit. */
  readonly maxRequestsPerSecond?: number | undefined;
}

export interface JobLimitsView {
  readonly maxConcurrentTasks: number;
  readonly maxRequestsPerSecond?: number | undefined;
  /** The concurrency the job runs at now (below the maximum while the storage throttles). */
  readonly effectiveConcurrency: number;
  readonly throttledAttempts: number;
}

export interface JobLimitsDeps {
  /** Milliseconds clock. */
  readonly now: () => number;
  readonly sleep: Sleep;
  readonly onChange?: () => void;
}

/**
 * What a job's tasks need of its limits: JobLimits itself, or the share of them a worker thread
 * holds (execution/chunk-worker.ts).
 */
export interface TaskLimits {
  /** The job's concurrency now (the runner's gate never exceeds it). */
  readonly effectiveConcurrency: number;
  /** True when attempts wait for rate tokens. */
  readonly rateLimited: boolean;
  /** A rate token for a new task; false when `signal` ended the wait (nothing was taken). */
  admit(signal: AbortSignal): Promise<boolean>;
  /** A rate token for a retry. */
  beforeRetry(signal: AbortSignal): Promise<void>;
  /** Feeds the adaptive slow-down; returns true when the attempt was throttled. */
  record(outcome: AttemptOutcome): boolean;
}

export class JobLimits implements TaskLimits {
  private readonly adaptive: AdaptiveLimit;
  private bucket: TokenBucket | undefined;

  constructor(
    settings: JobLimitSettings,
    private readonly deps: JobLimitsDeps,
  ) {
    this.adaptive = new AdaptiveLimit({ max: settings.maxConcurrentTasks }, deps.now);
    this.bucket =
      settings.maxRequestsPerSecond === undefined
        ? undefined
        : new TokenBucket(settings.maxRequestsPerSecond, deps.now);
  }

  get effectiveConcurrency(): number {
    return this.adaptive.current;
  }

  /** True when attempts wait for rate tokens (a max requests per second is set). */
  get rateLimited(): boolean {
    return this.bucket !== undefined;
  }

  get throttledAttempts(): number {
    return this.adaptive.throttled;
  }

  view(): JobLimitsView {
    return {
      maxConcurrentTasks: this.adaptive.limit,
      maxRequestsPerSecond: this.bucket?.ratePerSecond,
      effectiveConcurrency: this.adaptive.current,
      throttledAttempts: this.adaptive.throttled,
    };
  }

  /** New settings while the job runs (its tags changed). */
  set(settings: JobLimitSettings): void {
    const before = this.adaptive.current;
    this.adaptive.setMax(settings.maxConcurrentTasks);
    const rate = settings.maxRequestsPerSecond;
    if (rate === undefined) this.bucket = undefined;
    else if (this.bucket) this.bucket.setRate(rate);
    else this.bucket = new TokenBucket(rate, this.deps.now);
    if (this.adaptive.current !== before) this.deps.onChange?.();
  }

  /** A rate token for a new task; false when `signal` ended the wait (nothing was taken). */
  admit(signal: AbortSignal): Promise<boolean> {
    return this.bucket ? takeToken(this.bucket, this.deps.sleep, signal) : Promise.resolve(true);
  }

  /** A rate token for a retry (the wait ends early only when the job's signal fires). */
  async beforeRetry(signal: AbortSignal): Promise<void> {
    if (this.bucket) await takeToken(this.bucket, this.deps.sleep, signal);
  }

  /** Feeds the adaptive slow-down; returns true when the attempt was throttled. */
  record(outcome: AttemptOutcome): boolean {
    const throttled = isThrottled(outcome.result);
    this.recordKind(throttled ? 'throttled' : outcome.result.status === 'succeeded' ? 'succeeded' : 'failed');
    return throttled;
  }

  /** An attempt's outcome as a worker thread reports it (execution/threads.ts). */
  recordKind(kind: 'succeeded' | 'throttled' | 'failed'): void {
    if (kind === 'throttled') {
      if (this.adaptive.onThrottle()) this.deps.onChange?.();
    } else if (kind === 'succeeded' && this.adaptive.onSuccess()) this.deps.onChange?.();
  }
}
