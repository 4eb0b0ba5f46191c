/**
 * The control-plane rate limit (docs/s3control-api.md#rate-limit): each account may create at most `ratePerSecond` jobs
 * per second on average, in bursts of up to `burst`. Over it, CreateJob answers
 * TooManyRequestsException, which the AWS SDKs and the aws CLI treat as throttling and retry
 * with backoff. One token bucket per account; the clock is injected (pure, unit-tested).
 */
import { S3BatchError } from '../domain/errors.ts';
import { TokenBucket } from '../engine/rate-limiter.ts';

export class AccountRateLimit {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number,
    private readonly what = 'CreateJob',
  ) {}

  /** Takes one request of the account's allowance, or throws TooManyRequestsException. */
  take(accountId: string): void {
    let bucket = this.buckets.get(accountId);
    if (!bucket) {
      bucket = new TokenBucket(this.ratePerSecond, this.now, this.burst);
      this.buckets.set(accountId, bucket);
    }
    if (bucket.reserve() > 0) {
      bucket.cancel();
      throw new S3BatchError(
        'TooManyRequestsException',
        `Too many ${this.what} requests for account ${accountId}: at most ${this.ratePerSecond} per second (bursts of ${this.burst}); retry with backoff`,
      );
    }
  }
}
