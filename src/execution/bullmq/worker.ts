/**
 * The worker side of the scale-out mode (`s3batch worker --redis URL`): a BullMQ Worker on the
 * chunk queue whose processor runs one chunk, the way chunk-worker.ts runs a thread's chunks: a
 * JobRunner (engine/job-runner.ts) whose chunk source yields just that chunk, its rows read and its
 * tasks run by chunk-work.ts, its results in the injected spool (the job's part file in S3 in
 * production). The messages are those of protocol.ts.
 *
 * - Slots: every chunk of this process shares `concurrency` task slots (a FIFO gate); a chunk runs
 *   at most `loops` of them at once (its data, then the control channel's `loops`).
 * - Rate: the job's requests per second over every worker, held in Redis with rate-limiter-flexible
 *   (one fixed window per `burst` requests, see RedisJobRate), taken before each attempt.
 * - Stop: a `stop` on the control channel (or the job's stop key, read at the start and polled
 *   every second for a worker that missed the message) with a generation above the chunk's ends
 *   it: no new task, in-flight tasks finish, the spool is closed (durable), and the chunk comes
 *   back `finished: false` with its counts so far.
 * - Progress: one ProgressEntry per running chunk every ~100 ms (when it changed, else each second)
 *   on the progress stream; the last one before the chunk's result.
 * - Heartbeat: this worker's WorkerInfo in the workers hash every WORKER_HEARTBEAT_MS, removed on close.
 */
import { subtractFailures } from '../../domain/failure-groups.ts';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { isThrottled } from '../../engine/adaptive-limit.ts';
import type { TaskLimits } from '../../engine/job-limits.ts';
import { JobRunner } from '../../engine/job-runner.ts';
import { defaultBurst } from '../../engine/rate-limiter.ts';
import type { TaskOutcomeStats } from '../../engine/task-executor.ts';
import type { AttemptOutcome } from '../../operations/operation.ts';
import type { Config } from '../../config.ts';
import type { CreateJobRequest } from '../../domain/job-spec.ts';
import type { StorageProfileRegistry } from '../../server/storage-profile-registry.ts';
import { withDryRun } from '../../operations/dry-run.ts';
import { parseOperation } from '../../operations/index.ts';
import { engineConfigFrom } from '../../server/engine-config.ts';
import { createServerProfiles } from '../../server/server-profiles.ts';
import type { LocalManifestFiles } from '../../storage/local-manifest-files.ts';
import type { ResultSpool } from '../../storage/result-spool.ts';
import { chunkReader, jobTaskExecutor, type ChunkWorkDeps } from '../chunk-work.ts';
import type { ChunkCounts, LiveCounts } from '../placement.ts';
import {
  CHUNK_QUEUE,
  chunkFailureReason,
  LOCK_DURATION_MS,
  MAX_STALLED_COUNT,
  PROGRESS_STREAM_MAX,
  PROTOCOL_VERSION,
  redisNames,
  STALLED_INTERVAL_MS,
  WORKER_HEARTBEAT_MS,
  type ChunkJobData,
  type ChunkJobResult,
  type ControlMessage,
  type ProgressEntry,
  type RedisNames,
  type WorkerInfo,
} from './protocol.ts';

/** A running chunk's progress goes out this often. */
const PROGRESS_MS = 100;
/** ...and at least this often while it runs, even unchanged; stop keys are polled as often. */
const QUIET_MS = 1_000;

export interface ChunkQueueWorkerDeps extends ChunkWorkDeps {
  /** Where the chunks' results go (the job's part files in S3: storage/s3-part-spool.ts). */
  readonly spool: ResultSpool;
  readonly now: () => number;
  /** Told the request of each job while its chunks run here (for the spool); optional. */
  readonly requests?: RunningRequests | undefined;
}

/** Where a worker's chunks keep their results and find their task lists. */
export interface WorkerPorts {
  /** The jobs' result parts in S3 (storage/s3-part-spool.ts), a file spool in tests. */
  readonly spool: ResultSpool;
  /** The local task list of an inventory or generator job (storage/redis/redis-local-manifest.ts). */
  localManifest(jobId: string): LocalManifestFiles;
}

/**
 * The CreateJob requests of the jobs whose chunks run in this process, for the spool to find
 * where a job's parts go (engine/part-location.ts locateByRequest). The worker fills it.
 */
export class RunningRequests {
  private readonly jobs = new Map<string, { request: CreateJobRequest; chunks: number }>();

  get(jobId: string): CreateJobRequest | undefined {
    return this.jobs.get(jobId)?.request;
  }

  add(jobId: string, request: CreateJobRequest): void {
    const job = this.jobs.get(jobId);
    if (job) job.chunks++;
    else this.jobs.set(jobId, { request, chunks: 1 });
  }

  remove(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (job && --job.chunks === 0) this.jobs.delete(jobId);
  }
}

/**
 * The deps from a config, as the composition root and each worker thread build them
 * (server/server-profiles.ts): the storage profiles, the operations, the retry policy. `ports`
 * may be built from the storage profiles and the running jobs' requests (the S3 part spool needs
 * both to find a job's report bucket).
 */
export function workerDepsFrom(
  config: Config,
  ports: WorkerPorts | ((args: { profiles: StorageProfileRegistry; requests: RunningRequests }) => WorkerPorts),
): ChunkQueueWorkerDeps {
  const { profiles } = createServerProfiles(config, config.storage);
  const requests = new RunningRequests();
  const { spool, localManifest } = typeof ports === 'function' ? ports({ profiles, requests }) : ports;
  return {
    profileFor: (roleArn) => profiles.forRoleArn(roleArn),
    operationFor: (request) => withDryRun(parseOperation(request.Operation), request),
    localManifest: (jobId) => localManifest(jobId),
    retry: engineConfigFrom(config).retry,
    sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : undefined).catch(() => undefined),
    spool,
    now: () => Date.now(),
    requests,
  };
}

export interface ChunkQueueWorkerOptions {
  /**
   * A connection for commands (ioredis with `maxRetriesPerRequest: null`). The worker duplicates it
   * for BullMQ's blocking reads and for the control channel; it does not close it.
   */
  readonly redis: Redis;
  /** `--redis-prefix` (default protocol.ts DEFAULT_REDIS_PREFIX). */
  readonly prefix?: string | undefined;
  /** Default `<hostname>-<pid>`. */
  readonly name?: string | undefined;
  /** Tasks at once over every chunk of this process. */
  readonly concurrency: number;
  /** Chunks at once (BullMQ's concurrency); default 1. */
  readonly chunks?: number | undefined;
  readonly log?: WorkerLog | undefined;
}

export type WorkerLog = (level: 'info' | 'warn' | 'error', message: string) => void;

export function defaultWorkerName(): string {
  return `${hostname()}-${process.pid}`;
}

/** A FIFO counting gate: the task slots every chunk of the process shares. */
class ProcessSlots {
  private used = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly size: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Resolves true with a slot held, or false once `signal` aborted (nothing held). */
  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.used < this.size && this.waiters.length === 0) {
      this.used++;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const waiter = (): void => {
        signal.removeEventListener('abort', onAbort);
        this.used++;
        resolve(true);
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  release(): void {
    this.used--;
    while (this.used < this.size && this.waiters.length > 0) this.waiters.shift()!();
  }
}

/**
 * A job's request rate over every worker, in Redis. rate-limiter-flexible's windows last whole
 * seconds, and a fixed window of `rate` points lets 2·rate requests through in a second that
 * straddles two windows; so the windows here are short: each holds `burst` requests (the local
 * token bucket's burst, rate/10) and lasts burst/rate seconds, its key named after its number on
 * Redis' clock, and its tokens are spaced evenly over it. Any interval of T seconds then holds at
 * most rate·T + burst requests, the bound of the token bucket one process uses. A job's admissions
 * queue here (one asks Redis at a time).
 */
class RedisJobRate {
  rate: number | undefined;
  /** When the rate was last set (Date.now()), for `offer`. */
  private setAt = 0;
  refs = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly jobId: string,
    private readonly limiter: (burst: number, windowMs: number) => RateLimiterRedis,
    private readonly clock: () => number,
    private readonly sleep: ChunkWorkDeps['sleep'],
  ) {}

  /** A rate from the control channel: the newest word. */
  set(rate: number | undefined): void {
    this.rate = rate;
    this.setAt = Date.now();
  }

  /** A rate from a chunk's data, sent at `sentAt`: it wins unless a control message is newer. */
  offer(rate: number | undefined, sentAt: number): void {
    if (sentAt >= this.setAt) {
      this.rate = rate;
      this.setAt = sentAt;
    }
  }

  /**
   * A new task's admission: one of the process's slots, then the job's token, true when both are
   * held, false (nothing held) when `signal` ended the wait. The admissions of the job queue here,
   * so at most one of them holds a slot while it waits for a token: a slow rate keeps no more than
   * that from the process's other chunks.
   */
  admit(slots: ProcessSlots, signal: AbortSignal): Promise<boolean> {
    if (this.rate === undefined) return slots.acquire(signal);
    const turn = this.queue.then(async () => {
      if (!(await slots.acquire(signal))) return false;
      if (await this.token(signal)) return true;
      slots.release();
      return false;
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /**
   * A token for a retry, whose task holds its slot already: not queued behind the admissions
   * (one of them may wait for that very slot).
   */
  async token(signal: AbortSignal): Promise<boolean> {
    return this.acquire(signal);
  }

  private async acquire(signal: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal.aborted) return false;
      const rate = this.rate;
      if (rate === undefined) return true;
      const burst = defaultBurst(rate);
      const windowMs = (burst * 1000) / rate;
      const now = this.clock();
      const window = Math.floor(now / windowMs);
      let wait: number;
      try {
        const res = await this.limiter(burst, windowMs).consume(`${this.jobId}:${rate}:${window}`);
        // The window's i-th token is due i/burst of the way into it: evenly spaced, as a token
        // bucket refills, rather than all at the window's start.
        const due = window * windowMs + ((res.consumedPoints - 1) * windowMs) / burst;
        const early = due - this.clock();
        if (early >= 1) await this.sleep(Math.ceil(early));
        return true;
      } catch (err) {
        // Over the window's points: wait for the next window. Redis unreachable: try again soon
        // (the commands queue while ioredis reconnects, so this is rare).
        wait = err instanceof RateLimiterRes ? (window + 1) * windowMs - now : 100;
      }
      await this.sleep(Math.max(1, Math.ceil(wait)), signal);
    }
  }
}

/** A chunk's share of its job's limits: the process's slots, the job's rate, the attempts' outcomes. */
class ChunkLimits implements TaskLimits {
  /** The engine sizes each chunk's loops; the job's effective concurrency is applied there. */
  readonly effectiveConcurrency = Number.POSITIVE_INFINITY;
  /** Always: a task's admission also takes one of the process's slots. */
  readonly rateLimited = true;
  attempts = '';

  constructor(
    private readonly slots: ProcessSlots,
    private readonly rate: RedisJobRate,
  ) {}

  /**
   * A slot of the process, then a rate token, before a task's first attempt. The runner calls
   * `executeTask` right after a true answer; the executor (see ChunkQueueWorker.runChunk) gives
   * the slot back.
   */
  admit(signal: AbortSignal): Promise<boolean> {
    return this.rate.admit(this.slots, signal);
  }

  async beforeRetry(signal: AbortSignal): Promise<void> {
    await this.rate.token(signal);
  }

  record(outcome: AttemptOutcome): boolean {
    const throttled = isThrottled(outcome.result);
    this.attempts += throttled ? 't' : outcome.result.status === 'succeeded' ? 's' : 'f';
    return throttled;
  }
}

const NO_COUNTS: LiveCounts = { succeeded: 0, failed: 0 };

/** What a chunk's counts add to its resumed rows: the results of this run. */
function produced(counts: ChunkCounts): LiveCounts {
  const r = counts.resumed ?? NO_COUNTS;
  const bytes = counts.bytes === undefined ? undefined : counts.bytes - (r.bytes ?? 0);
  const failures = subtractFailures(counts.failures, r.failures);
  const live = { succeeded: counts.succeeded - r.succeeded, failed: counts.failed - r.failed, bytes };
  return failures === undefined ? live : { ...live, failures };
}

/** One chunk job while this worker runs it. */
class ChunkRun {
  runner: JobRunner | undefined;
  limits: ChunkLimits | undefined;
  /** The highest stop generation heard for the chunk's job. */
  stopGen = Number.NEGATIVE_INFINITY;
  tasks: number[] = [];
  final: LiveCounts | undefined;
  private loops: number;
  private lastEntry = '';
  private lastSent = 0;

  constructor(
    readonly data: ChunkJobData,
    private readonly worker: string,
  ) {
    this.loops = data.loops;
  }

  get jobId(): string {
    return this.data.spec.jobId;
  }

  get stopped(): boolean {
    return this.stopGen > this.data.gen;
  }

  hearStop(gen: number): void {
    if (gen <= this.stopGen) return;
    this.stopGen = gen;
    if (this.stopped) this.runner?.stop();
  }

  setLoops(loops: number): void {
    this.loops = loops;
    this.runner?.setSlots(loops);
  }

  get initialLoops(): number {
    return this.loops;
  }

  /** The entry to send now, or undefined when nothing changed lately. */
  entry(now: number, force: boolean): ProgressEntry | undefined {
    const runner = this.runner;
    const limits = this.limits;
    if (!runner || !limits) return undefined;
    const entry: ProgressEntry = {
      v: PROTOCOL_VERSION,
      worker: this.worker,
      jobId: this.jobId,
      chunk: this.data.chunk.index,
      inFlight: runner.inFlight,
      live: this.final ?? runner.liveCounts,
      attempts: limits.attempts,
      tasks: this.tasks,
    };
    const state = JSON.stringify([entry.inFlight, entry.live]);
    const quiet = entry.attempts === '' && entry.tasks.length === 0 && state === this.lastEntry;
    if (quiet && !force && now - this.lastSent < QUIET_MS) return undefined;
    limits.attempts = '';
    this.tasks = [];
    this.lastEntry = state;
    this.lastSent = now;
    return entry;
  }
}

/** Runs chunks from the queue until closed. */
export class ChunkQueueWorker {
  readonly name: string;
  readonly names: RedisNames;
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly bull: Worker<ChunkJobData, ChunkJobResult>;
  private readonly slots: ProcessSlots;
  private readonly runs = new Set<ChunkRun>();
  private readonly rates = new Map<string, RedisJobRate>();
  private readonly limiters = new Map<string, RateLimiterRedis>();
  private readonly startedAt = new Date().toISOString();
  private readonly log: WorkerLog;
  /** Redis' clock minus this machine's, in ms (the rate windows are numbered on Redis' clock). */
  private clockOffset = 0;
  private bestRtt = Number.POSITIVE_INFINITY;
  private progressTimer: ReturnType<typeof setInterval> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private lastStopPoll = 0;
  /** A tick's writes still on their way (Redis slow or away): the next tick skips them. */
  private ticking = false;
  private closing: Promise<void> | undefined;
  /** stopChunks() was called: chunks that start later end at once too. */
  private stoppingAll = false;

  private constructor(
    private readonly deps: ChunkQueueWorkerDeps,
    private readonly options: ChunkQueueWorkerOptions,
  ) {
    this.name = options.name ?? defaultWorkerName();
    this.names = redisNames(options.prefix);
    this.redis = options.redis;
    this.log = options.log ?? (() => undefined);
    this.slots = new ProcessSlots(options.concurrency);
    this.subscriber = this.redis.duplicate();
    // ioredis reconnects by itself (then the subscription is renewed); the stop keys are polled meanwhile.
    this.subscriber.on('error', (err: Error) => this.log('warn', `control channel: ${err.message}`));
    this.bull = new Worker<ChunkJobData, ChunkJobResult>(CHUNK_QUEUE, (job) => this.process(job), {
      connection: this.redis,
      prefix: this.names.bull,
      name: this.name,
      concurrency: options.chunks ?? 1,
      lockDuration: LOCK_DURATION_MS,
      stalledInterval: STALLED_INTERVAL_MS,
      maxStalledCount: MAX_STALLED_COUNT,
      autorun: false,
    });
    this.bull.on('error', (err) => this.log('warn', `chunk queue: ${err.message}`));
  }

  /**
   * Starts a worker: subscribed to the control channel, its first heartbeat written, then taking
   * chunks. Rejects when Redis does not answer.
   */
  static async start(deps: ChunkQueueWorkerDeps, options: ChunkQueueWorkerOptions): Promise<ChunkQueueWorker> {
    const w = new ChunkQueueWorker(deps, options);
    try {
      for (let i = 0; i < 3; i++) await w.measureClock();
      w.subscriber.on('message', (_channel: string, text: string) => w.onControl(text));
      await w.subscriber.subscribe(w.names.control);
      await w.heartbeat();
    } catch (err) {
      w.subscriber.disconnect();
      await w.bull.close(true);
      throw err;
    }
    w.heartbeatTimer = setInterval(() => {
      void w.heartbeat().catch((err: unknown) => w.log('warn', `heartbeat: ${(err as Error).message}`));
      void w.measureClock().catch(() => undefined);
    }, WORKER_HEARTBEAT_MS);
    w.progressTimer = setInterval(() => w.tick(), PROGRESS_MS);
    void w.bull.run().catch((err: unknown) => w.log('error', `chunk queue stopped: ${(err as Error).message}`));
    await w.bull.waitUntilReady();
    return w;
  }

  /** Chunks running now. */
  get activeChunks(): number {
    return this.runs.size;
  }

  /** Tasks in flight over every chunk. */
  get inFlight(): number {
    return this.slots.inUse;
  }

  /**
   * Ends every running chunk early, as a stop would (in-flight tasks finish, spools are closed,
   * the chunks come back `finished: false`): a shutdown that cannot wait for them.
   */
  stopChunks(): void {
    this.stoppingAll = true;
    for (const run of this.runs) run.hearStop(Number.POSITIVE_INFINITY);
  }

  /**
   * Takes no new chunk, waits for the running ones (stopChunks() ends them sooner), then leaves the
   * workers hash and the control channel. The Redis connection given to start() stays open.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.bull.close();
      clearInterval(this.progressTimer);
      clearInterval(this.heartbeatTimer);
      await this.redis.hdel(this.names.workers, this.name).catch(() => undefined);
      await this.subscriber.quit().catch(() => this.subscriber.disconnect());
    })();
    return this.closing;
  }

  private async process(job: Job<ChunkJobData, ChunkJobResult>): Promise<ChunkJobResult> {
    const data = job.data;
    if (data?.v !== PROTOCOL_VERSION) {
      throw new Error(`chunk job ${job.id} speaks protocol ${String(data?.v)}; this worker speaks ${PROTOCOL_VERSION}`);
    }
    const run = new ChunkRun(data, this.name);
    this.runs.add(run);
    this.deps.requests?.add(data.spec.jobId, data.spec.request);
    if (this.stoppingAll) run.hearStop(Number.POSITIVE_INFINITY);
    const rate = this.rateOf(data.spec.jobId);
    rate.offer(data.rate, job.timestamp);
    try {
      const gen = await this.redis.get(this.names.stopKey(data.spec.jobId));
      if (gen !== null) run.hearStop(Number(gen));
      // A chunk that runs again after its worker died (stalled) keeps what that worker spooled.
      const again = job.attemptsStarted > 1 || job.stalledCounter > 0;
      return await this.runChunk(run, rate, data.resume || again);
    } catch (err) {
      // BullMQ keeps the message as the job's failedReason: the code goes with it.
      throw new Error(chunkFailureReason(err), { cause: err });
    } finally {
      this.runs.delete(run);
      this.deps.requests?.remove(data.spec.jobId);
      if (--rate.refs === 0) this.rates.delete(data.spec.jobId);
    }
  }

  private async runChunk(run: ChunkRun, rate: RedisJobRate, resume: boolean): Promise<ChunkJobResult> {
    const { data } = run;
    const result = (counts: ChunkCounts, finished: boolean): ChunkJobResult => ({
      v: PROTOCOL_VERSION,
      counts,
      finished,
      worker: this.name,
    });
    if (run.stopped) return result(await this.untouched(data, resume), false);
    const deps = this.deps;
    const limits = new ChunkLimits(this.slots, rate);
    const onDone = (d: TaskOutcomeStats): void => {
      run.tasks.push(d.succeeded ? 1 : 0, d.durationMs, d.attempts, d.throttledAttempts);
    };
    const execute = jobTaskExecutor(deps, data.spec, limits, onDone);
    const slots = this.slots;
    let done = undefined as ChunkCounts | undefined;
    const runner = new JobRunner(
      {
        jobId: data.spec.jobId,
        chunks: async function* () {
          yield data.chunk;
        },
        isChunkDone: () => false,
        readChunk: chunkReader(deps, data.spec),
        spool: openingWith(deps.spool, resume),
        // ChunkLimits.admit took a process slot for this task: it goes back when the task ends.
        executeTask: async (entry, signal) => {
          try {
            return await execute(entry, signal);
          } finally {
            slots.release();
          }
        },
        onChunkDone: (counts) => {
          done = counts;
        },
        onResult: () => undefined,
        // The loops cost nothing while they wait: as many as the process has slots, so a chunk's
        // loops can grow up to them (`loops` messages); its gate holds it to its own share.
        maxConcurrency: Math.max(1, this.slots.size),
        limits,
      },
      run.initialLoops,
    );
    run.limits = limits;
    run.runner = runner;
    if (run.stopped) runner.stop();
    let partial: readonly ChunkCounts[] = [];
    let failure: unknown;
    try {
      partial = (await runner.run()).partial;
    } catch (err) {
      failure = err;
      partial = (err as { partial?: ChunkCounts[] }).partial ?? [];
    }
    const counts = done ?? partial.find((c) => c.index === data.chunk.index);
    run.final = counts === undefined ? NO_COUNTS : produced(counts);
    await this.sendProgress([run], true).catch((err: unknown) =>
      this.log('warn', `progress: ${(err as Error).message}`),
    );
    if (failure !== undefined) throw failure;
    if (done) return result(done, true);
    return result(counts ?? (await this.untouched(data, resume)), false);
  }

  /** The counts of a chunk this run never opened: the rows a resume would keep. */
  private async untouched(data: ChunkJobData, resume: boolean): Promise<ChunkCounts> {
    const index = data.chunk.index;
    const rows = resume ? await this.deps.spool.durable(data.spec.jobId, index) : undefined;
    if (rows === undefined) return { index, succeeded: 0, failed: 0 };
    const resumed = { succeeded: rows.succeeded, failed: rows.failed, bytes: rows.bytes, failures: rows.failures };
    return { index, ...resumed, resumed };
  }

  private rateOf(jobId: string): RedisJobRate {
    let rate = this.rates.get(jobId);
    if (!rate) {
      rate = new RedisJobRate(
        jobId,
        (burst, windowMs) => this.limiter(burst, windowMs),
        () => this.deps.now() + this.clockOffset,
        this.deps.sleep,
      );
      this.rates.set(jobId, rate);
    }
    rate.refs++;
    return rate;
  }

  private limiter(burst: number, windowMs: number): RateLimiterRedis {
    const id = `${burst}/${windowMs}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      // The key of a window outlives it by a second at least (rate-limiter-flexible's TTLs are whole seconds).
      limiter = new RateLimiterRedis({
        storeClient: this.redis,
        keyPrefix: this.names.rate,
        points: burst,
        duration: Math.ceil(windowMs / 1000) + 1,
      });
      this.limiters.set(id, limiter);
    }
    return limiter;
  }

  private onControl(text: string): void {
    let msg: ControlMessage;
    try {
      msg = JSON.parse(text) as ControlMessage;
    } catch {
      return;
    }
    if (msg?.v !== PROTOCOL_VERSION) return;
    switch (msg.t) {
      case 'stop':
        for (const run of this.runs) if (run.jobId === msg.jobId) run.hearStop(msg.gen);
        break;
      case 'loops':
        for (const run of this.runs) {
          if (run.jobId === msg.jobId && run.data.chunk.index === msg.chunk) run.setLoops(msg.loops);
        }
        break;
      case 'rate':
        this.rates.get(msg.jobId)?.set(msg.rate);
        break;
      default:
        break;
    }
  }

  private tick(): void {
    if (this.ticking) return;
    this.ticking = true;
    const now = Date.now();
    const poll = now - this.lastStopPoll >= QUIET_MS && this.runs.size > 0;
    if (poll) this.lastStopPoll = now;
    void Promise.all([
      this.sendProgress([...this.runs], false).catch((err: unknown) =>
        this.log('warn', `progress: ${(err as Error).message}`),
      ),
      poll ? this.pollStops().catch(() => undefined) : undefined,
    ]).finally(() => {
      this.ticking = false;
    });
  }

  private async sendProgress(runs: readonly ChunkRun[], force: boolean): Promise<void> {
    const now = Date.now();
    const entries = runs.map((r) => r.entry(now, force)).filter((e) => e !== undefined);
    if (entries.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const e of entries) {
      pipe.xadd(this.names.progress, 'MAXLEN', '~', PROGRESS_STREAM_MAX, '*', 'd', JSON.stringify(e));
    }
    await pipe.exec();
  }

  /** The stop keys of the running chunks' jobs, for a stop message this worker missed. */
  private async pollStops(): Promise<void> {
    const jobs = [...new Set([...this.runs].map((r) => r.jobId))];
    const gens = await this.redis.mget(...jobs.map((j) => this.names.stopKey(j)));
    jobs.forEach((jobId, i) => {
      const gen = gens[i];
      if (gen === null || gen === undefined) return;
      for (const run of this.runs) if (run.jobId === jobId) run.hearStop(Number(gen));
    });
  }

  private async heartbeat(): Promise<void> {
    const info: WorkerInfo = {
      name: this.name,
      concurrency: this.options.concurrency,
      startedAt: this.startedAt,
      seen: Date.now(),
    };
    await this.redis.hset(this.names.workers, this.name, JSON.stringify(info));
  }

  /**
   * Redis' clock against this machine's, from the TIME answer with the shortest round trip seen
   * (a slow answer says less about when it was given); a sample within 5 ms of the best replaces it.
   */
  private async measureClock(): Promise<void> {
    const before = Date.now();
    const [s, us] = await this.redis.time();
    const after = Date.now();
    const rtt = after - before;
    if (rtt > this.bestRtt + 5) return;
    this.bestRtt = Math.min(this.bestRtt, rtt);
    this.clockOffset = Number(s) * 1000 + Number(us) / 1000 - (before + after) / 2;
  }
}

/** The spool as a chunk of this data opens it: with `resume` or afresh, as the engine said. */
function openingWith(spool: ResultSpool, resume: boolean): ResultSpool {
  return {
    open: (jobId, chunk) => spool.open(jobId, chunk, { resume }),
    durable: (jobId, chunk) => spool.durable(jobId, chunk),
    read: (jobId, chunk, status) => spool.read(jobId, chunk, status),
    chunks: (jobId) => spool.chunks(jobId),
    discard: (jobId, chunk) => spool.discard(jobId, chunk),
    removeJob: (jobId) => spool.removeJob(jobId),
  };
}
