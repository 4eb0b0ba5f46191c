/**
 * The BullMQ placement (scale-out mode, `serve --redis`): a running job's chunks run on `s3batch
 * worker` processes on any machine, as BullMQ jobs of the CHUNK_QUEUE (protocol.ts). The engine keeps
 * the chunk source, the chunk marks, the job's limits and the store; this placement feeds the queue
 * and hands back what the workers report.
 *
 * - A window, never every chunk: the loops (tasks at once) of the job's chunks in the queue or
 *   running sum to at most its capacity (the scheduler's slots ∧ its effective concurrency), each
 *   chunk with `chunkLoops` or less (chunk-window.ts). A chunk's job has a fixed id
 *   (chunkJobId), BullMQ's priority of the job's and the job's rate; a result is removed from the
 *   queue once recorded (after the store wrote it, when `durable` is given).
 * - Results come from BullMQ's event stream, progress from the workers' stream, both read by one
 *   StreamReader. A chunk that comes back finished is reported done; one that a stop cut short
 *   (finished: false) keeps its counts live and is sent again with `resume` when the window has
 *   room; a chunk whose job failed (its processor threw) fails the execution with that error.
 * - Shrinking: waiting chunks leave the queue, running ones get fewer loops (a `loops` message);
 *   a capacity of 0 or stop(): a `stop` message with a new generation (kept in the job's stop key),
 *   waiting chunks leave the queue, and the running ones come back unfinished. Idle (Paused) once
 *   none of the job's chunks is in the queue or running.
 * - A new leader's placement finds what the last one left: at start, the job's chunk jobs in the
 *   queue are adopted (waiting or running), applied (completed) or fail the job (failed); chunks
 *   not in the queue are added (adding an id that exists is a no-op). A sweep looks up chunks
 *   without news (an event lost to a Redis restart: a chunk whose job vanished is added again).
 *
 * Live counts: a worker's progress entry holds the chunk's results of its run (the rows `resume`
 * kept are left out, as JobRunner's liveCounts: the engine counted them from the part file at
 * start); a chunk's earlier runs in this execution add their results (counts less `resumed`).
 */
import { mergeFailures, subtractFailures } from '../../domain/failure-groups.ts';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Chunk } from '../../domain/chunk.ts';
import { ERROR_TABLE, type ErrorCode, S3BatchError } from '../../domain/errors.ts';
import type { Log } from '../../engine/job-log.ts';
import type {
  ChunkCounts,
  ChunkPlacement,
  ExecutionHooks,
  JobExecution,
  LiveCounts,
  PlacedJob,
  RunOutcome,
} from '../placement.ts';
import { planWindow, windowLoops } from './chunk-window.ts';
import { Control } from './control.ts';
import {
  bullPriority,
  CHUNK_QUEUE,
  type ChunkJobData,
  type ChunkJobResult,
  chunkJobId,
  PROTOCOL_VERSION,
  type ProgressEntry,
  type RedisNames,
} from './protocol.ts';
import { applyAttemptsAndTasks } from '../protocol.ts';
import { type QueueEvent, StreamReader } from './stream-reader.ts';

/** Default loops of one chunk: a job with more slots runs several chunks. */
export const DEFAULT_CHUNK_LOOPS = 16;
/** Chunks without news this long are looked up in the queue. */
export const DEFAULT_SWEEP_MS = 2_000;

export interface BullmqPlacementOptions {
  /**
   * Redis (ioredis, `maxRetriesPerRequest: null`) for the queue and commands; the placement
   * duplicates it for its blocking reader. The caller closes it, after close().
   */
  readonly redis: Redis;
  readonly names: RedisNames;
  /** Loops (tasks at once) of one chunk at most; default DEFAULT_CHUNK_LOOPS. */
  readonly chunkLoops?: number | undefined;
  readonly log: Log;
  /**
   * Resolves once the job store holds every change made so far (the engine's records.flush()): a
   * finished chunk's job leaves the queue only after its mark is stored. Without it, after 100 ms;
   * a mark lost with a leader is then redone from the chunk's part file (`resume`), no task again.
   */
  readonly durable?: (() => Promise<void>) | undefined;
  /** How long a chunk may be without news before it is looked up in the queue (ms). */
  readonly sweepMs?: number | undefined;
}

export interface WorkerTasks {
  succeeded: number;
  failed: number;
}

type ChunkQueue = Queue<ChunkJobData, ChunkJobResult>;

interface Shared {
  readonly queue: ChunkQueue;
  readonly control: Control;
  readonly reader: StreamReader;
  /** Resolves when the reader reads (from the streams' ends at the placement's start). */
  readonly ready: Promise<void>;
  readonly chunkLoops: number;
  readonly sweepMs: number;
  readonly log: Log;
  removeLater(ids: readonly string[]): void;
  ended(jobId: string, execution: BullExecution): void;
}

export class BullmqPlacement implements ChunkPlacement {
  readonly kind = 'bullmq';
  private readonly queue: ChunkQueue;
  private readonly reader: StreamReader;
  private readonly readerRedis: Redis;
  private readonly shared: Shared;
  private readonly executions = new Map<string, BullExecution>();
  private readonly workers = new Map<string, WorkerTasks>();
  private removals: string[] = [];
  private removalTimer: ReturnType<typeof setTimeout> | undefined;
  private removing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: BullmqPlacementOptions) {
    const { redis, names, log } = options;
    this.queue = new Queue<ChunkJobData, ChunkJobResult>(CHUNK_QUEUE, { connection: redis, prefix: names.bull });
    this.queue.on('error', (err) => log.warn({ err: err.message }, 'scale-out: the chunk queue reported an error'));
    this.readerRedis = redis.duplicate();
    this.readerRedis.on('error', () => {}); // the reader logs its failed reads
    this.reader = new StreamReader({
      redis: this.readerRedis,
      commands: redis,
      progressKey: names.progress,
      eventsKey: this.queue.keys.events!,
      onProgress: (entry) => this.onProgress(entry),
      onEvent: (event) => this.onEvent(event),
      log,
    });
    const ready = this.reader.start();
    ready.catch((err: unknown) =>
      log.error({ err: (err as Error).message }, 'scale-out: the progress reader did not start'),
    );
    this.shared = {
      queue: this.queue,
      control: new Control(redis, names),
      reader: this.reader,
      ready,
      chunkLoops: Math.max(1, options.chunkLoops ?? DEFAULT_CHUNK_LOOPS),
      sweepMs: options.sweepMs ?? DEFAULT_SWEEP_MS,
      log,
      removeLater: (ids) => this.removeLater(ids),
      ended: (jobId, execution) => {
        if (this.executions.get(jobId) === execution) this.executions.delete(jobId);
      },
    };
  }

  start(job: PlacedJob, hooks: ExecutionHooks, slots: number): JobExecution {
    const execution = new BullExecution(job, hooks, slots, this.shared);
    this.executions.set(job.spec.jobId, execution);
    return execution;
  }

  /**
   * A job that ends without running here (it was Cancelling or Failing when this leader started):
   * the chunks a leader before this one left running get a stop, and its chunk jobs leave the queue
   * (a running one once it is handed back; the workers' stop key keeps a waiting one from starting).
   */
  async abandon(jobId: string): Promise<void> {
    const { control } = this.shared;
    await control.stop(jobId, (await control.stopGen(jobId)) + 1);
    const states = ['waiting', 'prioritized', 'delayed', 'completed', 'failed'] as const;
    for (const job of await this.queue.getJobs([...states])) {
      if (job?.id?.startsWith(`${jobId}.`)) await this.queue.remove(job.id).catch(() => 0);
    }
  }

  /** Tasks finished per worker (name → counts), over every job, since this placement started: /metrics. */
  workerTasks(): ReadonlyMap<string, Readonly<WorkerTasks>> {
    return this.workers;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.removalTimer !== undefined) clearTimeout(this.removalTimer);
    this.removalTimer = undefined;
    await this.flushRemovals();
    await this.reader.close();
    await this.queue.close();
  }

  private onProgress(entry: ProgressEntry): void {
    if (entry.v !== PROTOCOL_VERSION) return;
    const t = entry.tasks;
    if (t.length >= 4) {
      let w = this.workers.get(entry.worker);
      if (!w) this.workers.set(entry.worker, (w = { succeeded: 0, failed: 0 }));
      for (let i = 0; i + 3 < t.length; i += 4) {
        if (t[i] === 1) w.succeeded++;
        else w.failed++;
      }
    }
    this.executions.get(entry.jobId)?.onProgress(entry);
  }

  private onEvent(event: QueueEvent): void {
    const id = event.jobId;
    if (id === undefined) return;
    const dot = id.lastIndexOf('.');
    if (dot <= 0) return;
    const chunk = Number(id.slice(dot + 1));
    if (!Number.isInteger(chunk)) return;
    this.executions.get(id.slice(0, dot))?.onEvent(event, chunk);
  }

  private removeLater(ids: readonly string[]): void {
    if (ids.length === 0) return;
    this.removals.push(...ids);
    if (this.closed) {
      void this.flushRemovals();
      return;
    }
    this.removalTimer ??= setTimeout(() => {
      this.removalTimer = undefined;
      void this.flushRemovals();
    }, 100);
  }

  /** Removes finished chunk jobs once the store holds their results. */
  private flushRemovals(): Promise<void> {
    this.removing = this.removing.then(async () => {
      const ids = this.removals.splice(0);
      if (ids.length === 0) return;
      try {
        await this.options.durable?.();
        for (const id of ids) await this.queue.remove(id);
      } catch (err) {
        this.options.log.warn(
          { err: (err as Error).message },
          'scale-out: finished chunk jobs were not removed from the queue',
        );
      }
    });
    return this.removing;
  }
}

const NONE: LiveCounts = { succeeded: 0, failed: 0 };

function addCounts(a: LiveCounts, b: LiveCounts): LiveCounts {
  const bytes = a.bytes === undefined && b.bytes === undefined ? undefined : (a.bytes ?? 0) + (b.bytes ?? 0);
  const failures = mergeFailures(a.failures, b.failures);
  const sum = { succeeded: a.succeeded + b.succeeded, failed: a.failed + b.failed, bytes };
  return failures === undefined ? sum : { ...sum, failures };
}

/** What one run of a chunk produced: its counts less the rows it kept (`resumed`). */
function produced(c: ChunkCounts): LiveCounts {
  const r = c.resumed;
  if (r === undefined) return { succeeded: c.succeeded, failed: c.failed, bytes: c.bytes, failures: c.failures };
  const bytes = c.bytes === undefined ? undefined : c.bytes - (r.bytes ?? 0);
  const failures = subtractFailures(c.failures, r.failures);
  return { succeeded: c.succeeded - r.succeeded, failed: c.failed - r.failed, bytes, failures };
}

/** A chunk of the job in the queue or running. */
interface Sent {
  readonly chunk: Chunk;
  readonly id: string;
  loops: number;
  /** The loops its job's data holds (what a worker that takes it starts with). */
  dataLoops: number;
  /** Taken by a worker (an `active` event or progress); else waiting in the queue. */
  running: boolean;
  /** A stop (a generation above the one it was sent with) reached it. */
  stopping: boolean;
  /** Its job is in the queue (the add returned, or it was found there). */
  added: boolean;
  /** This run's results and tasks in flight, from the worker's last progress entry. */
  live: LiveCounts;
  inFlight: number;
  /** When it was last heard of (ms). */
  news: number;
  /** When a `loops` message last went out for it because it ran above its loops. */
  loopsSentAt: number;
}

const WAITING_STATES: ReadonlySet<string> = new Set(['waiting', 'wait', 'prioritized', 'delayed', 'paused']);

class BullExecution implements JobExecution {
  readonly done: Promise<RunOutcome>;
  private resolve!: (o: RunOutcome) => void;
  private reject!: (err: unknown) => void;
  private readonly jobId: string;
  private readonly sent = new Map<number, Sent>();
  /** Chunks to send again (stopped, or taken back from the queue) before new ones. */
  private readonly resend: Chunk[] = [];
  /** What earlier runs of chunks not done yet produced in this execution. */
  private readonly carried = new Map<number, LiveCounts>();
  /** The last counts of chunks that came back unfinished (their part files hold them). */
  private readonly partial = new Map<number, ChunkCounts>();
  /** Chunks whose unfinished result is still in the queue (removed before the chunk is sent again). */
  private readonly stale = new Set<number>();
  private readonly failedIds = new Set<string>();
  private gen = 0;
  private slots: number;
  private stopped = false;
  private error: unknown;
  private hasError = false;
  private readonly stopCtl = new AbortController();
  private source: AsyncIterator<Chunk> | undefined;
  private sourceWaiting = false;
  private exhausted = false;
  private fetching = false;
  private prefetched: Chunk | undefined;
  private reconciled = false;
  private busy = false;
  private dirty = false;
  private ended = false;
  private rate: number | undefined;
  private wasStarved = false;
  private idleSaid = false;
  private readonly sweepTimer: ReturnType<typeof setInterval>;
  private sweeping = false;

  constructor(
    private readonly job: PlacedJob,
    private readonly hooks: ExecutionHooks,
    slots: number,
    private readonly shared: Shared,
  ) {
    this.jobId = job.spec.jobId;
    this.slots = slots;
    this.rate = job.limits.view().maxRequestsPerSecond;
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.sweepTimer = setInterval(() => void this.sweep(), shared.sweepMs);
    this.sweepTimer.unref?.();
    this.kick();
  }

  get inFlight(): number {
    let n = 0;
    for (const s of this.sent.values()) n += s.stopping ? Math.max(s.loops, s.inFlight) : s.inFlight;
    return n;
  }

  get capacity(): number {
    return Math.min(this.slots, this.job.limits.effectiveConcurrency);
  }

  get closed(): boolean {
    return this.stopped;
  }

  get starved(): boolean {
    return (
      this.sourceWaiting &&
      !this.stopped &&
      this.sent.size === 0 &&
      this.resend.length === 0 &&
      this.prefetched === undefined
    );
  }

  get occupied(): number {
    if (this.starved || this.stopped) return this.inFlight;
    return Math.max(this.inFlight, Math.min(this.job.maxConcurrency, this.capacity));
  }

  get liveCounts(): LiveCounts {
    let c: LiveCounts = NONE;
    for (const v of this.carried.values()) c = addCounts(c, v);
    for (const s of this.sent.values()) c = addCounts(c, s.live);
    if (c.bytes !== undefined) return c;
    return c.failures === undefined
      ? { succeeded: c.succeeded, failed: c.failed }
      : { succeeded: c.succeeded, failed: c.failed, failures: c.failures };
  }

  setSlots(slots: number): void {
    this.slots = slots;
    if (this.capacity > 0) this.idleSaid = false;
    this.kick();
    this.settle();
  }

  limitsChanged(): void {
    if (this.capacity > 0) this.idleSaid = false;
    this.kick();
    this.settle();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopCtl.abort();
    this.kick();
    this.settle();
  }

  // ---------------------------------------------------------------------------------------------
  // What the workers report

  onProgress(entry: ProgressEntry): void {
    if (this.ended) return;
    try {
      applyAttemptsAndTasks(this.job.limits, (stats) => this.hooks.onTaskDone(stats), entry.attempts, entry.tasks);
      const s = this.sent.get(entry.chunk);
      const before = this.inFlight;
      if (s) {
        s.running = true;
        s.news = Date.now();
        s.live = entry.live;
        s.inFlight = entry.inFlight;
        // A worker that missed a lower `loops` (it took the chunk just then) hears it again.
        if (!s.stopping && entry.inFlight > s.loops && s.news - s.loopsSentAt > 1000) {
          s.loopsSentAt = s.news;
          void this.shared.control.loops(this.jobId, s.chunk.index, s.loops).catch(() => {});
        }
      }
      this.hooks.onResults();
      if (this.inFlight < before) this.hooks.onRelease();
    } catch (err) {
      this.failWith(err);
    }
    this.settle();
  }

  onEvent(event: QueueEvent, index: number): void {
    const s = this.sent.get(index);
    if (this.ended || !s) return;
    switch (event.event) {
      case 'active':
        s.running = true;
        s.news = Date.now();
        break;
      case 'stalled': {
        // Its worker is gone: the chunk waits for another; what that worker ran is not durable.
        const before = this.inFlight;
        s.running = false;
        s.live = NONE;
        s.inFlight = 0;
        s.news = Date.now();
        if (this.inFlight < before) this.hooks.onRelease();
        this.kick(); // halted, or its share shrank: it leaves the queue (placement.ts step)
        break;
      }
      case 'completed':
        this.onResult(s, parseResult(event.returnvalue), false);
        break;
      case 'failed':
        this.onFailed(s, event.failedReason);
        break;
      default:
        break;
    }
    this.settle();
  }

  private onResult(s: Sent, result: ChunkJobResult | undefined, found: boolean): void {
    if (this.sent.get(s.chunk.index) !== s) return;
    if (result === undefined || result.counts === undefined) {
      this.onFailed(s, `chunk ${s.chunk.index} of job ${this.jobId} came back without a result`);
      return;
    }
    const index = s.chunk.index;
    const before = this.inFlight;
    this.sent.delete(index);
    try {
      if (result.finished) {
        this.carried.delete(index);
        this.partial.delete(index);
        this.shared.removeLater([s.id]);
        if (!this.job.isChunkDone(index)) this.hooks.onChunkDone({ ...result.counts, index });
      } else {
        // A run found finished at start was counted by the engine from the part file already.
        if (!found) this.carried.set(index, addCounts(this.carried.get(index) ?? NONE, produced(result.counts)));
        this.partial.set(index, { ...result.counts, index });
        this.stale.add(index);
        this.sendAgain(s.chunk);
      }
      this.hooks.onResults();
    } catch (err) {
      this.failWith(err);
    }
    if (this.inFlight < before) this.hooks.onRelease();
    this.kick();
  }

  private onFailed(s: Sent, reason: string | undefined): void {
    if (this.sent.get(s.chunk.index) !== s) return;
    const before = this.inFlight;
    this.sent.delete(s.chunk.index);
    this.failedIds.add(s.id);
    this.shared.log.error({ jobId: this.jobId, chunk: s.chunk.index }, `scale-out: a chunk failed: ${reason}`);
    this.failWith(chunkFailureOf(reason));
    if (this.inFlight < before) this.hooks.onRelease();
  }

  private failWith(err: unknown): void {
    if (!this.hasError) {
      this.hasError = true;
      this.error = err;
    }
    this.stop();
  }

  private sendAgain(chunk: Chunk): void {
    if (this.resend.some((c) => c.index === chunk.index)) return;
    const at = this.resend.findIndex((c) => c.index > chunk.index);
    if (at < 0) this.resend.push(chunk);
    else this.resend.splice(at, 0, chunk);
  }

  // ---------------------------------------------------------------------------------------------
  // Feeding the queue: one step at a time

  private kick(): void {
    this.dirty = true;
    if (this.busy || this.ended) return;
    this.busy = true;
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      while (this.dirty && !this.ended) {
        this.dirty = false;
        await this.step();
      }
    } catch (err) {
      // Redis refused a command (it waits for a lost connection): try again soon.
      this.shared.log.warn({ jobId: this.jobId, err: (err as Error).message }, 'scale-out: feeding the queue failed');
      setTimeout(() => this.kick(), 1000).unref?.();
    } finally {
      this.busy = false;
    }
    if (this.dirty && !this.ended) this.kick();
    this.settle();
  }

  private async step(): Promise<void> {
    const { control } = this.shared;
    if (!this.reconciled) {
      await this.shared.ready;
      await this.reconcile();
      this.reconciled = true;
    }
    const rate = this.job.limits.view().maxRequestsPerSecond;
    if (rate !== this.rate) {
      this.rate = rate;
      if (this.sent.size > 0) await control.rate(this.jobId, rate);
    }
    if (this.stopped || this.capacity <= 0) {
      // A stop above every generation sent; the waiting chunks leave the queue.
      const reached = [...this.sent.values()].filter((s) => !s.stopping);
      if (reached.length > 0) {
        await control.stop(this.jobId, this.gen + 1);
        this.gen++;
        for (const s of reached) s.stopping = true;
      }
      for (const s of [...this.sent.values()]) if (!s.running) await this.takeBack(s);
      return;
    }
    // A chunk back in the queue (its worker died) with more loops than its share now: sent again later.
    for (const s of [...this.sent.values()]) {
      if (!s.running && !s.stopping && s.dataLoops > s.loops) await this.takeBack(s);
    }
    const entries = [...this.sent.values()].map((s) => ({
      index: s.chunk.index,
      loops: s.loops,
      running: s.running,
      stopping: s.stopping,
    }));
    const available = this.resend.length + (this.prefetched === undefined ? 0 : 1);
    const plan = planWindow(this.capacity, this.shared.chunkLoops, entries, available);
    let removed = false;
    for (const index of plan.remove) {
      const s = this.sent.get(index);
      if (s && (await this.takeBack(s))) removed = true;
    }
    for (const { index, loops } of plan.loops) {
      const s = this.sent.get(index);
      if (!s || s.stopping) continue;
      s.loops = loops;
      await control.loops(this.jobId, index, loops);
    }
    for (const loops of plan.send) {
      if (this.stopped || this.capacity <= 0) break;
      const chunk = this.resend.shift() ?? this.takePrefetched();
      if (chunk === undefined) break;
      if (this.job.isChunkDone(chunk.index) || this.sent.has(chunk.index)) continue;
      try {
        await this.send(chunk, loops);
      } catch (err) {
        // Not in the queue: it goes back to be sent by the next step.
        if (this.sent.get(chunk.index)?.added === false) this.sent.delete(chunk.index);
        this.sendAgain(chunk);
        throw err;
      }
    }
    if (removed) this.dirty = true; // their loops go to the chunks sent next
    if (windowLoops([...this.sent.values()]) < this.capacity) this.prefetch();
  }

  private takePrefetched(): Chunk | undefined {
    const c = this.prefetched;
    this.prefetched = undefined;
    if (c !== undefined) this.prefetch();
    return c;
  }

  private async send(chunk: Chunk, loops: number): Promise<void> {
    const { queue } = this.shared;
    const id = chunkJobId(this.jobId, chunk.index);
    if (this.stale.has(chunk.index)) {
      await queue.remove(id);
      this.stale.delete(chunk.index);
    }
    const s: Sent = {
      chunk,
      id,
      loops,
      dataLoops: loops,
      running: false,
      stopping: false,
      added: false,
      live: NONE,
      inFlight: 0,
      news: Date.now(),
      loopsSentAt: 0,
    };
    this.sent.set(chunk.index, s);
    await this.add(s);
  }

  private async add(s: Sent): Promise<void> {
    // A stop this execution did not send (a leader before this one, late) must not end the chunk
    // at once: send it above the newest stop generation.
    if (!this.stopped) this.gen = Math.max(this.gen, await this.shared.control.stopGen(this.jobId));
    const data: ChunkJobData = {
      v: PROTOCOL_VERSION,
      spec: this.job.spec,
      chunk: s.chunk,
      loops: s.loops,
      rate: this.rate,
      // Always: the chunk's part file may hold rows of a run this leader does not know of (a
      // chunk without one costs a look-up).
      resume: true,
      gen: this.gen,
    };
    s.dataLoops = s.loops;
    await this.shared.queue.add('chunk', data, {
      jobId: s.id,
      priority: bullPriority(this.job.priority ?? 0),
      removeOnComplete: false,
      removeOnFail: false,
    });
    s.added = true;
    s.news = Date.now();
  }

  /** Takes a waiting chunk out of the queue (sent again later); a running one stays. True when taken out. */
  private async takeBack(s: Sent): Promise<boolean> {
    const { queue } = this.shared;
    const state = await queue.getJobState(s.id);
    if (WAITING_STATES.has(state) && (await queue.remove(s.id)) === 1) {
      if (this.sent.get(s.chunk.index) !== s) return false;
      const before = this.inFlight;
      this.sent.delete(s.chunk.index);
      if (s.live.succeeded + s.live.failed > 0) {
        this.carried.set(s.chunk.index, addCounts(this.carried.get(s.chunk.index) ?? NONE, s.live));
      }
      this.sendAgain(s.chunk);
      if (this.inFlight < before) this.hooks.onRelease();
      return true;
    }
    if (this.sent.get(s.chunk.index) === s && state === 'active') s.running = true;
    return false;
  }

  /** The next chunk of the source not done and not held: fetched ahead, one at a time. */
  private prefetch(): void {
    if (this.fetching || this.exhausted || this.prefetched !== undefined || this.stopped) return;
    this.fetching = true;
    void (async () => {
      try {
        this.source ??= this.job
          .chunks(this.stopCtl.signal, (on) => {
            this.sourceWaiting = on;
            this.settle();
          })
          [Symbol.asyncIterator]();
        for (;;) {
          const next = await this.source.next();
          if (next.done || this.stopped) {
            this.exhausted = true;
            return;
          }
          const c = next.value;
          if (this.job.isChunkDone(c.index) || this.sent.has(c.index) || this.resend.some((r) => r.index === c.index))
            continue;
          this.prefetched = c;
          return;
        }
      } catch (err) {
        // As the inline runner: a source that fails stops the job's tasks; the error ends the run.
        this.exhausted = true;
        this.failWith(err);
      } finally {
        this.fetching = false;
        this.kick();
      }
    })();
  }

  /**
   * What a leader before this one left in the queue: the job's chunk jobs, by state (listed in the
   * order jobs move, so that none is missed; one listed twice is taken in its later state).
   */
  private async reconcile(): Promise<void> {
    const { queue, control } = this.shared;
    this.gen = await control.stopGen(this.jobId);
    const prefix = `${this.jobId}.`;
    const found = new Map<number, { state: string; data: ChunkJobData; returnvalue: unknown; reason?: string }>();
    for (const state of ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'] as const) {
      const jobs = await queue.getJobs([state]);
      for (const j of jobs) {
        if (j?.id === undefined || !j.id.startsWith(prefix)) continue;
        const index = Number(j.id.slice(prefix.length));
        if (!Number.isInteger(index)) continue;
        found.set(index, { state, data: j.data, returnvalue: j.returnvalue, reason: j.failedReason });
      }
    }
    for (const { data } of found.values()) this.gen = Math.max(this.gen, data.gen);
    for (const [index, f] of found) {
      const s: Sent = {
        chunk: f.data.chunk,
        id: chunkJobId(this.jobId, index),
        loops: f.data.loops,
        dataLoops: f.data.loops,
        running: f.state === 'active',
        stopping: f.data.gen < this.gen,
        added: true,
        live: NONE,
        inFlight: 0,
        news: Date.now(),
        loopsSentAt: 0,
      };
      this.sent.set(index, s);
      if (f.state === 'completed') this.onResult(s, parseResult(f.returnvalue), true);
      else if (f.state === 'failed') this.onFailed(s, f.reason);
    }
    if (found.size > 0) {
      this.shared.log.info(
        { jobId: this.jobId, chunks: found.size },
        'scale-out: found chunk jobs of the job in the queue',
      );
    }
  }

  /**
   * Chunks without news for a while are looked up in the queue: a result whose event was lost is
   * applied (once every event up to the look-up was read, so never twice), a chunk job that
   * vanished (Redis lost a write) is added again.
   */
  private async sweep(): Promise<void> {
    if (this.sweeping || this.ended || !this.reconciled) return;
    this.sweeping = true;
    const { queue, reader } = this.shared;
    try {
      const now = Date.now();
      for (const s of [...this.sent.values()]) {
        if (!s.added || now - s.news < this.shared.sweepMs || this.sent.get(s.chunk.index) !== s) continue;
        const state = await queue.getJobState(s.id);
        if (this.sent.get(s.chunk.index) !== s) continue;
        s.news = Date.now();
        if (state === 'completed' || state === 'failed') {
          const job = await queue.getJob(s.id);
          await reader.eventsPassed(await reader.eventsEnd());
          if (state === 'completed') this.onResult(s, parseResult(job?.returnvalue), false);
          else this.onFailed(s, job?.failedReason);
        } else if (state === 'unknown' && !this.busy) {
          this.shared.log.warn(
            { jobId: this.jobId, chunk: s.chunk.index },
            'scale-out: a chunk job vanished; adding it again',
          );
          await this.add(s);
        } else if (state === 'active') s.running = true;
        else if (WAITING_STATES.has(state) && s.running) {
          s.running = false; // a `stalled` event this placement did not see
          this.kick();
        }
      }
    } catch (err) {
      this.shared.log.warn({ jobId: this.jobId, err: (err as Error).message }, 'scale-out: looking up chunks failed');
    } finally {
      this.sweeping = false;
    }
    this.settle();
  }

  // ---------------------------------------------------------------------------------------------
  // Starved, idle, done

  private settle(): void {
    if (this.ended) return;
    const starved = this.starved;
    if (starved !== this.wasStarved) {
      this.wasStarved = starved;
      this.hooks.onStarvedChange();
    }
    if (this.busy || !this.reconciled || this.sent.size > 0) return;
    if (this.stopped) {
      this.end();
      return;
    }
    if (this.capacity <= 0) {
      if (!this.idleSaid) {
        this.idleSaid = true;
        this.hooks.onIdle();
      }
      return;
    }
    if (this.exhausted && !this.fetching && this.resend.length === 0 && this.prefetched === undefined) this.end();
  }

  private end(): void {
    this.ended = true;
    clearInterval(this.sweepTimer);
    this.shared.ended(this.jobId, this);
    // Unfinished results and failed chunk jobs leave the queue with the execution.
    this.shared.removeLater([...this.failedIds, ...[...this.stale].map((i) => chunkJobId(this.jobId, i))]);
    const partial = [...this.partial.values()].sort((a, b) => a.index - b.index);
    if (this.hasError) this.reject(Object.assign(this.error as object, { partial }));
    else this.resolve({ finished: !this.stopped && partial.length === 0, partial });
  }
}

function parseResult(value: unknown): ChunkJobResult | undefined {
  try {
    const r = (typeof value === 'string' ? JSON.parse(value) : value) as ChunkJobResult | null;
    return r && typeof r === 'object' ? r : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The error of a chunk whose processor threw: the worker puts an S3BatchError's code in front of
 * its message (`<Code>: <message>`, BullMQ's failedReason), read back here with that code; any
 * other reason is a plain error (InternalError). The same reading as the worker side's protocol helper.
 */
export function chunkFailureOf(reason: string | undefined): Error {
  const text = reason ?? 'a chunk failed';
  const m = /^([A-Za-z]+): ([\s\S]*)$/.exec(text);
  if (m && Object.hasOwn(ERROR_TABLE, m[1]!)) return new S3BatchError(m[1] as ErrorCode, m[2]!);
  return new Error(text);
}
