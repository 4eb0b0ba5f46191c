/**
 * Failures by error code and "retry failed" in the scale-out mode (docs/deployment.md): a real
 * redis-server, `s3batch serve --redis` and three `s3batch worker` subprocesses on Ceph RGW. The
 * groups are counted in the workers and reach `serve` through the progress entries and chunk
 * results (execution/bullmq): live while the job runs (SSE), final in the job view, and a retry of
 * the failed tasks runs on the workers too.
 */
import { describe, expect, it } from 'vitest';
import { jobRequest, putManifest } from '../helpers/jobs.ts';
import { basicAuth, JsonApi } from '../helpers/json-api.ts';
import { createTestBucket, putObjects } from '../helpers/s3-servers.ts';
import { reportedKeys, useScaleOutOnCeph } from '../helpers/scale-out.ts';
import { TEST_API_KEY } from '../helpers/server-process.ts';
import { openSse } from '../helpers/sse.ts';

const so = useScaleOutOnCeph(20);

interface Group {
  Code: string;
  HttpStatus: number | null;
  Count: number;
  SampleKeys: string[];
}

describe('scale-out: failures by code and retry failed', () => {
  it('counts the failures on the workers, live and final, and retries them on the workers', async () => {
    const d = await so.deployment();
    const api = new JsonApi(d.serves[0]!.url);
    const bucket = await createTestBucket(so.s3, 'so-fail');
    const ok = Array.from({ length: 100 }, (_, i) => `ok/${String(i).padStart(4, '0')}`);
    const missing = Array.from({ length: 40 }, (_, i) => `missing/${String(i).padStart(4, '0')}`);
    await putObjects(so.s3, bucket, ok);
    // Interleaved, so every chunk (of 20) has failures and several workers count them.
    const keys = ok.flatMap((k, i) => (i < missing.length ? [missing[i]!, k] : [k]));
    const { etag } = await putManifest(
      so.s3,
      bucket,
      'm.csv',
      keys.map((key) => ({ bucket, key })),
    );
    const { JobId } = await api.createJob(
      jobRequest({
        manifestBucket: bucket,
        manifestKey: 'm.csv',
        etag,
        operation: { S3PutObjectTagging: { TagSet: [{ Key: 'so', Value: 'failures' }] } },
        reportBucket: bucket,
        reportPrefix: 'rep',
        confirmationRequired: false,
        // 30 requests/s over the workers: ~5 s, so progress events show the groups while it runs.
        extra: { Tags: [{ Key: 's3batch:max-requests-per-second', Value: '30' }] },
      }),
    );
    const sse = await openSse(`${d.serves[0]!.url}/api/v1/jobs/${JobId}/events`, {
      authorization: basicAuth(TEST_API_KEY),
    });
    const live = await sse.waitFor(
      (e) =>
        e.event === 'progress' &&
        (JSON.parse(e.data) as { Status: string; FailuresByCode: Group[] }).Status === 'Active' &&
        (JSON.parse(e.data) as { FailuresByCode: Group[] }).FailuresByCode.length > 0,
      'a progress event of the running job with failures',
      60_000,
    );
    const liveGroups = (JSON.parse(live.data) as { FailuresByCode: Group[] }).FailuresByCode;
    expect(liveGroups[0]).toMatchObject({ Code: 'NoSuchKey', HttpStatus: 404 });
    expect(liveGroups[0]!.Count).toBeLessThanOrEqual(missing.length);
    await sse.ended(120_000);
    sse.close();

    const done = await api.waitFor(JobId, ['Complete', 'Failed', 'Cancelled'], 120_000);
    expect(done.Job.Status).toBe('Complete');
    const final = (await api.call('GET', `/jobs/${JobId}`)) as { FailuresByCode: Group[] };
    expect(final.FailuresByCode).toHaveLength(1);
    expect(final.FailuresByCode[0]).toMatchObject({ Code: 'NoSuchKey', HttpStatus: 404, Count: missing.length });
    expect(final.FailuresByCode[0]!.SampleKeys.every((k) => missing.includes(k))).toBe(true);

    const retry = (await api.call('POST', `/jobs/${JobId}/retry`, { Codes: ['NoSuchKey'] })) as {
      Job: { JobId: string };
      RetryOf: string;
      RetryManifest: { Tasks: number };
    };
    expect(retry.RetryOf).toBe(JobId);
    expect(retry.RetryManifest.Tasks).toBe(missing.length);
    const again = await api.waitFor(retry.Job.JobId, ['Complete', 'Failed', 'Cancelled'], 120_000);
    expect(again.Job.ProgressSummary).toMatchObject({ TotalNumberOfTasks: 40, NumberOfTasksFailed: 40 });
    expect(await reportedKeys(so.s3, bucket, 'rep', retry.Job.JobId)).toEqual(missing);
  });
});
