/**
 * The one limit on failed authentication, shared by every way in: HTTP Basic, SigV4 (JSON API and
 * S3 Control API), the session cookie and `POST /api/v1/session`. Over it, the answer is 429
 * `TooManyRequestsException` with `Retry-After` (seconds until the window is over).
 *
 * Three counts, in fixed windows (default 10 failures a minute for the first two):
 * - per client (`req.ip`: the X-Forwarded-For client only behind a trusted proxy; an IPv6 address
 *   counts by its /64, the block one host or one customer usually gets, so that a guesser cannot
 *   take a fresh address from its own block for each try): a client over its limit is refused
 *   before its credentials are even looked at;
 * - per access key id (known keys only, so that made-up ids cannot evict real ones): while a key
 *   is over its limit, only clients with no failure of their own in the current window may try it.
 *   The owner, signing in correctly from an address that has not failed, still gets in; a guesser
 *   spread over many addresses gets one try per address (or /64) and window instead of ten;
 * - a hard ceiling per access key id from all clients together (default 10 × the per-key limit):
 *   past it, each further failed attempt with that key is answered 429 instead of 403, and the
 *   server logs it once per window. The ceiling never refuses a correct credential: it is only
 *   applied once the attempt has failed. Refusing the key outright instead would let anyone lock
 *   its owner out by sending wrong secrets (README.md, Security).
 * Successes are never counted and never refused by the per-key counts. Missing credentials and
 * sessions that expired or were signed out are not failures (a browser retries those on its own).
 * Expired windows are dropped as time passes (lazily, oldest first), so memory follows the live
 * windows, within `maxNames` per count.
 */
import { isIP } from 'node:net';
import { S3BatchError } from '../../domain/errors.ts';

/**
 * Counts failures per name (an address, a key id) in fixed windows. A name's window is (re)inserted
 * when it starts, so the map is in order of expiry: expired windows are dropped from its front at
 * each call, and memory follows the live windows, within `maxNames`.
 */
export class FailedAttempts {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxNames = 10_000,
  ) {}

  /** Names with a window still open (after dropping the expired ones). */
  get size(): number {
    this.prune(this.now());
    return this.windows.size;
  }

  /** Seconds until `name` may try again, or 0 when it may try now. */
  blockedFor(name: string): number {
    const t = this.now();
    this.prune(t);
    const w = this.windows.get(name);
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
    this.prune(t);
    const w = this.windows.get(name);
    if (w !== undefined && w.resetAt > t) {
      w.count++;
      return;
    }
    // Still full of live windows: forget the oldest (Map keeps insertion order).
    if (this.windows.size >= this.maxNames) this.windows.delete(this.windows.keys().next().value as string);
    this.windows.delete(name);
    this.windows.set(name, { count: 1, resetAt: t + this.windowMs });
  }

  /** Drops expired windows from the front; stops at the first live one (the map is in order of expiry). */
  private prune(t: number): void {
    for (const [name, w] of this.windows) {
      if (w.resetAt > t) return;
      this.windows.delete(name);
    }
  }
}

/**
 * The name a client is counted under: an IPv4 address as it is (also when IPv4-mapped, `::ffff:a.b.c.d`),
 * an IPv6 address by its /64 (`2001:db8:1:2::/64`), anything else as it is.
 */
export function clientGroup(address: string): string {
  const plain = address.replace(/%.*$/, ''); // a zone id (fe80::1%eth0)
  if (isIP(plain) !== 6) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain);
  if (mapped) return mapped[1] as string;
  const [front = '', back] = plain.toLowerCase().split('::') as [string, string | undefined];
  const head = front === '' ? [] : front.split(':');
  const tail = back === undefined || back === '' ? [] : back.split(':');
  // An embedded IPv4 tail (::a.b.c.d) takes two groups; only the first four groups matter here.
  const tailGroups = tail.flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
  const groups =
    back === undefined ? head : [...head, ...Array(8 - head.length - tailGroups.length).fill('0'), ...tailGroups];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
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
  /** Failures allowed per access key id and window from all clients together; default 10 × maxPerKey. */
  readonly keyCeiling?: number;
  /** Told once per key and window when a key passes its ceiling (a guesser spread over many clients). */
  readonly onKeyCeiling?: (accessKeyId: string) => void;
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
  /**
   * Records one failed authentication of `client`, naming `accessKeyId` when the credentials did.
   * Throws TooManyFailedAttempts (429) when the key was already past its ceiling: the caller's 403
   * becomes that 429.
   */
  fail(client: string, accessKeyId: string | undefined): void;
}

export function createAuthLimiter(opts: AuthLimiterOptions = {}): AuthLimiter {
  const windowMs = opts.windowMs ?? 60_000;
  const maxPerKey = opts.maxPerKey ?? 10;
  const clients = new FailedAttempts(opts.maxPerClient ?? 10, windowMs, opts.now);
  const keys = new FailedAttempts(maxPerKey, windowMs, opts.now);
  const ceiling = new FailedAttempts(opts.keyCeiling ?? 10 * maxPerKey, windowMs, opts.now);
  const known = opts.isKnownKey ?? (() => true);
  return {
    check(address, accessKeyId) {
      const client = clientGroup(address);
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
    fail(address, accessKeyId) {
      clients.fail(clientGroup(address));
      if (accessKeyId === undefined || !known(accessKeyId)) return;
      keys.fail(accessKeyId);
      const over = ceiling.blockedFor(accessKeyId);
      ceiling.fail(accessKeyId);
      if (over === 0) {
        if (ceiling.blockedFor(accessKeyId) > 0) opts.onKeyCeiling?.(accessKeyId);
        return;
      }
      throw new TooManyFailedAttempts(
        `Too many failed authentications with this access key from all addresses: try again in ${over} s`,
        over,
      );
    },
  };
}
