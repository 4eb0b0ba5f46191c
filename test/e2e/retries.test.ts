/**
 * Transient storage errors are retried with backoff, not reported as failures: a fault-injecting
 * proxy in front of the real s3rver answers 503 SlowDown or resets the connection for a share of the
 * tagging requests (at most two per key, within the 5 attempts); the job still succeeds on every task.
 * (The proxy stands in for a storage under load, which no server on this machine does on demand.)
 */
import { GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.ts';
import { jobRequest, putManifest, readReport } from '../helpers/jobs.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { requireS3rver } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, putObjects } from '../helpers/s3-servers.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('retries', () => {
  it('retries SlowDown and connection resets until every task succeeds', async () => {
    const s3rver = requireS3rver();
    const s3 = makeS3Client(s3rver);
    cleanups.push(async () => s3.destroy());
    const bucket = await createTestBucket(s3, 'retry');
    const keys = Array.from({ length: 60 }, (_, i) => `k/${i}`);
    await putObjects(s3, bucket, keys);
    const { etag } = await putManifest(
      s3,
      bucket,
      'm.csv',
      keys.map((key) => ({ bucket, key })),
    );

    // Faults per key, so that no task can exhaust its 5 attempts by bad luck: key k/n with n a
    // multiple of 7 gets a reset, then a SlowDown; other multiples of 3 get one SlowDown.
    const attempts = new Map<string, number>();
    const proxy: FaultProxy = await startFaultProxy(s3rver.endpoint, (req) => {
      if (req.method !== 'PUT' || !req.url?.includes('tagging')) return undefined;
      const path = req.url.split('?')[0]!;
      const attempt = (attempts.get(path) ?? 0) + 1;
      attempts.set(path, attempt);
      const n = Number(path.split('/').pop());
      if (n % 7 === 0) return attempt === 1 ? 'reset' : attempt === 2 ? 'slowdown' : undefined;
      if (n % 3 === 0 && attempt === 1) return 'slowdown';
      return undefined;
    });
    cleanups.push(() => proxy.close());
    const server: ServerProcess = await startServerProcess({
      s3: { ...s3rver, endpoint: proxy.endpoint },
      args: ['--job-concurrency', '8'],
    });
    cleanups.push(() => server.kill('SIGTERM'));
    const api = new JsonApi(server.url);
    const { JobId } = await api.createJob(
      jobRequest({
        manifestBucket: bucket,
        manifestKey: 'm.csv',
        etag,
        operation: { S3PutObjectTagging: { TagSet: [{ Key: 'retried', Value: 'ok' }] } },
        reportBucket: bucket,
        reportPrefix: 'rep',
        confirmationRequired: false,
      }),
    );
    const done = await api.waitFor(JobId, ['Complete', 'Failed']);
    expect(done.Job.Status).toBe('Complete');
    expect(done.Job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 60, NumberOfTasksFailed: 0 });
    expect(proxy.injected.slowdown).toBeGreaterThanOrEqual(20);
    expect(proxy.injected.reset).toBeGreaterThanOrEqual(5);
    for (const key of keys.slice(0, 10)) {
      const t = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
      expect(t.TagSet).toEqual([{ Key: 'retried', Value: 'ok' }]);
    }
    expect((await readReport(s3, bucket, 'rep', JobId)).rows.every((r) => r[3] === 'succeeded')).toBe(true);
  });

  it('a permanent error is not retried: one request per task, the failure in the report', async () => {
    const s3rver = requireS3rver();
    const s3 = makeS3Client(s3rver);
    cleanups.push(async () => s3.destroy());
    const bucket = await createTestBucket(s3, 'perm');
    const { etag } = await putManifest(s3, bucket, 'm.csv', [
      { bucket, key: 'missing-1' },
      { bucket, key: 'missing-2' },
    ]);
    let taggingRequests = 0;
    const proxy = await startFaultProxy(s3rver.endpoint, (req) => {
      if (req.method === 'PUT' && req.url?.includes('tagging')) taggingRequests++;
      return undefined;
    });
    cleanups.push(() => proxy.close());
    const server = await startServerProcess({ s3: { ...s3rver, endpoint: proxy.endpoint } });
    cleanups.push(() => server.kill('SIGTERM'));
    const api = new JsonApi(server.url);
    const { JobId } = await api.createJob(
      jobRequest({
        manifestBucket: bucket,
        manifestKey: 'm.csv',
        etag,
        operation: { S3PutObjectTagging: { TagSet: [{ Key: 'a', Value: 'b' }] } },
        reportBucket: bucket,
        confirmationRequired: false,
      }),
    );
    const done = await api.waitFor(JobId, ['Complete', 'Failed']);
    expect(done.Job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 0, NumberOfTasksFailed: 2 });
    expect(taggingRequests).toBe(2);
    const rows = (await readReport(s3, bucket, undefined, JobId)).rows;
    expect(rows.map((r) => r.slice(3, 6))).toEqual([
      ['failed', '404', 'NoSuchKey'],
      ['failed', '404', 'NoSuchKey'],
    ]);
  });
});
