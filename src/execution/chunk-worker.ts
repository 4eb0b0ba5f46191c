/**
 * The worker side of a placement that runs tasks away from the engine's thread: for each job the
 * engine hands it, a JobRunner (the same one the inline placement uses) whose chunks come from
 * the engine one at a time, on demand (`need` → `chunk`), so a worker takes a new chunk only when
 * its loops have taken every row of the last one. It reads the rows, runs the tasks, spools the
 * results (a chunk is reported done after its spool is durable) and sends progress in batches.
 * Transport-agnostic: `post` carries the messages of protocol.ts.
 *
 * The job's limits stay with the engine: this worker holds its share of them (slots and rate,
 * which the engine re-splits as workers join or finish) and sends every attempt's outcome back for
 * the adaptive slow-down.
 */
import type { Chunk } from '../domain/chunk.ts';
import type { TaskLimits } from '../engine/job-limits.ts';
import { JobRunner } from '../engine/job-runner.ts';
import { isThrottled } from '../engine/adaptive-limit.ts';
import { takeToken, TokenBucket } from '../engine/rate-limiter.ts';
import type { Sleep } from '../engine/retry.ts';
import type { TaskOutcomeStats } from '../engine/task-executor.ts';
import type { AttemptOutcome } from '../operations/operation.ts';
import type { ResultSpool } from '../storage/result-spool.ts';
import { chunkReader, jobTaskExecutor, type ChunkWorkDeps } from './chunk-work.ts';
import type { ChunkCounts } from './placement.ts';
import { pushTaskStats, serializeError, type FromWorker, type Progress, type ToWorker } from './protocol.ts';

/** A batch goes out after this long, or sooner when it holds BATCH_TASKS tasks. */
const BATCH_MS = 100;
const BATCH_TASKS = 512;

export interface ChunkWorkerDeps extends ChunkWorkDeps {
  readonly spool: ResultSpool;
  readonly now: () => number;
}

/** This worker's share of a job's limits. */
class SharedLimits implements TaskLimits {
  /** The engine sizes this worker's slots; the job's effective concurrency is applied there. */
  readonly effectiveConcurrency = Number.POSITIVE_INFINITY;
  private bucket: TokenBucket | undefined;
  attempts = '';

  constructor(
    rate: number | undefined,
    private readonly now: () => number,
    private readonly sleep: Sleep,
  ) {
    this.setRate(rate);
  }

  get rateLimited(): boolean {
    return this.bucket !== undefined;
  }

  setRate(rate: number | undefined): void {
    if (rate === undefined) this.bucket = undefined;
    else if (this.bucket) this.bucket.setRate(rate);
    else this.bucket = new TokenBucket(rate, this.now);
  }

  admit(signal: AbortSignal): Promise<boolean> {
    return this.bucket ? takeToken(this.bucket, this.sleep, signal) : Promise.resolve(true);
  }

  async beforeRetry(signal: AbortSignal): Promise<void> {
    if (this.bucket) await takeToken(this.bucket, this.sleep, signal);
  }

  record(outcome: AttemptOutcome): boolean {
    const throttled = isThrottled(outcome.result);
    this.attempts += throttled ? 't' : outcome.result.status === 'succeeded' ? 's' : 'f';
    return throttled;
  }
}

class Execution {
  readonly runner: JobRunner;
  readonly limits: SharedLimits;
  private epoch: number;
  private tasks: number[] = [];
  private taskBytes: number[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private chunkWaiter: ((chunk: Chunk | null) => void) | undefined;
  private stopped = false;

  constructor(
    private readonly id: number,
    msg: Extract<ToWorker, { t: 'start' }>,
    deps: ChunkWorkerDeps,
    private readonly post: (msg: FromWorker) => void,
    onEnd: () => void,
  ) {
    this.epoch = msg.epoch;
    this.limits = new SharedLimits(msg.rate, deps.now, deps.sleep);
    const onDone = (d: TaskOutcomeStats): void => {
      pushTaskStats(this.tasks, this.taskBytes, d);
      this.soon();
    };
    this.runner = new JobRunner(
      {
        jobId: msg.spec.jobId,
        chunks: (stopped, waiting) => this.chunks(stopped, waiting),
        isChunkDone: () => false, // the engine hands out only chunks not done
        readChunk: chunkReader(deps, msg.spec),
        spool: deps.spool,
        executeTask: jobTaskExecutor(deps, msg.spec, this.limits, onDone),
        onChunkDone: (counts) => {
          this.cancelTimer();
          this.post({ t: 'chunk-done', id, counts, ...this.take() });
        },
        onResult: () => this.soon(),
        maxConcurrency: msg.loops,
        limits: this.limits,
        onStarvedChange: () => this.post({ t: 'starved', id, on: this.runner.starved }),
      },
      msg.capacity,
    );
    const idle = (): void => {
      this.cancelTimer();
      this.post({ t: 'idle', id, epoch: this.epoch, ...this.take() });
    };
    this.runner.gate.onIdle(idle);
    // A share of 0 from the start (the job has fewer slots than threads): idle already.
    if (msg.capacity === 0) idle();
    this.runner.run().then(
      (outcome) => this.end(outcome.partial, undefined, onEnd),
      (err: unknown) => this.end((err as { partial?: ChunkCounts[] }).partial ?? [], err, onEnd),
    );
  }

  handle(msg: ToWorker): void {
    switch (msg.t) {
      case 'chunk': {
        const w = this.chunkWaiter;
        this.chunkWaiter = undefined;
        w?.(msg.chunk);
        break;
      }
      case 'capacity':
        this.epoch = msg.epoch;
        this.runner.setSlots(msg.capacity);
        break;
      case 'rate':
        this.limits.setRate(msg.rate);
        break;
      case 'stop':
        this.stopped = true;
        this.runner.stop();
        this.chunkWaiter?.(null);
        this.chunkWaiter = undefined;
        break;
      default:
        break;
    }
  }

  private async *chunks(stopped: AbortSignal, waiting: (on: boolean) => void): AsyncGenerator<Chunk> {
    for (;;) {
      if (this.stopped || stopped.aborted) return;
      // While the engine looks for the next chunk this worker has nothing to start: if the engine's
      // source waits for a listing, the job is starved (the engine combines both).
      waiting(true);
      let chunk: Chunk | null;
      try {
        chunk = await new Promise<Chunk | null>((resolve) => {
          this.chunkWaiter = resolve;
          this.post({ t: 'need', id: this.id });
        });
      } finally {
        waiting(false);
      }
      if (chunk === null) return;
      yield chunk;
    }
  }

  /** The progress since the last message, and the state now. */
  private take(): Progress {
    const p: Progress = {
      inFlight: this.runner.inFlight,
      capacityEpoch: this.epoch,
      live: this.runner.liveCounts,
      attempts: this.limits.attempts,
      tasks: this.tasks,
      taskBytes: this.taskBytes,
    };
    this.limits.attempts = '';
    this.tasks = [];
    this.taskBytes = [];
    return p;
  }

  private soon(): void {
    if (this.tasks.length >= BATCH_TASKS * 4) {
      this.flush();
      return;
    }
    this.timer ??= setTimeout(() => this.flush(), BATCH_MS);
  }

  private flush(): void {
    this.cancelTimer();
    this.post({ t: 'progress', id: this.id, ...this.take() });
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private end(partial: readonly ChunkCounts[], err: unknown, onEnd: () => void): void {
    this.flush();
    this.post({
      t: 'ended',
      id: this.id,
      partial,
      error: err === undefined ? undefined : serializeError(err),
    });
    onEnd();
  }
}

/** Runs the executions the engine starts on this worker. */
export class ChunkWorker {
  private readonly executions = new Map<number, Execution>();

  constructor(
    private readonly deps: ChunkWorkerDeps,
    private readonly post: (msg: FromWorker) => void,
  ) {}

  handle(msg: ToWorker): void {
    if (msg.t === 'start') {
      const id = msg.id;
      this.executions.set(id, new Execution(id, msg, this.deps, this.post, () => this.executions.delete(id)));
      return;
    }
    this.executions.get(msg.id)?.handle(msg);
  }
}
