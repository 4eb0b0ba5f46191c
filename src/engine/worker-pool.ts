/**
 * The worker pool, after lib-storage's Upload: N loops pull from one shared async iterator; a
 * slot gate with an adjustable capacity bounds how many items are in flight. Capacity 0 pauses
 * the pool (loops wait); closing the gate stops it (loops exit after their current item).
 * A loop takes its next item before it takes a slot: a source that waits (a listing that has
 * not produced more tasks yet) holds no slot, so a pause takes effect at once, and a loop holds
 * at most one item it has no slot for.
 *
 * Invariants: `inFlight <= capacity` except right after the capacity was lowered (items already
 * running finish); every acquired slot is released exactly once; `onIdle` fires whenever the
 * pool holds no slot while the capacity is 0 or the gate is closed. Work that waits before doing
 * anything (a rate token) listens on `revoked`, which aborts when the capacity goes down or the
 * gate closes, so a slow rate never keeps a pause or a shutdown waiting.
 */

export class SlotGate {
  private capacity: number;
  private inUse = 0;
  private closed = false;
  private waiters: Array<() => void> = [];
  private idleListeners: Array<() => void> = [];
  private releaseListeners: Array<() => void> = [];
  private revoker = new AbortController();

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get inFlight(): number {
    return this.inUse;
  }

  /** Slots that may be in use at once now. */
  get size(): number {
    return this.capacity;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Aborts when the capacity goes down or the gate closes (then a fresh signal takes its place). */
  get revoked(): AbortSignal {
    return this.revoker.signal;
  }

  setCapacity(capacity: number): void {
    const lower = capacity < this.capacity;
    this.capacity = Math.max(0, capacity);
    if (lower) this.revoke();
    this.wake();
    this.checkIdle();
  }

  /** Resolves true with a slot held, or false once the gate is closed. */
  async acquire(): Promise<boolean> {
    while (!this.closed && this.inUse >= this.capacity) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.closed) return false;
    this.inUse++;
    return true;
  }

  release(): void {
    this.inUse--;
    this.wake();
    this.checkIdle();
    for (const l of this.releaseListeners) l();
  }

  close(): void {
    this.closed = true;
    this.revoke();
    this.wake();
    this.checkIdle();
  }

  /** Calls `listener` each time the gate becomes idle (nothing in flight, capacity 0 or closed). */
  onIdle(listener: () => void): void {
    this.idleListeners.push(listener);
  }

  /** Calls `listener` after every release (a slot went back). */
  onRelease(listener: () => void): void {
    this.releaseListeners.push(listener);
  }

  private revoke(): void {
    const r = this.revoker;
    this.revoker = new AbortController();
    r.abort();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private checkIdle(): void {
    if (this.inUse === 0 && (this.capacity === 0 || this.closed)) {
      for (const l of this.idleListeners) l();
    }
  }
}

/**
 * Runs `work` over every item of `source` with `loops` concurrent loops gated by `gate`.
 * `work` must not throw (task outcomes are data); an error from the source closes the gate,
 * lets the other loops finish their current item, and is rethrown once all loops ended. An item
 * taken from the source when the gate closes is dropped (the caller's stop accounts for it).
 */
export async function runPool<T>(
  source: AsyncIterator<T>,
  gate: SlotGate,
  loops: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let firstError: unknown;
  const loop = async (): Promise<void> => {
    while (!gate.isClosed) {
      let next: IteratorResult<T>;
      try {
        next = await source.next();
      } catch (err) {
        firstError ??= err;
        gate.close();
        return;
      }
      if (next.done || !(await gate.acquire())) return;
      try {
        await work(next.value);
      } catch (err) {
        firstError ??= err;
        gate.close();
      } finally {
        gate.release();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, loops) }, loop));
  if (firstError !== undefined) throw firstError;
}
