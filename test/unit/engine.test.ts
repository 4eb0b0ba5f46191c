/**
 * The engine on in-memory parts: job store, object store, spool and chunk index are fakes, and
 * the operation is a fake handler (no S3) whose latency the test controls. The same scenarios
 * run end to end on real S3 servers in test/e2e.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Chunk } from '../../src/domain/chunk.ts';
import type { JobStatus } from '../../src/domain/job-status.ts';
import { succeeded, failed, type TaskEntry } from '../../src/domain/task.ts';
import type { Engine, EngineConfig } from '../../src/engine/engine.ts';
import type { ChunkIndexFile } from '../../src/storage/chunk-index-file.ts';
import type { OperationHandler } from '../../src/operations/operation.ts';
import type { BatchService } from '../../src/service/batch-service.ts';
import { MemoryJobStore } from '../../src/storage/memory-job-store.ts';
import { MemoryObjectStore } from '../../src/storage/memory-object-store.ts';
import { createMemorySpool } from '../../src/storage/memory-spool.ts';
import type { ResultSpool } from '../../src/storage/result-spool.ts';
import {
  csvManifest,
  newTestEngine,
  stopTestEngines,
  taggingJobRequest,
  TEST_ACCOUNT,
  waitForStatus,
} from '../helpers/engine-harness.ts';

const ACCOUNT = TEST_ACCOUNT;

interface World {
  objects: MemoryObjectStore;
  store: MemoryJobStore;
  spool: ResultSpool;
  indices: Map<string, ChunkIndexFile & { chunks: readonly Chunk[] }>;
  /** Every task the fake operation ran, by key. */
  calls: string[];
  /** Per-task latency of the fake operation, in ms (0: next tick). */
  delayMs: number;
  /** Resolves tasks waiting when `hold` is on. */
  hold: { on: boolean; release: () => void; waiting: Promise<void> };
}

function newWorld(): World {
  let release = (): void => {};
  const hold = {
    on: false,
    waiting: Promise.resolve(),
    release: () => release(),
  };
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
  return {
    objects,
    store: new MemoryJobStore(),
    spool: createMemorySpool(),
    indices: new Map(),
    calls: [],
    hold,
    delayMs: 0,
  };
}

/** A fake operation: keys under missing/ fail with 404, slow/ keys wait for `hold`, others succeed. */
function fakeHandler(world: World): OperationHandler<object> {
  return {
    name: 'S3PutObjectTagging',
    parse: () => ({}),
    async attempt(_config, entry: TaskEntry) {
      world.calls.push(entry.key);
      if (world.hold.on) await world.hold.waiting;
      else if (world.delayMs > 0) await new Promise((r) => setTimeout(r, world.delayMs));
      else await new Promise((r) => setImmediate(r));
      if (entry.key.startsWith('missing/')) {
        return { result: failed(entry, 404, 'NoSuchKey', 'The specified key does not exist.'), retryable: false };
      }
      return { result: succeeded(entry), retryable: false };
    },
  };
}

afterEach(stopTestEngines);

function newEngine(world: World, config: Partial<EngineConfig> = {}): { engine: Engine; service: BatchService } {
  return newTestEngine({
    store: world.store,
    objects: world.objects,
    spool: world.spool,
    indices: world.indices,
    handler: fakeHandler(world),
    config,
  });
}

async function putManifest(world: World, name: string, keys: string[]): Promise<string> {
  const body = keys.map((k) => `src,${encodeURIComponent(k)}\n`).join('');
  const { etag } = await world.objects.put({ bucket: 'src', key: name }, body);
  return etag;
}

function createRequest(manifest: string, etag: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return taggingJobRequest({ Manifest: csvManifest(manifest, etag), ...extra });
}

function statusTrail(engine: Engine, jobId: string): JobStatus[] {
  const trail: JobStatus[] = [];
  engine.events.on('job:status', (e) => {
    if (e.jobId === jobId) trail.push(e.to);
  });
  return trail;
}

async function reportRows(world: World, jobId: string): Promise<string[]> {
  const manifest = JSON.parse(world.objects.getText('reports', `r/job-${jobId}/manifest.json`)) as {
    Results: { Key: string }[];
  };
  return manifest.Results.flatMap((r) => world.objects.getText('reports', r.Key).split('\r\n').filter(Boolean));
}

const keys = (n: number, prefix = 'obj/'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('engine', () => {
  it('runs a job New → Preparing → Ready → Active → Completing → Complete and writes the report', async () => {
    const world = newWorld();
    const { engine, service } = newEngine(world);
    await engine.start();
    const etag = await putManifest(world, 'm.csv', keys(25));
    const events: { jobId: string; to: JobStatus }[] = [];
    engine.events.on('job:status', (e) => events.push(e));
    const { JobId } = service.createJob(ACCOUNT, createRequest('m.csv', etag));
    await waitForStatus(engine, world.store, JobId, 'Complete');
    expect(events.filter((e) => e.jobId === JobId).map((e) => e.to)).toEqual([
      'Preparing',
      'Ready',
      'Active',
      'Completing',
      'Complete',
    ]);
    const d = service.describeJob(ACCOUNT, JobId);
    expect(d.ProgressSummary).toMatchObject({
      TotalNumberOfTasks: 25,
      NumberOfTasksSucceeded: 25,
      NumberOfTasksFailed: 0,
    });
    expect(d.TerminationDate).toBeDefined();
    const rows = await reportRows(world, JobId);
    expect(rows).toHaveLength(25);
    expect(new Set(rows).size).toBe(25);
    expect(rows).toContain('src,obj%2F7,,succeeded,200,,Successful');
    expect(world.calls.sort()).toEqual(keys(25).sort());
  });

  it('waits in Suspended until confirmed when ConfirmationRequired is absent', async () => {
    const world = newWorld();
    const { engine, service } = newEngine(world);
    await engine.start();
    const etag = await putManifest(world, 'm.csv', keys(3));
    const req = createRequest('m.csv', etag);
    delete req.ConfirmationRequired;
    const { JobId } = service.createJob(ACCOUNT, req);
    await waitForStatus(engine, world.store, JobId, 'Suspended');
    const d = service.describeJob(ACCOUNT, JobId);
    expect(d.ConfirmationRequired).toBe(true);
    expect(d.SuspendedDate).toBeDefined();
    expect(world.calls).toEqual([]);
    expect(service.updateJobStatus(ACCOUNT, JobId, 'Ready', 'approved').Status).toBe('Ready');
    await waitForStatus(engine, world.store, JobId, 'Complete');
    expect(service.describeJob(ACCOUNT, JobId).StatusUpdateReason).toBe('approved');
    expect(world.calls).toHaveLength(3);
  });

  it('a job left Suspended past the timeout fails with ConfirmationTimeout', async () => {
    const world = newWorld();
    const { engine, service } = newEngine(world, { suspendedTimeoutMs: 30 * 86_400_000 });
    await engine.start();
    const etag = await putManifest(world, 'm.csv', keys(2));
    const req = createRequest('m.csv', etag);
    delete req.ConfirmationRequired;
    const { JobId } = service.createJob(ACCOUNT, req);
    await waitForStatus(engine, world.store, JobId, 'Suspended');
    engine.sweepSuspended();
    expect(world.store.get(JobId)?.status).toBe('Suspended'); // not yet
    const suspendedAt = Date.parse(world.store.get(JobId)!.suspendedDate!);
    world.store.save({
      ...world.store.get(JobId)!,
      suspendedDate: new Date(suspendedAt - 30 * 86_400_000 - 1000).toISOString(),
    });
    engine.sweepSuspended();
    const d = service.describeJob(ACCOUNT, JobId);
    expect(d.Status).toBe('Failed');
    expect(d.FailureReasons).toEqual([
      { FailureCode: 'ConfirmationTimeout', FailureReason: expect.stringContaining('30 days') },
    ]);
    expect(world.calls).toEqual([]);
    expect(() => service.updateJobStatus(ACCOUNT, JobId, 'Ready')).toThrow(
      expect.objectContaining({ code: 'JobStatusException' }),
    );
  });

  it('fails on the threshold once 1,000 tasks ran with more than half failed, and still writes the report', async () => {
    const world = newWorld();
    const { engine, service } = newEngine(world, { chunkSize: 100 });
    await engine.start();
    const etag = await putManifest(world, 'm.csv', keys(1500, 'missing/'));
    const { JobId } = service.createJob(ACCOUNT, createRequest('m.csv', etag));
    await waitForStatus(engine, world.store, JobId, 'Failed');
    const d = service.describeJob(ACCOUNT, JobId);
    expect(d.FailureReasons.map((f) => f.FailureCode)).toEqual(['TaskFailureThresholdExceeded']);
    const ran = d.ProgressSummary.NumberOfTasksFailed + d.ProgressSummary.NumberOfTasksSucceeded;
    expect(ran).toBeGreaterThanOrEqual(1000);
    expect(ran).toBeLessThan(1500);
    const rows = await reportRows(world, JobId);
    expect(rows).toHaveLength(ran);
    expect(rows.every((r) => r.includes(',failed,404,NoSuchKey,'))).toBe(true);
  });

  it('a job of 999 failing tasks ends Complete', async () => {
    const world = newWorld();
    const { engine, service } = newEngine(world, { chunkSize: 100 });
    await engine.start();
    const etag = await putManifest(world, 'm.csv', keys(999, 'missing/'));
    const { JobId } = service.createJob(ACCOUNT, createRequest('m.csv', etag));
    await waitForStatus(engine, world.store, JobId, 'Complete');
    expect(service.describeJob(ACCOUNT, JobId).ProgressSummary.NumberOfTasksFailed).toBe(999);
  });

  it('a higher-priority job pre-empts a running one, which pauses and resumes by itself', async () => {
    const world = newWorld();
    const { engine, service } = newEngine(world, { maxConcurrentTasks: 4, jobConcurrency: 4 });
    await engine.start();
    world.hold.on = true;
    const lowEtag = await putManifest(world, 'low.csv', keys(40, 'low/'));
    const low = service.createJob(ACCOUNT, createRequest('low.csv', lowEtag, { Priority: 1 })).JobId;
    const lowTrail = statusTrail(engine, low);
    await waitForStatus(engine, world.store, low, 'Active');
    const highEtag = await putManifest(world, 'high.csv', keys(12, 'high/'));
    const high = service.createJob(ACCOUNT, createRequest('high.csv', highEtag, { Priority: 100 })).JobId;
    const highTrail = statusTrail(engine, high);
    await waitForStatus(engine, world.store, low, 'Pausing');
    world.hold.on = false;
    world.hold.release();
    await waitForStatus(engine, world.store, low, 'Paused');
    await waitForStatus(engine, world.store, high, 'Complete');
    await waitForStatus(engine, world.store, low, 'Complete');
    expect(lowTrail).toEqual(['Ready', 'Active', 'Pausing', 'Paused', 'Active', 'Completing', 'Complete']);
    expect(highTrail).toContain('Active');
    // No low task ran while high was active: the first high call comes after the low pause.
    const firstHigh = world.calls.findIndex((k) => k.startsWith('high/'));
    const lowAfterHighStarted = world.calls.slice(firstHigh, firstHigh + 12).filter((k) => k.startsWith('low/'));
    expect(lowAfterHighStarted).toEqual([]);
    expect(service.describeJob(ACCOUNT, low).ProgressSummary.NumberOfTasksSucceeded).toBe(40);
    expect(await reportRows(world, low)).toHaveLength(40);
  });

  it("raising a waiting job's priority re-plans at once: the running job gives way", async () => {
    const world = newWorld();
    const { engine, service } = newEngine(world, { maxConcurrentTasks: 4, jobConcurrency: 4 });
    await engine.start();
    world.hold.on = true;
    const aEtag = await putManifest(world, 'a.csv', keys(20, 'a/'));
    const a = service.createJob(ACCOUNT, createRequest('a.csv', aEtag, { Priority: 10 })).JobId;
    await waitForStatus(engine, world.store, a, 'Active');
    const bEtag = await putManifest(world, 'b.csv', keys(8, 'b/'));
    const b = service.createJob(ACCOUNT, createRequest('b.csv', bEtag, { Priority: 1 })).JobId;
    await waitForStatus(engine, world.store, b, 'Ready');
    await new Promise((r) => setTimeout(r, 20));
    expect(world.store.get(b)?.status).toBe('Ready'); // lower priority: it waits
    expect(service.updateJobPriority(ACCOUNT, b, 100)).toEqual({ JobId: b, Priority: 100 });
    await waitForStatus(engine, world.store, a, 'Pausing');
    world.hold.on = false;
    world.hold.release();
    await waitForStatus(engine, world.store, b, 'Complete');
    await waitForStatus(engine, world.store, a, 'Complete');
    expect(service.describeJob(ACCOUNT, b).Priority).toBe(100);
    expect(() => service.updateJobPriority(ACCOUNT, b, 5)).toThrow(
      expect.objectContaining({ code: 'BadRequestException' }),
    );
  });

  it('cancel stops new tasks, lets in-flight ones finish, and reports what ran', async () => {
    const world = newWorld();
    const { engine, service } = newEngine(world, { maxConcurrentTasks: 4, jobConcurrency: 4, chunkSize: 5 });
    await engine.start();
    world.hold.on = true;
    const etag = await putManifest(world, 'm.csv', keys(100));
    const { JobId } = service.createJob(ACCOUNT, createRequest('m.csv', etag));
    await waitForStatus(engine, world.store, JobId, 'Active');
    while (world.calls.length < 4) await new Promise((r) => setTimeout(r, 5));
    expect(service.updateJobStatus(ACCOUNT, JobId, 'Cancelled').Status).toBe('Cancelling');
    world.hold.on = false;
    world.hold.release();
    await waitForStatus(engine, world.store, JobId, 'Cancelled');
    const d = service.describeJob(ACCOUNT, JobId);
    const ran = d.ProgressSummary.NumberOfTasksSucceeded;
    expect(ran).toBe(world.calls.length);
    expect(ran).toBeGreaterThanOrEqual(4);
    expect(ran).toBeLessThan(100);
    expect(await reportRows(world, JobId)).toHaveLength(ran);
  });

  it('resumes after a restart: finished chunks are skipped and every task is reported once', async () => {
    const world = newWorld();
    const first = newEngine(world, { maxConcurrentTasks: 2, jobConcurrency: 2, chunkSize: 5 });
    await first.engine.start();
    world.delayMs = 5;
    const etag = await putManifest(world, 'm.csv', keys(60));
    const { JobId } = first.service.createJob(ACCOUNT, createRequest('m.csv', etag));
    await waitForStatus(first.engine, world.store, JobId, 'Active');
    while ((world.store.get(JobId)?.chunks.watermark ?? 0) < 3) await new Promise((r) => setTimeout(r, 1));
    await first.engine.stop(); // shutdown: the job stays Active in the store
    const doneBefore = world.store.get(JobId)!.chunks.watermark;
    expect(world.store.get(JobId)?.status).toBe('Active');
    const callsBefore = world.calls.length;

    const second = newEngine(world, { maxConcurrentTasks: 2, jobConcurrency: 2, chunkSize: 5 });
    await second.engine.start();
    await waitForStatus(second.engine, world.store, JobId, 'Complete');
    const rows = await reportRows(world, JobId);
    expect(rows).toHaveLength(60);
    expect(new Set(rows).size).toBe(60);
    // Tasks of done chunks were not run again; at most the unfinished chunks were redone.
    expect(world.calls.length - callsBefore).toBeLessThanOrEqual(60 - doneBefore * 5);
    expect(second.service.describeJob(ACCOUNT, JobId).ProgressSummary.NumberOfTasksSucceeded).toBe(60);
  });

  it('resumes a chunk at task grain: its durable tasks are counted at once and not run again', async () => {
    const world = newWorld();
    const config = { maxConcurrentTasks: 4, jobConcurrency: 4, chunkSize: 100 };
    const first = newEngine(world, config);
    await first.engine.start();
    world.delayMs = 2;
    const etag = await putManifest(world, 'm.csv', keys(60));
    const { JobId } = first.service.createJob(ACCOUNT, createRequest('m.csv', etag));
    while (world.calls.length < 20) await new Promise((r) => setTimeout(r, 1));
    await first.engine.stop(); // shutdown: in-flight tasks finish, the one chunk stays unfinished
    expect(world.store.get(JobId)?.chunks.watermark).toBe(0);
    const durable = await world.spool.durable(JobId, 0);
    expect(durable?.succeeded).toBe(world.calls.length);

    world.hold.on = true; // no task of the second run ends before the check below
    const second = newEngine(world, config);
    await second.engine.start();
    expect(second.service.describeJob(ACCOUNT, JobId).ProgressSummary.NumberOfTasksSucceeded).toBe(durable?.succeeded);
    world.hold.on = false;
    world.hold.release();
    await waitForStatus(second.engine, world.store, JobId, 'Complete');
    expect([...world.calls].sort()).toEqual(keys(60).sort()); // every task ran once, over both runs
    const rows = await reportRows(world, JobId);
    expect(rows).toHaveLength(60);
    expect(new Set(rows).size).toBe(60);
    expect(second.service.describeJob(ACCOUNT, JobId).ProgressSummary.NumberOfTasksSucceeded).toBe(60);
  });

  it('after a restart, the failure threshold counts the durable tasks of unfinished chunks', async () => {
    const world = newWorld();
    const config = { maxConcurrentTasks: 4, jobConcurrency: 4, chunkSize: 2000 };
    const first = newEngine(world, config);
    await first.engine.start();
    world.delayMs = 1;
    const etag = await putManifest(world, 'm.csv', keys(1500, 'missing/'));
    const { JobId } = first.service.createJob(ACCOUNT, createRequest('m.csv', etag));
    while (world.calls.length < 600) await new Promise((r) => setTimeout(r, 1));
    await first.engine.stop();
    expect(world.store.get(JobId)?.status).toBe('Active');
    expect(world.calls.length).toBeLessThan(1000);

    // 1,500 tasks all fail: only with the first run's failures counted does the job reach 1,000 tasks run.
    const second = newEngine(world, config);
    await second.engine.start();
    await waitForStatus(second.engine, world.store, JobId, 'Failed');
    const d = second.service.describeJob(ACCOUNT, JobId);
    expect(d.FailureReasons.map((f) => f.FailureCode)).toEqual(['TaskFailureThresholdExceeded']);
    expect(d.ProgressSummary.NumberOfTasksFailed).toBe(world.calls.length);
    expect(new Set(world.calls).size).toBe(world.calls.length);
    expect(world.calls.length).toBeLessThan(1500);
  });

  it('fails in Preparing with the manifest failure codes', async () => {
    const world = newWorld();
    const { engine, service } = newEngine(world);
    await engine.start();
    const etag = await putManifest(world, 'm.csv', keys(3));
    const missing = service.createJob(ACCOUNT, createRequest('nope.csv', etag)).JobId;
    const mismatch = service.createJob(ACCOUNT, createRequest('m.csv', 'ffffffffffffffffffffffffffffffff')).JobId;
    const emptyEtag = await putManifest(world, 'empty.csv', []);
    const empty = service.createJob(ACCOUNT, createRequest('empty.csv', emptyEtag)).JobId;
    for (const [id, code] of [
      [missing, 'ManifestNotFound'],
      [mismatch, 'ManifestETagMismatch'],
      [empty, 'InvalidManifestContent'],
    ] as const) {
      await waitForStatus(engine, world.store, id, 'Failed');
      const d = service.describeJob(ACCOUNT, id);
      expect(d.FailureReasons.map((f) => f.FailureCode)).toEqual([code]);
      expect(d.ProgressSummary.TotalNumberOfTasks).toBe(0);
    }
    expect(world.objects.keys('reports')).toEqual([]);
  });

  it('ClientRequestToken: same request → same job; different request → IdempotencyException', async () => {
    const world = newWorld();
    const { engine, service } = newEngine(world);
    await engine.start();
    const etag = await putManifest(world, 'm.csv', keys(2));
    const a = service.createJob(ACCOUNT, createRequest('m.csv', etag, { ClientRequestToken: 'tok-1' }));
    const b = service.createJob(ACCOUNT, createRequest('m.csv', etag, { ClientRequestToken: 'tok-1' }));
    expect(b.JobId).toBe(a.JobId);
    expect(() =>
      service.createJob(ACCOUNT, createRequest('m.csv', etag, { ClientRequestToken: 'tok-1', Priority: 11 })),
    ).toThrow(expect.objectContaining({ code: 'IdempotencyException' }));
    // Another account's token space is separate, and its jobs are invisible.
    const other = service.createJob('999988887777', createRequest('m.csv', etag, { ClientRequestToken: 'tok-1' }));
    expect(other.JobId).not.toBe(a.JobId);
    expect(() => service.describeJob('999988887777', a.JobId)).toThrow(
      expect.objectContaining({ code: 'NotFoundException' }),
    );
    await engine.idle();
  });
});
