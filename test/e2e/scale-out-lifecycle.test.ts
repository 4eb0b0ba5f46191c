/**
 * The rest of the job lifecycle in the scale-out mode, end to end on Ceph RGW with a real
 * redis-server, one `serve --redis` and three `worker` subprocesses: a job that needs confirmation
 * waits in Suspended until UpdateJobStatus (through the unchanged AWS SDK) confirms it, and the
 * failure threshold fails a job whose tasks fail on the workers, with the workers' results counted.
 */
import { GetJobTaggingCommand, UpdateJobStatusCommand } from '@aws-sdk/client-s3-control';
import { describe, expect, it } from 'vitest';
import { jobRequest, putManifest } from '../helpers/jobs.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { createTestBucket } from '../helpers/s3-servers.ts';
import { objectsWithManifest, reportedKeys, taggingRequest, useScaleOutOnCeph } from '../helpers/scale-out.ts';
import { hostPrefixClient } from '../helpers/s3control.ts';
import { TEST_API_KEY } from '../helpers/server-process.ts';

const so = useScaleOutOnCeph(50);

describe('scale-out: confirmation and the failure threshold', () => {
  it('a Suspended job runs on the workers once UpdateJobStatus confirms it (AWS SDK)', async () => {
    const d = await so.deployment();
    const api = new JsonApi(d.serves[0]!.url);
    const src = await objectsWithManifest(so.s3, 'so-confirm', 60);
    const request = { ...taggingRequest(src, 'confirmed'), ConfirmationRequired: true };
    const { JobId } = await api.createJob(request);
    const suspended = await api.waitFor(JobId, ['Suspended', 'Failed'], 60_000);
    expect(suspended.Job.Status).toBe('Suspended');
    const control = hostPrefixClient(d.serves[0]!.url, TEST_API_KEY);
    so.cleanup(async () => control.destroy());
    const answer = await control.send(
      new UpdateJobStatusCommand({ AccountId: '111122223333', JobId, RequestedJobStatus: 'Ready' }),
    );
    expect(answer.Status).toBe('Ready');
    // The S3 Control API answers through the leader as it does on one machine.
    expect((await control.send(new GetJobTaggingCommand({ AccountId: '111122223333', JobId }))).Tags).toEqual([]);
    const done = await api.waitFor(JobId, ['Complete', 'Failed', 'Cancelled'], 120_000);
    expect(done.Job.Status).toBe('Complete');
    expect(await reportedKeys(so.s3, src.bucket, 'rep-confirmed', JobId)).toEqual(src.keys);
  });

  it('a worker with --threads runs chunks in each of its threads, named apart in /metrics', async () => {
    const d = await so.deployment({ workers: 1, workerArgs: ['--threads', '2', '--concurrency', '8'] });
    expect(d.workers[0]!.output()).toMatch(/w1 ready: 8 task slots in 2 threads \(w1\.t1, w1\.t2\)/);
    const api = new JsonApi(d.serves[0]!.url);
    const src = await objectsWithManifest(so.s3, 'so-threads', 400);
    const { JobId } = await api.createJob(taggingRequest(src, 'threads'));
    const done = await api.waitFor(JobId, ['Complete', 'Failed', 'Cancelled'], 120_000);
    expect(done.Job.Status).toBe('Complete');
    expect(await reportedKeys(so.s3, src.bucket, 'rep-threads', JobId)).toEqual(src.keys);
    const metrics = await (await fetch(`${d.serves[0]!.url}/metrics`)).text();
    const tasks = (worker: string): number =>
      Number(
        new RegExp(`s3batch_worker_tasks\\{worker="${worker}",outcome="succeeded"\\} (\\d+)`).exec(metrics)?.[1] ?? 0,
      );
    expect(tasks('w1.t1') + tasks('w1.t2')).toBe(400);
    expect(tasks('w1.t1')).toBeGreaterThan(0);
    expect(tasks('w1.t2')).toBeGreaterThan(0);
    // SIGTERM ends every thread and the process.
    expect(await d.workers[0]!.kill('SIGTERM')).toBe(0);
  });

  it('fails a job once over 1,000 tasks ran on the workers and more than half failed', async () => {
    const d = await so.deployment();
    const api = new JsonApi(d.serves[0]!.url);
    // 1,500 rows of objects that do not exist: every tagging fails with NoSuchKey.
    const bucket = await createTestBucket(so.s3, 'so-threshold');
    const { etag } = await putManifest(
      so.s3,
      bucket,
      'm.csv',
      Array.from({ length: 1500 }, (_, i) => ({ bucket, key: `missing/${i}` })),
    );
    const { JobId } = await api.createJob(
      jobRequest({
        manifestBucket: bucket,
        manifestKey: 'm.csv',
        etag,
        operation: { S3PutObjectTagging: { TagSet: [{ Key: 'k', Value: 'v' }] } },
        reportBucket: bucket,
        reportPrefix: 'rep',
        confirmationRequired: false,
      }),
    );
    const done = await api.waitFor(JobId, ['Complete', 'Failed', 'Cancelled'], 120_000);
    expect(done.Job.Status).toBe('Failed');
    expect(done.Job.FailureReasons.map((f) => f.FailureCode)).toEqual(['TaskFailureThresholdExceeded']);
    expect(done.StatusHistory.map((h) => h.status).slice(-2)).toEqual(['Failing', 'Failed']);
    const summary = done.Job.ProgressSummary;
    expect(summary.NumberOfTasksSucceeded).toBe(0);
    // The failures counted are the workers' results, each task once.
    expect(summary.NumberOfTasksFailed).toBeGreaterThanOrEqual(1000);
    expect(summary.NumberOfTasksFailed).toBeLessThanOrEqual(1500);
    const reported = await reportedKeys(so.s3, bucket, 'rep', JobId);
    expect(reported).toHaveLength(summary.NumberOfTasksFailed);
    expect(new Set(reported).size).toBe(reported.length);
  });
});
