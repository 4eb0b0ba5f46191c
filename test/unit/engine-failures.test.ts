/**
 * Failures by error code through the engine (inline placement, in-memory parts; the same runs on
 * Ceph in test/e2e/failures-by-code.test.ts): live while a job runs, final in the stored job
 * record once it ended, and counted once across a restart that resumes a chunk at task grain.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { failed, succeeded, type TaskEntry } from '../../src/domain/task.ts';
import type { ChunkIndexFile } from '../../src/storage/chunk-index-file.ts';
import type { OperationHandler } from '../../src/operations/operation.ts';
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

afterEach(stopTestEngines);

interface World {
  objects: MemoryObjectStore;
  store: MemoryJobStore;
  spool: ReturnType<typeof createMemorySpool>;
  /** The jobs' chunk indices, shared by the engines of a restart. */
  indices: Map<string, ChunkIndexFile>;
  calls: string[];
  delayMs: number;
}

/** missing/ keys fail NoSuchKey 404, denied/ keys AccessDenied 403, others succeed. */
function handler(world: World): OperationHandler<object> {
  return {
    name: 'S3PutObjectTagging',
    parse: () => ({}),
    async attempt(_config, entry: TaskEntry) {
      world.calls.push(entry.key);
      await new Promise((r) => setTimeout(r, world.delayMs));
      if (entry.key.startsWith('missing/'))
        return { result: failed(entry, 404, 'NoSuchKey', 'The specified key does not exist.'), retryable: false };
      if (entry.key.startsWith('denied/'))
        return { result: failed(entry, 403, 'AccessDenied', 'Access Denied'), retryable: false };
      return { result: succeeded(entry), retryable: false };
    },
  };
}

function newWorld(): World {
  const objects = new MemoryObjectStore();
  objects.createBucket('src');
  objects.createBucket('reports');
  return {
    objects,
    store: new MemoryJobStore(),
    spool: createMemorySpool(),
    indices: new Map(),
    calls: [],
    delayMs: 0,
  };
}

const config = { maxConcurrentTasks: 4, jobConcurrency: 4, chunkSize: 40 };

async function createJob(world: World, service: ReturnType<typeof newTestEngine>['service'], keys: string[]) {
  const body = keys.map((k) => `src,${encodeURIComponent(k)}\n`).join('');
  const { etag } = await world.objects.put({ bucket: 'src', key: 'm.csv' }, body);
  return service.createJob(TEST_ACCOUNT, taggingJobRequest({ Manifest: csvManifest('m.csv', etag) })).JobId;
}

const keys = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('failures by code in the engine', () => {
  it('are live while the job runs and final in the job record after it ends', async () => {
    const world = newWorld();
    world.delayMs = 2;
    const { engine, service } = newTestEngine({ ...world, handler: handler(world), config });
    await engine.start();
    const jobId = await createJob(world, service, [
      ...keys(30, 'missing/'),
      ...keys(50, 'ok/'),
      ...keys(12, 'denied/'),
    ]);
    // Live: the first failures show before any chunk is done.
    for (;;) {
      const p = service.jobProgress(TEST_ACCOUNT, jobId);
      if ((p.failures?.length ?? 0) > 0) {
        expect(p.failures?.[0]?.code).toBe('NoSuchKey');
        break;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await waitForStatus(engine, world.store, jobId, 'Complete');
    const stored = world.store.get(jobId)?.progress.failures;
    expect(stored).toEqual([
      { code: 'NoSuchKey', httpStatus: 404, count: 30, sampleKeys: keys(30, 'missing/').slice(0, 5) },
      { code: 'AccessDenied', httpStatus: 403, count: 12, sampleKeys: keys(12, 'denied/').slice(0, 5) },
    ]);
    expect(service.jobProgress(TEST_ACCOUNT, jobId).failures).toEqual(stored);
  });

  it('counts each failure once across a restart that resumes a chunk at task grain', async () => {
    const world = newWorld();
    world.delayMs = 2;
    const big = { ...config, chunkSize: 1000 };
    const first = newTestEngine({ ...world, handler: handler(world), config: big });
    await first.engine.start();
    const all = keys(200, 'missing/').flatMap((k, i) => [k, `denied/${i}`]);
    const jobId = await createJob(world, first.service, all);
    while (world.calls.length < 60) await new Promise((r) => setTimeout(r, 1));
    await first.engine.stop(); // the one chunk stays unfinished, its spool holds what ran
    const durable = await world.spool.durable(jobId, 0);
    expect(durable?.failures?.reduce((n, g) => n + g.count, 0)).toBe(durable?.failed);

    const second = newTestEngine({ ...world, handler: handler(world), config: big });
    await second.engine.start();
    await waitForStatus(second.engine, world.store, jobId, 'Complete');
    expect(world.store.get(jobId)?.progress.failures?.map((g) => [g.code, g.httpStatus, g.count])).toEqual([
      ['AccessDenied', 403, 200],
      ['NoSuchKey', 404, 200],
    ]);
  });
});
