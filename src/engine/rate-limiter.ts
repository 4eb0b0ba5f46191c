/**
 * A token bucket: the per-job cap on task attempts per second (the `s3batch:max-requests-per-
 * second` job tag), retries included.
 *
 * Pure: the clock is injected, so tests drive it by hand. `reserve()` books a token and says how
 * long to wait for it; booked tokens make the balance negative, so callers queue in booking order
 * and the rate holds however many wait. An abandoned wait gives its token back (`cancel()`).
 *
 * Invariants: in any window of length T ms at most `burst + rate·T/1000` reservations are due
 * (the bucket starts full, holds at most `burst` tokens, refills at `rate` per second).
 */

export class TokenBucket {
  private rate: number;
  private burst: number;
  /** Tokens in the bucket; negative when tokens are booked ahead. */
  private tokens: number;
  private last: number;

  constructor(
    ratePerSecond: number,
    private readonly now: () => number,
    burst?: number,
  ) {
    this.rate = positive(ratePerSecond);
    this.burst = burst ?? defaultBurst(this.rate);
    this.tokens = this.burst;
    this.last = now();
  }

  get ratePerSecond(): number {
    return this.rate;
  }

  /**
   * A new rate (and the burst that goes with it). Waits already booked keep their due time, and
   * tokens booked from now on are due after them: the debt is rescaled to the new rate, so a
   * higher rate never lets new callers overtake the queue (old and new tokens would add up).
   */
  setRate(ratePerSecond: number): void {
    this.refill();
    const old = this.rate;
    this.rate = positive(ratePerSecond);
    this.burst = defaultBurst(this.rate);
    this.tokens = this.tokens < 0 ? (this.tokens * this.rate) / old : Math.min(this.tokens, this.burst);
  }

  /** Takes one token: 0 when it was there, otherwise the milliseconds until the token booked now is due. */
  reserve(): number {
    this.refill();
    this.tokens -= 1;
    if (this.tokens >= 0) return 0;
    return Math.ceil((-this.tokens * 1000) / this.rate);
  }

  /** Gives back a token reserved but not used (its wait was abandoned). */
  cancel(): void {
    this.refill();
    this.tokens = Math.min(this.burst, this.tokens + 1);
  }

  private refill(): void {
    const t = this.now();
    const elapsed = Math.max(0, t - this.last);
    this.last = t;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
  }
}

/** A tenth of a second's worth of tokens, at least one: short bursts, the rate over any second. */
export function defaultBurst(ratePerSecond: number): number {
  return Math.max(1, Math.floor(ratePerSecond / 10));
}

function positive(rate: number): number {
  if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate must be a positive number (got ${rate})`);
  return rate;
}

/**
 * Waits for a token of `bucket`. Resolves true with the token taken, or false when `signal`
 * aborted the wait (the token is then given back). `sleep` may resolve or reject on abort.
 */
export async function takeToken(
  bucket: TokenBucket,
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
  signal?: AbortSignal,
): Promise<boolean> {
  if (signal?.aborted) return false;
  const wait = bucket.reserve();
  if (wait === 0) return true;
  try {
    await sleep(wait, signal);
  } catch (err) {
    if (!signal?.aborted) throw err;
  }
  if (signal?.aborted) {
    bucket.cancel();
    return false;
  }
  return true;
}
