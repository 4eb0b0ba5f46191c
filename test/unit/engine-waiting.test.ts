/**
 * Slots of jobs that cannot use them, on the engine with in-memory parts: a generator job whose
 * listing the test holds (it waits for more chunks) is pre-empted and cancelled at once and lends
 * its slots to a lower job while it waits; a job slowed down by SlowDown answers lends the slots it
 * no longer uses. The fake operation stands in for the storage: it answers per task bucket, holds
 * chosen tasks until the test lets them go, and counts calls in flight.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { failed, succeeded, type TaskEntry } from '../../src/domain/task.ts';
import type { Engine } from '../../src/engine/engine.ts';
import { createMemoryLocalManifestFiles, type LocalManifestFiles } from '../../src/storage/local-manifest-files.ts';
import type { AttemptOutcome, OperationHandler } from '../../src/operations/operation.ts';
import type { BatchService } from '../../src/service/batch-service.ts';
import { MemoryJobStore } from '../../src/storage/memory-job-store.ts';
import {
  csvManifest,
  HeldListingStore,
  newTestEngine,
  stopTestEngines,
  taggingJobRequest,
  TEST_ACCOUNT,
  waitForStatus,
} from '../helpers/engine-harness.ts';
import { until } from '../helpers/until.ts';

const ACCOUNT = TEST_ACCOUNT;

/** Lets held tasks go. */
class Hold {
  private open!: () => void;
  private readonly opened = new Promise<void>((r) => (this.open = r));
  release(): void {
    this.open();
  }
  wait(): Promise<void> {
    return this.opened;
  }
}

interface World {
  objects: HeldListingStore;
  store: MemoryJobStore;
  lists: Map<string, LocalManifestFiles>;
  /** Every attempted key (bucket/key), in order. */
  calls: string[];
  /** Calls in flight now (all jobs) and the most seen at once. */
  inFlight: number;
  maxInFlight: number;
  /** Per bucket: the answer to one attempt (default: success on the next turn). */
  answers: Map<string, (entry: TaskEntry) => Promise<AttemptOutcome>>;
}

async function newWorld(generatorKeys: string[], pauseAfterPages: number): Promise<World> {
  const objects = new HeldListingStore(pauseAfterPages);
  for (const b of ['src', 'gen', 'hot', 'reports']) objects.createBucket(b);
  for (const k of generatorKeys) await objects.put({ bucket: 'gen', key: k }, 'x');
  return {
    objects,
    store: new MemoryJobStore(),
    lists: new Map(),
    calls: [],
    inFlight: 0,
    maxInFlight: 0,
    answers: new Map(),
  };
}

function handlerOf(world: World): OperationHandler<object> {
  return {
    name: 'S3PutObjectTagging',
    parse: () => ({}),
    async attempt(_config, entry) {
      world.calls.push(`${entry.bucket}/${entry.key}`);
      world.maxInFlight = Math.max(world.maxInFlight, ++world.inFlight);
      try {
        const answer = world.answers.get(entry.bucket);
        if (answer) return await answer(entry);
        await new Promise((r) => setImmediate(r));
        return { result: succeeded(entry), retryable: false };
      } finally {
        world.inFlight--;
      }
    },
  };
}

afterEach(stopTestEngines);

function newEngine(world: World, budget = 4): { engine: Engine; service: BatchService } {
  return newTestEngine({
    store: world.store,
    objects: world.objects,
    handler: handlerOf(world),
    config: { maxConcurrentTasks: budget, jobConcurrency: budget },
    deps: {
      localManifest: (id) => world.lists.get(id) ?? world.lists.set(id, createMemoryLocalManifestFiles()).get(id)!,
      removeLocalManifest: async (id) => void world.lists.delete(id),
    },
  });
}

function generatorJob(priority: number): Record<string, unknown> {
  return taggingJobRequest({
    ManifestGenerator: { S3JobManifestGenerator: { SourceBucket: 'arn:aws:s3:::gen', EnableManifestOutput: false } },
    Priority: priority,
  });
}

/** A CSV job over `count` keys `<prefix>/<i>` in `bucket`. */
async function csvJob(
  world: World,
  service: BatchService,
  bucket: string,
  prefix: string,
  count: number,
  priority: number,
): Promise<string> {
  const body = Array.from({ length: count }, (_, i) => `${bucket},${prefix}%2F${i}\n`).join('');
  const { etag } = await world.objects.put({ bucket: 'src', key: `${prefix}.csv` }, body);
  return service.createJob(
    ACCOUNT,
    taggingJobRequest({ Manifest: csvManifest(`${prefix}.csv`, etag), Priority: priority }),
  ).JobId;
}

/** A generator job whose listing holds after its first page: started, its first chunk of 10 done. */
async function waitingGenerator(
  keys: string[],
  priority: number,
): Promise<{ world: World; engine: Engine; service: BatchService; gen: string }> {
  const world = await newWorld(keys, 1);
  const { engine, service } = newEngine(world);
  await engine.start();
  const gen = service.createJob(ACCOUNT, generatorJob(priority)).JobId;
  await until(() => callsIn(world, 'gen').length === 10 && world.inFlight === 0, 'the first chunk done');
  return { world, engine, service, gen };
}

/** Tasks on bucket `src` wait until the returned hold is released. */
function holdSrc(world: World): Hold {
  const hold = new Hold();
  world.answers.set('src', async (entry) => {
    await hold.wait();
    return { result: succeeded(entry), retryable: false };
  });
  return hold;
}

async function reportKeys(world: World, jobId: string): Promise<string[]> {
  const manifest = JSON.parse(world.objects.getText('reports', `r/job-${jobId}/manifest.json`)) as {
    Results: { Key: string }[];
  };
  return manifest.Results.flatMap((r) => world.objects.getText('reports', r.Key).split('\r\n').filter(Boolean)).map(
    (row) => decodeURIComponent(row.split(',')[1]!),
  );
}

const many = (n: number): string[] => Array.from({ length: n }, (_, i) => `obj/${String(i).padStart(4, '0')}`);
const callsIn = (world: World, bucket: string): string[] => world.calls.filter((c) => c.startsWith(`${bucket}/`));

describe('a generator job waiting for its listing', () => {
  it('is pre-empted at once (Paused while the listing holds), resumes after the higher job and runs every task exactly once', async () => {
    const keys = many(40);
    const { world, engine, service, gen } = await waitingGenerator(keys, 10);
    expect(service.describeJob(ACCOUNT, gen).Status).toBe('Active');

    const hold = holdSrc(world);
    const high = await csvJob(world, service, 'src', 'high', 8, 50);
    await waitForStatus(engine, world.store, gen, 'Paused');
    await until(() => world.inFlight === 4, 'the higher job on every slot');
    expect(world.objects.pagesServed).toBe(1); // paused without the listing moving
    expect(service.describeJob(ACCOUNT, high).Status).toBe('Active');

    // The listing goes on while the job is Paused: its task list grows, no task of it runs.
    world.objects.release();
    await until(() => world.store.get(gen)?.discovery?.listingComplete === true, 'the listing done');
    expect(service.describeJob(ACCOUNT, gen)).toMatchObject({
      Status: 'Paused',
      ProgressSummary: { TotalNumberOfTasks: 40 },
    });
    expect(callsIn(world, 'gen')).toHaveLength(10);

    hold.release();
    await waitForStatus(engine, world.store, high, 'Complete');
    await waitForStatus(engine, world.store, gen, 'Complete');
    expect(service.describeJob(ACCOUNT, gen).ProgressSummary).toMatchObject({
      TotalNumberOfTasks: 40,
      NumberOfTasksSucceeded: 40,
      NumberOfTasksFailed: 0,
    });
    expect(callsIn(world, 'gen').sort()).toEqual(keys.map((k) => `gen/${k}`));
    expect((await reportKeys(world, gen)).sort()).toEqual(keys);
    expect(world.maxInFlight).toBeLessThanOrEqual(4);
  });

  it('lends its slots to a lower job while it waits and takes them back when the listing moves', async () => {
    const keys = many(30);
    const { world, engine, service, gen } = await waitingGenerator(keys, 50);

    const low = await csvJob(world, service, 'src', 'low', 200, 1);
    await until(() => callsIn(world, 'src').length >= 20, 'the lower job running');
    expect(service.describeJob(ACCOUNT, gen).Status).toBe('Active'); // waiting, not pre-empted
    expect(world.objects.pagesServed).toBe(1);

    world.objects.release();
    await waitForStatus(engine, world.store, gen, 'Complete');
    // The lower job gave the slots back: the generator job finished while it still had tasks.
    expect(service.describeJob(ACCOUNT, low).ProgressSummary.NumberOfTasksSucceeded).toBeLessThan(200);
    await waitForStatus(engine, world.store, low, 'Complete');
    expect(service.describeJob(ACCOUNT, low).ProgressSummary).toMatchObject({
      NumberOfTasksSucceeded: 200,
      NumberOfTasksFailed: 0,
    });
    expect(callsIn(world, 'gen').sort()).toEqual(keys.map((k) => `gen/${k}`));
    expect((await reportKeys(world, gen)).sort()).toEqual(keys);
    expect(world.maxInFlight).toBeLessThanOrEqual(4);
  });

  it('is cancelled at once while Active and waiting, without the listing moving', async () => {
    const { world, engine, service, gen } = await waitingGenerator(many(40), 10);
    service.updateJobStatus(ACCOUNT, gen, 'Cancelled');
    await waitForStatus(engine, world.store, gen, 'Cancelled');
    expect(world.objects.pagesServed).toBe(1);
    expect(service.describeJob(ACCOUNT, gen).ProgressSummary).toMatchObject({
      NumberOfTasksSucceeded: 10,
      NumberOfTasksFailed: 0,
    });
    expect((await reportKeys(world, gen)).sort()).toEqual(many(10));
    await engine.idle();
    expect(world.lists.has(gen)).toBe(false);
  });

  it('is cancelled at once while pre-empted and waiting; the higher job is not disturbed', async () => {
    const { world, engine, service, gen } = await waitingGenerator(many(40), 10);
    const hold = holdSrc(world);
    const high = await csvJob(world, service, 'src', 'high', 8, 50);
    await waitForStatus(engine, world.store, gen, 'Paused');
    service.updateJobStatus(ACCOUNT, gen, 'Cancelled');
    await waitForStatus(engine, world.store, gen, 'Cancelled');
    expect(world.objects.pagesServed).toBe(1);
    expect((await reportKeys(world, gen)).sort()).toEqual(many(10));
    hold.release();
    await waitForStatus(engine, world.store, high, 'Complete');
    expect(service.describeJob(ACCOUNT, high).ProgressSummary).toMatchObject({
      NumberOfTasksSucceeded: 8,
      NumberOfTasksFailed: 0,
    });
    await engine.idle();
    expect(world.lists.has(gen)).toBe(false);
    expect(callsIn(world, 'gen')).toHaveLength(10);
  });
});

describe('a throttled job', () => {
  it('lends the slots its slow-down took away to a lower job while it is still Active', async () => {
    const world = await newWorld([], 0);
    // The first attempt of each of the first 8 tasks is a SlowDown (their retries succeed); the
    // tasks after them wait until the test lets them go, so the job stays Active and slowed down.
    const throttledKeys = new Set<string>();
    const hold = new Hold();
    world.answers.set('hot', async (entry) => {
      await new Promise((r) => setImmediate(r));
      if (throttledKeys.size < 8 && !throttledKeys.has(entry.key)) {
        throttledKeys.add(entry.key);
        return { result: failed(entry, 503, 'SlowDown', 'Please reduce your request rate.'), retryable: true };
      }
      if (!throttledKeys.has(entry.key)) await hold.wait();
      return { result: succeeded(entry), retryable: false };
    });
    const { engine, service } = newEngine(world, 8);
    await engine.start();
    const hot = await csvJob(world, service, 'hot', 'hot', 100, 50);
    await waitForStatus(engine, world.store, hot, 'Active');
    const other = await csvJob(world, service, 'src', 'other', 40, 1);
    // Without the slow-down the higher job would hold all 8 slots and the other one stay Ready.
    await waitForStatus(engine, world.store, other, 'Complete');
    expect(service.describeJob(ACCOUNT, hot).Status).toBe('Active');
    const limits = service.jobLimits(ACCOUNT, hot);
    expect(limits).toMatchObject({ maxConcurrentTasks: 8, throttledAttempts: 8, running: true });
    expect(limits.effectiveConcurrency).toBeLessThan(8);
    expect(world.maxInFlight).toBeLessThanOrEqual(8);
    hold.release();
    await waitForStatus(engine, world.store, hot, 'Complete');
    expect(service.describeJob(ACCOUNT, hot).ProgressSummary).toMatchObject({
      NumberOfTasksSucceeded: 100,
      NumberOfTasksFailed: 0,
    });
    expect(service.describeJob(ACCOUNT, other).ProgressSummary).toMatchObject({
      NumberOfTasksSucceeded: 40,
      NumberOfTasksFailed: 0,
    });
    expect(world.maxInFlight).toBeLessThanOrEqual(8);
  });
});
