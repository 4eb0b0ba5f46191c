/**
 * The throughput history in the scale-out mode (docs/job-charts.md#throughput-history): one
 * `s3batch serve --redis` and two `s3batch worker` subprocesses on Ceph RGW. The tasks run only in
 * the workers; their progress reaches the serving engine through the shared progress protocol,
 * which samples it into the job's record in Redis: GET /api/v1/jobs/{id}/history has a live last
 * point while the job runs and covers its whole run once it has ended.
 */
import { describe, expect, it } from 'vitest';
import { JsonApi } from '../helpers/json-api.ts';
import { objectsWithManifest, taggingRequest, useScaleOutOnCeph } from '../helpers/scale-out.ts';

const TASKS = 90;

interface HistoryAnswer {
  JobId: string;
  Status: string;
  ResolutionMs: number;
  Points: { Time: number; TasksPerSecond: number; TasksSucceeded: number; TasksFailed: number }[];
}

const so = useScaleOutOnCeph(10);

describe('scale-out: throughput history', () => {
  it('samples the workers’ progress into the job’s history, live while it runs', async () => {
    const d = await so.deployment({ workers: 2 });
    const api = new JsonApi(d.serves[0]!.url);
    const src = await objectsWithManifest(so.s3, 'so-hist', TASKS);
    // 30 requests/s across the workers: about 3 s of run.
    const { JobId } = await api.createJob(
      taggingRequest(src, 'hist', { Tags: [{ Key: 's3batch:max-requests-per-second', Value: '30' }] }),
    );
    const history = (): Promise<HistoryAnswer> => api.call<HistoryAnswer>('GET', `/jobs/${JobId}/history`);
    // While it runs: the run's start and the live counters (the last point) at least.
    let running: HistoryAnswer | undefined;
    await expect
      .poll(
        async () => {
          const h = await history();
          if (h.Status === 'Active' && h.Points.length >= 2 && h.Points.at(-1)!.TasksSucceeded > 0) running = h;
          return running !== undefined || ['Complete', 'Failed', 'Cancelled'].includes(h.Status);
        },
        { timeout: 60_000, interval: 100 },
      )
      .toBe(true);
    expect(running, 'the job was seen running with points').toBeDefined();
    expect(running!.Points.at(-1)!.TasksSucceeded).toBeLessThan(TASKS);

    const done = await api.waitFor(JobId, ['Complete', 'Failed', 'Cancelled'], 120_000);
    expect(done.Job.Status).toBe('Complete');
    const ended = await history();
    expect(ended.Status).toBe('Complete');
    expect(ended.Points[0]).toMatchObject({ TasksPerSecond: 0, TasksSucceeded: 0 });
    expect(ended.Points.at(-1)).toMatchObject({ TasksSucceeded: TASKS, TasksFailed: 0 });
    expect(ended.Points.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...ended.Points.map((p) => p.TasksPerSecond))).toBeGreaterThan(0);
  });
});
