/**
 * S3ReplicateObject end to end: replication rules in the storage profiles file send objects of a
 * Ceph RGW bucket to a versioned bucket reached through another profile ("dr", the same Ceph here:
 * a second Ceph is not available on this machine) version by version, and to s3rver (a different
 * S3 service, profile "archive"); data, metadata, content type and tags travel along.
 */
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeKey, getText, readReport } from '../helpers/jobs.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { requireCeph, requireS3rver } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, type S3ServerInfo } from '../helpers/s3-servers.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

let ceph: S3ServerInfo;
let s3rver: S3ServerInfo;
let cephS3: S3Client;
let rvS3: S3Client;
let server: ServerProcess;
let api: JsonApi;
const b = { src: '', crossSrc: '', dst: '', archive: '', reports: '' };

beforeAll(async () => {
  ceph = requireCeph();
  s3rver = requireS3rver();
  cephS3 = makeS3Client(ceph);
  rvS3 = makeS3Client(s3rver);
  b.src = await createTestBucket(cephS3, 'repl-src');
  b.crossSrc = await createTestBucket(cephS3, 'repl-xsrc');
  b.dst = await createTestBucket(cephS3, 'repl-dst');
  b.reports = await createTestBucket(cephS3, 'repl-rep');
  b.archive = await createTestBucket(rvS3, 'repl-archive');
  for (const bucket of [b.src, b.dst]) {
    await cephS3.send(
      new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
    );
  }
  server = await startServerProcess({
    s3: ceph,
    storageProfiles: {
      profiles: {
        dr: { endpoint: ceph.endpoint, accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
        archive: {
          endpoint: s3rver.endpoint,
          accessKeyId: s3rver.accessKeyId,
          secretAccessKey: s3rver.secretAccessKey,
        },
      },
      roles: { 'arn:aws:iam::111122223333:role/batch-ops': 'default' },
      replication: [
        { sourceBucket: b.src, prefix: 'docs/', destinationProfile: 'dr', destinationBucket: b.dst },
        { sourceBucket: b.crossSrc, destinationProfile: 'archive', destinationBucket: b.archive },
      ],
    },
  });
  api = new JsonApi(server.url);
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  cephS3?.destroy();
  rvS3?.destroy();
});

function replicateJob(
  manifestBucket: string,
  manifestKey: string,
  etag: string,
  fields: string[],
): Record<string, unknown> {
  return {
    ConfirmationRequired: false,
    Operation: { S3ReplicateObject: {} },
    Manifest: {
      Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: fields },
      Location: { ObjectArn: `arn:aws:s3:::${manifestBucket}/${manifestKey}`, ETag: etag },
    },
    Report: {
      Enabled: true,
      Bucket: `arn:aws:s3:::${b.reports}`,
      Format: 'Report_CSV_20180820',
      ReportScope: 'AllTasks',
    },
    Priority: 10,
    RoleArn: 'arn:aws:iam::111122223333:role/batch-ops',
  };
}

async function putManifest(bucket: string, key: string, lines: string[]): Promise<string> {
  const out = await cephS3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: lines.map((l) => `${l}\n`).join('') }),
  );
  return (out.ETag ?? '').replace(/"/g, '');
}

describe('S3ReplicateObject', () => {
  it('replicates listed versions in order, with metadata and tags, and fails objects no rule covers', async () => {
    const versions: string[] = [];
    for (const body of ['first', 'second', 'third']) {
      const out = await cephS3.send(new PutObjectCommand({ Bucket: b.src, Key: 'docs/report.txt', Body: body }));
      versions.push(out.VersionId!);
    }
    const meta = await cephS3.send(
      new PutObjectCommand({
        Bucket: b.src,
        Key: 'docs/with meta.json',
        Body: '{"a":1}',
        ContentType: 'application/json',
        CacheControl: 'max-age=60',
        Metadata: { owner: 'team-a' },
        Tagging: 'class=gold&stage=raw',
      }),
    );
    const outside = await cephS3.send(new PutObjectCommand({ Bucket: b.src, Key: 'other/not-covered.txt', Body: 'x' }));
    const rows = [
      ...versions.map((v) => `${b.src},docs/report.txt,${v}`),
      `${b.src},${encodeKey('docs/with meta.json')},${meta.VersionId}`,
      `${b.src},other/not-covered.txt,${outside.VersionId}`,
    ];
    const etag = await putManifest(b.src, 'manifest.csv', rows);
    const { JobId } = await api.createJob(replicateJob(b.src, 'manifest.csv', etag, ['Bucket', 'Key', 'VersionId']));
    const view = await api.waitFor(JobId, ['Complete', 'Failed']);
    expect(view.Job.Status, JSON.stringify(view.Job.FailureReasons)).toBe('Complete');
    expect(view.Job.ProgressSummary).toMatchObject({
      TotalNumberOfTasks: 5,
      NumberOfTasksSucceeded: 4,
      NumberOfTasksFailed: 1,
    });

    // Version by version: the destination holds three versions, oldest to newest as listed.
    const listed = await cephS3.send(new ListObjectVersionsCommand({ Bucket: b.dst, Prefix: 'docs/report.txt' }));
    const dstVersions = (listed.Versions ?? []).filter((v) => v.Key === 'docs/report.txt');
    expect(dstVersions).toHaveLength(3);
    const newestFirst = [...dstVersions].sort(
      (x, y) => y.LastModified!.getTime() - x.LastModified!.getTime() || (y.IsLatest ? 1 : 0) - (x.IsLatest ? 1 : 0),
    );
    expect(newestFirst[0]!.IsLatest).toBe(true);
    expect(await getText(cephS3, b.dst, 'docs/report.txt')).toBe('third');
    const bodies = await Promise.all(dstVersions.map((v) => getText(cephS3, b.dst, 'docs/report.txt', v.VersionId)));
    expect(bodies.sort()).toEqual(['first', 'second', 'third']);

    const head = await cephS3.send(new HeadObjectCommand({ Bucket: b.dst, Key: 'docs/with meta.json' }));
    expect(head.ContentType).toBe('application/json');
    expect(head.CacheControl).toBe('max-age=60');
    expect(head.Metadata).toEqual({ owner: 'team-a' });
    const tags = await cephS3.send(new GetObjectTaggingCommand({ Bucket: b.dst, Key: 'docs/with meta.json' }));
    expect(tags.TagSet?.map((t) => `${t.Key}=${t.Value}`).sort()).toEqual(['class=gold', 'stage=raw']);
    await expect(cephS3.send(new HeadObjectCommand({ Bucket: b.dst, Key: 'other/not-covered.txt' }))).rejects.toThrow();

    const report = await readReport(cephS3, b.reports, undefined, JobId);
    const failedRows = report.rows.filter((r) => r[3] === 'failed');
    expect(failedRows).toEqual([
      [
        b.src,
        'other/not-covered.txt',
        outside.VersionId!,
        'failed',
        '400',
        'NoReplicationRule',
        expect.stringMatching(/No replication rule/),
      ],
    ]);
  });

  it('replicates to another S3 service (Ceph RGW → s3rver)', async () => {
    const keys = ['a.txt', 'nested/b.txt', 'big.bin'];
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    for (const key of keys) {
      await cephS3.send(
        new PutObjectCommand({ Bucket: b.crossSrc, Key: key, Body: key === 'big.bin' ? big : `cross ${key}` }),
      );
    }
    const etag = await putManifest(
      b.crossSrc,
      'manifest.csv',
      keys.map((k) => `${b.crossSrc},${k}`),
    );
    const { JobId } = await api.createJob(replicateJob(b.crossSrc, 'manifest.csv', etag, ['Bucket', 'Key']));
    const view = await api.waitFor(JobId, ['Complete', 'Failed']);
    expect(view.Job.Status, JSON.stringify(view.Job.FailureReasons)).toBe('Complete');
    expect(view.Job.ProgressSummary.NumberOfTasksSucceeded).toBe(3);
    expect(await getText(rvS3, b.archive, 'a.txt')).toBe('cross a.txt');
    expect(await getText(rvS3, b.archive, 'nested/b.txt')).toBe('cross nested/b.txt');
    const copied = await rvS3.send(new GetObjectCommand({ Bucket: b.archive, Key: 'big.bin' }));
    expect(Buffer.from(await copied.Body!.transformToByteArray()).equals(big)).toBe(true);
  });

  it('refuses fields in S3ReplicateObject at CreateJob', async () => {
    const err = await api
      .createJob({
        ...replicateJob(b.src, 'm.csv', 'e', ['Bucket', 'Key']),
        Operation: { S3ReplicateObject: { Destination: 'x' } },
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'InvalidRequest' });
  });
});
