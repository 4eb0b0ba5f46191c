/**
 * End to end on Ceph RGW (a production S3 implementation): `s3batch serve` runs as a subprocess,
 * jobs are driven through its JSON API, objects and reports are checked with the AWS SDK.
 */
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeKey, getText, jobRequest, putManifest, readReport } from '../helpers/jobs.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { requireCeph } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, putObjects, type S3ServerInfo } from '../helpers/s3-servers.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

const TRICKY_KEYS = [
  'plain.txt',
  'with space.txt',
  'plus+sign.txt',
  'amp&eq=q?.txt',
  'hash#pct%25.txt',
  'unicode/日本語/ファイル.txt',
  'emoji 😀.bin',
  'nested/a/b/c.txt',
  'quote\'"comma,.txt',
  'semi;colon:at@dollar$.txt',
  'tilde~bang!(paren)*star.txt',
];

let ceph: S3ServerInfo;
let s3: S3Client;
let src: string;
let reports: string;
const servers: ServerProcess[] = [];

async function serve(args: string[] = [], dataDir?: string): Promise<{ server: ServerProcess; api: JsonApi }> {
  const server = await startServerProcess({ s3: ceph, args, ...(dataDir ? { dataDir } : {}) });
  servers.push(server);
  return { server, api: new JsonApi(server.url) };
}

beforeAll(async () => {
  ceph = requireCeph();
  s3 = makeS3Client(ceph);
  src = await createTestBucket(s3, 'e2e-src');
  reports = await createTestBucket(s3, 'e2e-reports');
  await putObjects(s3, src, TRICKY_KEYS, (k) => `body of ${k}`);
});

afterEach(async () => {
  for (const s of servers.splice(0)) await s.kill('SIGTERM');
});

afterAll(() => s3?.destroy());

describe('jobs on Ceph RGW', () => {
  it('copies objects with tricky keys (spaces, +, &, ?, #, %, unicode, quotes) and reports each row', async () => {
    const { api } = await serve();
    const dst = await createTestBucket(s3, 'e2e-dst');
    const rows = [
      ...TRICKY_KEYS.map((key, i) => ({ bucket: src, key, plus: i % 2 === 0 })),
      { bucket: src, key: 'missing/gone.txt' },
    ];
    const { etag, rawKeys } = await putManifest(s3, src, 'manifests/copy.csv', rows);
    const { JobId } = await api.createJob(
      jobRequest({
        manifestBucket: src,
        manifestKey: 'manifests/copy.csv',
        etag,
        operation: {
          S3PutObjectCopy: {
            TargetResource: `arn:aws:s3:::${dst}`,
            TargetKeyPrefix: 'copied',
            MetadataDirective: 'COPY',
          },
        },
        reportBucket: reports,
        reportPrefix: 'batch/copy',
        confirmationRequired: false,
      }),
    );
    const done = await api.waitFor(JobId, ['Complete', 'Failed']);
    expect(done.Job.Status).toBe('Complete');
    expect(done.Job.ProgressSummary).toMatchObject({
      TotalNumberOfTasks: rows.length,
      NumberOfTasksSucceeded: TRICKY_KEYS.length,
      NumberOfTasksFailed: 1,
    });
    expect(done.StatusHistory.map((h) => h.status)).toEqual([
      'New',
      'Preparing',
      'Ready',
      'Active',
      'Completing',
      'Complete',
    ]);

    for (const key of TRICKY_KEYS) {
      const out = await s3.send(new GetObjectCommand({ Bucket: dst, Key: `copied/${key}` }));
      expect(await out.Body!.transformToString()).toBe(`body of ${key}`);
    }

    const report = await readReport(s3, reports, 'batch/copy', JobId);
    expect(report.manifest.Format).toBe('Report_CSV_20180820');
    expect(report.manifest.ReportSchema).toBe(
      'Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage',
    );
    expect(report.manifest.Results.map((r) => r.TaskExecutionStatus).sort()).toEqual(['failed', 'succeeded']);
    expect(
      report.manifest.Results.every(
        (r) => r.Bucket === reports && /^batch\/copy\/job-[0-9a-f-]+\/results\/[0-9a-f]{40}\.csv$/.test(r.Key),
      ),
    ).toBe(true);
    expect(report.rows).toHaveLength(rows.length);
    // Row by row: every manifest row exactly once, key as the manifest wrote it.
    for (let i = 0; i < TRICKY_KEYS.length; i++) {
      const matching = report.rows.filter((r) => r[1] === rawKeys[i]);
      expect(matching).toEqual([[src, rawKeys[i], '', 'succeeded', '200', '', 'Successful']]);
    }
    const failed = report.rows.filter((r) => r[3] === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.slice(0, 6)).toEqual([src, encodeKey('missing/gone.txt'), '', 'failed', '404', 'NoSuchKey']);
    // CRLF line endings and RFC 4180 quoting in the raw file.
    const failedText = report.files.get(report.manifest.Results.find((r) => r.TaskExecutionStatus === 'failed')!.Key)!;
    expect(failedText.endsWith('\r\n')).toBe(true);
  });

  it('tags objects with tricky keys, replacing their tag sets, and reports only failures when asked', async () => {
    const { api } = await serve();
    const rows = [...TRICKY_KEYS.map((key) => ({ bucket: src, key })), { bucket: src, key: 'missing/none.txt' }];
    const { etag, rawKeys } = await putManifest(s3, src, 'manifests/tag.csv', rows);
    const tagSet = [
      { Key: 'project', Value: 'blue' },
      { Key: 'owner', Value: 'data team' },
    ];
    const { JobId } = await api.createJob(
      jobRequest({
        manifestBucket: src,
        manifestKey: 'manifests/tag.csv',
        etag,
        operation: { S3PutObjectTagging: { TagSet: tagSet } },
        reportBucket: reports,
        scope: 'FailedTasksOnly',
        confirmationRequired: false,
      }),
    );
    const done = await api.waitFor(JobId, ['Complete', 'Failed']);
    expect(done.Job.Status).toBe('Complete');
    for (const key of TRICKY_KEYS) {
      const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: src, Key: key }));
      expect(tags.TagSet?.map((t) => [t.Key, t.Value]).sort()).toEqual([
        ['owner', 'data team'],
        ['project', 'blue'],
      ]);
    }
    const report = await readReport(s3, reports, undefined, JobId);
    expect(report.manifest.Results.map((r) => r.TaskExecutionStatus)).toEqual(['failed']);
    expect(report.rows).toEqual([
      [src, rawKeys[rawKeys.length - 1], '', 'failed', '404', 'NoSuchKey', expect.stringContaining('NoSuchKey')],
    ]);
  });

  it('a versioned manifest: a row with a VersionId tags that version only; an empty VersionId fails as AWS does', async () => {
    const { api } = await serve();
    const bucket = await createTestBucket(s3, 'e2e-versions');
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    const v1 = (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'doc.txt', Body: 'one' }))).VersionId!;
    const v2 = (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'doc.txt', Body: 'two' }))).VersionId!;
    const manifest = await putManifest(s3, bucket, 'manifest.csv', [
      { bucket, key: 'doc.txt', versionId: v1 },
      { bucket, key: 'doc.txt', versionId: '' },
    ]);
    const request = jobRequest({
      manifestBucket: bucket,
      manifestKey: 'manifest.csv',
      etag: manifest.etag,
      operation: { S3PutObjectTagging: { TagSet: [{ Key: 'old', Value: 'yes' }] } },
      reportBucket: reports,
      confirmationRequired: false,
    }) as { Manifest: { Spec: { Fields: string[] } } };
    request.Manifest.Spec.Fields = ['Bucket', 'Key', 'VersionId'];
    const { JobId } = await api.createJob(request);
    const view = await api.waitFor(JobId, ['Complete', 'Failed']);
    expect(view.Job.ProgressSummary).toMatchObject({
      TotalNumberOfTasks: 2,
      NumberOfTasksSucceeded: 1,
      NumberOfTasksFailed: 1,
    });
    const tagsOf = async (VersionId: string) =>
      (await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'doc.txt', VersionId }))).TagSet ?? [];
    expect(await tagsOf(v1)).toEqual([{ Key: 'old', Value: 'yes' }]);
    expect(await tagsOf(v2)).toEqual([]);
    const report = await readReport(s3, reports, undefined, JobId);
    expect(report.rows.find((r) => r[3] === 'failed')).toEqual([
      bucket,
      'doc.txt',
      '',
      'failed',
      '400',
      'InvalidRequest',
      'Task failed due to missing VersionId',
    ]);
  });

  it('fails a job of 1,000+ missing objects on the threshold and still writes its report', async () => {
    const { api } = await serve();
    const rows = Array.from({ length: 1100 }, (_, i) => ({ bucket: src, key: `missing/${i}.txt` }));
    const { etag } = await putManifest(s3, src, 'manifests/missing.csv', rows);
    const { JobId } = await api.createJob(
      jobRequest({
        manifestBucket: src,
        manifestKey: 'manifests/missing.csv',
        etag,
        operation: { S3DeleteObjectTagging: {} },
        reportBucket: reports,
        reportPrefix: 'thr',
        confirmationRequired: false,
      }),
    );
    const done = await api.waitFor(JobId, ['Complete', 'Failed']);
    expect(done.Job.Status).toBe('Failed');
    expect(done.Job.FailureReasons.map((f) => f.FailureCode)).toEqual(['TaskFailureThresholdExceeded']);
    expect(done.StatusHistory.map((h) => h.status).slice(-2)).toEqual(['Failing', 'Failed']);
    const p = done.Job.ProgressSummary;
    expect(p.NumberOfTasksFailed).toBeGreaterThanOrEqual(1000);
    expect(p.NumberOfTasksSucceeded).toBe(0);
    const report = await readReport(s3, reports, 'thr', JobId);
    expect(report.rows).toHaveLength(p.NumberOfTasksFailed);
    expect(new Set(report.rows.map((r) => r[1])).size).toBe(report.rows.length);
    expect(report.rows.every((r) => r[3] === 'failed' && r[4] === '404' && r[5] === 'NoSuchKey')).toBe(true);
  });

  it('waits in Suspended until confirmed (ConfirmationRequired absent), then runs', async () => {
    const { api } = await serve();
    const { etag } = await putManifest(s3, src, 'manifests/confirm.csv', [{ bucket: src, key: 'plain.txt' }]);
    const { JobId } = await api.createJob(
      jobRequest({
        manifestBucket: src,
        manifestKey: 'manifests/confirm.csv',
        etag,
        operation: { S3PutObjectTagging: { TagSet: [{ Key: 'confirmed', Value: 'yes' }] } },
        reportBucket: reports,
      }),
    );
    const suspended = await api.waitFor(JobId, 'Suspended');
    expect(suspended.Job.ConfirmationRequired).toBe(true);
    expect(suspended.Job.SuspendedDate).toBeDefined();
    expect(suspended.Job.ProgressSummary.TotalNumberOfTasks).toBe(1);
    // It stays there: a later look still finds it Suspended with nothing run.
    await new Promise((r) => setTimeout(r, 300));
    const still = await api.describe(JobId);
    expect(still.Job.Status).toBe('Suspended');
    expect(still.Job.ProgressSummary.NumberOfTasksSucceeded).toBe(0);
    const tagsBefore = await s3.send(new GetObjectTaggingCommand({ Bucket: src, Key: 'plain.txt' }));
    expect(tagsBefore.TagSet?.some((t) => t.Key === 'confirmed')).toBe(false);
    expect((await api.updateStatus(JobId, 'Ready', 'approved by ops')).Status).toBe('Ready');
    const done = await api.waitFor(JobId, 'Complete');
    expect(done.Job.StatusUpdateReason).toBe('approved by ops');
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: src, Key: 'plain.txt' }));
    expect(tags.TagSet).toEqual([{ Key: 'confirmed', Value: 'yes' }]);
  });
});

describe('copy details and job-level failures on Ceph RGW', () => {
  it('copies an object over the multipart threshold with multipart copy (threshold lowered by flag)', async () => {
    const { api } = await serve(['--multipart-copy-threshold', String(5 * 1024 * 1024)]);
    const dst = await createTestBucket(s3, 'e2e-mp');
    const big = Buffer.alloc(12 * 1024 * 1024 + 123, 0);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
    await putObjects(s3, src, ['big/twelve-mib.bin'], big);
    const { etag } = await putManifest(s3, src, 'manifests/big.csv', [
      { bucket: src, key: 'big/twelve-mib.bin' },
      { bucket: src, key: 'plain.txt' },
    ]);
    const { JobId } = await api.createJob(
      jobRequest({
        manifestBucket: src,
        manifestKey: 'manifests/big.csv',
        etag,
        operation: {
          S3PutObjectCopy: {
            TargetResource: `arn:aws:s3:::${dst}`,
            StorageClass: 'STANDARD_IA',
            NewObjectTagging: [{ Key: 'copied', Value: 'multipart' }],
          },
        },
        reportBucket: reports,
        confirmationRequired: false,
      }),
    );
    const done = await api.waitFor(JobId, ['Complete', 'Failed']);
    expect(done.Job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 2, NumberOfTasksFailed: 0 });
    const head = await s3.send(new HeadObjectCommand({ Bucket: dst, Key: 'big/twelve-mib.bin' }));
    expect(head.ContentLength).toBe(big.length);
    expect(head.ETag).toMatch(/-\d+"?$/); // a multipart object's ETag: md5-of-parts "-N"
    expect(head.StorageClass).toBe('STANDARD_IA');
    const body = await (
      await s3.send(new GetObjectCommand({ Bucket: dst, Key: 'big/twelve-mib.bin' }))
    ).Body!.transformToByteArray();
    expect(Buffer.compare(Buffer.from(body), big)).toBe(0);
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: dst, Key: 'big/twelve-mib.bin' }));
    expect(tags.TagSet).toEqual([{ Key: 'copied', Value: 'multipart' }]);
  });

  it('a report that cannot be written is a ReportWriteFailed reason; the job still completes', async () => {
    const { api } = await serve();
    const { etag } = await putManifest(s3, src, 'manifests/norep.csv', [{ bucket: src, key: 'plain.txt' }]);
    const { JobId } = await api.createJob(
      jobRequest({
        manifestBucket: src,
        manifestKey: 'manifests/norep.csv',
        etag,
        operation: { S3PutObjectTagging: { TagSet: [{ Key: 'a', Value: 'b' }] } },
        reportBucket: 'no-such-report-bucket-e2e',
        confirmationRequired: false,
        // CreateJob's access check would refuse the missing report bucket: skip it to reach the report write.
        extra: { SkipAccessCheck: true },
      }),
    );
    const done = await api.waitFor(JobId, ['Complete', 'Failed']);
    expect(done.Job.Status).toBe('Complete');
    expect(done.Job.ProgressSummary.NumberOfTasksSucceeded).toBe(1);
    expect(done.Job.FailureReasons.map((f) => f.FailureCode)).toEqual(['ReportWriteFailed']);
    expect(done.Report).toBeNull();
    // The server keeps serving.
    expect((await api.describe(JobId)).Job.JobId).toBe(JobId);
  });

  it('fails in Preparing with ManifestNotFound, ManifestETagMismatch and InvalidManifestContent, and writes no report', async () => {
    const { api } = await serve();
    const good = await putManifest(s3, src, 'manifests/ok.csv', [{ bucket: src, key: 'plain.txt' }]);
    await putObjects(s3, src, ['manifests/header.csv'], `Bucket,Key\n${src},plain.txt\n`);
    const header = await s3.send(new HeadObjectCommand({ Bucket: src, Key: 'manifests/header.csv' }));
    await putObjects(s3, src, ['manifests/badpct.csv'], `${src},plain.txt\n${src},bad%zzkey\n`);
    const badpct = await s3.send(new HeadObjectCommand({ Bucket: src, Key: 'manifests/badpct.csv' }));
    const op = { S3PutObjectTagging: { TagSet: [{ Key: 'never', Value: 'set' }] } };
    const cases: Array<[string, string, string, RegExp]> = [
      ['manifests/does-not-exist.csv', good.etag, 'ManifestNotFound', /./],
      ['manifests/ok.csv', '0123456789abcdef0123456789abcdef', 'ManifestETagMismatch', /./],
      ['manifests/header.csv', header.ETag!.replace(/"/g, ''), 'InvalidManifestContent', /header/i],
      ['manifests/badpct.csv', badpct.ETag!.replace(/"/g, ''), 'InvalidManifestContent', /line 2/i],
    ];
    for (const [key, etag, code, reason] of cases) {
      const { JobId } = await api.createJob(
        jobRequest({
          manifestBucket: src,
          manifestKey: key,
          etag,
          operation: op,
          reportBucket: reports,
          reportPrefix: 'never',
          confirmationRequired: false,
          // CreateJob's access check would refuse the first two: skip it, so that Preparing fails them.
          extra: { SkipAccessCheck: true },
        }),
      );
      const done = await api.waitFor(JobId, ['Failed', 'Complete']);
      expect(done.Job.Status).toBe('Failed');
      expect(done.Job.FailureReasons).toEqual([{ FailureCode: code, FailureReason: expect.stringMatching(reason) }]);
      expect(done.Job.ProgressSummary).toMatchObject({
        TotalNumberOfTasks: 0,
        NumberOfTasksSucceeded: 0,
        NumberOfTasksFailed: 0,
      });
      expect(done.StatusHistory.map((h) => h.status)).toEqual(['New', 'Preparing', 'Failing', 'Failed']);
      expect(done.Report).toBeNull();
    }
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: src, Key: 'plain.txt' }));
    expect(tags.TagSet?.some((t) => t.Key === 'never')).toBe(false);
  });
});

describe('scheduling, cancel and crash recovery on Ceph RGW', () => {
  const MANY = 1500;
  let manyKeys: string[];
  let bulk: string;

  beforeAll(async () => {
    bulk = await createTestBucket(s3, 'e2e-bulk');
    manyKeys = Array.from({ length: MANY }, (_, i) => `obj/${String(i).padStart(5, '0')}`);
    await putObjects(s3, bulk, manyKeys, 'x', 32);
  });

  const tagJob = async (
    api: JsonApi,
    name: string,
    keys: string[],
    priority: number,
    prefix: string,
  ): Promise<string> => {
    const { etag } = await putManifest(
      s3,
      bulk,
      `manifests/${name}.csv`,
      keys.map((key) => ({ bucket: bulk, key })),
    );
    const { JobId } = await api.createJob(
      jobRequest({
        manifestBucket: bulk,
        manifestKey: `manifests/${name}.csv`,
        etag,
        operation: { S3PutObjectTagging: { TagSet: [{ Key: 'job', Value: name }] } },
        reportBucket: reports,
        reportPrefix: prefix,
        priority,
        confirmationRequired: false,
      }),
    );
    return JobId;
  };

  it('a high-priority job pre-empts a running low-priority one: Pausing, Paused, then both Complete', async () => {
    const { api } = await serve(['--max-concurrent-tasks', '4', '--job-concurrency', '4', '--chunk-size', '50']);
    const low = await tagJob(api, 'low', manyKeys, 1, 'prio');
    await api.waitUntil(low, 'first tasks done', (v) => v.Job.ProgressSummary.NumberOfTasksSucceeded >= 50);
    const high = await tagJob(api, 'high', manyKeys.slice(0, 200), 100, 'prio');
    const highDone = await api.waitFor(high, 'Complete');
    const lowDone = await api.waitFor(low, 'Complete');
    const lowTrail = lowDone.StatusHistory.map((h) => h.status);
    expect(lowTrail).toEqual([
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
    // The high job ran while the low one was paused; the low one resumed once the high one needed
    // no more slots (its tasks done: Completing, while its report is written).
    const at = (trail: { status: string; at: string }[], status: string, nth = 0): number =>
      Date.parse(trail.filter((h) => h.status === status)[nth]!.at);
    expect(at(highDone.StatusHistory, 'Active')).toBeGreaterThanOrEqual(at(lowDone.StatusHistory, 'Paused'));
    expect(at(highDone.StatusHistory, 'Completing')).toBeLessThanOrEqual(at(lowDone.StatusHistory, 'Active', 1));
    expect(lowDone.Job.ProgressSummary.NumberOfTasksSucceeded).toBe(MANY);
    expect(highDone.Job.ProgressSummary.NumberOfTasksSucceeded).toBe(200);
    expect((await readReport(s3, reports, 'prio', low)).rows).toHaveLength(MANY);
  });

  it('cancel mid-job stops new tasks and writes a report of what ran', async () => {
    const { api } = await serve(['--job-concurrency', '4', '--chunk-size', '50']);
    const id = await tagJob(api, 'cancel', manyKeys, 5, 'cancel');
    await api.waitUntil(id, 'some tasks done', (v) => v.Job.ProgressSummary.NumberOfTasksSucceeded >= 100);
    expect((await api.updateStatus(id, 'Cancelled', 'stop it')).Status).toBe('Cancelling');
    const done = await api.waitFor(id, 'Cancelled');
    const ran = done.Job.ProgressSummary.NumberOfTasksSucceeded + done.Job.ProgressSummary.NumberOfTasksFailed;
    expect(ran).toBeGreaterThanOrEqual(100);
    expect(ran).toBeLessThan(MANY);
    expect(done.Job.TerminationDate).toBeDefined();
    const report = await readReport(s3, reports, 'cancel', id);
    expect(report.rows).toHaveLength(ran);
    expect(new Set(report.rows.map((r) => r[1])).size).toBe(ran);
    // Once Cancelled, no more requests are sent: the count does not move.
    await new Promise((r) => setTimeout(r, 300));
    expect((await api.describe(id)).Job.ProgressSummary.NumberOfTasksSucceeded).toBe(
      done.Job.ProgressSummary.NumberOfTasksSucceeded,
    );
  });

  it('SIGKILL mid-job, restart on the same data folder: the job completes and reports each task exactly once', async () => {
    const args = ['--job-concurrency', '4', '--chunk-size', '100'];
    const first = await serve(args);
    const id = await tagJob(first.api, 'crash', manyKeys, 5, 'crash');
    await first.api.waitUntil(id, 'a few chunks done', (v) => v.Job.ProgressSummary.NumberOfTasksSucceeded >= 300);
    await first.server.kill('SIGKILL');

    const second = await serve(args, first.server.dataDir);
    const done = await second.api.waitFor(id, ['Complete', 'Failed']);
    expect(done.Job.Status).toBe('Complete');
    expect(done.Job.ProgressSummary).toMatchObject({
      TotalNumberOfTasks: MANY,
      NumberOfTasksSucceeded: MANY,
      NumberOfTasksFailed: 0,
    });
    const report = await readReport(s3, reports, 'crash', id);
    expect(report.rows).toHaveLength(MANY);
    const reported = report.rows.map((r) => decodeURIComponent(r[1]!)).sort();
    expect(reported).toEqual([...manyKeys].sort());
    const head = await s3.send(new HeadObjectCommand({ Bucket: bulk, Key: manyKeys[MANY - 1] }));
    expect(head.$metadata.httpStatusCode).toBe(200);
    expect(await getText(s3, bulk, manyKeys[0]!)).toBe('x');
  });
});
