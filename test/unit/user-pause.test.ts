/**
 * A user's pause (domain/user-pause.ts): the state rules, the scheduler's part, and the engine on
 * in-memory parts (a fake operation whose tasks the test holds; the same flows run on Ceph in
 * test/e2e/user-pause.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { JobStatus, type JobStatus as Status } from '../../src/domain/job-status.ts';
import { succeeded, type TaskEntry } from '../../src/domain/task.ts';
import { checkPausable, checkResumable, pausedBy } from '../../src/domain/user-pause.ts';
import type { Engine } from '../../src/engine/engine.ts';
import { plan, type SchedulableJob } from '../../src/engine/scheduler.ts';
import type { OperationHandler } from '../../src/operations/operation.ts';
import type { BatchService } from '../../src/service/batch-service.ts';
import { MemoryJobStore } from '../../src/storage/memory-job-store.ts';
import { MemoryObjectStore } from '../../src/storage/memory-object-store.ts';
import { createMemorySpool } from '../../src/storage/memory-spool.ts';
import type { ResultSpool } from '../../src/storage/result-spool.ts';
import type { ChunkIndexFile } from '../../src/storage/chunk-index-file.ts';
import {
  csvManifest,
  newTestEngine,
  stopTestEngines,
  taggingJobRequest,
  TEST_ACCOUNT,
  waitForStatus,
} from '../helpers/engine-harness.ts';

const ACCOUNT = TEST_ACCOUNT;
const code = (c: string) => expect.objectContaining({ code: c });

describe('user pause: state rules', () => {
  it('a job may be paused until it begins to end', () => {
    for (const s of ['New', 'Preparing', 'Suspended', 'Ready', 'Active', 'Pausing', 'Paused'] as const)
      expect(() => checkPausable('j', s)).not.toThrow();
    for (const s of ['Completing', 'Complete', 'Cancelling', 'Cancelled', 'Failing', 'Failed'] as const)
      expect(() => checkPausable('j', s)).toThrow(code('JobStatusException'));
  });

  it('only a job a user paused can be resumed, and not once it ends', () => {
    const at = '2026-01-01T00:00:00.000Z';
    expect(() => checkResumable('j', { status: 'Paused', activeMs: 0, userPause: { at } })).not.toThrow();
    expect(() => checkResumable('j', { status: 'Paused', activeMs: 0 })).toThrow(/by priority/);
    expect(() => checkResumable('j', { status: 'Active', activeMs: 0 })).toThrow(code('JobStatusException'));
    expect(() => checkResumable('j', { status: 'Cancelling', activeMs: 0, userPause: { at } })).toThrow(
      code('JobStatusException'),
    );
  });

  it('pausedBy tells the user from priority, only while Pausing or Paused', () => {
    const at = '2026-01-01T00:00:00.000Z';
    expect(pausedBy({ status: 'Paused', activeMs: 0, userPause: { at } })).toBe('user');
    expect(pausedBy({ status: 'Pausing', activeMs: 0 })).toBe('priority');
    expect(pausedBy({ status: 'Preparing', activeMs: 0, userPause: { at } })).toBeNull();
    expect(pausedBy({ status: 'Active', activeMs: 0 })).toBeNull();
  });
});

const job = (id: string, status: Status, priority: number, t: number, extra: Partial<SchedulableJob> = {}) => ({
  id,
  status,
  priority,
  creationTime: new Date(Date.UTC(2026, 0, 1, 0, 0, t)).toISOString(),
  concurrency: 10,
  inFlight: 0,
  ...extra,
});

describe('user pause: the scheduler', () => {
  it('pauses a user-paused Active job even when it has the highest priority, and runs the next job', () => {
    const d = plan([job('top', 'Active', 9, 0, { inFlight: 10, userPaused: true }), job('low', 'Ready', 1, 1)], 10);
    // The slots are still held by top's in-flight tasks: low waits for them.
    expect(d).toEqual([{ action: 'pause', jobId: 'top' }]);
    const after = plan([job('top', 'Paused', 9, 0, { userPaused: true }), job('low', 'Ready', 1, 1)], 10);
    expect(after).toEqual([{ action: 'start', jobId: 'low', slots: 10 }]);
  });

  it('a user-paused Ready job is paused, never started; a Paused one is left alone', () => {
    expect(plan([job('r', 'Ready', 5, 0, { userPaused: true })], 10)).toEqual([{ action: 'pause', jobId: 'r' }]);
    expect(plan([job('p', 'Paused', 5, 0, { userPaused: true })], 10)).toEqual([]);
    expect(plan([job('p', 'Pausing', 5, 0, { userPaused: true, inFlight: 3 })], 10)).toEqual([]);
  });

  it('slots still held by a user-paused Pausing job are not handed out', () => {
    const d = plan([job('p', 'Pausing', 5, 0, { userPaused: true, inFlight: 4 }), job('o', 'Ready', 1, 1)], 10);
    expect(d).toEqual([{ action: 'start', jobId: 'o', slots: 6 }]);
  });
});

// -------------------------------------------------------------------------------------------------
// The engine

interface World {
  objects: MemoryObjectStore;
  store: MemoryJobStore;
  spool: ResultSpool;
  /** Chunk indices outlive an engine (a restart reads them again). */
  indices: Map<string, ChunkIndexFile>;
  calls: string[];
  held: boolean;
  release: () => void;
  gate: Promise<void>;
}

function newWorld(): World {
  const objects = new MemoryObjectStore();
  objects.createBucket('src');
  objects.createBucket('reports');
  const w: World = {
    objects,
    store: new MemoryJobStore(),
    spool: createMemorySpool(),
    indices: new Map(),
    calls: [],
    held: true,
    release: () => {},
    gate: Promise.resolve(),
  };
  w.gate = new Promise((r) => (w.release = r));
  return w;
}

/** Tasks wait while `held`; `open()` lets every task through from then on. */
function open(w: World): void {
  w.held = false;
  w.release();
}

function handler(w: World): OperationHandler<object> {
  return {
    name: 'S3PutObjectTagging',
    parse: () => ({}),
    async attempt(_config, entry: TaskEntry) {
      w.calls.push(entry.key);
      if (w.held) await w.gate;
      else await new Promise((r) => setImmediate(r));
      return { result: succeeded(entry), retryable: false };
    },
  };
}

afterEach(stopTestEngines);

function newEngine(w: World): { engine: Engine; service: BatchService } {
  return newTestEngine({
    store: w.store,
    objects: w.objects,
    spool: w.spool,
    indices: w.indices,
    handler: handler(w),
    config: { maxConcurrentTasks: 4, jobConcurrency: 4, chunkSize: 5 },
  });
}

async function createJob(
  w: World,
  service: BatchService,
  name: string,
  n: number,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const body = Array.from({ length: n }, (_, i) => `src,${name}/${i}\n`).join('');
  const { etag } = await w.objects.put({ bucket: 'src', key: `${name}.csv` }, body);
  return service.createJob(ACCOUNT, taggingJobRequest({ Manifest: csvManifest(`${name}.csv`, etag), ...extra })).JobId;
}

function trail(engine: Engine, jobId: string): Status[] {
  const out: Status[] = [];
  engine.events.on('job:status', (e) => {
    if (e.jobId === jobId) out.push(e.to);
  });
  return out;
}

describe('user pause: the engine', () => {
  it('Active → Pausing → Paused: in-flight tasks finish, the slots go to another job, resume runs the rest', async () => {
    const w = newWorld();
    const { engine, service } = newEngine(w);
    await engine.start();
    const a = await createJob(w, service, 'a', 40, { Priority: 50 });
    const aTrail = trail(engine, a);
    await waitForStatus(engine, w.store, a, 'Active');
    while (w.calls.length < 4) await new Promise((r) => setTimeout(r, 2));
    const answer = service.pauseJob(ACCOUNT, a, 'backup window');
    expect(answer).toEqual({ JobId: a, Status: 'Pausing', StatusUpdateReason: 'backup window' });
    const b = await createJob(w, service, 'b', 10, { Priority: 1 });
    open(w);
    await waitForStatus(engine, w.store, a, 'Paused');
    // The lower-priority job gets the slots and ends while the higher one stays paused.
    await waitForStatus(engine, w.store, b, 'Complete');
    expect(w.store.get(a)?.status).toBe('Paused');
    expect(w.calls.filter((k) => k.startsWith('a/'))).toHaveLength(4);
    expect(pausedBy(w.store.get(a)!)).toBe('user');
    expect(service.describeJob(ACCOUNT, a).StatusUpdateReason).toBe('backup window');

    expect(service.resumeJob(ACCOUNT, a)).toEqual({
      JobId: a,
      Status: 'Active',
      StatusUpdateReason: 'Resumed by the user',
    });
    await waitForStatus(engine, w.store, a, 'Complete');
    expect(aTrail).toEqual(['Ready', 'Active', 'Pausing', 'Paused', 'Active', 'Completing', 'Complete']);
    const ran = w.calls.filter((k) => k.startsWith('a/'));
    expect(new Set(ran).size).toBe(40);
    expect(ran).toHaveLength(40);
  });

  it('a pause before the job runs: it prepares, then waits Paused; a Suspended one waits Paused once confirmed', async () => {
    const w = newWorld();
    open(w);
    const { engine, service } = newEngine(w);
    await engine.start();
    const a = await createJob(w, service, 'a', 8);
    expect(service.pauseJob(ACCOUNT, a).Status).toBe('Preparing');
    await waitForStatus(engine, w.store, a, 'Paused');
    expect(w.store.get(a)?.history?.map((h) => h.status)).toEqual(['New', 'Preparing', 'Ready', 'Paused']);
    expect(w.calls).toEqual([]);
    expect(service.describeJob(ACCOUNT, a).ProgressSummary.TotalNumberOfTasks).toBe(8);

    const s = await createJob(w, service, 's', 3, { ConfirmationRequired: true });
    await waitForStatus(engine, w.store, s, 'Suspended');
    expect(service.pauseJob(ACCOUNT, s, 'later').Status).toBe('Suspended');
    // Ready on a Suspended job confirms it (AWS); the pause holds.
    expect(service.updateJobStatus(ACCOUNT, s, 'Ready').Status).toBe('Ready');
    await waitForStatus(engine, w.store, s, 'Paused');
    // Ready on a job a user paused resumes it (extension).
    expect(service.updateJobStatus(ACCOUNT, s, 'Ready', 'go').Status).toBe('Active');
    await waitForStatus(engine, w.store, s, 'Complete');
    expect(service.updateJobStatus(ACCOUNT, a, 'Ready').Status).toBe('Active');
    await waitForStatus(engine, w.store, a, 'Complete');
  });

  it('pause then cancel ends Cancelled; a terminal job cannot be paused; resume without a pause is refused', async () => {
    const w = newWorld();
    const { engine, service } = newEngine(w);
    await engine.start();
    const a = await createJob(w, service, 'a', 20);
    await waitForStatus(engine, w.store, a, 'Active');
    while (w.calls.length < 4) await new Promise((r) => setTimeout(r, 2));
    expect(() => service.resumeJob(ACCOUNT, a)).toThrow(code('JobStatusException'));
    expect(service.updateJobStatus(ACCOUNT, a, 'Paused', 'stop for now').Status).toBe('Pausing');
    open(w);
    await waitForStatus(engine, w.store, a, 'Paused');
    expect(service.updateJobStatus(ACCOUNT, a, 'Cancelled').Status).toBe('Cancelling');
    await waitForStatus(engine, w.store, a, 'Cancelled');
    expect(() => service.pauseJob(ACCOUNT, a)).toThrow(code('JobStatusException'));
    expect(() => service.resumeJob(ACCOUNT, a)).toThrow(code('JobStatusException'));
    expect(() => service.pauseJob(ACCOUNT, a, '')).toThrow(code('BadRequestException'));
    expect(() => service.pauseJob(ACCOUNT, a, 'x'.repeat(257))).toThrow(code('BadRequestException'));
    expect(() => service.pauseJob(ACCOUNT, 'nope')).toThrow(code('NotFoundException'));
    expect(() => service.updateJobStatus(ACCOUNT, a, 'Pausing')).toThrow(code('BadRequestException'));
  });

  it('a resume while the job is still Pausing: it finishes pausing, then runs again to the end', async () => {
    const w = newWorld();
    const { engine, service } = newEngine(w);
    await engine.start();
    const a = await createJob(w, service, 'a', 20);
    await waitForStatus(engine, w.store, a, 'Active');
    while (w.calls.length < 4) await new Promise((r) => setTimeout(r, 2));
    expect(service.pauseJob(ACCOUNT, a).Status).toBe('Pausing');
    expect(service.resumeJob(ACCOUNT, a).Status).toBe('Pausing'); // its in-flight tasks still hold the slots
    expect(w.store.get(a)?.userPause).toBeUndefined();
    open(w);
    await waitForStatus(engine, w.store, a, 'Complete');
    expect(w.store.get(a)?.history?.map((h) => h.status)).toEqual([
      'New',
      'Preparing',
      'Ready',
      'Active',
      'Pausing',
      'Paused',
      'Active',
      'Completing',
      'Complete',
    ]);
    expect(new Set(w.calls).size).toBe(20);
  });

  it('a restart keeps a paused job paused; resume then runs what is left', async () => {
    const w = newWorld();
    const first = newEngine(w);
    await first.engine.start();
    const a = await createJob(w, first.service, 'a', 30);
    await waitForStatus(first.engine, w.store, a, 'Active');
    while (w.calls.length < 4) await new Promise((r) => setTimeout(r, 2));
    first.service.pauseJob(ACCOUNT, a, 'maintenance');
    open(w);
    await waitForStatus(first.engine, w.store, a, 'Paused');
    await first.engine.stop();
    const before = w.calls.length;

    const second = newEngine(w);
    await second.engine.start();
    await second.engine.idle();
    expect(w.store.get(a)?.status).toBe('Paused');
    expect(w.store.get(a)?.userPause?.reason).toBe('maintenance');
    expect(w.calls.length).toBe(before);
    second.service.resumeJob(ACCOUNT, a);
    await waitForStatus(second.engine, w.store, a, 'Complete');
    expect(second.service.describeJob(ACCOUNT, a).ProgressSummary.NumberOfTasksSucceeded).toBe(30);
    expect(w.store.get(a)?.status).toBe(JobStatus.Complete);
  });
});
