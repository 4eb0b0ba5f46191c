/**
 * The engine keeps each job's throughput history in its record (domain/throughput-history.ts) as
 * its tasks finish, and the history route's view turns it into tasks/s. On the in-memory engine
 * with a clock the fake operation moves: each task takes 200 ms of that clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { historyView } from '../../src/api/rest/history-routes.ts';
import { S3BatchError } from '../../src/domain/errors.ts';
import { succeeded, failed, type TaskEntry } from '../../src/domain/task.ts';
import type { OperationHandler } from '../../src/operations/operation.ts';
import { MemoryJobStore } from '../../src/storage/memory-job-store.ts';
import { MemoryObjectStore } from '../../src/storage/memory-object-store.ts';
import {
  csvManifest,
  newTestEngine,
  stopTestEngines,
  taggingJobRequest,
  TEST_ACCOUNT,
  waitForStatus,
} from '../helpers/engine-harness.ts';

afterEach(stopTestEngines);

const TASKS = 80;

describe('engine throughput history', () => {
  it('records samples from the run’s start to its end and the view gives tasks/s covering every task', async () => {
    let nowMs = Date.UTC(2026, 0, 1);
    const objects = new MemoryObjectStore();
    objects.createBucket('src');
    objects.createBucket('reports');
    const store = new MemoryJobStore();
    const handler: OperationHandler<object> = {
      name: 'S3PutObjectTagging',
      parse: () => ({}),
      async attempt(_config, entry: TaskEntry) {
        await new Promise((r) => setImmediate(r));
        nowMs += 200; // each task moves the clock: 5 tasks/s of this clock
        if (entry.key.startsWith('missing/'))
          return { result: failed(entry, 404, 'NoSuchKey', 'The specified key does not exist.'), retryable: false };
        return { result: succeeded(entry), retryable: false };
      },
    };
    const { engine, service } = newTestEngine({
      store,
      objects,
      handler,
      now: () => new Date(nowMs),
      config: { jobConcurrency: 1, maxConcurrentTasks: 1 },
    });
    await engine.start();
    const keys = Array.from({ length: TASKS }, (_, i) => (i % 4 === 0 ? `missing/${i}` : `obj/${i}`));
    const { etag } = await objects.put({ bucket: 'src', key: 'm.csv' }, keys.map((k) => `src,${k}\n`).join(''));
    const { JobId } = service.createJob(TEST_ACCOUNT, taggingJobRequest({ Manifest: csvManifest('m.csv', etag) }));
    await waitForStatus(engine, store, JobId, 'Complete');

    const h = store.get(JobId)?.throughput;
    expect(h).toBeDefined();
    const samples = h!.samples;
    // The run's start (nothing done yet) and its end (every task), and one sample per second between.
    expect(samples[0]).toMatchObject({ s: 0, f: 0 });
    expect(samples[samples.length - 1]).toMatchObject({ s: TASKS - TASKS / 4, f: TASKS / 4 });
    expect(samples.length).toBeGreaterThanOrEqual(TASKS / 5); // 16 s of the clock at 1 s a step
    expect(samples.length).toBeLessThanOrEqual(TASKS / 5 + 3);

    const view = historyView(service, TEST_ACCOUNT, JobId, nowMs + 60_000);
    expect(view).toMatchObject({ jobId: JobId, status: 'Complete', resolutionMs: 1000, maxPoints: 240 });
    // Ended: no live point at "now"; the last point is the run's end.
    expect(view.points[view.points.length - 1]!.t).toBe(samples[samples.length - 1]!.t);
    const rates = view.points.slice(1).map((p) => p.tasksPerSecond);
    expect(Math.max(...rates)).toBeLessThanOrEqual(6);
    expect(Math.min(...rates)).toBeGreaterThanOrEqual(4);

    // Another account's job and an unknown one: NotFoundException (404).
    for (const [account, id] of [
      ['444455556666', JobId],
      [TEST_ACCOUNT, '00000000-0000-0000-0000-000000000000'],
    ] as const) {
      expect(() => historyView(service, account, id, nowMs)).toThrow(S3BatchError);
      try {
        historyView(service, account, id, nowMs);
      } catch (err) {
        expect((err as S3BatchError).code).toBe('NotFoundException');
      }
    }
  });
});
