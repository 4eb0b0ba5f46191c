/**
 * Per-job limits, adaptive slow-down and job-record retention, on the engine with in-memory parts
 * (job store, object store, spool, chunk index) and a fake operation whose in-flight calls the
 * test counts. The same behaviours run end to end through a fault proxy in test/e2e/limits.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { failed, succeeded, type TaskEntry } from '../../src/domain/task.ts';
import type { Engine, EngineConfig } from '../../src/engine/engine.ts';
import type { ChunkIndexFile } from '../../src/storage/chunk-index-file.ts';
import type { AttemptOutcome, OperationHandler } from '../../src/operations/operation.ts';
import type { BatchService } from '../../src/service/batch-service.ts';
import { MemoryJobStore } from '../../src/storage/memory-job-store.ts';
import { MemoryObjectStore } from '../../src/storage/memory-object-store.ts';
import { createMemorySpool } from '../../src/storage/memory-spool.ts';
import {
  csvManifest,
  newTestEngine,
  stopTestEngines,
  taggingJobRequest,
  TEST_ACCOUNT,
  waitForStatus,
} from '../helpers/engine-harness.ts';
import { until } from '../helpers/until.ts';

const ACCOUNT = TEST_ACCOUNT;
const DAY = 86_400_000;

interface World {
  objects: MemoryObjectStore;
  store: MemoryJobStore;
  indices: Map<string, ChunkIndexFile>;
  spoolJobs: Set<string>;
  /** Calls in flight now, and the most seen at once, per key prefix (the job). */
  inFlight: Map<string, number>;
  maxInFlight: Map<string, number>;
  /** The fake operation's answer to one attempt (default: success after a short wait). */
  answer: (entry: TaskEntry) => Promise<AttemptOutcome>;
  /** Added to the real clock (retention tests move time forward). */
  clockOffsetMs: number;
}

function newWorld(): World {
  const objects = new MemoryObjectStore();
  objects.createBucket('src');
  objects.createBucket('reports');
  return {
    objects,
    store: new MemoryJobStore(),
    indices: new Map(),
    spoolJobs: new Set(),
    inFlight: new Map(),
    maxInFlight: new Map(),
    answer: async (entry) => {
      await new Promise((r) => setTimeout(r, 2));
      return { result: succeeded(entry), retryable: false };
    },
    clockOffsetMs: 0,
  };
}

function countingHandler(world: World): OperationHandler<object> {
  return {
    name: 'S3PutObjectTagging',
    parse: () => ({}),
    async attempt(_config, entry) {
      const job = entry.key.split('/')[0]!;
      const n = (world.inFlight.get(job) ?? 0) + 1;
      world.inFlight.set(job, n);
      world.maxInFlight.set(job, Math.max(n, world.maxInFlight.get(job) ?? 0));
      try {
        return await world.answer(entry);
      } finally {
        world.inFlight.set(job, (world.inFlight.get(job) ?? 1) - 1);
      }
    },
  };
}

afterEach(stopTestEngines);

function newEngine(world: World, config: Partial<EngineConfig> = {}): { engine: Engine; service: BatchService } {
  const spool = createMemorySpool();
  return newTestEngine({
    store: world.store,
    objects: world.objects,
    handler: countingHandler(world),
    config: { maxConcurrentTasks: 32, jobConcurrency: 16, ...config },
    spool: {
      ...spool,
      open: (jobId, chunk) => {
        world.spoolJobs.add(jobId);
        return spool.open(jobId, chunk);
      },
      removeJob: async (jobId) => {
        world.spoolJobs.delete(jobId);
        await spool.removeJob(jobId);
      },
    },
    indices: world.indices,
    now: () => new Date(Date.now() + world.clockOffsetMs),
  });
}

async function createJob(
  world: World,
  service: BatchService,
  prefix: string,
  count: number,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const body = Array.from({ length: count }, (_, i) => `src,${prefix}%2F${i}\n`).join('');
  const { etag } = await world.objects.put({ bucket: 'src', key: `${prefix}.csv` }, body);
  return service.createJob(ACCOUNT, taggingJobRequest({ Manifest: csvManifest(`${prefix}.csv`, etag), ...extra }))
    .JobId;
}

describe('per-job concurrency', () => {
  it('s3batch:max-concurrent-tasks bounds the job below the server budget; another job uses the rest', async () => {
    const world = newWorld();
    const { engine, service } = newEngine(world);
    await engine.start();
    const limited = await createJob(world, service, 'limited', 120, {
      Tags: [{ Key: 's3batch:max-concurrent-tasks', Value: '3' }],
    });
    const free = await createJob(world, service, 'free', 120);
    await waitForStatus(engine, world.store, limited, 'Complete');
    await waitForStatus(engine, world.store, free, 'Complete');
    expect(world.maxInFlight.get('limited')).toBe(3);
    expect(world.maxInFlight.get('free')).toBeGreaterThan(3);
    expect(world.maxInFlight.get('free')).toBeLessThanOrEqual(16);
    expect(service.jobLimits(ACCOUNT, limited)).toMatchObject({
      maxConcurrentTasks: 3,
      running: false,
      throttledAttempts: 0,
    });
  });

  it('PutJobTagging changes the limit of a running job at once; a bad limit tag is InvalidRequest', async () => {
    const world = newWorld();
    let release = (): void => {};
    let gate = new Promise<void>((r) => (release = r));
    world.answer = async (entry) => {
      await gate;
      return { result: succeeded(entry), retryable: false };
    };
    const { engine, service } = newEngine(world);
    await engine.start();
    const tags = (n: number): { Key: string; Value: string }[] => [
      { Key: 'team', Value: 'a' },
      { Key: 's3batch:max-concurrent-tasks', Value: String(n) },
    ];
    const id = await createJob(world, service, 'job', 200, { Tags: tags(2) });
    await until(() => world.inFlight.get('job') === 2, '2 in flight');
    service.putJobTagging(ACCOUNT, id, tags(6));
    await until(() => world.inFlight.get('job') === 6, '6 in flight after raising the limit');
    expect(service.jobLimits(ACCOUNT, id)).toMatchObject({
      maxConcurrentTasks: 6,
      effectiveConcurrency: 6,
      running: true,
    });
    expect(() => service.putJobTagging(ACCOUNT, id, [{ Key: 's3batch:max-concurrent-tasks', Value: 'lots' }])).toThrow(
      expect.objectContaining({ code: 'InvalidRequest' }),
    );
    expect(() => service.putJobTagging(ACCOUNT, id, [{ Key: 's3batch:no-such-thing', Value: '1' }])).toThrow(
      expect.objectContaining({ code: 'InvalidRequest' }),
    );
    service.putJobTagging(ACCOUNT, id, tags(1)); // lowered: in-flight calls finish, then one at a time
    release();
    gate = Promise.resolve();
    await waitForStatus(engine, world.store, id, 'Complete');
    expect(world.maxInFlight.get('job')).toBe(6);
    expect(service.describeJob(ACCOUNT, id).ProgressSummary.NumberOfTasksSucceeded).toBe(200);
  });
});

describe('adaptive slow-down', () => {
  it('a SlowDown storm slows the job down instead of failing tasks, and it speeds back up', async () => {
    const world = newWorld();
    let attempts = 0;
    const effective: number[] = [];
    let engineRef: Engine | undefined;
    let jobId = '';
    world.answer = async (entry) => {
      attempts++;
      const job = world.store.get(jobId);
      if (engineRef && job) effective.push(engineRef.limitsOf(job).effectiveConcurrency);
      await new Promise((r) => setTimeout(r, 1));
      // Attempts 30..109 are throttled: a storm of 80 SlowDown answers.
      if (attempts >= 30 && attempts < 110)
        return { result: failed(entry, 503, 'SlowDown', 'Please reduce your request rate.'), retryable: true };
      return { result: succeeded(entry), retryable: false };
    };
    const { engine, service } = newEngine(world); // retry.maxAttempts is 1: without the throttle budget every throttled task would fail
    engineRef = engine;
    await engine.start();
    jobId = await createJob(world, service, 'storm', 300);
    await waitForStatus(engine, world.store, jobId, 'Complete');
    const d = service.describeJob(ACCOUNT, jobId);
    expect(d.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 300, NumberOfTasksFailed: 0 });
    expect(service.jobLimits(ACCOUNT, jobId)).toMatchObject({ throttledAttempts: 80, running: false });
    expect(effective[0]).toBe(16);
    expect(Math.min(...effective)).toBeLessThan(16);
    expect(effective[effective.length - 1]).toBe(16); // back at the limit after a run of successes
  });
});

describe('job record retention', () => {
  it('a finished job disappears after the retention with its token and files (job:removed); a live one stays', async () => {
    const world = newWorld();
    const { engine, service } = newEngine(world, { jobRetentionMs: 90 * DAY });
    await engine.start();
    const done = await createJob(world, service, 'done', 5, { ClientRequestToken: 'tok-done' });
    await waitForStatus(engine, world.store, done, 'Complete');
    const waiting = await createJob(world, service, 'waiting', 5, { ConfirmationRequired: true });
    await waitForStatus(engine, world.store, waiting, 'Suspended');

    const removed: unknown[] = [];
    engine.events.on('job:removed', (e) => removed.push(e));
    world.clockOffsetMs = 89 * DAY;
    expect(engine.sweepExpired()).toBe(0);
    expect(service.describeJob(ACCOUNT, done).Status).toBe('Complete');

    world.clockOffsetMs = 91 * DAY;
    expect(engine.sweepExpired()).toBe(1);
    expect(removed).toEqual([{ jobId: done, accountId: ACCOUNT }]); // one job:removed, for the account's streams
    expect(() => service.describeJob(ACCOUNT, done)).toThrow(
      expect.objectContaining({
        code: 'NotFoundException',
        message: expect.stringContaining('The specified job does not exist'),
      }),
    );
    expect(service.listJobs(ACCOUNT).Jobs.map((j) => j.JobId)).toEqual([waiting]);
    expect(service.describeJob(ACCOUNT, waiting).Status).toBe('Suspended'); // not terminal: kept however old
    await until(() => !world.indices.has(done) && !world.spoolJobs.has(done), 'files removed');
    // The token went with the job: the same token now creates a new job.
    const again = await createJob(world, service, 'done', 5, { ClientRequestToken: 'tok-done' });
    expect(again).not.toBe(done);
    await engine.idle();
  });
});
