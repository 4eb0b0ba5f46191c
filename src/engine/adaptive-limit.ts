/**
 * Adaptive slow-down (docs/job-lifecycle.md#throttling; AIMD): the job's effective concurrency, between
 * 1 and the job's limit, halves when attempts come back throttled and grows by one after a round
 * of successes (one success per slot, as TCP's congestion avoidance grows by one per window).
 *
 * Pure: the clock is injected. Invariants: `1 <= current <= max`; at most one decrease per
 * cooldown (a burst of throttles from one round of concurrent requests is one signal, not many).
 */
import type { TaskResult } from '../domain/task.ts';

export interface AdaptiveLimitOptions {
  /** The job's limit: the effective concurrency never exceeds it. */
  readonly max: number;
  /** Factor of a decrease (0 < factor < 1). */
  readonly decreaseFactor?: number;
  /** Minimum time between two decreases. */
  readonly cooldownMs?: number;
}

export const DEFAULT_DECREASE_FACTOR = 0.5;
export const DEFAULT_COOLDOWN_MS = 1000;

export class AdaptiveLimit {
  private max: number;
  private value: number;
  private readonly factor: number;
  private readonly cooldownMs: number;
  private lastDecrease = Number.NEGATIVE_INFINITY;
  private successes = 0;
  private throttles = 0;

  constructor(
    options: AdaptiveLimitOptions,
    private readonly now: () => number,
  ) {
    this.max = Math.max(1, Math.floor(options.max));
    this.value = this.max;
    this.factor = options.decreaseFactor ?? DEFAULT_DECREASE_FACTOR;
    this.cooldownMs = options.cooldownMs ?? DEFAULT_COOLDOWN_MS;
  }

  /** The effective concurrency now. */
  get current(): number {
    return this.value;
  }

  get limit(): number {
    return this.max;
  }

  /** Throttled attempts seen so far. */
  get throttled(): number {
    return this.throttles;
  }

  /** A throttled attempt. Returns true when the limit went down. */
  onThrottle(): boolean {
    this.throttles++;
    this.successes = 0;
    const t = this.now();
    if (t - this.lastDecrease < this.cooldownMs || this.value === 1) return false;
    this.lastDecrease = t;
    this.value = Math.max(1, Math.floor(this.value * this.factor));
    return true;
  }

  /** A successful attempt. Returns true when the limit went up. */
  onSuccess(): boolean {
    if (this.value >= this.max) return false;
    this.successes++;
    if (this.successes < this.value) return false;
    this.successes = 0;
    this.value++;
    return true;
  }

  /**
   * A new job limit (the job's tags changed). A job running at its old limit moves to the new
   * one at once; a job slowed down by throttling stays where it is (capped) and grows from there.
   */
  setMax(max: number): void {
    const next = Math.max(1, Math.floor(max));
    const unthrottled = this.value === this.max;
    this.max = next;
    this.value = unthrottled ? next : Math.min(this.value, next);
  }
}

/** Error codes that mean "too many requests" rather than a fault. */
const THROTTLE_CODES = new Set([
  'SlowDown',
  'SlowDownRead',
  'SlowDownWrite',
  'TooManyRequests',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'ServiceUnavailable',
]);

/** A failed attempt that says "slow down": HTTP 429 or 503, SlowDown, Throttling*, TooManyRequests… */
export function isThrottled(result: TaskResult): boolean {
  if (result.status !== 'failed') return false;
  if (result.httpStatus === 429 || result.httpStatus === 503) return true;
  const code = result.errorCode;
  return THROTTLE_CODES.has(code) || code.startsWith('Throttl') || code.startsWith('RequestThrottled');
}
