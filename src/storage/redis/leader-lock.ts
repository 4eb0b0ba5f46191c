/**
 * The scheduler role of the scale-out mode (issue 14): of the `serve` instances sharing one Redis,
 * the one holding the lease key `<prefix>leader` runs the engine; the others are standbys.
 *
 * - The key holds JSON `{id, url, since}` (who holds it, where its API answers, since when); that
 *   exact string is also the fencing token: the job store (redis-job-store.ts) writes only while
 *   the key still holds it, so a leader that lost the lease cannot overwrite its successor's state.
 * - A standby tries `SET key value NX PX lease` every `pollMs` (~1 s) and calls `onLeader` when it
 *   gets it. The leader extends the lease every `renewMs` (~1 s) with a compare-and-extend script.
 * - `onLost` is called when a renewal finds the key gone or held by another, and also when no
 *   renewal has succeeded for `leaseMs - renewMs` (Redis unreachable: the key may expire on the
 *   server at any moment, so the leader stops believing in it first). After `onLost` has returned
 *   (its promise settled), the lock is a standby again and may become leader anew (a new token).
 *
 * A leader SIGKILLed stops renewing: its key expires within `leaseMs` (5 s) and a standby polling
 * every second has it within leaseMs + pollMs (≈ 6 s, the issue asks ≤ 10 s). `release()` (a clean
 * stop) deletes the key only if it is still ours, so a standby takes over within `pollMs`.
 */
import type { Redis } from 'ioredis';

/** Who holds the scheduler role. */
export interface LeaderInfo {
  readonly id: string;
  /** Where the leader's API answers (standbys forward requests there). */
  readonly url: string;
  /** When it took the role (ISO time). */
  readonly since: string;
}

/** What a job store checks before each write: the key still holds `value`. */
export interface Fence {
  readonly key: string;
  readonly value: string;
}

export interface LeaderLockOptions {
  /** Key prefix, e.g. `s3batch:`: the key is `<prefix>leader`. */
  readonly prefix: string;
  /** This instance (unique among the instances: e.g. host, pid and a random part). */
  readonly id: string;
  /** Where this instance's API answers. */
  readonly url: string;
  /** Called when this instance becomes leader; `fence` is the token its store must check. */
  onLeader(fence: Fence): void | Promise<void>;
  /** Called when it stops being leader (`reason` says why); awaited before it tries again. */
  onLost(reason: string): void | Promise<void>;
  /** A Redis error while polling or renewing (the lock keeps trying). */
  onError?(err: unknown): void;
  readonly leaseMs?: number;
  readonly renewMs?: number;
  readonly pollMs?: number;
}

/** Extends the lease if the key still holds our value: 1, else 0. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
/** Deletes the key if it still holds our value. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export function leaderKey(prefix: string): string {
  return `${prefix}leader`;
}

/** The current holder of the role, or undefined (no leader, or a value that is not ours). */
export async function currentLeader(redis: Redis, prefix: string): Promise<LeaderInfo | undefined> {
  const raw = await redis.get(leaderKey(prefix));
  if (raw === null) return undefined;
  try {
    const { id, url, since } = JSON.parse(raw) as Partial<LeaderInfo>;
    if (typeof id === 'string' && typeof url === 'string' && typeof since === 'string') return { id, url, since };
  } catch {
    // not JSON: not a leader s3batch knows
  }
  return undefined;
}

export class LeaderLock {
  readonly key: string;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly pollMs: number;
  /** Our value while we hold the key. */
  private held: string | undefined;
  /** When the last successful renewal (or the acquisition) was sent: the lease runs from there. */
  private validFrom = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  /** onLost is running: no acquisition until it is done. */
  private losing = false;
  private running = false;
  /** Callbacks run one after another: onLeader never overlaps the onLost before it. */
  private callbacks: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    private readonly options: LeaderLockOptions,
  ) {
    this.key = leaderKey(options.prefix);
    this.leaseMs = options.leaseMs ?? 5_000;
    this.renewMs = options.renewMs ?? 1_000;
    this.pollMs = options.pollMs ?? 1_000;
  }

  get isLeader(): boolean {
    return this.held !== undefined;
  }

  /** The fencing token while leader. */
  get fence(): Fence | undefined {
    return this.held === undefined ? undefined : { key: this.key, value: this.held };
  }

  /** Starts polling (as a standby) and renewing (as leader); the first try is immediate. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.tick(0);
  }

  /** The current holder of the role (maybe this instance), from Redis. */
  leader(): Promise<LeaderInfo | undefined> {
    return currentLeader(this.redis, this.options.prefix);
  }

  /** Stops the timers and gives the role up (deleting the key only if still ours); no onLost. */
  async release(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    const value = this.held;
    this.held = undefined;
    if (value !== undefined) await this.redis.eval(RELEASE, 1, this.key, value);
    await this.callbacks;
  }

  /** Stops the timers without releasing (what a crash does; for tests). */
  abandon(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tick(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.tick(this.held !== undefined ? this.renewMs : this.pollMs);
      if (this.busy || this.losing) {
        this.checkExpiry(); // a renewal hangs (Redis down): the lease still runs out
        return;
      }
      this.busy = true;
      void (this.held !== undefined ? this.renew() : this.tryAcquire()).finally(() => {
        this.busy = false;
      });
    }, delayMs);
  }

  private async tryAcquire(): Promise<void> {
    const value = JSON.stringify({ id: this.options.id, url: this.options.url, since: new Date().toISOString() });
    const sentAt = performance.now();
    try {
      const ok = await this.redis.set(this.key, value, 'PX', this.leaseMs, 'NX');
      if (ok !== 'OK') return;
      if (!this.running) {
        await this.redis.eval(RELEASE, 1, this.key, value); // released while this SET was on its way
        return;
      }
    } catch (err) {
      this.options.onError?.(err);
      return;
    }
    this.held = value;
    this.validFrom = sentAt;
    const fence = { key: this.key, value };
    this.run(() => this.options.onLeader(fence));
  }

  private async renew(): Promise<void> {
    const value = this.held!;
    const sentAt = performance.now();
    let extended: unknown;
    try {
      extended = await this.redis.eval(RENEW, 1, this.key, value, String(this.leaseMs));
    } catch (err) {
      this.options.onError?.(err);
      this.checkExpiry();
      return;
    }
    if (this.held !== value) return; // lost (or released) meanwhile
    if (extended === 1) this.validFrom = sentAt;
    else this.lose('the leader key expired or another instance holds it');
  }

  /** Gives the role up when no renewal succeeded for long enough that the key may be gone. */
  private checkExpiry(): void {
    if (this.held !== undefined && performance.now() - this.validFrom >= this.leaseMs - this.renewMs)
      this.lose(`no lease renewal succeeded for ${this.leaseMs - this.renewMs} ms (Redis unreachable?)`);
  }

  private lose(reason: string): void {
    this.held = undefined;
    // Standby again once onLost is done: no poll until then, so as not to lead twice at once.
    this.losing = true;
    this.run(() => this.options.onLost(reason));
    void this.callbacks.finally(() => {
      this.losing = false;
    });
  }

  private run(callback: () => void | Promise<void>): void {
    this.callbacks = this.callbacks.then(callback).catch((err: unknown) => this.options.onError?.(err));
  }
}
