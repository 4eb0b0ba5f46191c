/**
 * The scale-out mode end to end (docs/deployment.md): a real redis-server, one `s3batch serve
 * --redis` and three `s3batch worker` subprocesses on Ceph RGW. Jobs are created and watched through
 * the JSON API of `serve`; the tasks run only in the workers.
 */
import type http from 'node:http';
import { GetObjectTaggingCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { jobRequest } from '../helpers/jobs.ts';
import { basicAuth, JsonApi } from '../helpers/json-api.ts';
import { createTestBucket, putObjects } from '../helpers/s3-servers.ts';
import {
  objectsWithManifest,
  reportedKeys,
  type SourceObjects,
  taggingRequest,
  useScaleOutOnCeph,
} from '../helpers/scale-out.ts';
import { TEST_API_KEY } from '../helpers/server-process.ts';
import { openSse } from '../helpers/sse.ts';
import { until } from '../helpers/until.ts';

const so = useScaleOutOnCeph(25);
const deployment = so.deployment;
const objects = (prefix: string, count: number): Promise<SourceObjects> => objectsWithManifest(so.s3, prefix, count);
const tagging = taggingRequest;
const reportOf = (bucket: string, prefix: string, jobId: string): Promise<string[]> =>
  reportedKeys(so.s3, bucket, prefix, jobId);

describe('scale-out: serve + 3 workers on Ceph RGW', () => {
  it('runs a copy job and a tagging job on the workers: each task once, exact reports, parts removed', async () => {
    const d = await deployment();
    const api = new JsonApi(d.serves[0]!.url);
    const src = await objects('so-src', 150);
    const dst = await createTestBucket(so.s3, 'so-dst');
    const copy = await api.createJob(
      jobRequest({
        manifestBucket: src.bucket,
        manifestKey: 'm.csv',
        etag: src.etag,
        operation: { S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${dst}`, MetadataDirective: 'COPY' } },
        reportBucket: src.bucket,
        reportPrefix: 'rep-copy',
        confirmationRequired: false,
      }),
    );
    const tag = await api.createJob(tagging(src, 'tagged'));
    for (const [id, prefix] of [
      [copy.JobId, 'rep-copy'],
      [tag.JobId, 'rep-tagged'],
    ] as const) {
      const done = await api.waitFor(id, ['Complete', 'Failed', 'Cancelled'], 120_000);
      expect(done.Job.Status).toBe('Complete');
      expect(done.Job.ProgressSummary).toMatchObject({
        TotalNumberOfTasks: 150,
        NumberOfTasksSucceeded: 150,
        NumberOfTasksFailed: 0,
      });
      expect(await reportOf(src.bucket, prefix, id)).toEqual(src.keys);
      // The part files of the chunks are gone once the report is written.
      const parts = await so.s3.send(
        new ListObjectsV2Command({ Bucket: src.bucket, Prefix: `${prefix}/job-${id}/parts/` }),
      );
      expect(parts.KeyCount ?? 0).toBe(0);
    }
    // Bytes processed travel from the workers with their progress (each object's body is its key).
    const bytes = src.keys.reduce((n, k) => n + Buffer.byteLength(k), 0);
    const copyView = (await api.describe(copy.JobId)) as unknown as { BytesProcessed: number | null };
    const tagView = (await api.describe(tag.JobId)) as unknown as { BytesProcessed: number | null };
    expect([copyView.BytesProcessed, tagView.BytesProcessed]).toEqual([bytes, null]);
    const copies = await so.s3.send(new ListObjectsV2Command({ Bucket: dst }));
    expect((copies.Contents ?? []).map((o) => o.Key).sort()).toEqual(src.keys);
    const t = await so.s3.send(new GetObjectTaggingCommand({ Bucket: src.bucket, Key: src.keys[77]! }));
    expect(t.TagSet).toEqual([{ Key: 'job', Value: 'tagged' }]);

    // /metrics: tasks by worker name (more than one worker took part), never a job id.
    const metrics = await (await fetch(`${d.serves[0]!.url}/metrics`)).text();
    const lines = metrics.split('\n').filter((l) => l.startsWith('s3batch_worker_tasks{'));
    const byWorker = new Map<string, number>();
    for (const line of lines) {
      const m = /worker="([^"]+)",outcome="succeeded"\} (\d+)/.exec(line);
      if (m) byWorker.set(m[1]!, Number(m[2]));
    }
    expect([...byWorker.values()].reduce((a, b) => a + b, 0)).toBe(300);
    expect([...byWorker.keys()].every((w) => /^w[123]$/.test(w))).toBe(true);
    expect(byWorker.size).toBeGreaterThan(1);
    expect(metrics).not.toContain(copy.JobId);
    expect(metrics).toContain(`s3batch_bytes_processed_total{operation="S3PutObjectCopy"} ${bytes}\n`);
  });

  it('runs a generator job (its task list in Redis) and a dry run on the workers', async () => {
    const d = await deployment();
    const api = new JsonApi(d.serves[0]!.url);
    const src = await objects('so-gen', 120);
    await putObjects(so.s3, src.bucket, ['skip/a', 'skip/b']);
    const { JobId } = await api.createJob({
      ConfirmationRequired: false,
      Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'job', Value: 'generated' }] } },
      ManifestGenerator: {
        S3JobManifestGenerator: {
          SourceBucket: `arn:aws:s3:::${src.bucket}`,
          EnableManifestOutput: false,
          Filter: { KeyNameConstraint: { MatchAnyPrefix: ['o/'] } },
        },
      },
      Report: {
        Bucket: `arn:aws:s3:::${src.bucket}`,
        Prefix: 'rep-gen',
        Format: 'Report_CSV_20180820',
        Enabled: true,
        ReportScope: 'AllTasks',
      },
      Priority: 10,
      RoleArn: 'arn:aws:iam::111122223333:role/s3batch',
    });
    const done = await api.waitFor(JobId, ['Complete', 'Failed', 'Cancelled'], 120_000);
    expect(done.Job.Status).toBe('Complete');
    expect(done.Job.ProgressSummary).toMatchObject({ TotalNumberOfTasks: 120, NumberOfTasksSucceeded: 120 });
    expect(await reportOf(src.bucket, 'rep-gen', JobId)).toEqual(src.keys);
    const t = await so.s3.send(new GetObjectTaggingCommand({ Bucket: src.bucket, Key: src.keys[5]! }));
    expect(t.TagSet).toEqual([{ Key: 'job', Value: 'generated' }]);
    // The task list and the chunk index lived in Redis while the job ran, and go with it.
    const redis = new Redis(d.redis.url, { maxRetriesPerRequest: null });
    so.cleanup(async () => redis.disconnect());
    const jobKeys = async (): Promise<string[]> => [
      ...(await redis.keys(`s3batch:tasks:${JobId}*`)),
      ...(await redis.keys(`s3batch:chunks:${JobId}*`)),
    ];
    await until(async () => (await jobKeys()).length === 0, 'the job keys to go', { timeoutMs: 10_000, everyMs: 100 });

    // A dry run changes nothing, on the workers too.
    const dry = await api.createJob(tagging(src, 'dry', { Tags: [{ Key: 's3batch:dry-run', Value: 'true' }] }));
    const dryDone = await api.waitFor(dry.JobId, ['Complete', 'Failed', 'Cancelled'], 120_000);
    expect(dryDone.Job.Status).toBe('Complete');
    expect(dryDone.Job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 120 });
    const after = await so.s3.send(new GetObjectTaggingCommand({ Bucket: src.bucket, Key: src.keys[5]! }));
    expect(after.TagSet).toEqual([{ Key: 'job', Value: 'generated' }]);
  });

  it('holds a job’s max-concurrent-tasks and max-requests-per-second across workers (at a proxy)', async () => {
    const isTagging = (req: http.IncomingMessage): boolean =>
      req.method === 'PUT' && (req.url ?? '').includes('tagging');
    const proxy = await startFaultProxy(so.ceph.endpoint, () => undefined, { watch: isTagging, latencyMs: 30 });
    so.cleanup(() => proxy.close());
    const d = await deployment({
      workerS3: { ...so.ceph, endpoint: proxy.endpoint },
      workerArgs: ['--concurrency', '8'],
    });
    const api = new JsonApi(d.serves[0]!.url);
    const src = await objects('so-lim', 120);

    const limited = await api.createJob(
      tagging(src, 'conc', { Tags: [{ Key: 's3batch:max-concurrent-tasks', Value: '5' }] }),
    );
    const done = await api.waitFor(limited.JobId, ['Complete', 'Failed'], 120_000);
    expect(done.Job.Status).toBe('Complete');
    expect(proxy.watched.arrivals).toHaveLength(120);
    // 3 workers × 8 slots would allow 24; the job's limit holds over all of them.
    expect(proxy.watched.maxInFlight).toBeLessThanOrEqual(5);
    expect(proxy.watched.maxInFlight).toBeGreaterThan(1);

    proxy.watched.arrivals.length = 0;
    const rated = await api.createJob(
      tagging(src, 'rate', { Tags: [{ Key: 's3batch:max-requests-per-second', Value: '20' }] }),
    );
    // Live progress (server-sent events) adds up the workers' progress as it comes.
    const sse = await openSse(`${d.serves[0]!.url}/api/v1/jobs/${rated.JobId}/events`, {
      authorization: basicAuth(TEST_API_KEY),
    });
    so.cleanup(async () => sse.close());
    const doneRated = await api.waitFor(rated.JobId, ['Complete', 'Failed'], 120_000);
    const progress = sse
      .events()
      .filter((e) => e.event === 'progress')
      .map((e) => (JSON.parse(e.data) as { NumberOfTasksSucceeded: number }).NumberOfTasksSucceeded);
    // A rate of 20/s over 120 tasks: several updates on the way, never going back.
    expect(progress.filter((n) => n > 0 && n < 120).length).toBeGreaterThan(2);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(doneRated.Job.Status).toBe('Complete');
    const arrivals = [...proxy.watched.arrivals].sort((a, b) => a - b);
    expect(arrivals).toHaveLength(120);
    const perWindow = (ms: number): number =>
      Math.max(...arrivals.map((start) => arrivals.filter((t) => t >= start && t < start + ms).length));
    // The same bounds as one process (test/e2e/limits.test.ts): the rate plus a burst allowance.
    expect(perWindow(1000)).toBeLessThanOrEqual(20 + 2 + 3);
    expect(perWindow(2000)).toBeLessThanOrEqual(40 + 2 + 3);
  });

  it('pre-empts a lower-priority job across workers, which pauses and resumes by itself; cancel reaches the workers', async () => {
    const d = await deployment({ serveArgs: ['--max-concurrent-tasks', '6'] });
    const api = new JsonApi(d.serves[0]!.url);
    const src = await objects('so-prio', 200);
    const rate = { Key: 's3batch:max-requests-per-second', Value: '25' };
    const low = await api.createJob(tagging(src, 'low', { Priority: 10, Tags: [rate] }));
    await api.waitUntil(
      low.JobId,
      'some tasks done',
      (v) => (v.Job.ProgressSummary?.NumberOfTasksSucceeded ?? 0) >= 25,
      60_000,
    );
    const high = await api.createJob(tagging(src, 'high', { Priority: 100, Tags: [rate] }));
    const paused = await api.waitFor(low.JobId, ['Paused'], 60_000);
    expect(paused.Job.Status).toBe('Paused');
    const highDone = await api.waitFor(high.JobId, ['Complete', 'Failed'], 120_000);
    expect(highDone.Job.Status).toBe('Complete');
    const lowDone = await api.waitFor(low.JobId, ['Complete', 'Failed'], 120_000);
    expect(lowDone.Job.Status).toBe('Complete');
    expect(lowDone.Job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 200, NumberOfTasksFailed: 0 });
    expect(await reportOf(src.bucket, 'rep-low', low.JobId)).toEqual(src.keys);
    expect(await reportOf(src.bucket, 'rep-high', high.JobId)).toEqual(src.keys);

    // Cancel: in-flight tasks finish, none starts after; the report holds what ran, each once.
    const cancelSrc = await objects('so-cancel', 200);
    const slow = await api.createJob(
      tagging(cancelSrc, 'cancel', { Tags: [{ Key: 's3batch:max-requests-per-second', Value: '20' }] }),
    );
    await api.waitUntil(
      slow.JobId,
      'some tasks done',
      (v) => (v.Job.ProgressSummary?.NumberOfTasksSucceeded ?? 0) >= 20,
      60_000,
    );
    await api.updateStatus(slow.JobId, 'Cancelled');
    const cancelled = await api.waitFor(slow.JobId, ['Cancelled'], 30_000);
    const succeeded = cancelled.Job.ProgressSummary?.NumberOfTasksSucceeded ?? 0;
    expect(succeeded).toBeLessThan(200);
    const reported = await reportOf(cancelSrc.bucket, 'rep-cancel', slow.JobId);
    expect(new Set(reported).size).toBe(reported.length);
    expect(reported).toHaveLength(succeeded);
    // Exactly the objects the report names carry the tag: no task ran after the job ended.
    await new Promise((r) => setTimeout(r, 1500));
    let tagged = 0;
    for (const key of cancelSrc.keys) {
      const tags = await so.s3.send(new GetObjectTaggingCommand({ Bucket: cancelSrc.bucket, Key: key }));
      if (tags.TagSet?.some((t) => t.Value === 'cancel')) tagged++;
    }
    expect(tagged).toBe(succeeded);
  });
});
