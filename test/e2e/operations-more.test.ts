/**
 * End to end on Ceph RGW: one job per operation kind (ACL, legal hold, retention, checksum,
 * restore, update-encryption) created through the JSON API of a real `s3batch serve` subprocess,
 * run to Complete, checked on the objects (AWS SDK) and row by row in the completion report.
 */
import { randomBytes, createHash } from 'node:crypto';
import {
  CreateBucketCommand,
  GetObjectAclCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobRequest, putManifest, readReport, type ManifestRow } from '../helpers/jobs.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { requireCeph } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, uniqueBucketName, type S3ServerInfo } from '../helpers/s3-servers.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

const MiB = 1024 * 1024;
const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';

let ceph: S3ServerInfo;
let s3: S3Client;
let src: string;
let locked: string;
let reports: string;
let server: ServerProcess;
let api: JsonApi;

beforeAll(async () => {
  ceph = requireCeph();
  s3 = makeS3Client(ceph);
  src = await createTestBucket(s3, 'e2e-more-src');
  reports = await createTestBucket(s3, 'e2e-more-reports');
  locked = uniqueBucketName('e2e-more-locked');
  await s3.send(new CreateBucketCommand({ Bucket: locked, ObjectLockEnabledForBucket: true }));
  server = await startServerProcess({ s3: ceph });
  api = new JsonApi(server.url);
});

afterAll(async () => {
  await server?.kill('SIGTERM');
  s3?.destroy();
});

async function put(bucket: string, key: string, body: string | Uint8Array = key): Promise<string> {
  return (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))).VersionId ?? '';
}

/** Runs one job over `rows` to a terminal state and returns its view and report rows (sorted by key). */
async function runJob(name: string, rows: ManifestRow[], operation: Record<string, unknown>, versioned = false) {
  const { etag } = await putManifest(s3, src, `manifests/${name}.csv`, rows);
  const request = jobRequest({
    manifestBucket: src,
    manifestKey: `manifests/${name}.csv`,
    etag,
    operation,
    reportBucket: reports,
    reportPrefix: name,
    confirmationRequired: false,
  });
  if (versioned) (request.Manifest as { Spec: { Fields: string[] } }).Spec.Fields = ['Bucket', 'Key', 'VersionId'];
  const { JobId } = await api.createJob(request);
  const done = await api.waitFor(JobId, ['Complete', 'Failed', 'Cancelled']);
  const report = await readReport(s3, reports, name, JobId);
  return { done, rows: [...report.rows].sort((a, b) => (a[1]! < b[1]! ? -1 : a[1]! > b[1]! ? 1 : 0)) };
}

describe('operation kinds end to end on Ceph RGW', () => {
  it('S3PutObjectAcl: canned public-read on every object', async () => {
    const keys = ['acl/a.txt', 'acl/b c.txt'];
    for (const k of keys) await put(src, k);
    const { done, rows } = await runJob(
      'acl',
      keys.map((key) => ({ bucket: src, key })),
      { S3PutObjectAcl: { AccessControlPolicy: { CannedAccessControlList: 'public-read' } } },
    );
    expect(done.Job.Status).toBe('Complete');
    expect(done.Job.ProgressSummary).toMatchObject({
      TotalNumberOfTasks: 2,
      NumberOfTasksSucceeded: 2,
      NumberOfTasksFailed: 0,
    });
    expect(rows).toEqual([
      [src, 'acl/a.txt', '', 'succeeded', '200', '', 'Successful'],
      [src, 'acl/b%20c.txt', '', 'succeeded', '200', '', 'Successful'],
    ]);
    for (const k of keys) {
      const acl = await s3.send(new GetObjectAclCommand({ Bucket: src, Key: k }));
      expect(
        acl.Grants?.some((g) => g.Grantee?.URI === ALL_USERS && g.Permission === 'READ'),
        k,
      ).toBe(true);
    }
  });

  it("S3PutObjectLegalHold: ON for the manifest's versions on an Object Lock bucket", async () => {
    const v1 = await put(locked, 'hold/x.txt', 'one');
    const v2 = await put(locked, 'hold/y.txt', 'two');
    const { done, rows } = await runJob(
      'hold',
      [
        { bucket: locked, key: 'hold/x.txt', versionId: v1 },
        { bucket: locked, key: 'hold/y.txt', versionId: v2 },
      ],
      { S3PutObjectLegalHold: { LegalHold: { Status: 'ON' } } },
      true,
    );
    expect(done.Job.Status).toBe('Complete');
    expect(rows).toEqual([
      [locked, 'hold/x.txt', v1, 'succeeded', '200', '', 'Successful'],
      [locked, 'hold/y.txt', v2, 'succeeded', '200', '', 'Successful'],
    ]);
    expect(
      (await s3.send(new GetObjectLegalHoldCommand({ Bucket: locked, Key: 'hold/x.txt', VersionId: v1 }))).LegalHold
        ?.Status,
    ).toBe('ON');
    expect(
      (await s3.send(new GetObjectLegalHoldCommand({ Bucket: locked, Key: 'hold/y.txt', VersionId: v2 }))).LegalHold
        ?.Status,
    ).toBe('ON');
  });

  it('S3PutObjectRetention: GOVERNANCE until a date; a bucket without Object Lock fails its row', async () => {
    await put(locked, 'ret/x.txt');
    await put(src, 'ret/nolock.txt');
    const until = new Date(Date.now() + 30 * 60_000).toISOString();
    const { done, rows } = await runJob(
      'retention',
      [
        { bucket: locked, key: 'ret/x.txt' },
        { bucket: src, key: 'ret/nolock.txt' },
      ],
      {
        S3PutObjectRetention: { Retention: { Mode: 'GOVERNANCE', RetainUntilDate: until } },
      },
    );
    expect(done.Job.Status).toBe('Complete');
    expect(done.Job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 1, NumberOfTasksFailed: 1 });
    const byKey = new Map(rows.map((r) => [r[1], r]));
    expect(byKey.get('ret/x.txt')).toEqual([locked, 'ret/x.txt', '', 'succeeded', '200', '', 'Successful']);
    expect(byKey.get('ret/nolock.txt')?.slice(0, 6)).toEqual([
      src,
      'ret/nolock.txt',
      '',
      'failed',
      '400',
      'InvalidRequest',
    ]);
    const got = await s3.send(new GetObjectRetentionCommand({ Bucket: locked, Key: 'ret/x.txt' }));
    expect(got.Retention).toEqual({ Mode: 'GOVERNANCE', RetainUntilDate: new Date(until) });
  });

  it('S3ComputeObjectChecksum: SHA256 of an empty, a small and a 6 MiB object as JSON in ResultMessage', async () => {
    const bodies: Record<string, Buffer> = {
      'ck/empty.bin': Buffer.alloc(0),
      'ck/small,"quoted".txt': Buffer.from('hello'),
      'ck/big.bin': randomBytes(6 * MiB + 5),
    };
    for (const [k, b] of Object.entries(bodies)) await put(src, k, b);
    const { done, rows } = await runJob(
      'checksum',
      Object.keys(bodies).map((key) => ({ bucket: src, key })),
      { S3ComputeObjectChecksum: { ChecksumAlgorithm: 'SHA256', ChecksumType: 'FULL_OBJECT' } },
    );
    expect(done.Job.Status).toBe('Complete');
    expect(done.Job.ProgressSummary).toMatchObject({ TotalNumberOfTasks: 3, NumberOfTasksSucceeded: 3 });
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      const key = decodeURIComponent(row[1]!);
      const body = bodies[key]!;
      expect(row.slice(0, 6), key).toEqual([src, row[1], '', 'succeeded', '200', '']);
      expect(JSON.parse(row[6]!), key).toEqual({
        checksumAlgorithm: 'SHA256',
        checksumType: 'FULL_OBJECT',
        checksum: createHash('sha256').update(body).digest('base64'),
        size: body.length,
      });
    }
  });

  // (That 501 is not retried is asserted on the handler's outcome in test/integration/operations-more.test.ts.)
  it('S3InitiateRestoreObject: Complete, every row failed 501 NotImplemented (Ceph has no restore)', async () => {
    await put(src, 'restore/a.txt');
    await put(src, 'restore/b.txt');
    const { done, rows } = await runJob(
      'restore',
      [
        { bucket: src, key: 'restore/a.txt' },
        { bucket: src, key: 'restore/b.txt' },
      ],
      { S3InitiateRestoreObject: { ExpirationInDays: 2, GlacierJobTier: 'BULK' } },
    );
    expect(done.Job.Status).toBe('Complete');
    expect(done.Job.ProgressSummary).toMatchObject({
      TotalNumberOfTasks: 2,
      NumberOfTasksSucceeded: 0,
      NumberOfTasksFailed: 2,
    });
    expect(rows.map((r) => r.slice(0, 6))).toEqual([
      [src, 'restore/a.txt', '', 'failed', '501', 'NotImplemented'],
      [src, 'restore/b.txt', '', 'failed', '501', 'NotImplemented'],
    ]);
    expect(rows[0]![6]).toMatch(/Error Code: NotImplemented/);
  });

  it("S3UpdateObjectEncryption: Complete, every row failed with Ceph's refusal of the self-copy", async () => {
    await put(src, 'enc/a.txt');
    const { done, rows } = await runJob('encryption', [{ bucket: src, key: 'enc/a.txt' }], {
      S3UpdateObjectEncryption: {
        ObjectEncryption: {
          SSEKMS: { KMSKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
        },
      },
    });
    expect(done.Job.Status).toBe('Complete');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.slice(0, 6)).toEqual([src, 'enc/a.txt', '', 'failed', '400', 'InvalidRequest']);
    expect(rows[0]![6]).toMatch(/^This copy request is illegal because it is trying to copy an object to itself/);
  });

  it('CreateJob refuses an invalid member with 400 InvalidRequest naming the field', async () => {
    const { etag } = await putManifest(s3, src, 'manifests/bad.csv', [{ bucket: src, key: 'x' }]);
    const bad = [
      [
        { S3PutObjectAcl: { AccessControlPolicy: {} } },
        /AccessControlPolicy must contain exactly one of AccessControlList and CannedAccessControlList/,
      ],
      [
        { S3PutObjectLegalHold: { LegalHold: { Status: 'MAYBE' } } },
        /S3PutObjectLegalHold\.LegalHold\.Status must be one of ON, OFF/,
      ],
      [
        { S3PutObjectRetention: { Retention: { Mode: 'GOVERNANCE', RetainUntilDate: '2001-01-01T00:00:00Z' } } },
        /RetainUntilDate .* must be in the future/,
      ],
      [
        { S3InitiateRestoreObject: { GlacierJobTier: 'EXPEDITED' } },
        /S3InitiateRestoreObject\.GlacierJobTier must be one of BULK, STANDARD/,
      ],
      [
        { S3ComputeObjectChecksum: { ChecksumAlgorithm: 'CRC64NVME', ChecksumType: 'COMPOSITE' } },
        /COMPOSITE is not available for CRC64NVME/,
      ],
      [{ S3UpdateObjectEncryption: { ObjectEncryption: { SSEKMS: { KMSKeyArn: 'alias/mine' } } } }, /KMSKeyArn/],
    ] as const;
    for (const [operation, message] of bad) {
      const err = await api
        .createJob(
          jobRequest({ manifestBucket: src, manifestKey: 'manifests/bad.csv', etag, operation, reportBucket: reports }),
        )
        .then(
          () => undefined,
          (e: { status: number; code: string; message: string }) => e,
        );
      expect(err, JSON.stringify(operation)).toMatchObject({ status: 400, code: 'InvalidRequest' });
      expect(err!.message).toMatch(message);
    }
  });
});
