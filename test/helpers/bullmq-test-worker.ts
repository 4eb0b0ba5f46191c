/**
 * The worker side of the scale-out protocol (src/execution/bullmq/protocol.ts), small, for the
 * engine side's tests (test/integration/bullmq-placement.test.ts): a real BullMQ Worker on the
 * chunk queue whose processor runs one chunk with the engine's own JobRunner, over the test's
 * in-memory spool (it stands in for the S3 part files) and fake operation. It heeds the control
 * channel (`stop` with a higher generation, `loops`) and the job's stop key, writes progress
 * entries every 50 ms and hands back ChunkJobResult. The real worker is
 * src/execution/bullmq/worker.ts (the scale-out e2e tests run it); this one lets the engine's
 * tests look at and hold each chunk.
 */
import { type Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { TaskLimits } from '../../src/engine/job-limits.ts';
import { JobRunner } from '../../src/engine/job-runner.ts';
import { chunkReader, type ChunkWorkDeps, jobTaskExecutor } from '../../src/execution/chunk-work.ts';
import type { ChunkCounts } from '../../src/execution/placement.ts';
import {
  CHUNK_QUEUE,
  type ChunkJobData,
  type ChunkJobResult,
  type ControlMessage,
  LOCK_DURATION_MS,
  PROGRESS_STREAM_MAX,
  PROTOCOL_VERSION,
  type ProgressEntry,
  type RedisNames,
  STALLED_INTERVAL_MS,
} from '../../src/execution/bullmq/protocol.ts';
import type { ResultSpool } from '../../src/storage/result-spool.ts';

export interface TestChunkWorkerOptions {
  readonly url: string;
  readonly names: RedisNames;
  readonly name: string;
  /** Chunks at once. */
  readonly concurrency: number;
  readonly spool: ResultSpool;
  readonly deps: ChunkWorkDeps;
  /** Called as a chunk starts (a throw fails its BullMQ job). */
  readonly onChunk?: (data: ChunkJobData, id: string) => void | Promise<void>;
}

interface Running {
  readonly data: ChunkJobData;
  readonly runner: JobRunner;
}

export class TestChunkWorker {
  readonly worker: Worker<ChunkJobData, ChunkJobResult>;
  /** Every chunk job this worker took, in order. */
  readonly runs: { readonly id: string; readonly data: ChunkJobData }[] = [];
  /** Every control message it received. */
  readonly messages: ControlMessage[] = [];
  /** What it handed back, by chunk job id, in order. */
  readonly results: { readonly id: string; readonly result: ChunkJobResult }[] = [];
  private readonly redis: Redis;
  private readonly bull: Redis;
  private readonly sub: Redis;
  private readonly running = new Map<string, Running>();

  constructor(private readonly options: TestChunkWorkerOptions) {
    this.redis = new Redis(options.url, { maxRetriesPerRequest: null });
    this.sub = new Redis(options.url, { maxRetriesPerRequest: null });
    this.bull = new Redis(options.url, { maxRetriesPerRequest: null });
    for (const r of [this.redis, this.sub, this.bull]) r.on('error', () => {});
    this.sub.on('message', (_channel: string, text: string) => this.onControl(JSON.parse(text) as ControlMessage));
    this.worker = new Worker<ChunkJobData, ChunkJobResult>(CHUNK_QUEUE, (job) => this.process(job), {
      connection: this.bull,
      prefix: options.names.bull,
      concurrency: options.concurrency,
      lockDuration: LOCK_DURATION_MS,
      stalledInterval: STALLED_INTERVAL_MS,
      autorun: false,
    });
    this.worker.on('error', () => {}); // a Redis restart: BullMQ reconnects
  }

  async start(): Promise<void> {
    await this.sub.subscribe(this.options.names.control);
    void this.worker.run();
    await this.worker.waitUntilReady();
  }

  async close(): Promise<void> {
    await this.worker.close(true);
    this.sub.disconnect();
    this.redis.disconnect();
    this.bull.disconnect();
  }

  /** As a SIGKILL would: its connections drop, its chunks' locks are no longer renewed. */
  async kill(): Promise<void> {
    void this.worker.close(true).catch(() => {});
    for (const r of [this.redis, this.sub, this.bull]) r.disconnect();
  }

  private onControl(msg: ControlMessage): void {
    this.messages.push(msg);
    for (const r of this.running.values()) {
      if (r.data.spec.jobId !== msg.jobId) continue;
      if (msg.t === 'stop' && msg.gen > r.data.gen) r.runner.stop();
      if (msg.t === 'loops' && msg.chunk === r.data.chunk.index) r.runner.setSlots(msg.loops);
    }
  }

  private async process(job: Job<ChunkJobData, ChunkJobResult>): Promise<ChunkJobResult> {
    const { data } = job;
    const id = job.id!;
    this.runs.push({ id, data });
    const result = await this.run(id, data);
    this.results.push({ id, result });
    return result;
  }

  private async run(id: string, data: ChunkJobData): Promise<ChunkJobResult> {
    await this.options.onChunk?.(data, id);
    const { spool, deps, names } = this.options;
    const jobId = data.spec.jobId;
    let attempts = '';
    let tasks: number[] = [];
    const limits: TaskLimits = {
      effectiveConcurrency: Number.POSITIVE_INFINITY,
      rateLimited: false,
      admit: async () => true,
      beforeRetry: async () => {},
      record: (o) => {
        attempts += o.result.status === 'succeeded' ? 's' : 'f';
        return false;
      },
    };
    let done: ChunkCounts | undefined;
    const runner = new JobRunner(
      {
        jobId,
        chunks: async function* () {
          yield data.chunk;
        },
        isChunkDone: () => false,
        readChunk: chunkReader(deps, data.spec),
        spool,
        executeTask: jobTaskExecutor(deps, data.spec, limits, (d) =>
          tasks.push(d.succeeded ? 1 : 0, d.durationMs, d.attempts, d.throttledAttempts),
        ),
        onChunkDone: (c) => {
          done = c;
        },
        onResult: () => {},
        maxConcurrency: 64,
        limits,
      },
      data.loops,
    );
    this.running.set(id, { data, runner });
    // A stop this worker missed (it took the chunk as the stop went out).
    if (Number((await this.redis.get(names.stopKey(jobId))) ?? 0) > data.gen) runner.stop();
    const flush = async (): Promise<void> => {
      const entry: ProgressEntry = {
        v: PROTOCOL_VERSION,
        worker: this.options.name,
        jobId,
        chunk: data.chunk.index,
        inFlight: runner.inFlight,
        live: runner.liveCounts,
        attempts,
        tasks,
      };
      attempts = '';
      tasks = [];
      await this.redis.xadd(names.progress, 'MAXLEN', '~', PROGRESS_STREAM_MAX, '*', 'd', JSON.stringify(entry));
    };
    const timer = setInterval(() => void flush().catch(() => {}), 50);
    try {
      const outcome = await runner.run();
      clearInterval(timer);
      await flush();
      if (done) return { v: PROTOCOL_VERSION, counts: done, finished: true, worker: this.options.name };
      let counts = outcome.partial[0];
      if (counts === undefined) {
        // Stopped before the chunk was opened: what its part holds.
        const rows = await spool.durable(jobId, data.chunk.index);
        const kept = rows && { succeeded: rows.succeeded, failed: rows.failed, bytes: rows.bytes };
        counts = kept
          ? { index: data.chunk.index, ...kept, resumed: kept }
          : { index: data.chunk.index, succeeded: 0, failed: 0 };
      }
      return { v: PROTOCOL_VERSION, counts, finished: false, worker: this.options.name };
    } finally {
      clearInterval(timer);
      this.running.delete(id);
    }
  }
}
