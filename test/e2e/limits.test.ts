/**
 * Per-job limits, adaptive slow-down and job-record retention, end to end: the real `s3batch
 * serve` works on the real s3rver through a proxy that records the task requests (their arrival
 * times and how many were in flight at once) and can answer 503 SlowDown. (The proxy stands in
 * for a storage under load, which no server on this machine does on demand.)
 */
import type http from 'node:http';
import { GetObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { startFaultProxy, type Fault, type FaultProxy, type FaultProxyOptions } from '../helpers/fault-proxy.ts';
import { jobRequest, putManifest } from '../helpers/jobs.ts';
import { ApiError, JsonApi, type JobView } from '../helpers/json-api.ts';
import { requireS3rver } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, putObjects } from '../helpers/s3-servers.ts';
import { startServerProcess } from '../helpers/server-process.ts';

interface Throttling {
  MaxConcurrentTasks: number;
  MaxRequestsPerSecond: number | null;
  EffectiveConcurrency: number | null;
  ThrottledAttempts: number;
}
type LimitsView = JobView & { Throttling: Throttling };

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const isTagging = (req: http.IncomingMessage): boolean => req.method === 'PUT' && (req.url ?? '').includes('tagging');

interface Setup {
  s3: S3Client;
  bucket: string;
  keys: string[];
  etag: string;
  proxy: FaultProxy;
  api: JsonApi;
}

/** A bucket of `count` objects and their manifest, a proxy in front of s3rver, a server behind it. */
async function setup(
  count: number,
  fault: (req: http.IncomingMessage) => Fault,
  proxyOptions: FaultProxyOptions,
  serverArgs: string[] = [],
): Promise<Setup> {
  const s3rver = requireS3rver();
  const s3 = makeS3Client(s3rver);
  cleanups.push(async () => s3.destroy());
  const bucket = await createTestBucket(s3, 'limits');
  const keys = Array.from({ length: count }, (_, i) => `k/${i}`);
  await putObjects(s3, bucket, keys);
  const { etag } = await putManifest(
    s3,
    bucket,
    'm.csv',
    keys.map((key) => ({ bucket, key })),
  );
  const proxy = await startFaultProxy(s3rver.endpoint, fault, proxyOptions);
  cleanups.push(() => proxy.close());
  const server = await startServerProcess({ s3: { ...s3rver, endpoint: proxy.endpoint }, args: serverArgs });
  cleanups.push(() => server.kill('SIGTERM'));
  return { s3, bucket, keys, etag, proxy, api: new JsonApi(server.url) };
}

function taggingJob(
  s: Setup,
  tags: { Key: string; Value: string }[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return jobRequest({
    manifestBucket: s.bucket,
    manifestKey: 'm.csv',
    etag: s.etag,
    operation: { S3PutObjectTagging: { TagSet: [{ Key: 'limited', Value: 'yes' }] } },
    reportBucket: s.bucket,
    reportPrefix: 'rep',
    confirmationRequired: false,
    extra: { Tags: tags, ...extra },
  });
}

describe('per-job limits', () => {
  it('s3batch:max-concurrent-tasks=4: never more than 4 task requests in flight at the storage', async () => {
    // Each tagging request is held 40 ms at the proxy, so requests pile up to whatever the engine allows.
    const s = await setup(100, () => undefined, { watch: isTagging, latencyMs: 40 });
    const { JobId } = await s.api.createJob(taggingJob(s, [{ Key: 's3batch:max-concurrent-tasks', Value: '4' }]));
    const running = (await s.api.waitUntil(
      JobId,
      'tasks running',
      (v) => v.Job.ProgressSummary.NumberOfTasksSucceeded > 0,
    )) as LimitsView;
    expect(running.Throttling).toMatchObject({ MaxConcurrentTasks: 4, MaxRequestsPerSecond: null });
    const done = (await s.api.waitFor(JobId, ['Complete', 'Failed'])) as LimitsView;
    expect(done.Job.Status).toBe('Complete');
    expect(done.Job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 100, NumberOfTasksFailed: 0 });
    expect(s.proxy.watched.arrivals).toHaveLength(100);
    expect(s.proxy.watched.maxInFlight).toBe(4); // reached, never exceeded (the server default is 64)
    expect(done.Throttling).toEqual({
      MaxConcurrentTasks: 4,
      MaxRequestsPerSecond: null,
      EffectiveConcurrency: null,
      ThrottledAttempts: 0,
    });
  });

  it('s3batch:max-requests-per-second=20 over 100 objects: no second holds more than 20 requests plus the burst', async () => {
    const s = await setup(100, () => undefined, { watch: isTagging });
    // A warm-up job first (same objects, no limit): the server's first requests (new sockets,
    // code paths run once) would otherwise bunch the arrivals of the measured job's first second.
    const warm = await s.api.createJob(taggingJob(s, []));
    await s.api.waitFor(warm.JobId, 'Complete');
    s.proxy.watched.arrivals.length = 0;
    const { JobId } = await s.api.createJob(taggingJob(s, [{ Key: 's3batch:max-requests-per-second', Value: '20' }]));
    const done = (await s.api.waitFor(JobId, ['Complete', 'Failed'])) as LimitsView;
    expect(done.Job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 100, NumberOfTasksFailed: 0 });
    expect(done.Throttling.MaxRequestsPerSecond).toBe(20);
    const arrivals = [...s.proxy.watched.arrivals].sort((a, b) => a - b);
    expect(arrivals).toHaveLength(100);
    // Every window starting at a request holds at most rate·T + the burst of 2 (the token bucket's
    // bound on dispatch), plus 3 for delivery jitter: requests sent on time can reach the proxy
    // together after a pause of the server's event loop.
    const perWindow = (ms: number): number =>
      Math.max(...arrivals.map((start) => arrivals.filter((t) => t >= start && t < start + ms).length));
    expect(perWindow(1000)).toBeLessThanOrEqual(20 + 2 + 3);
    expect(perWindow(2000)).toBeLessThanOrEqual(40 + 2 + 3);
    // 100 requests at 20 per second (2 at once) cannot arrive in less than ~4.9 s.
    expect(arrivals[arrivals.length - 1]! - arrivals[0]!).toBeGreaterThanOrEqual(4500);
  });

  it('a SlowDown storm slows the job down instead of failing tasks: all succeed, the throttles are counted', async () => {
    // From the 20th tagging request on, every tagging request is answered 503 SlowDown for 1.5 s.
    // The server allows only 2 ordinary attempts per task: throttled retries must not use them.
    let seen = 0;
    let stormEnds = 0;
    const perKey = new Map<string, number>();
    const s = await setup(
      100,
      (req) => {
        if (!isTagging(req)) return undefined;
        const key = (req.url ?? '').split('?')[0]!;
        perKey.set(key, (perKey.get(key) ?? 0) + 1);
        seen++;
        if (seen === 20) stormEnds = Date.now() + 1500;
        return seen >= 20 && Date.now() < stormEnds ? 'slowdown' : undefined;
      },
      {},
      ['--job-concurrency', '8'],
    );
    const { JobId } = await s.api.createJob(taggingJob(s, []));
    // Watch the job's effective concurrency while it runs.
    const effective: number[] = [];
    const done = (await s.api.waitUntil(JobId, 'the end', (v) => {
      const c = (v as LimitsView).Throttling.EffectiveConcurrency;
      if (c !== null) effective.push(c);
      return v.Job.Status === 'Complete' || v.Job.Status === 'Failed';
    })) as LimitsView;
    expect(done.Job.Status).toBe('Complete');
    expect(Math.max(...effective)).toBeLessThanOrEqual(8);
    expect(Math.min(...effective)).toBeLessThan(8); // the storm (1.5 s, polled every 25 ms) slowed the job down
    expect(done.Job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 100, NumberOfTasksFailed: 0 });
    expect(s.proxy.injected.slowdown).toBeGreaterThan(0);
    expect(done.Throttling.ThrottledAttempts).toBe(s.proxy.injected.slowdown);
    expect(Math.max(...perKey.values())).toBeGreaterThan(2); // some task went past its 2 ordinary attempts, and still succeeded
    const t = await s.s3.send(new GetObjectTaggingCommand({ Bucket: s.bucket, Key: s.keys[99]! }));
    expect(t.TagSet).toEqual([{ Key: 'limited', Value: 'yes' }]);
  }, 120_000);
});

describe('job record retention', () => {
  it('a finished job disappears from DescribeJob and ListJobs after the retention; a running one stays', async () => {
    // Retention of 3 s (0.0000347 days): the testing aid the setting allows.
    const s = await setup(10, () => undefined, { watch: isTagging }, ['--job-retention-days', '0.0000347']);
    // The running job: 10 objects at one request per second keep it Active for ~9 s.
    const slow = (await s.api.createJob(taggingJob(s, [{ Key: 's3batch:max-requests-per-second', Value: '1' }]))).JobId;
    const fast = (await s.api.createJob(taggingJob(s, [], { Priority: 20 }))).JobId;
    const finished = await s.api.waitFor(fast, 'Complete');
    expect(finished.Job.TerminationDate).toBeDefined();
    const gone = Date.now() + 15_000;
    let notFound: ApiError | undefined;
    while (!notFound && Date.now() < gone) {
      await s.api.describe(fast).catch((err: unknown) => {
        if (err instanceof ApiError) notFound = err;
        else throw err;
      });
      if (!notFound) await new Promise((r) => setTimeout(r, 100));
    }
    expect(notFound).toMatchObject({ status: 404, code: 'NotFoundException' });
    expect(notFound?.message).toContain('The specified job does not exist');
    const list = await s.api.call<{ Jobs: { JobId: string; Status: string }[] }>('GET', '/jobs');
    expect(list.Jobs.map((j) => j.JobId)).toEqual([slow]);
    expect((await s.api.describe(slow)).Job.Status).toBe('Active');
    await s.api.updateStatus(slow, 'Cancelled');
  }, 60_000);
});
