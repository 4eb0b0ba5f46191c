/**
 * The threads placement: a job's tasks run in worker threads of `serve` (`--workers N`, default
 * one per core), so the engine's thread keeps the API, the scheduler, preparing, reports and the
 * store, and never waits behind tasks.
 *
 * Each job runs on up to N threads. A thread runs whole chunks (chunk-worker.ts): it asks this
 * thread for the next chunk when its loops have taken every row of the last one, reads the rows,
 * runs the tasks, spools the results and reports progress in batches. The chunk source, the chunk
 * marks, the store and the job's limits stay here.
 *
 * The job's limits are summed over its threads by splitting them: its slots (the scheduler's,
 * lowered by its effective concurrency) and its requests per second are divided among the threads
 * still running its chunks, and re-divided when one of them runs out of chunks, so the total is
 * never above the job's. A rate-limited job uses at most rate/10 threads, so that each thread's
 * share keeps a burst of at least one token per tenth of a second, as one bucket would. Every
 * attempt's outcome comes back (batched) to the job's one adaptive slow-down here.
 *
 * Pausing: the threads' slots go to 0 and the job is idle once every thread has said so for that
 * very change (an epoch per change), so a Paused job has no task in flight anywhere.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Chunk } from '../domain/chunk.ts';
import { deserializeError, type FromWorker, type ToWorker } from './protocol.ts';
import type { ThreadData } from './thread-entry.ts';
import type {
  ChunkCounts,
  ChunkPlacement,
  ExecutionHooks,
  JobExecution,
  LiveCounts,
  PlacedJob,
  RunOutcome,
} from './placement.ts';

type Handler = (msg: FromWorker) => void;

/** One worker thread and the executions it runs. */
class Thread {
  readonly worker: Worker;
  readonly handlers = new Map<number, Handler>();
  private gone: Error | undefined;

  constructor(data: ThreadData, onGone: (thread: Thread) => void) {
    this.worker = startWorker(data);
    this.worker.on('message', (msg: FromWorker) => this.handlers.get(msg.id)?.(msg));
    const lost = (why: string): void => {
      if (this.gone) return;
      this.gone = new Error(`a chunk worker thread ${why}`);
      onGone(this);
      for (const [id, handler] of [...this.handlers]) {
        handler({ t: 'ended', id, partial: [], error: { name: 'Error', message: this.gone.message } });
      }
      this.handlers.clear();
    };
    this.worker.on('error', (err) => lost(`failed: ${err.message}`));
    this.worker.on('exit', (code) => lost(`exited with code ${code}`));
  }

  get load(): number {
    return this.handlers.size;
  }

  post(msg: ToWorker): void {
    if (!this.gone) this.worker.postMessage(msg);
  }

  terminate(): Promise<number> {
    this.gone ??= new Error('the chunk worker threads were closed');
    return this.worker.terminate();
  }
}

/**
 * A worker running thread-entry: the compiled .js in the package, the .ts source under tsx or
 * vitest (worker threads do not inherit their loader on Node 20: tsx's require hook loads it).
 */
function startWorker(data: ThreadData): Worker {
  const options = { workerData: data, name: 's3batch-chunks' };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./thread-entry.js', import.meta.url), options);
  const entry = fileURLToPath(new URL('./thread-entry.ts', import.meta.url));
  const tsx = createRequire(import.meta.url).resolve('tsx/cjs/api');
  const boot = `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(entry)});`;
  return new Worker(boot, { ...options, eval: true });
}

export interface ThreadPlacementOptions {
  readonly threads: number;
  readonly data: ThreadData;
}

export class ThreadPlacement implements ChunkPlacement {
  readonly kind = 'threads';
  private threads: Thread[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: ThreadPlacementOptions) {}

  start(job: PlacedJob, hooks: ExecutionHooks, slots: number): JobExecution {
    return new ThreadExecution(
      job,
      hooks,
      slots,
      (k) => this.pick(k),
      () => this.nextId++,
    );
  }

  /**
   * Starts the threads (a thread loads the operations and the S3 clients: about a second on a busy
   * machine) while the job prepares, instead of when its first chunk is due.
   */
  warm(): void {
    if (!this.closed) this.pick(0);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.splice(0).map((t) => t.terminate()));
  }

  /** The k least loaded threads (started on first use; a thread that died is replaced). */
  private pick(k: number): Thread[] {
    while (this.threads.length < this.options.threads) {
      this.threads.push(
        new Thread(this.options.data, (gone) => {
          this.threads = this.threads.filter((t) => t !== gone);
        }),
      );
    }
    return [...this.threads].sort((a, b) => a.load - b.load).slice(0, k);
  }
}

/**
 * How many threads run a job: no more than its concurrency, its chunks not done (when known) and,
 * when rate-limited, rate/10 (each share keeps a burst of at least one token per tenth of a second).
 */
export function threadsFor(maxConcurrentTasks: number, rate: number | undefined, chunksLeft?: number): number {
  return Math.max(
    1,
    Math.min(
      maxConcurrentTasks,
      rate === undefined ? Number.POSITIVE_INFINITY : Math.floor(rate / 10),
      chunksLeft ?? Number.POSITIVE_INFINITY,
    ),
  );
}

export interface Shares {
  /** Per thread, in order: its slots (0 for a thread that ended). */
  readonly capacity: number[];
  /** Each running thread's requests per second (undefined: no rate limit). */
  readonly rate: number | undefined;
}

/**
 * A job's slots and rate divided among the threads still running its chunks (`ended[i]`: thread i
 * has run out of chunks): the slots as evenly as whole numbers allow, the first threads taking
 * the remainder, so that they sum to `total`.
 */
export function splitShares(total: number, rate: number | undefined, ended: readonly boolean[]): Shares {
  const active = ended.filter((e) => !e).length;
  const base = Math.floor(total / Math.max(1, active));
  let extra = total - base * active;
  const capacity = ended.map((e) => {
    if (e) return 0;
    if (extra > 0) {
      extra--;
      return base + 1;
    }
    return base;
  });
  return { capacity, rate: rate === undefined ? undefined : rate / Math.max(1, active) };
}

/** What the idle check reads of a thread's part of a job. */
export interface IdleState {
  readonly ended: boolean;
  /** The capacity change last sent, and the last one the thread said it was idle at. */
  readonly epoch: number;
  readonly idleEpoch: number;
  readonly inFlight: number;
}

/**
 * True when no thread has a task in flight and each has said it is idle for the latest capacity
 * change sent to it (an `idle` for an older one may predate tasks that change let start).
 */
export function allIdle(parts: readonly IdleState[]): boolean {
  return parts.every((p) => p.ended || (p.idleEpoch === p.epoch && p.inFlight === 0));
}

interface Part extends IdleState {
  readonly thread: Thread;
  readonly id: number;
  share: number;
  rate: number | undefined;
  epoch: number;
  idleEpoch: number;
  inFlight: number;
  live: LiveCounts;
  starved: boolean;
  ended: boolean;
}

const NONE: LiveCounts = { succeeded: 0, failed: 0 };

class ThreadExecution implements JobExecution {
  readonly done: Promise<RunOutcome>;
  private resolve!: (o: RunOutcome) => void;
  private reject!: (err: unknown) => void;
  private readonly parts: Part[];
  private slots: number;
  private stopped = false;
  private readonly stopCtl = new AbortController();
  private source: AsyncIterator<Chunk> | undefined;
  private sourceWaiting = false;
  private exhausted = false;
  private readonly wanting: Part[] = [];
  private pumping = false;
  private readonly partial: ChunkCounts[] = [];
  private error: unknown;

  constructor(
    private readonly job: PlacedJob,
    private readonly hooks: ExecutionHooks,
    slots: number,
    pick: (k: number) => Thread[],
    newId: () => number,
  ) {
    this.slots = slots;
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    const view = job.limits.view();
    const k = threadsFor(view.maxConcurrentTasks, view.maxRequestsPerSecond, job.chunksLeft);
    this.parts = pick(k).map((thread) => ({
      thread,
      id: newId(),
      share: 0,
      rate: undefined,
      epoch: 0,
      idleEpoch: -1,
      inFlight: 0,
      live: NONE,
      starved: false,
      ended: false,
    }));
    const shares = this.split();
    this.parts.forEach((p, i) => {
      p.share = shares.capacity[i]!;
      p.rate = shares.rate;
      p.thread.handlers.set(p.id, (msg) => this.receive(p, msg));
      p.thread.post({
        t: 'start',
        id: p.id,
        spec: job.spec,
        loops: job.maxConcurrency,
        capacity: p.share,
        epoch: 0,
        rate: p.rate,
      });
    });
  }

  get inFlight(): number {
    return this.parts.reduce((n, p) => n + p.inFlight, 0);
  }

  get capacity(): number {
    return Math.min(this.slots, this.job.limits.effectiveConcurrency);
  }

  get closed(): boolean {
    return this.stopped;
  }

  get starved(): boolean {
    return this.sourceWaiting && !this.stopped && this.parts.every((p) => p.ended || p.starved);
  }

  get occupied(): number {
    if (this.starved || this.stopped) return this.inFlight;
    return Math.max(this.inFlight, Math.min(this.job.maxConcurrency, this.capacity));
  }

  get liveCounts(): LiveCounts {
    let succeeded = 0;
    let failed = 0;
    let bytes: number | undefined;
    for (const p of this.parts) {
      succeeded += p.live.succeeded;
      failed += p.live.failed;
      if (p.live.bytes !== undefined) bytes = (bytes ?? 0) + p.live.bytes;
    }
    return bytes === undefined ? { succeeded, failed } : { succeeded, failed, bytes };
  }

  setSlots(slots: number): void {
    this.slots = slots;
    this.rebalance();
  }

  limitsChanged(): void {
    this.rebalance();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopCtl.abort();
    for (const p of this.parts) if (!p.ended) p.thread.post({ t: 'stop', id: p.id });
    this.answerWanting(null);
  }

  /** The job's slots and rate, divided among the threads still running its chunks. */
  private split(): Shares {
    return splitShares(
      this.capacity,
      this.job.limits.view().maxRequestsPerSecond,
      this.parts.map((p) => p.ended),
    );
  }

  private rebalance(): void {
    if (this.stopped) return;
    const shares = this.split();
    this.parts.forEach((p, i) => {
      if (p.ended) return;
      const share = shares.capacity[i]!;
      if (share !== p.share) {
        p.share = share;
        p.epoch++;
        p.thread.post({ t: 'capacity', id: p.id, capacity: share, epoch: p.epoch });
      }
      if (shares.rate !== p.rate) {
        p.rate = shares.rate;
        p.thread.post({ t: 'rate', id: p.id, rate: p.rate });
      }
    });
    this.checkIdle();
  }

  private checkIdle(): void {
    if (this.stopped || this.capacity > 0) return;
    if (allIdle(this.parts)) this.hooks.onIdle();
  }

  /** A hook that throws (a store write) fails the job, as it would inline; never the server. */
  private receive(p: Part, msg: FromWorker): void {
    try {
      this.onMessage(p, msg);
    } catch (err) {
      this.error ??= err;
      this.stop();
      if (msg.t !== 'ended' && msg.t !== 'starved' && msg.t !== 'need') p.inFlight = msg.inFlight;
    }
  }

  private onMessage(p: Part, msg: FromWorker): void {
    switch (msg.t) {
      case 'need':
        if (this.stopped || this.exhausted) {
          p.thread.post({ t: 'chunk', id: p.id, chunk: null });
          return;
        }
        this.wanting.push(p);
        void this.pump();
        return;
      case 'starved':
        p.starved = msg.on;
        this.hooks.onStarvedChange();
        return;
      case 'ended':
        this.onEnded(p, msg.partial, msg.error === undefined ? undefined : deserializeError(msg.error));
        return;
      default:
        break;
    }
    // progress, chunk-done, idle
    const before = p.inFlight;
    p.inFlight = msg.inFlight;
    p.live = msg.live;
    for (const kind of msg.attempts)
      this.job.limits.recordKind(kind === 's' ? 'succeeded' : kind === 't' ? 'throttled' : 'failed');
    const t = msg.tasks;
    for (let i = 0; i + 3 < t.length; i += 4) {
      this.hooks.onTaskDone({
        succeeded: t[i] === 1,
        durationMs: t[i + 1]!,
        attempts: t[i + 2]!,
        throttledAttempts: t[i + 3]!,
      });
    }
    if (msg.t === 'chunk-done') this.hooks.onChunkDone(msg.counts);
    if (t.length > 0) this.hooks.onResults();
    if (msg.t === 'idle') p.idleEpoch = msg.epoch;
    if (p.inFlight < before) this.hooks.onRelease();
    this.checkIdle();
  }

  /** Hands the next chunks not done to the threads that asked, in order. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.wanting.length > 0 && !this.stopped && !this.exhausted) {
        const chunk = await this.nextChunk();
        if (chunk === undefined) {
          this.exhausted = true;
          break;
        }
        const p = this.wanting.shift()!;
        p.thread.post({ t: 'chunk', id: p.id, chunk });
      }
    } catch (err) {
      // As the inline runner: a source that fails stops the job's tasks; the error ends the run.
      this.error ??= err;
      this.exhausted = true;
      this.stop();
    } finally {
      this.pumping = false;
    }
    if (this.exhausted || this.stopped) this.answerWanting(null);
  }

  private async nextChunk(): Promise<Chunk | undefined> {
    this.source ??= this.job
      .chunks(this.stopCtl.signal, (on) => {
        this.sourceWaiting = on;
        this.hooks.onStarvedChange();
      })
      [Symbol.asyncIterator]();
    for (;;) {
      const next = await this.source.next();
      if (next.done || this.stopped) return undefined;
      if (!this.job.isChunkDone(next.value.index)) return next.value;
    }
  }

  private answerWanting(chunk: null): void {
    for (const p of this.wanting.splice(0)) p.thread.post({ t: 'chunk', id: p.id, chunk });
  }

  private onEnded(p: Part, partial: readonly ChunkCounts[], error: Error | undefined): void {
    if (p.ended) return;
    p.ended = true;
    p.thread.handlers.delete(p.id);
    const before = p.inFlight;
    p.inFlight = 0;
    this.partial.push(...partial);
    // Live: what this run produced (the resumed rows of a chunk are counted by the engine already).
    p.live = partial.reduce<LiveCounts>(
      (a, c) => ({
        succeeded: a.succeeded + c.succeeded - (c.resumed?.succeeded ?? 0),
        failed: a.failed + c.failed - (c.resumed?.failed ?? 0),
        bytes: c.bytes === undefined ? a.bytes : (a.bytes ?? 0) + c.bytes - (c.resumed?.bytes ?? 0),
      }),
      NONE,
    );
    if (error !== undefined) {
      this.error ??= error;
      this.stop();
    }
    if (before > 0) this.hooks.onRelease();
    if (this.parts.every((q) => q.ended)) {
      const partialCounts = [...this.partial];
      if (this.error !== undefined) this.reject(Object.assign(this.error as object, { partial: partialCounts }));
      else this.resolve({ finished: !this.stopped && partialCounts.length === 0, partial: partialCounts });
      return;
    }
    // Its share goes to the threads still running the job's chunks.
    this.rebalance();
  }
}
