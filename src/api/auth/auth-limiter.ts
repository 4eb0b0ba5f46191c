/**
 * The one limit on failed authentication, shared by every way in: HTTP Basic, SigV4 (JSON API and
 * S3 Control API), the session cookie and `POST /api/v1/session`. Over it, the answer is 429
 * `TooManyRequestsException` with `Retry-After` (seconds until the window is over).
 *
 * Two counts, in fixed windows (default 10 failures a minute each):
 * - per client address (`req.ip`: the X-Forwarded-For client only behind a trusted proxy): a
 *   client over its limit is refused before its credentials are even looked at;
 * - per access key id (known keys only, so that made-up ids cannot evict real ones): while a key
 *   is over its limit, only clients with no failure of their own in the current window may try it.
 *   The owner, signing in correctly from an address that has not failed, still gets in; a guesser
 *   spread over many addresses gets one try per address and window instead of ten.
 * Successes are never counted and never refused by the per-key count. Missing credentials and
 * sessions that expired or were signed out are not failures (a browser retries those on its own).
 */
import { S3BatchError } from '../../domain/errors.ts';

/** Counts failures per name (an address, a key id) in fixed windows; memory is bounded by `maxNames`. */
export class FailedAttempts {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxNames = 10_000,
  ) {}

  /** Seconds until `name` may try again, or 0 when it may try now. */
  blockedFor(name: string): number {
    const w = this.windows.get(name);
    const t = this.now();
    if (w === undefined || w.resetAt <= t) return 0;
    return w.count >= this.max ? Math.ceil((w.resetAt - t) / 1000) : 0;
  }

  /** True when `name` failed at least once in its current window. */
  hasFailed(name: string): boolean {
    const w = this.windows.get(name);
    return w !== undefined && w.resetAt > this.now();
  }

  fail(name: string): void {
    const t = this.now();
    const w = this.windows.get(name);
    if (w !== undefined && w.resetAt > t) {
      w.count++;
      return;
    }
    if (this.windows.size >= this.maxNames) {
      for (const [a, v] of this.windows) if (v.resetAt <= t) this.windows.delete(a);
      // Still full: forget the oldest window (Map keeps insertion order).
      if (this.windows.size >= this.maxNames) this.windows.delete(this.windows.keys().next().value as string);
    }
    this.windows.delete(name);
    this.windows.set(name, { count: 1, resetAt: t + this.windowMs });
  }
}

/** A 429 that carries its Retry-After; the caller's error path sets the header. */
export class TooManyFailedAttempts extends S3BatchError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super('TooManyRequestsException', message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The Retry-After of an error, when it is a TooManyFailedAttempts (also across module copies). */
export function retryAfterOf(err: unknown): number | undefined {
  const v = (err as { retryAfterSeconds?: unknown } | null)?.retryAfterSeconds;
  return typeof v === 'number' ? v : undefined;
}

export interface AuthLimiterOptions {
  /** Failures allowed per client address and window; default 10. */
  readonly maxPerClient?: number;
  /** Failures allowed per access key id and window; default 10. */
  readonly maxPerKey?: number;
  /** Window length; default one minute. */
  readonly windowMs?: number;
  readonly now?: () => number;
  /** Key ids that exist: only those are counted per key. */
  readonly isKnownKey?: (accessKeyId: string) => boolean;
}

export interface AuthLimiter {
  /**
   * Throws TooManyFailedAttempts (429) when `client` may not try now, or may not try `accessKeyId`
   * (undefined when the credentials name no key, e.g. a session cookie).
   */
  check(client: string, accessKeyId: string | undefined): void;
  /** Records one failed authentication of `client`, naming `accessKeyId` when the credentials did. */
  fail(client: string, accessKeyId: string | undefined): void;
}

export function createAuthLimiter(opts: AuthLimiterOptions = {}): AuthLimiter {
  const windowMs = opts.windowMs ?? 60_000;
  const clients = new FailedAttempts(opts.maxPerClient ?? 10, windowMs, opts.now);
  const keys = new FailedAttempts(opts.maxPerKey ?? 10, windowMs, opts.now);
  const known = opts.isKnownKey ?? (() => true);
  return {
    check(client, accessKeyId) {
      const wait = clients.blockedFor(client);
      if (wait > 0)
        throw new TooManyFailedAttempts(
          `Too many failed authentications from this address: try again in ${wait} s`,
          wait,
        );
      if (accessKeyId === undefined || !clients.hasFailed(client)) return;
      const keyWait = keys.blockedFor(accessKeyId);
      if (keyWait > 0)
        throw new TooManyFailedAttempts(
          `Too many failed authentications with this access key: try again in ${keyWait} s`,
          keyWait,
        );
    },
    fail(client, accessKeyId) {
      clients.fail(client);
      if (accessKeyId !== undefined && known(accessKeyId)) keys.fail(accessKeyId);
    },
  };
}
