/**
 * S3DeleteObject and dry run, end to end on Ceph RGW: `s3batch serve` as a subprocess behind a
 * pass-through proxy that counts the requests it sends to Ceph, jobs through the JSON API and the
 * S3 Control API (the real @aws-sdk/client-s3-control), objects and reports checked with the SDK.
 *
 *  - delete: 300 objects go away in a few DeleteObjects requests (batching), each row reported;
 *    exact versions on a versioned bucket (the others stay); a plain delete on a versioned
 *    bucket leaves a delete marker and says so; the reserved LambdaInvoke FunctionArn deletes,
 *    from the JSON API and from the SDK, and nothing else does.
 *  - dry run: copy, tagging and delete jobs change nothing (listings, ETags, tags and versions
 *    identical before and after), end Complete with counts and bytes, and report "would …" rows;
 *    a missing object is a failed row; an unwritable report location fails the job clearly.
 */
import { randomBytes } from 'node:crypto';
import {
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CreateJobCommand, DescribeJobCommand, type S3ControlClient } from '@aws-sdk/client-s3-control';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.ts';
import { jobRequest, putManifest, readReport } from '../helpers/jobs.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { requireCeph, requireS3rver } from '../helpers/provided.ts';
import { hostPrefixClient, waitForJob, writeApiKeysFile, type ApiKey } from '../helpers/s3control.ts';
import { createTestBucket, makeS3Client, putObjects, type S3ServerInfo } from '../helpers/s3-servers.ts';
import { startServerProcess, tempDataDir, type ServerProcess } from '../helpers/server-process.ts';

const DELETE_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:s3batch-delete-objects';
const KEY: ApiKey = {
  accessKeyId: 'DELETETESTKEY0000001',
  secretAccessKey: randomBytes(30).toString('base64url'),
  accountId: '111122223333',
};
const DRY_RUN_TAG = { Key: 's3batch:dry-run', Value: 'true' };

let ceph: S3ServerInfo;
let s3: S3Client;
let proxy: FaultProxy;
let server: ServerProcess;
let api: JsonApi;
let control: S3ControlClient;
let reports: string;
/** Requests the server sent to Ceph, by kind. */
const sent = { deleteObjects: 0, deleteObject: 0, put: 0, copy: 0, tagging: 0, head: 0 };

beforeAll(async () => {
  ceph = requireCeph();
  s3 = makeS3Client(ceph);
  reports = await createTestBucket(s3, 'del-rep');
  // No faults: the proxy only counts what the engine sends (by method and query).
  proxy = await startFaultProxy(ceph.endpoint, (req) => {
    const url = req.url ?? '';
    if (req.method === 'POST' && /[?&]delete(=|&|$)/.test(url)) sent.deleteObjects++;
    else if (req.method === 'DELETE' && !/[?&]tagging/.test(url)) sent.deleteObject++;
    else if (req.method === 'PUT' && /[?&]tagging/.test(url)) sent.tagging++;
    else if (req.method === 'PUT' && req.headers['x-amz-copy-source']) sent.copy++;
    else if (req.method === 'PUT') sent.put++;
    else if (req.method === 'HEAD') sent.head++;
    return undefined;
  });
  const dataDir = tempDataDir('s3batch-delete-');
  server = await startServerProcess({
    s3: { ...ceph, endpoint: proxy.endpoint },
    dataDir,
    env: { S3BATCH_API_KEYS_FILE: writeApiKeysFile(dataDir, [KEY]) },
  });
  api = new JsonApi(server.url);
  control = hostPrefixClient(server.url, KEY);
});

afterAll(async () => {
  control?.destroy();
  await server?.kill('SIGTERM');
  await proxy?.close();
  s3?.destroy();
});

function counts(): typeof sent {
  return { ...sent };
}

async function listKeys(bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    keys.push(...(out.Contents ?? []).map((o) => o.Key!));
    token = out.NextContinuationToken;
  } while (token);
  return keys.sort();
}

/** Every key, ETag and tag set of the bucket, and every version and delete marker. */
async function snapshot(bucket: string): Promise<unknown> {
  const objects: Record<string, { etag: string; tags: string }> = {};
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  for (const o of out.Contents ?? []) {
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: o.Key! }));
    objects[o.Key!] = {
      etag: o.ETag!,
      tags: (tags.TagSet ?? [])
        .map((t) => `${t.Key}=${t.Value}`)
        .sort()
        .join('&'),
    };
  }
  const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
  return {
    objects,
    versions: (versions.Versions ?? []).map((v) => `${v.Key}@${v.VersionId}:${v.ETag}`).sort(),
    markers: (versions.DeleteMarkers ?? []).map((m) => `${m.Key}@${m.VersionId}`).sort(),
  };
}

async function versioned(prefix: string): Promise<string> {
  const bucket = await createTestBucket(s3, prefix);
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  return bucket;
}

async function putVersion(bucket: string, key: string, body: string): Promise<string> {
  return (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))).VersionId!;
}

async function runJob(request: Record<string, unknown>, statuses = ['Complete', 'Failed']) {
  const { JobId } = await api.createJob(request);
  const view = await api.waitFor(JobId, statuses, 120_000);
  return { JobId, view };
}

describe('S3DeleteObject on Ceph RGW', () => {
  it('deletes 300 objects in a few DeleteObjects requests and reports every row', async () => {
    const bucket = await createTestBucket(s3, 'del-many');
    const keys = Array.from({ length: 300 }, (_, i) => `obj/${String(i).padStart(4, '0')} +&.txt`);
    await putObjects(s3, bucket, [...keys, 'keep/me.txt']);
    const { etag } = await putManifest(
      s3,
      bucket,
      'manifest.csv',
      keys.map((key) => ({ bucket, key })),
    );
    const before = counts();
    const { JobId, view } = await runJob(
      jobRequest({
        manifestBucket: bucket,
        manifestKey: 'manifest.csv',
        etag,
        operation: { S3DeleteObject: {} },
        reportBucket: reports,
        reportPrefix: 'del',
        confirmationRequired: false,
      }),
    );
    expect(view.Job.Status).toBe('Complete');
    expect(view.Job.ProgressSummary).toMatchObject({
      TotalNumberOfTasks: 300,
      NumberOfTasksSucceeded: 300,
      NumberOfTasksFailed: 0,
    });
    expect(await listKeys(bucket)).toEqual(['keep/me.txt', 'manifest.csv']);

    const requests = {
      deleteObjects: sent.deleteObjects - before.deleteObjects,
      deleteObject: sent.deleteObject - before.deleteObject,
    };
    // One DeleteObjects per batch of concurrent tasks (64 by default): far fewer requests than tasks.
    expect(requests.deleteObject).toBe(0);
    expect(requests.deleteObjects).toBeGreaterThan(0);
    expect(requests.deleteObjects).toBeLessThanOrEqual(30);

    const report = await readReport(s3, reports, 'del', JobId);
    expect(report.rows).toHaveLength(300);
    for (const row of report.rows) expect(row.slice(3)).toEqual(['succeeded', '200', '', 'Successful']);
  });

  it('keys XML cannot carry (control characters, carriage return) are deleted too, without failing their batch', async () => {
    const bucket = await createTestBucket(s3, 'del-odd');
    const keys = ['ctl\u0001char', 'line\rfeed', 'tab\tkey', ...Array.from({ length: 20 }, (_, i) => `plain/${i}`)];
    await putObjects(s3, bucket, keys);
    const { etag } = await putManifest(
      s3,
      bucket,
      'odd.csv',
      keys.map((key) => ({ bucket, key })),
    );
    const { view } = await runJob(
      jobRequest({
        manifestBucket: bucket,
        manifestKey: 'odd.csv',
        etag,
        operation: { S3DeleteObject: {} },
        reportBucket: reports,
        confirmationRequired: false,
      }),
    );
    expect(view.Job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: keys.length, NumberOfTasksFailed: 0 });
    expect(await listKeys(bucket)).toEqual(['odd.csv']);
  });

  it('deletes exactly the listed versions; the other versions stay', async () => {
    const bucket = await versioned('del-ver');
    const a1 = await putVersion(bucket, 'a.txt', 'a1');
    const a2 = await putVersion(bucket, 'a.txt', 'a2');
    const a3 = await putVersion(bucket, 'a.txt', 'a3');
    const b1 = await putVersion(bucket, 'b.txt', 'b1');
    const b2 = await putVersion(bucket, 'b.txt', 'b2');
    const { etag } = await putManifest(s3, bucket, 'versions.csv', [
      { bucket, key: 'a.txt', versionId: a1 },
      { bucket, key: 'a.txt', versionId: a3 },
      { bucket, key: 'b.txt', versionId: b2 },
    ]);
    const request = jobRequest({
      manifestBucket: bucket,
      manifestKey: 'versions.csv',
      etag,
      operation: { S3DeleteObject: {} },
      reportBucket: reports,
      confirmationRequired: false,
    });
    (request.Manifest as { Spec: { Fields: string[] } }).Spec.Fields = ['Bucket', 'Key', 'VersionId'];
    const { JobId, view } = await runJob(request);
    expect(view.Job.Status).toBe('Complete');
    expect(view.Job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 3, NumberOfTasksFailed: 0 });

    const out = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: '' }));
    const left = (out.Versions ?? [])
      .filter((v) => v.Key !== 'versions.csv')
      .map((v) => `${v.Key}@${v.VersionId}`)
      .sort();
    expect(left).toEqual([`a.txt@${a2}`, `b.txt@${b1}`].sort());
    expect(out.DeleteMarkers ?? []).toEqual([]);
    // b.txt's current version is now b1 again
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'b.txt' }))).VersionId).toBe(b1);

    const report = await readReport(s3, reports, undefined, JobId);
    expect(report.rows.map((r) => [r[1], r[2], r[3], r[6]]).sort()).toEqual(
      [
        ['a.txt', a1, 'succeeded', `Successful (deleted version ${a1})`],
        ['a.txt', a3, 'succeeded', `Successful (deleted version ${a3})`],
        ['b.txt', b2, 'succeeded', `Successful (deleted version ${b2})`],
      ].sort(),
    );
  });

  it('a plain delete on a versioned bucket leaves a delete marker, keeps the versions and says so', async () => {
    const bucket = await versioned('del-plain');
    const c1 = await putVersion(bucket, 'c.txt', 'c1');
    const { etag } = await putManifest(s3, bucket, 'plain.csv', [{ bucket, key: 'c.txt' }]);
    const { JobId, view } = await runJob(
      jobRequest({
        manifestBucket: bucket,
        manifestKey: 'plain.csv',
        etag,
        operation: { S3DeleteObject: {} },
        reportBucket: reports,
        confirmationRequired: false,
      }),
    );
    expect(view.Job.Status).toBe('Complete');
    const out = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'c.txt' }));
    expect((out.Versions ?? []).map((v) => v.VersionId)).toEqual([c1]);
    expect(out.DeleteMarkers).toHaveLength(1);
    const marker = out.DeleteMarkers![0]!.VersionId!;
    const report = await readReport(s3, reports, undefined, JobId);
    expect(report.rows).toHaveLength(1);
    expect(report.rows[0]![6]).toBe(
      `Successful (plain delete: the bucket is versioned, so delete marker ${marker} now hides the object; its versions remain)`,
    );
  });

  it('the reserved LambdaInvoke FunctionArn deletes, from the JSON API and from the S3 Control SDK', async () => {
    const bucket = await createTestBucket(s3, 'del-lambda');
    await putObjects(s3, bucket, ['json/1', 'json/2', 'sdk/1', 'sdk/2', 'sdk/3', 'stay']);
    const json = await putManifest(
      s3,
      bucket,
      'json.csv',
      ['json/1', 'json/2'].map((key) => ({ bucket, key })),
    );
    const viaJson = await runJob(
      jobRequest({
        manifestBucket: bucket,
        manifestKey: 'json.csv',
        etag: json.etag,
        operation: { LambdaInvoke: { FunctionArn: DELETE_ARN } },
        reportBucket: reports,
        confirmationRequired: false,
      }),
    );
    expect(viaJson.view.Job.Status).toBe('Complete');
    expect(viaJson.view.Job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 2, NumberOfTasksFailed: 0 });

    const sdk = await putManifest(
      s3,
      bucket,
      'sdk.csv',
      ['sdk/1', 'sdk/2', 'sdk/3'].map((key) => ({ bucket, key })),
    );
    const created = await control.send(
      new CreateJobCommand({
        AccountId: KEY.accountId,
        ConfirmationRequired: false,
        // A region of the model's pattern works as well as us-east-1: the region is not part of the reservation.
        Operation: {
          LambdaInvoke: {
            FunctionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:s3batch-delete-objects',
            InvocationSchemaVersion: '2.0',
            UserArguments: { BypassGovernanceRetention: 'false' },
          },
        },
        Manifest: {
          Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
          Location: { ObjectArn: `arn:aws:s3:::${bucket}/sdk.csv`, ETag: sdk.etag },
        },
        Report: {
          Enabled: true,
          Bucket: `arn:aws:s3:::${reports}`,
          Format: 'Report_CSV_20180820',
          Prefix: 'sdk',
          ReportScope: 'AllTasks',
        },
        Priority: 10,
        RoleArn: 'arn:aws:iam::111122223333:role/batch-ops',
      }),
    );
    const done = await waitForJob(control, KEY.accountId, created.JobId!, ['Complete', 'Failed'], 60_000);
    expect(done.Status).toBe('Complete');
    expect(done.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 3, NumberOfTasksFailed: 0 });
    const described = await control.send(new DescribeJobCommand({ AccountId: KEY.accountId, JobId: created.JobId! }));
    expect(described.Job?.Operation?.LambdaInvoke?.FunctionArn).toMatch(/s3batch-delete-objects$/);

    expect(await listKeys(bucket)).toEqual(['json.csv', 'sdk.csv', 'stay']);
  });

  it('without the explicit request nothing is deleted: a tagging job, and a reserved-looking ARN of another account', async () => {
    const bucket = await createTestBucket(s3, 'del-none');
    await putObjects(s3, bucket, ['x', 'y']);
    const { etag } = await putManifest(
      s3,
      bucket,
      'm.csv',
      ['x', 'y'].map((key) => ({ bucket, key })),
    );
    const before = counts();
    const tagging = await runJob(
      jobRequest({
        manifestBucket: bucket,
        manifestKey: 'm.csv',
        etag,
        operation: { S3PutObjectTagging: { TagSet: [{ Key: 'k', Value: 'v' }] } },
        reportBucket: reports,
        confirmationRequired: false,
      }),
    );
    expect(tagging.view.Job.Status).toBe('Complete');
    // An ARN in another account is an ordinary Lambda function, never the built-in delete (this
    // one does not exist, so its tasks fail, or CreateJob refuses it); either way nothing is deleted.
    let other: { view: Awaited<ReturnType<typeof api.waitFor>> } | undefined;
    try {
      other = await runJob(
        jobRequest({
          manifestBucket: bucket,
          manifestKey: 'm.csv',
          etag,
          reportBucket: reports,
          confirmationRequired: false,
          operation: {
            LambdaInvoke: { FunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:s3batch-delete-objects' },
          },
        }),
      );
    } catch (err) {
      expect((err as Error).message).toMatch(/InvalidRequest/);
    }
    if (other) expect(other.view.Job.ProgressSummary.NumberOfTasksSucceeded).toBe(0);
    expect(await listKeys(bucket)).toEqual(['m.csv', 'x', 'y']);
    expect(sent.deleteObjects - before.deleteObjects + sent.deleteObject - before.deleteObject).toBe(0);
  });
});

describe('S3DeleteObject on s3rver', () => {
  it('deletes through the embedded default S3 too', async () => {
    const s3rver = requireS3rver();
    const local = makeS3Client(s3rver);
    const bucket = await createTestBucket(local, 'del-s3rver');
    const keys = Array.from({ length: 40 }, (_, i) => `k ${i}`);
    await putObjects(local, bucket, [...keys, 'stay']);
    const { etag } = await putManifest(
      local,
      bucket,
      'm.csv',
      keys.map((key) => ({ bucket, key })),
    );
    const other = await startServerProcess({ s3: s3rver });
    try {
      const otherApi = new JsonApi(other.url);
      const { JobId } = await otherApi.createJob(
        jobRequest({
          manifestBucket: bucket,
          manifestKey: 'm.csv',
          etag,
          operation: { S3DeleteObject: {} },
          reportBucket: bucket,
          confirmationRequired: false,
        }),
      );
      const view = await otherApi.waitFor(JobId, ['Complete', 'Failed'], 60_000);
      expect(view.Job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 40, NumberOfTasksFailed: 0 });
      const out = await local.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'k' }));
      expect(out.Contents ?? []).toEqual([]);
      expect((await local.send(new HeadObjectCommand({ Bucket: bucket, Key: 'stay' }))).ContentLength).toBe(4);
    } finally {
      await other.kill('SIGTERM');
      local.destroy();
    }
  });
});

describe('dry run on Ceph RGW', () => {
  let src: string;
  let dst: string;
  const KEYS = ['a.txt', 'dir/b c.txt', 'unicode/ü.txt'];
  const sizes: Record<string, number> = {};

  beforeAll(async () => {
    src = await versioned('dry-src');
    dst = await createTestBucket(s3, 'dry-dst');
    for (const [i, key] of KEYS.entries()) {
      const body = 'x'.repeat(100 * (i + 1));
      sizes[key] = body.length;
      await putVersion(src, key, body);
      await s3.send(
        new PutObjectTaggingCommand({
          Bucket: src,
          Key: key,
          Tagging: { TagSet: [{ Key: 'orig', Value: String(i) }] },
        }),
      );
    }
    await putObjects(s3, dst, ['copied/a.txt'], 'an older copy');
  });

  async function dryRun(name: string, operation: Record<string, unknown>, rows: { bucket: string; key: string }[]) {
    const { etag } = await putManifest(s3, reports, `dry/${name}.csv`, rows);
    const beforeSrc = await snapshot(src);
    const beforeDst = await snapshot(dst);
    const before = counts();
    const job = await runJob(
      jobRequest({
        manifestBucket: reports,
        manifestKey: `dry/${name}.csv`,
        etag,
        operation,
        reportBucket: reports,
        reportPrefix: `dry-${name}`,
        confirmationRequired: false,
        extra: { Tags: [DRY_RUN_TAG] },
      }),
    );
    expect(await snapshot(src)).toEqual(beforeSrc);
    expect(await snapshot(dst)).toEqual(beforeDst);
    // Nothing that writes reached the job's buckets: no copy, tagging or delete request at all.
    expect({
      copy: sent.copy - before.copy,
      tagging: sent.tagging - before.tagging,
      deleteObjects: sent.deleteObjects - before.deleteObjects,
    }).toEqual({ copy: 0, tagging: 0, deleteObjects: 0 });
    const report = await readReport(s3, reports, `dry-${name}`, job.JobId);
    return { ...job, report };
  }

  const allRows = (): { bucket: string; key: string }[] => [
    ...KEYS.map((key) => ({ bucket: src, key })),
    { bucket: src, key: 'missing.txt' },
  ];
  const totalBytes = (): number => KEYS.reduce((n, k) => n + sizes[k]!, 0);

  it('a copy job changes nothing, ends Complete with counts and bytes, and reports what it would copy where', async () => {
    const { view, report } = await dryRun(
      'copy',
      { S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${dst}`, TargetKeyPrefix: 'copied' } },
      allRows(),
    );
    expect(view.Job.Status).toBe('Complete');
    expect(view.Job.ProgressSummary).toMatchObject({
      TotalNumberOfTasks: 4,
      NumberOfTasksSucceeded: 3,
      NumberOfTasksFailed: 1,
    });
    expect((view as unknown as { DryRun: unknown }).DryRun).toEqual({
      Tasks: 4,
      Objects: 3,
      Failed: 1,
      Bytes: totalBytes(),
    });
    const ok = report.rows
      .filter((r) => r[3] === 'succeeded')
      .map((r) => r[6])
      .sort();
    expect(ok).toEqual(
      KEYS.map((k) => `DryRun: would S3PutObjectCopy to arn:aws:s3:::${dst}/copied/${k} (${sizes[k]} bytes)`).sort(),
    );
    const bad = report.rows.filter((r) => r[3] === 'failed');
    expect(bad.map((r) => [r[1], r[4], r[5]])).toEqual([['missing.txt', '404', 'NoSuchKey']]);
  });

  it('a tagging job changes no tag and reports the tag set it would write', async () => {
    const { view, report } = await dryRun(
      'tagging',
      { S3PutObjectTagging: { TagSet: [{ Key: 'new', Value: 'tag' }] } },
      allRows(),
    );
    expect(view.Job.Status).toBe('Complete');
    expect((view as unknown as { DryRun: unknown }).DryRun).toEqual({
      Tasks: 4,
      Objects: 3,
      Failed: 1,
      Bytes: totalBytes(),
    });
    expect(
      report.rows
        .filter((r) => r[3] === 'succeeded')
        .map((r) => r[6])
        .sort(),
    ).toEqual(
      KEYS.map((k) => `DryRun: would S3PutObjectTagging: replace the tag set with new=tag (${sizes[k]} bytes)`).sort(),
    );
  });

  it('a delete job deletes nothing (no version, no delete marker) and reports what it would delete', async () => {
    const { view, report } = await dryRun('delete', { S3DeleteObject: {} }, allRows());
    expect(view.Job.Status).toBe('Complete');
    expect((view as unknown as { DryRun: unknown }).DryRun).toEqual({
      Tasks: 4,
      Objects: 3,
      Failed: 1,
      Bytes: totalBytes(),
    });
    for (const row of report.rows.filter((r) => r[3] === 'succeeded')) {
      expect(row[6]).toMatch(
        /^DryRun: would delete the object \(a plain delete: on a versioned bucket a delete marker, all versions kept\) \(\d+ bytes\)$/,
      );
    }
    // The reserved LambdaInvoke form is dry-run the same way.
    const viaLambda = await dryRun(
      'delete-lambda',
      { LambdaInvoke: { FunctionArn: DELETE_ARN } },
      KEYS.map((key) => ({ bucket: src, key })),
    );
    expect(viaLambda.view.Job.Status).toBe('Complete');
    expect(viaLambda.view.Job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 3, NumberOfTasksFailed: 0 });
  });

  it('an unwritable report location fails the dry run in Preparing with ReportLocationNotWritable', async () => {
    const { etag } = await putManifest(
      s3,
      reports,
      'dry/unwritable.csv',
      KEYS.map((key) => ({ bucket: src, key })),
    );
    const { view } = await runJob(
      jobRequest({
        manifestBucket: reports,
        manifestKey: 'dry/unwritable.csv',
        etag,
        operation: { S3DeleteObject: {} },
        reportBucket: 'no-such-report-bucket-s3batch-dry',
        confirmationRequired: false,
        // Past CreateJob's access check (it would refuse the missing bucket), so that Preparing fails the job.
        extra: { Tags: [DRY_RUN_TAG], SkipAccessCheck: true },
      }),
    );
    expect(view.Job.Status).toBe('Failed');
    expect(view.Job.FailureReasons).toEqual([
      {
        FailureCode: 'ReportLocationNotWritable',
        FailureReason: expect.stringMatching(
          /^Dry run: the report location s3:\/\/no-such-report-bucket-s3batch-dry\/ is not writable \(404 NoSuchBucket\)/,
        ),
      },
    ]);
    expect(view.StatusHistory.map((h) => h.status)).toEqual(['New', 'Preparing', 'Failing', 'Failed']);
    expect(view.Job.ProgressSummary.TotalNumberOfTasks).toBe(0);
  });
});
