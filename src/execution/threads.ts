/**
 * The threads placement: a job's tasks run in worker threads of `serve` (`--workers N`, default
 * one per core), so the engine's thread keeps the API, the scheduler, preparing, reports and the
 * store, and never waits behind tasks.
 *
 * Threads are used only when they pay. A job starts on one thread (the least loaded one that is
 * not saturated; threads are started on first use) and spreads to one more thread, up to N, only
 * while every thread it runs on is saturated: busy at least `spreadBusy` of a window of
 * SPREAD_WINDOW_MS, both its event loop (`eventLoopUtilization`) and its CPU time (cores, read from
 * /proc on Linux, so that a loop waiting for a CPU on a crowded machine does not count), with
 * chunks of the job still to hand out.
 * A job whose S3 server is the bottleneck thus runs on one thread, at one thread's CPU per task
 * and memory; a job whose tasks cost the client CPU scales out. `spreadBusy` 0 spreads every job
 * over up to N threads at once.
 *
 * A thread runs whole chunks (chunk-worker.ts): it asks this thread for the next chunk when its
 * loops have taken every row of the last one, reads the rows, runs the tasks, spools the results
 * and reports progress in batches. The chunk source, the chunk marks, the store and the job's
 * limits stay here.
 *
 * The job's limits are summed over its threads by splitting them: its slots (the scheduler's,
 * lowered by its effective concurrency) and its requests per second are divided among the threads
 * running its chunks, and re-divided when one joins or runs out of chunks, so the total is never
 * above the job's. A thread that joins gets its slots only as the others' tasks above their new
 * shares finish. A rate-limited job uses at most rate/10 threads, so that each thread's share
 * keeps a burst of at least one token per tenth of a second, as one bucket would. Every attempt's
 * outcome comes back (batched) to the job's one adaptive slow-down here.
 *
 * Pausing: the threads' slots go to 0 and the job is idle once every thread has said so for that
 * very change (an epoch per change), so a Paused job has no task in flight anywhere.
 */
import { FailureTally, mergeFailures, subtractFailures } from '../domain/failure-groups.ts';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { Chunk } from '../domain/chunk.ts';
import {
  applyAttemptsAndTasks,
  deserializeError,
  type FromWorker,
  type ThreadHello,
  type ToWorker,
} from './protocol.ts';
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

/** A job spreads only after a full window of this length saturated on every thread it runs on. */
export const SPREAD_WINDOW_MS = 1000;
/** Default `spreadBusy`: a thread counts as saturated when it is busy 80 % of a window. */
export const DEFAULT_SPREAD_BUSY = 0.8;

interface Busy {
  /** The lower of the event-loop utilization and the CPU time in cores, over the window. */
  readonly fraction: number;
  /** When the window began (ms since the epoch). */
  readonly from: number;
}

/** One worker thread and the executions it runs. */
class Thread {
  readonly worker: Worker;
  readonly handlers = new Map<number, Handler>();
  /** The thread's event-loop utilization over its last full window, and when that window began. */
  busy: Busy | undefined;
  private eluMark: EventLoopUtilization;
  private markAt = Date.now();
  private tid: number | undefined;
  private cpuMark: number | undefined;
  private gone: Error | undefined;

  constructor(data: ThreadData, onGone: (thread: Thread) => void) {
    this.worker = startWorker(data);
    this.eluMark = this.worker.performance.eventLoopUtilization();
    this.worker.on('message', (msg: FromWorker | ThreadHello) => {
      if (msg.t === 'thread') this.tid = msg.tid;
      else this.handlers.get(msg.id)?.(msg);
    });
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

  /**
   * Closes the current window if it is SPREAD_WINDOW_MS old: the thread counts as busy as the
   * lower of its event-loop utilization and its CPU time over the window (in cores, where Linux
   * tells it), so that a loop that waits for a CPU on a crowded machine does not look saturated.
   */
  sample(now: number): void {
    if (now - this.markAt < SPREAD_WINDOW_MS) return;
    const mark = this.worker.performance.eventLoopUtilization();
    const { utilization } = this.worker.performance.eventLoopUtilization(mark, this.eluMark);
    const cpu = this.tid === undefined ? undefined : threadCpuMs(this.tid);
    // A thread not yet online has no loop time (0 / 0).
    let busy = Number.isFinite(utilization) ? utilization : 0;
    if (cpu !== undefined && this.cpuMark !== undefined)
      busy = Math.min(busy, (cpu - this.cpuMark) / (now - this.markAt));
    this.busy = { fraction: busy, from: this.markAt };
    this.eluMark = mark;
    this.cpuMark = cpu;
    this.markAt = now;
  }

  post(msg: ToWorker): void {
    if (!this.gone) this.worker.postMessage(msg);
  }

  terminate(): Promise<number> {
    this.gone ??= new Error('the chunk worker threads were closed');
    return this.worker.terminate();
  }
}

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
const CLK_TCK = 100;

/** CPU time (user + system) of a thread of this process so far, in ms; undefined when unreadable. */
function threadCpuMs(tid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/**
 * A worker thread running `file` (a module next to `base`, named without its extension): the
 * compiled .js in the package, the .ts source under tsx or vitest (worker threads do not inherit
 * their loader on Node 20: tsx's require hook loads it).
 */
export function startThread(base: string, file: string, options: WorkerOptions): Worker {
  if (!base.endsWith('.ts')) return new Worker(new URL(`./${file}.js`, base), options);
  const entry = fileURLToPath(new URL(`./${file}.ts`, base));
  const tsx = createRequire(base).resolve('tsx/cjs/api');
  const boot = `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(entry)});`;
  return new Worker(boot, { ...options, eval: true });
}

function startWorker(data: ThreadData): Worker {
  return startThread(import.meta.url, 'thread-entry', { workerData: data, name: 's3batch-chunks' });
}

export interface ThreadPlacementOptions {
  readonly threads: number;
  readonly data: ThreadData;
  /**
   * A job spreads to one more thread when every thread it runs on was busy (event loop and CPU) at
   * least this fraction of a window (0 to 1; default DEFAULT_SPREAD_BUSY). 0: every job runs on up
   * to `threads` threads from its start.
   */
  readonly spreadBusy?: number | undefined;
}

export class ThreadPlacement implements ChunkPlacement {
  readonly kind = 'threads';
  private threads: Thread[] = [];
  private nextId = 1;
  private closed = false;
  private readonly spreadBusy: number;

  constructor(private readonly options: ThreadPlacementOptions) {
    this.spreadBusy = options.spreadBusy ?? DEFAULT_SPREAD_BUSY;
  }

  start(job: PlacedJob, hooks: ExecutionHooks, slots: number): JobExecution {
    return new ThreadExecution(job, hooks, slots, this.spreadBusy, {
      pick: (k) => this.pick(k),
      spreadTo: (exclude) => this.spreadTo(exclude),
      newId: () => this.nextId++,
    });
  }

  /**
   * Starts a thread (a thread loads the operations and the S3 clients: about a second on a busy
   * machine) while the job prepares, instead of when its first chunk is due: all of them when
   * every job spreads at once, else the first.
   */
  warm(): void {
    if (this.closed) return;
    if (this.spreadBusy <= 0) this.startThreads(this.options.threads);
    else this.startThreads(1);
  }

  /** Worker threads running now. */
  get running(): number {
    return this.threads.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.splice(0).map((t) => t.terminate()));
  }

  /**
   * The threads a job starts on: with `spreadBusy` 0, the k least loaded of all N; else one, the
   * least loaded thread not saturated (a new one when every started thread is, while fewer than N run).
   */
  private pick(k: number): Thread[] {
    if (this.spreadBusy <= 0) {
      this.startThreads(this.options.threads);
      return [...this.threads].sort((a, b) => a.load - b.load).slice(0, k);
    }
    return [this.choose([], true)!];
  }

  /** A thread for a saturated job to spread to, or none (every other thread is saturated too). */
  private spreadTo(exclude: readonly Thread[]): Thread | undefined {
    return this.closed ? undefined : this.choose(exclude, false);
  }

  private choose(exclude: readonly Thread[], orLeastLoaded: boolean): Thread | undefined {
    const now = Date.now();
    const others = this.threads.filter((t) => !exclude.includes(t));
    for (const t of others) t.sample(now);
    const i = chooseThread(
      others.map((t) => ({ load: t.load, busy: t.busy?.fraction })),
      this.threads.length < this.options.threads,
      this.spreadBusy,
      orLeastLoaded,
    );
    if (i === 'new') return this.startThreads(this.threads.length + 1);
    return i === undefined ? undefined : others[i];
  }

  /** Starts threads until n run (a thread that died is replaced); returns the last started. */
  private startThreads(n: number): Thread | undefined {
    let last: Thread | undefined;
    while (this.threads.length < Math.min(n, this.options.threads)) {
      last = new Thread(this.options.data, (gone) => {
        this.threads = this.threads.filter((t) => t !== gone);
      });
      this.threads.push(last);
    }
    return last;
  }
}

/** A started thread as chooseThread sees it: its executions and its last window's busy fraction. */
export interface ThreadLoad {
  readonly load: number;
  readonly busy: number | undefined;
}

/**
 * Where a job starts or spreads to: the least loaded started thread that is not saturated (busy below
 * `threshold`, or no full window yet), else `'new'` when another thread may start, else (only when
 * `orLeastLoaded`: a job must start somewhere) the least loaded one, else none.
 */
export function chooseThread(
  threads: readonly ThreadLoad[],
  canStart: boolean,
  threshold: number,
  orLeastLoaded: boolean,
): number | 'new' | undefined {
  const byLoad = threads.map((t, i) => ({ ...t, i })).sort((a, b) => a.load - b.load);
  const cool = byLoad.find((t) => t.busy === undefined || t.busy < threshold);
  if (cool) return cool.i;
  if (canStart) return 'new';
  return orLeastLoaded && byLoad.length > 0 ? byLoad[0]!.i : undefined;
}

export interface SpreadCheck {
  /** The threads the job runs on (not ended), and at most how many it may use (threadsFor). */
  readonly inUse: number;
  readonly maxThreads: number;
  /** The job's slots now: a thread that joins needs one. */
  readonly capacity: number;
  /** Chunks not handed out yet (or not known to be none: a listing still running). */
  readonly queued: boolean;
  /** Per thread in use: its busy fraction over a full window that began after the job last spread, else undefined. */
  readonly busy: readonly (number | undefined)[];
  readonly threshold: number;
}

/** True when a job should spread to one more thread: every thread it uses is saturated and work waits. */
export function shouldSpread(c: SpreadCheck): boolean {
  return (
    c.threshold > 0 &&
    c.queued &&
    c.inUse > 0 &&
    c.inUse < c.maxThreads &&
    c.capacity > c.inUse &&
    c.busy.length === c.inUse &&
    c.busy.every((b) => b !== undefined && b >= c.threshold)
  );
}

/**
 * The slots a thread that joined a job may use now: its share, less what the job's other threads
 * hold above theirs (tasks started before their shares went down), so that the job's total stays
 * within `total`. `others` must have applied their new shares (else nothing is granted yet).
 */
export function joinGrant(
  share: number,
  total: number,
  others: readonly { readonly share: number; readonly inFlight: number; readonly applied: boolean }[],
): number {
  if (others.some((o) => !o.applied)) return 0;
  const held = others.reduce((n, o) => n + Math.max(o.share, o.inFlight), 0);
  return Math.max(0, Math.min(share, total - held));
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
  /** The slots last sent to the thread. */
  share: number;
  rate: number | undefined;
  epoch: number;
  /** The last capacity change the thread had applied when it last reported. */
  applied: number;
  idleEpoch: number;
  inFlight: number;
  live: LiveCounts;
  starved: boolean;
  ended: boolean;
  /** Joined a running job: gets its share only as the other threads' tasks above theirs finish. */
  joining: boolean;
}

const NONE: LiveCounts = { succeeded: 0, failed: 0 };

interface Threads {
  pick(k: number): Thread[];
  spreadTo(exclude: readonly Thread[]): Thread | undefined;
  newId(): number;
}

class ThreadExecution implements JobExecution {
  readonly done: Promise<RunOutcome>;
  private resolve!: (o: RunOutcome) => void;
  private reject!: (err: unknown) => void;
  private readonly parts: Part[] = [];
  private slots: number;
  private stopped = false;
  private readonly stopCtl = new AbortController();
  private source: AsyncIterator<Chunk> | undefined;
  private sourceWaiting = false;
  private exhausted = false;
  private handedOut = 0;
  private readonly wanting: Part[] = [];
  private pumping = false;
  private readonly partial: ChunkCounts[] = [];
  private error: unknown;
  /** When the thread that joined last first reported (windows before it do not count); undefined: not yet. */
  private settledAt: number | undefined;

  constructor(
    private readonly job: PlacedJob,
    private readonly hooks: ExecutionHooks,
    slots: number,
    private readonly spreadBusy: number,
    private readonly threads: Threads,
  ) {
    this.slots = slots;
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    const fresh = threads.pick(this.maxThreads()).map((thread) => this.newPart(thread, false));
    this.parts.push(...fresh);
    const shares = this.split();
    fresh.forEach((p, i) => {
      p.share = shares.capacity[i]!;
      p.rate = shares.rate;
      this.startPart(p);
    });
  }

  private maxThreads(): number {
    const view = this.job.limits.view();
    return threadsFor(view.maxConcurrentTasks, view.maxRequestsPerSecond, this.job.chunksLeft);
  }

  private newPart(thread: Thread, joining: boolean): Part {
    return {
      thread,
      id: this.threads.newId(),
      share: 0,
      rate: undefined,
      epoch: 0,
      applied: 0,
      idleEpoch: -1,
      inFlight: 0,
      live: NONE,
      starved: false,
      ended: false,
      joining,
    };
  }

  private startPart(p: Part): void {
    p.thread.handlers.set(p.id, (msg) => this.receive(p, msg));
    p.thread.post({
      t: 'start',
      id: p.id,
      spec: this.job.spec,
      loops: this.job.maxConcurrency,
      capacity: p.share,
      epoch: 0,
      rate: p.rate,
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
    const tally = new FailureTally();
    for (const p of this.parts) {
      succeeded += p.live.succeeded;
      failed += p.live.failed;
      if (p.live.bytes !== undefined) bytes = (bytes ?? 0) + p.live.bytes;
      tally.addGroups(p.live.failures);
    }
    const counts = bytes === undefined ? { succeeded, failed } : { succeeded, failed, bytes };
    return tally.size === 0 ? counts : { ...counts, failures: tally.groupsNow() };
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
    const total = shares.capacity.reduce((n, c) => n + c, 0);
    this.parts.forEach((p, i) => {
      if (p.ended) return;
      let share = shares.capacity[i]!;
      if (p.joining) {
        const others = this.parts.filter((q, j) => j !== i && !q.ended);
        const held = others.map((q) => ({
          share: shares.capacity[this.parts.indexOf(q)]!,
          inFlight: q.inFlight,
          applied: q.applied >= q.epoch,
        }));
        const target = share;
        share = joinGrant(target, total, held);
        if (share === target) p.joining = false;
      }
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

  /**
   * One more thread for this job when every thread it runs on was saturated over a full window
   * since it last spread, and chunks wait to be handed out (threads.ts header).
   */
  private maybeSpread(): void {
    if (this.spreadBusy <= 0 || this.stopped || this.sourceWaiting || this.settledAt === undefined) return;
    const now = Date.now();
    const active = this.parts.filter((p) => !p.ended);
    const settledAt = this.settledAt;
    const busy = active.map((p) => {
      p.thread.sample(now);
      const b = p.thread.busy;
      return b !== undefined && b.from >= settledAt ? b.fraction : undefined;
    });
    const left = this.job.chunksLeft;
    const check = {
      inUse: active.length,
      maxThreads: this.maxThreads(),
      capacity: this.capacity,
      queued: !this.exhausted && (left === undefined || left > this.handedOut),
      busy,
      threshold: this.spreadBusy,
    };
    if (!shouldSpread(check)) return;
    const thread = this.threads.spreadTo(this.parts.map((p) => p.thread));
    if (thread === undefined) return;
    const p = this.newPart(thread, true);
    this.parts.push(p);
    this.settledAt = undefined;
    // The others' shares go down first; the new thread starts with none and gets its share in
    // rebalance() as their tasks above their new shares finish.
    this.startPart(p);
    this.rebalance();
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
    p.applied = msg.capacityEpoch;
    p.live = msg.live;
    applyAttemptsAndTasks(this.job.limits, (stats) => this.hooks.onTaskDone(stats), msg.attempts, msg.tasks);
    const t = msg.tasks;
    if (msg.t === 'chunk-done') this.hooks.onChunkDone(msg.counts);
    if (t.length > 0) this.hooks.onResults();
    if (msg.t === 'idle') p.idleEpoch = msg.epoch;
    if (p.inFlight < before) this.hooks.onRelease();
    if (this.parts.some((q) => q.joining && !q.ended)) this.rebalance();
    else this.checkIdle();
    if (t.length > 0 && this.settledAt === undefined && p === this.parts[this.parts.length - 1]) {
      this.settledAt = Date.now();
    }
    if (msg.t !== 'idle') this.maybeSpread();
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
        this.handedOut++;
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
        failures: mergeFailures(a.failures, subtractFailures(c.failures, c.resumed?.failures)),
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
