/**
 * The BullMQ placement (src/execution/bullmq/placement.ts) under the real Engine, on a real
 * redis-server (startRedis) and real BullMQ: the chunks go through the chunk queue, the control
 * channel and the progress stream. The worker side is TestChunkWorker (test/helpers/bullmq-test-worker.ts),
 * a real BullMQ Worker whose processor runs one chunk with the engine's JobRunner over the test's
 * in-memory spool and a fake operation (no S3): the engine's unit tests' world. The real worker is
 * src/execution/bullmq/worker.ts, built on its own; the scale-out e2e tests run it with the real
 * `serve --redis` on Ceph.
 */
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JobStatus } from '../../src/domain/job-status.ts';
import { succeeded, type TaskEntry } from '../../src/domain/task.ts';
import { Engine, type EngineConfig } from '../../src/engine/engine.ts';
import { NO_LOG } from '../../src/engine/job-log.ts';
import { BullmqPlacement } from '../../src/execution/bullmq/placement.ts';
import { CHUNK_QUEUE, type ChunkJobData, type RedisNames, redisNames } from '../../src/execution/bullmq/protocol.ts';
import type { ChunkWorkDeps } from '../../src/execution/chunk-work.ts';
import type { OperationHandler } from '../../src/operations/operation.ts';
import { BatchService } from '../../src/service/batch-service.ts';
import { createMemoryChunkIndex, type ChunkIndexFile } from '../../src/storage/chunk-index-file.ts';
import { MemoryJobStore } from '../../src/storage/memory-job-store.ts';
import { MemoryObjectStore } from '../../src/storage/memory-object-store.ts';
import { createMemorySpool } from '../../src/storage/memory-spool.ts';
import type { ResultSpool } from '../../src/storage/result-spool.ts';
import { TestChunkWorker } from '../helpers/bullmq-test-worker.ts';
import { csvManifest, taggingJobRequest, TEST_ACCOUNT, waitForStatus } from '../helpers/engine-harness.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** Everything a test started, stopped in reverse order after it. */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface World {
  readonly names: RedisNames;
  readonly objects: MemoryObjectStore;
  readonly store: MemoryJobStore;
  readonly spool: ResultSpool;
  readonly indices: Map<string, ChunkIndexFile>;
  /** Every task the fake operation ran, by key. */
  readonly calls: string[];
  /** Tasks running now, and the most at once since `most` was last reset. */
  readonly running: { now: number; most: number };
  readonly handler: OperationHandler<object>;
  /** While `on`, tasks (only those under `prefix`, when set) wait for `release()`. */
  readonly hold: { on: boolean; prefix?: string; release: () => void; waiting: Promise<void> };
  readonly workDeps: ChunkWorkDeps;
}

let worldNo = 0;

function newWorld(): World {
  let release = (): void => {};
  const hold: World['hold'] = { on: false, waiting: Promise.resolve(), release: () => release() };
  const reset = (): void => {
    hold.waiting = new Promise<void>((r) => (release = r));
  };
  reset();
  hold.release = () => {
    release();
    reset();
  };
  const objects = new MemoryObjectStore();
  objects.createBucket('src');
  objects.createBucket('reports');
  const calls: string[] = [];
  const running = { now: 0, most: 0 };
  const handler: OperationHandler<object> = {
    name: 'S3PutObjectTagging',
    parse: () => ({}),
    async attempt(_config, entry: TaskEntry) {
      calls.push(entry.key);
      running.most = Math.max(running.most, ++running.now);
      try {
        if (hold.on && (hold.prefix === undefined || entry.key.startsWith(hold.prefix))) await hold.waiting;
        else await new Promise((r) => setTimeout(r, 2));
      } finally {
        running.now--;
      }
      return { result: succeeded(entry), retryable: false };
    },
  };
  const profile = {
    objects,
    operations: {
      s3: undefined as never,
      multipartCopyThresholdBytes: 5 * 1024 ** 3,
      multipartCopyPartBytes: 64 * 1024 ** 2,
    },
  };
  return {
    // A prefix per test: each test sees only its own queue and streams.
    names: redisNames(`t${++worldNo}-${process.pid}:`),
    objects,
    store: new MemoryJobStore(),
    spool: createMemorySpool(),
    indices: new Map(),
    calls,
    running,
    handler,
    hold,
    workDeps: {
      profileFor: () => profile,
      operationFor: () => ({ name: 'S3PutObjectTagging', handler, config: {} }),
      localManifest: () => {
        throw new Error('no local task lists in these tests');
      },
      retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      sleep: async () => {},
    },
  };
}

async function connect(): Promise<Redis> {
  const r = new Redis(redis.url, { maxRetriesPerRequest: null });
  r.on('error', () => {});
  return r;
}

interface Leader {
  readonly engine: Engine;
  readonly service: BatchService;
  readonly placement: BullmqPlacement;
  readonly connection: Redis;
  /** As a SIGKILL of the leader would: no more reads or writes to Redis, nothing stopped. */
  crash(): Promise<void>;
}

/** An engine (a leader) whose placement is the BullMQ one, started. */
async function newLeader(
  world: World,
  config: Partial<EngineConfig> = {},
  chunkLoops = 4,
  sweepMs?: number,
): Promise<Leader> {
  const connection = await connect();
  const placement = new BullmqPlacement({ redis: connection, names: world.names, chunkLoops, log: NO_LOG, sweepMs });
  const now = (): Date => new Date();
  const engine = new Engine(
    {
      maxConcurrentTasks: 8,
      jobConcurrency: 8,
      chunkSize: 10,
      maxTasksPerJob: 1_000_000,
      prepareConcurrency: 2,
      retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      progressIntervalMs: 0,
      ...config,
    },
    {
      store: world.store,
      spool: world.spool,
      chunkIndex: (id) => {
        let idx = world.indices.get(id);
        if (!idx) world.indices.set(id, (idx = createMemoryChunkIndex()));
        return idx;
      },
      removeChunkIndex: async (id) => {
        world.indices.delete(id);
      },
      profileFor: () => world.workDeps.profileFor(''),
      now,
      sleep: async () => {},
      log: NO_LOG,
      operations: () => ({ name: 'S3PutObjectTagging', handler: world.handler, config: {} }),
      placement,
    },
  );
  let crashed = false;
  cleanups.push(async () => {
    if (crashed) return;
    await engine.stop();
    await placement.close();
    connection.disconnect();
  });
  const service = new BatchService(engine, {
    region: 'us-east-1',
    partition: 'aws',
    confirmationRequiredByDefault: true,
    now,
  });
  await engine.start();
  return {
    engine,
    service,
    placement,
    connection,
    async crash() {
      crashed = true;
      await placement.close();
      connection.disconnect();
    },
  };
}

async function newWorker(
  world: World,
  concurrency = 8,
  onChunk?: (data: ChunkJobData, id: string) => void | Promise<void>,
  name = 'w1',
): Promise<TestChunkWorker> {
  const w = new TestChunkWorker({
    url: redis.url,
    names: world.names,
    name,
    concurrency,
    spool: world.spool,
    deps: world.workDeps,
    onChunk,
  });
  await w.start();
  cleanups.push(() => w.close());
  return w;
}

/** A BullMQ Queue on the test's chunk queue, to look at it. */
async function watchQueue(world: World): Promise<Queue<ChunkJobData>> {
  const connection = await connect();
  const q = new Queue<ChunkJobData>(CHUNK_QUEUE, { connection, prefix: world.names.bull });
  q.on('error', () => {});
  cleanups.push(async () => {
    await q.close();
    connection.disconnect();
  });
  return q;
}

async function putManifest(world: World, name: string, keys: string[]): Promise<string> {
  const body = keys.map((k) => `src,${encodeURIComponent(k)}\n`).join('');
  const { etag } = await world.objects.put({ bucket: 'src', key: name }, body);
  return etag;
}

function createJob(leader: Leader, manifest: string, etag: string, extra: Record<string, unknown> = {}): string {
  return leader.service.createJob(TEST_ACCOUNT, taggingJobRequest({ Manifest: csvManifest(manifest, etag), ...extra }))
    .JobId;
}

function statusTrail(engine: Engine, jobId: string): JobStatus[] {
  const trail: JobStatus[] = [];
  engine.events.on('job:status', (e) => {
    if (e.jobId === jobId) trail.push(e.to);
  });
  return trail;
}

function reportRows(world: World, jobId: string): string[] {
  const manifest = JSON.parse(world.objects.getText('reports', `r/job-${jobId}/manifest.json`)) as {
    Results: { Key: string }[];
  };
  return manifest.Results.flatMap((r) => world.objects.getText('reports', r.Key).split('\r\n').filter(Boolean));
}

const keys = (n: number, prefix = 'obj/'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The loops of the job's chunk jobs waiting in the queue or running, as their data says. */
async function queuedLoops(q: Queue<ChunkJobData>, jobId: string): Promise<number> {
  const jobs = await q.getJobs(['waiting', 'prioritized', 'delayed', 'active']);
  const ids = new Set<string>();
  let n = 0;
  for (const j of jobs) {
    if (!j?.id?.startsWith(`${jobId}.`) || ids.has(j.id)) continue;
    ids.add(j.id);
    n += j.data.loops;
  }
  return n;
}

function countBy(values: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

describe('the BullMQ placement under the engine', () => {
  it('runs a job to Complete through the queue: each chunk once, each task once, the report exact', async () => {
    const world = newWorld();
    const leader = await newLeader(world);
    const worker = await newWorker(world);
    const etag = await putManifest(world, 'm.csv', keys(95));
    const jobId = createJob(leader, 'm.csv', etag);
    await waitForStatus(leader.engine, world.store, jobId, 'Complete');
    const d = leader.service.describeJob(TEST_ACCOUNT, jobId);
    expect(d.ProgressSummary).toMatchObject({
      TotalNumberOfTasks: 95,
      NumberOfTasksSucceeded: 95,
      NumberOfTasksFailed: 0,
    });
    expect([...countBy(worker.runs.map((r) => r.id)).values()].every((n) => n === 1)).toBe(true);
    expect(worker.runs.map((r) => r.data.chunk.index).sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(world.calls.sort()).toEqual(keys(95).sort());
    const rows = reportRows(world, jobId);
    expect(rows).toHaveLength(95);
    expect(new Set(rows).size).toBe(95);
    // Each result left the queue once recorded.
    const q = await watchQueue(world);
    await until(async () => (await q.getJobCounts('completed')).completed === 0, 'the results to leave the queue');
    expect(leader.placement.workerTasks().get('w1')).toEqual({ succeeded: 95, failed: 0 });
  });

  it('feeds a window: never more loops in the queue than the job may run, never every chunk', async () => {
    const world = newWorld();
    // 8 slots, 3 loops per chunk: at most 3 chunks (3 + 3 + 2) in the queue or running.
    const leader = await newLeader(world, { maxConcurrentTasks: 8, jobConcurrency: 8 }, 3);
    const q = await watchQueue(world);
    let most = 0;
    let mostChunks = 0;
    let watching = true;
    const etag = await putManifest(world, 'm.csv', keys(200));
    const jobId = createJob(leader, 'm.csv', etag);
    const watcher = (async () => {
      while (watching) {
        most = Math.max(most, await queuedLoops(q, jobId));
        const ids = (await q.getJobs(['waiting', 'prioritized', 'active'])).filter((j) => j?.id?.startsWith(jobId));
        mostChunks = Math.max(mostChunks, new Set(ids.map((j) => j.id)).size);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await waitForStatus(leader.engine, world.store, jobId, 'Active');
    await new Promise((r) => setTimeout(r, 300)); // the window fills while no worker takes it
    expect(await queuedLoops(q, jobId)).toBe(8);
    await newWorker(world, 2); // fewer chunks at once than the window holds: some wait in the queue
    await waitForStatus(leader.engine, world.store, jobId, 'Complete');
    watching = false;
    await watcher;
    expect(most).toBeLessThanOrEqual(8);
    expect(mostChunks).toBeLessThanOrEqual(3);
    expect(mostChunks).toBeGreaterThanOrEqual(2);
    expect(world.calls.sort()).toEqual(keys(200).sort());
    expect(leader.service.describeJob(TEST_ACCOUNT, jobId).ProgressSummary.NumberOfTasksSucceeded).toBe(200);
  });

  it('a higher-priority job pre-empts a running one: Pausing → Paused, then it resumes by itself with resume', async () => {
    const world = newWorld();
    const leader = await newLeader(world, { maxConcurrentTasks: 4, jobConcurrency: 4 }, 4);
    const worker = await newWorker(world);
    world.hold.on = true;
    const lowEtag = await putManifest(world, 'low.csv', keys(40, 'low/'));
    const low = createJob(leader, 'low.csv', lowEtag, { Priority: 1 });
    const lowTrail = statusTrail(leader.engine, low);
    await waitForStatus(leader.engine, world.store, low, 'Active');
    await until(() => world.calls.length >= 4, 'four low tasks in flight');
    const highEtag = await putManifest(world, 'high.csv', keys(12, 'high/'));
    const high = createJob(leader, 'high.csv', highEtag, { Priority: 100 });
    await waitForStatus(leader.engine, world.store, low, 'Pausing');
    // The stop reached the running chunk: its in-flight tasks finish, it comes back unfinished.
    await until(() => worker.messages.some((m) => m.t === 'stop' && m.jobId === low), 'the stop message');
    world.hold.on = false;
    world.hold.release();
    await waitForStatus(leader.engine, world.store, low, 'Paused');
    await waitForStatus(leader.engine, world.store, high, 'Complete');
    await waitForStatus(leader.engine, world.store, low, 'Complete');
    expect(lowTrail).toEqual(['Ready', 'Active', 'Pausing', 'Paused', 'Active', 'Completing', 'Complete']);
    // Its first chunk ran twice: cut short, then sent again with resume, past the rows it had.
    const first = worker.runs.filter((r) => r.id === `${low}.0`);
    expect(first.length).toBe(2);
    expect(first[1]!.data.resume).toBe(true);
    expect(first[1]!.data.gen).toBeGreaterThan(first[0]!.data.gen);
    const results = worker.results.filter((r) => r.id === `${low}.0`).map((r) => r.result);
    expect(results.map((r) => r.finished)).toEqual([false, true]);
    expect(results[1]!.counts.resumed?.succeeded).toBe(results[0]!.counts.succeeded);
    expect(results[1]!.counts.succeeded).toBe(10);
    // Each task once; no low task started while high ran.
    expect([...countBy(world.calls).values()].every((n) => n === 1)).toBe(true);
    const firstHigh = world.calls.findIndex((k) => k.startsWith('high/'));
    expect(world.calls.slice(firstHigh, firstHigh + 12).filter((k) => k.startsWith('low/'))).toEqual([]);
    expect(leader.service.describeJob(TEST_ACCOUNT, low).ProgressSummary.NumberOfTasksSucceeded).toBe(40);
    expect(reportRows(world, low)).toHaveLength(40);
  });

  it('cancel reaches the running chunks: the job ends Cancelled with what ran counted once', async () => {
    const world = newWorld();
    const leader = await newLeader(world, { maxConcurrentTasks: 8, jobConcurrency: 8 }, 4);
    const worker = await newWorker(world);
    world.hold.on = true;
    const etag = await putManifest(world, 'm.csv', keys(100));
    const jobId = createJob(leader, 'm.csv', etag);
    await until(() => world.calls.length >= 8, 'eight tasks in flight');
    expect(leader.service.updateJobStatus(TEST_ACCOUNT, jobId, 'Cancelled').Status).toBe('Cancelling');
    await until(() => worker.messages.some((m) => m.t === 'stop' && m.jobId === jobId), 'the stop message');
    world.hold.on = false;
    world.hold.release();
    await waitForStatus(leader.engine, world.store, jobId, 'Cancelled');
    const ran = leader.service.describeJob(TEST_ACCOUNT, jobId).ProgressSummary.NumberOfTasksSucceeded;
    expect(ran).toBe(world.calls.length);
    expect(ran).toBeGreaterThanOrEqual(8);
    expect(ran).toBeLessThan(100);
    expect(reportRows(world, jobId)).toHaveLength(ran);
    const q = await watchQueue(world);
    await until(async () => (await queuedLoops(q, jobId)) === 0, 'no chunk of the job left in the queue');
  });

  it('lower limits reach the running chunks: loops and rate messages, never more tasks at once than allowed', async () => {
    const world = newWorld();
    const leader = await newLeader(world, { maxConcurrentTasks: 8, jobConcurrency: 8 }, 4);
    const worker = await newWorker(world);
    world.hold.on = true;
    const etag = await putManifest(world, 'm.csv', keys(100));
    const jobId = createJob(leader, 'm.csv', etag);
    await until(() => world.calls.length >= 8, 'eight tasks in flight');
    expect(world.running.most).toBe(8);
    leader.service.putJobTagging(TEST_ACCOUNT, jobId, [
      { Key: 's3batch:max-concurrent-tasks', Value: '2' },
      { Key: 's3batch:max-requests-per-second', Value: '5000' },
    ]);
    await until(() => worker.messages.some((m) => m.t === 'rate' && m.rate === 5000), 'the rate message');
    // The chunks' loops, as the last message for each says, sum to 2.
    const loops = (): number => {
      const last = new Map<number, number>();
      for (const m of worker.messages) if (m.t === 'loops' && m.jobId === jobId) last.set(m.chunk, m.loops);
      return [...last.values()].reduce((n, l) => n + l, 0);
    };
    await until(() => loops() === 2, 'loops messages down to 2 in all');
    // The 8 tasks in flight finish; from then on, at most 2 at once.
    world.hold.on = false;
    world.hold.release();
    await until(() => world.running.now <= 2, 'the held tasks to end');
    world.running.most = world.running.now;
    await waitForStatus(leader.engine, world.store, jobId, 'Complete');
    expect(world.running.most).toBeLessThanOrEqual(2);
    expect([...countBy(world.calls).values()].every((n) => n === 1)).toBe(true);
    expect(leader.service.describeJob(TEST_ACCOUNT, jobId).ProgressSummary.NumberOfTasksSucceeded).toBe(100);
  });

  it('a new leader adopts the chunk jobs it finds (waiting, running, completed) without doubling any', async () => {
    const world = newWorld();
    // 12 slots, 4 loops a chunk: 3 chunks in the window; the worker takes 2 at a time.
    const config = { maxConcurrentTasks: 12, jobConcurrency: 12 };
    const first = await newLeader(world, config, 4);
    // Chunk 0 holds its tasks; chunk 1 holds before its first task.
    world.hold.on = true;
    world.hold.prefix = 'held/';
    let open1 = (): void => {};
    const gate1 = new Promise<void>((r) => (open1 = r));
    const worker = await newWorker(world, 2, async (data) => {
      if (data.chunk.index === 1) await gate1;
    });
    const etag = await putManifest(world, 'm.csv', [...keys(10, 'held/'), ...keys(50)]);
    const jobId = createJob(first, 'm.csv', etag);
    const q = await watchQueue(world);
    const state = (chunk: number): Promise<string> => q.getJobState(`${jobId}.${chunk}`);
    await until(async () => (await state(2)) === 'prioritized' && (await state(1)) === 'active', 'the window');
    await until(() => world.calls.length >= 4, 'chunk 0 running');
    await first.crash();
    // Without a leader: chunk 1 completes, chunk 0 runs on, chunk 2 waits (the worker takes no more).
    await worker.worker.pause(true);
    open1();
    await until(async () => (await state(1)) === 'completed', 'chunk 1 completed');
    expect([await state(0), await state(2)]).toEqual(['active', 'prioritized']);
    expect(world.store.get(jobId)?.status).toBe('Active');

    const second = await newLeader(world, config, 4);
    await new Promise((r) => setTimeout(r, 200));
    worker.worker.resume();
    world.hold.on = false;
    world.hold.release();
    await waitForStatus(second.engine, world.store, jobId, 'Complete');
    const counts = countBy(worker.runs.map((r) => r.id));
    expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(counts.size).toBe(6);
    expect([...countBy(world.calls).values()].every((n) => n === 1)).toBe(true);
    expect(world.calls).toHaveLength(60);
    const d = second.service.describeJob(TEST_ACCOUNT, jobId);
    expect(d.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 60, NumberOfTasksFailed: 0 });
    const rows = reportRows(world, jobId);
    expect(rows).toHaveLength(60);
    expect(new Set(rows).size).toBe(60);
  });

  it('a new leader stops what a Cancelling job still runs and takes its chunks out of the queue', async () => {
    const world = newWorld();
    const config = { maxConcurrentTasks: 12, jobConcurrency: 12 };
    const first = await newLeader(world, config, 4);
    world.hold.on = true;
    const worker = await newWorker(world, 8);
    const etag = await putManifest(world, 'm.csv', keys(60));
    const jobId = createJob(first, 'm.csv', etag);
    const q = await watchQueue(world);
    await until(() => world.calls.length >= 4, 'a chunk running');
    await until(async () => (await queuedLoops(q, jobId)) > 4, 'chunks waiting behind it');
    // The leader dies right after it recorded the cancel, before any stop went out (the window
    // between the store's write and the control message).
    await first.crash();
    const job = world.store.get(jobId)!;
    world.store.save({ ...job, status: JobStatus.Cancelling });
    expect(worker.messages.some((m) => m.t === 'stop' && m.jobId === jobId)).toBe(false);

    const second = await newLeader(world, config, 4);
    await until(() => worker.messages.some((m) => m.t === 'stop' && m.jobId === jobId), 'the stop message');
    world.hold.on = false;
    world.hold.release();
    await waitForStatus(second.engine, world.store, jobId, 'Cancelled');
    await until(async () => (await queuedLoops(q, jobId)) === 0, 'no chunk of the job left in the queue');
    // No chunk started after the new leader took over: only the tasks already held ran.
    expect(world.calls.length).toBeLessThan(60);
  });

  it('a chunk whose processor fails fails the job with its code and message', async () => {
    const world = newWorld();
    const leader = await newLeader(world);
    await newWorker(world, 8, (data) => {
      if (data.chunk.index === 2) {
        // How the worker side hands an S3BatchError's code through BullMQ's failedReason.
        throw new Error('ManifestNotFound: The manifest is gone');
      }
    });
    const etag = await putManifest(world, 'm.csv', keys(60));
    const jobId = createJob(leader, 'm.csv', etag);
    await waitForStatus(leader.engine, world.store, jobId, 'Failed');
    expect(leader.service.describeJob(TEST_ACCOUNT, jobId).FailureReasons).toEqual([
      { FailureCode: 'ManifestNotFound', FailureReason: 'The manifest is gone' },
    ]);
    const q = await watchQueue(world);
    await until(async () => (await q.getJobCounts('failed')).failed === 0, 'the failed chunk job removed');
  });

  it('a chunk job that vanished from the queue (a write Redis lost) is added again', async () => {
    const world = newWorld();
    const leader = await newLeader(world, { maxConcurrentTasks: 8, jobConcurrency: 8 }, 4, 200);
    const etag = await putManifest(world, 'm.csv', keys(50));
    const jobId = createJob(leader, 'm.csv', etag);
    const q = await watchQueue(world);
    await until(async () => (await queuedLoops(q, jobId)) === 8, 'the window');
    expect(await q.remove(`${jobId}.1`)).toBe(1);
    await until(async () => (await q.getJobState(`${jobId}.1`)) === 'prioritized', 'chunk 1 back in the queue');
    const worker = await newWorker(world);
    await waitForStatus(leader.engine, world.store, jobId, 'Complete');
    expect([...countBy(worker.runs.map((r) => r.id)).values()].every((n) => n === 1)).toBe(true);
    expect([...countBy(world.calls).values()].every((n) => n === 1)).toBe(true);
    expect(leader.service.describeJob(TEST_ACCOUNT, jobId).ProgressSummary.NumberOfTasksSucceeded).toBe(50);
  });

  it("a dead worker's chunk runs again on another worker (BullMQ's stalled-job recovery)", async () => {
    const world = newWorld();
    const leader = await newLeader(world, { maxConcurrentTasks: 4, jobConcurrency: 4 }, 4);
    // The first worker takes chunk 0 and never gets to run it: then it dies.
    let taken = false;
    const dying = await newWorker(
      world,
      1,
      async () => {
        taken = true;
        await new Promise(() => {});
      },
      'dying',
    );
    const etag = await putManifest(world, 'm.csv', keys(30));
    const jobId = createJob(leader, 'm.csv', etag);
    await until(() => taken, 'the first worker to take chunk 0');
    await dying.kill();
    const worker = await newWorker(world, 4, undefined, 'w2');
    await until(() => world.store.get(jobId)?.status === 'Complete', 'the job to complete', 40_000);
    expect(worker.runs.map((r) => r.id)).toContain(`${jobId}.0`);
    expect(dying.runs.map((r) => r.id)).toEqual([`${jobId}.0`]);
    expect([...countBy(world.calls).values()].every((n) => n === 1)).toBe(true);
    expect(world.calls).toHaveLength(30);
    expect(leader.service.describeJob(TEST_ACCOUNT, jobId).ProgressSummary.NumberOfTasksSucceeded).toBe(30);
    expect(leader.placement.workerTasks().get('w2')).toEqual({ succeeded: 30, failed: 0 });
  });

  // Last: it restarts the file's Redis.
  it('goes on to Complete after Redis restarts mid-job (AOF): every task once', async () => {
    const world = newWorld();
    const leader = await newLeader(world, { maxConcurrentTasks: 8, jobConcurrency: 8 }, 4);
    const worker = await newWorker(world, 4);
    const etag = await putManifest(world, 'm.csv', keys(3000));
    const jobId = createJob(leader, 'm.csv', etag);
    await until(() => (world.store.get(jobId)?.chunks.watermark ?? 0) >= 5, 'five chunks done');
    await redis.restart();
    expect(world.store.get(jobId)?.status).toBe('Active');
    await until(() => world.store.get(jobId)?.status === 'Complete', 'the job to complete', 60_000);
    expect([...countBy(world.calls).values()].every((n) => n === 1)).toBe(true);
    expect(world.calls).toHaveLength(3000);
    expect(leader.service.describeJob(TEST_ACCOUNT, jobId).ProgressSummary.NumberOfTasksSucceeded).toBe(3000);
    expect(reportRows(world, jobId)).toHaveLength(3000);
    expect(worker.runs.length).toBeGreaterThanOrEqual(300);
  });
});
