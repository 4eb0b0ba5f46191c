/**
 * The engine keeps each job's throughput history in its record (domain/throughput-history.ts) as
 * its tasks finish, and the history route's view turns it into tasks/s. On the in-memory engine
 * with a clock the fake operation moves: each task takes 200 ms of that clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { historyView } from '../../src/api/rest/history-routes.ts';
import { S3BatchError } from '../../src/domain/errors.ts';
import { succeeded, failed, type TaskEntry } from '../../src/domain/task.ts';
import { throughputPoints } from '../../src/domain/throughput-history.ts';
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
    expect(view).toMatchObject({ JobId, Status: 'Complete', ResolutionMs: 1000, MaxPoints: 240 });
    // Ended: no live point at "now"; the last point is the run's end.
    expect(view.Points[view.Points.length - 1]!.Time).toBe(samples[samples.length - 1]!.t);
    const rates = view.Points.slice(1).map((p) => p.TasksPerSecond);
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

  it('shows a pre-empted job’s pause as an interval at 0 tasks/s, from Paused to its resume', async () => {
    let nowMs = Date.UTC(2026, 0, 1);
    let release = (): void => {};
    let held: Promise<void> | undefined = new Promise<void>((r) => (release = r));
    const objects = new MemoryObjectStore();
    objects.createBucket('src');
    objects.createBucket('reports');
    const store = new MemoryJobStore();
    const handler: OperationHandler<object> = {
      name: 'S3PutObjectTagging',
      parse: () => ({}),
      async attempt(_config, entry: TaskEntry) {
        if (held && entry.key.startsWith('low/')) await held;
        else await new Promise((r) => setImmediate(r));
        nowMs += 200;
        return { result: succeeded(entry), retryable: false };
      },
    };
    const { engine, service } = newTestEngine({
      store,
      objects,
      handler,
      now: () => new Date(nowMs),
      config: { jobConcurrency: 4, maxConcurrentTasks: 4 },
    });
    await engine.start();
    const put = async (name: string, prefix: string, n: number): Promise<string> =>
      (
        await objects.put(
          { bucket: 'src', key: name },
          Array.from({ length: n }, (_, i) => `src,${prefix}${i}\n`).join(''),
        )
      ).etag;
    const lowEtag = await put('low.csv', 'low/', 40);
    const low = service.createJob(
      TEST_ACCOUNT,
      taggingJobRequest({ Manifest: csvManifest('low.csv', lowEtag), Priority: 1 }),
    ).JobId;
    await waitForStatus(engine, store, low, 'Active');
    const highEtag = await put('high.csv', 'high/', 20);
    const high = service.createJob(
      TEST_ACCOUNT,
      taggingJobRequest({ Manifest: csvManifest('high.csv', highEtag), Priority: 100 }),
    ).JobId;
    await waitForStatus(engine, store, low, 'Pausing');
    const paused = waitForStatus(engine, store, low, 'Paused');
    held = undefined;
    release();
    await paused;
    await waitForStatus(engine, store, high, 'Complete');
    await waitForStatus(engine, store, low, 'Complete');

    const samples = store.get(low)!.throughput!.samples;
    // Paused with the tasks it had finished, then nothing while the high job ran its 20 tasks (4 s
    // of the clock): two samples with the same counters, from Paused to the resume.
    const pause = samples.findIndex(
      (x, i) => i > 0 && x.s > 0 && x.s < 40 && samples[i + 1]?.s === x.s && samples[i + 1]!.t - x.t >= 20 * 200,
    );
    expect(pause).toBeGreaterThan(0);
    const pausedAt = store.get(low)!.history!.find((c) => c.status === 'Paused')!.at;
    expect(samples[pause]!.t).toBe(Date.parse(pausedAt));
    const points = throughputPoints(store.get(low)!.throughput);
    expect(points[pause + 1]).toMatchObject({ tasksPerSecond: 0, tasksSucceeded: samples[pause]!.s });
    expect(points.at(-1)).toMatchObject({ tasksSucceeded: 40, tasksFailed: 0 });
  });
});
