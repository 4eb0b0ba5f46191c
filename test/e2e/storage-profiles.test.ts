/**
 * RoleArn → storage profile: one s3batch acts on two S3 services at once. The server's own endpoint
 * (profile "default") is Ceph RGW; the profiles file adds s3rver as "archive". A job whose role is
 * named "archive" reads its manifest, copies and writes its report on s3rver; a job with any other
 * listed role works on Ceph; a role that maps to nothing is refused at CreateJob.
 */
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getText, jobRequest, putManifest, readReport } from '../helpers/jobs.ts';
import { ApiError, JsonApi } from '../helpers/json-api.ts';
import { requireCeph, requireS3rver } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, putObjects, type S3ServerInfo } from '../helpers/s3-servers.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

let ceph: S3ServerInfo;
let s3rver: S3ServerInfo;
let cephS3: S3Client;
let rvS3: S3Client;
let server: ServerProcess;
let api: JsonApi;

beforeAll(async () => {
  ceph = requireCeph();
  s3rver = requireS3rver();
  cephS3 = makeS3Client(ceph);
  rvS3 = makeS3Client(s3rver);
  server = await startServerProcess({
    s3: ceph,
    storageProfiles: {
      profiles: {
        archive: {
          endpoint: s3rver.endpoint,
          region: s3rver.region,
          accessKeyId: s3rver.accessKeyId,
          secretAccessKey: s3rver.secretAccessKey,
        },
      },
      roles: { 'arn:aws:iam::111122223333:role/batch-ops': 'default' },
    },
  });
  api = new JsonApi(server.url);
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  cephS3?.destroy();
  rvS3?.destroy();
});

describe('storage profiles selected by RoleArn', () => {
  it('runs a job on the profile its role names, and another on the default endpoint, side by side', async () => {
    const keys = ['one.txt', 'two/three.txt'];
    // archive profile: everything on s3rver
    const rvSrc = await createTestBucket(rvS3, 'prof-src');
    const rvDst = await createTestBucket(rvS3, 'prof-dst');
    await putObjects(rvS3, rvSrc, keys, (k) => `archive ${k}`);
    const rvManifest = await putManifest(
      rvS3,
      rvSrc,
      'manifest.csv',
      keys.map((key) => ({ bucket: rvSrc, key })),
    );
    const archiveJob = await api.createJob(
      jobRequest({
        manifestBucket: rvSrc,
        manifestKey: 'manifest.csv',
        etag: rvManifest.etag,
        operation: { S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${rvDst}` } },
        reportBucket: rvDst,
        reportPrefix: 'reports',
        confirmationRequired: false,
        extra: { RoleArn: 'arn:aws:iam::111122223333:role/archive' },
      }),
    );
    // default profile (Ceph), chosen through the explicit "roles" entry
    const cSrc = await createTestBucket(cephS3, 'prof-src');
    const cDst = await createTestBucket(cephS3, 'prof-dst');
    await putObjects(cephS3, cSrc, keys, (k) => `ceph ${k}`);
    const cManifest = await putManifest(
      cephS3,
      cSrc,
      'manifest.csv',
      keys.map((key) => ({ bucket: cSrc, key })),
    );
    const cephJob = await api.createJob(
      jobRequest({
        manifestBucket: cSrc,
        manifestKey: 'manifest.csv',
        etag: cManifest.etag,
        operation: { S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${cDst}` } },
        reportBucket: cDst,
        reportPrefix: 'reports',
        confirmationRequired: false,
      }),
    );

    const a = await api.waitFor(archiveJob.JobId, ['Complete', 'Failed']);
    const c = await api.waitFor(cephJob.JobId, ['Complete', 'Failed']);
    expect(a.Job.Status, JSON.stringify(a.Job.FailureReasons)).toBe('Complete');
    expect(c.Job.Status, JSON.stringify(c.Job.FailureReasons)).toBe('Complete');
    for (const key of keys) {
      expect(await getText(rvS3, rvDst, key)).toBe(`archive ${key}`);
      expect(await getText(cephS3, cDst, key)).toBe(`ceph ${key}`);
    }
    // Each job touched only its own endpoint: the archive copies do not exist on Ceph and the report
    // of each job is in its own store.
    await expect(
      cephS3.send(new HeadObjectCommand({ Bucket: cDst, Key: `reports/job-${archiveJob.JobId}/manifest.json` })),
    ).rejects.toThrow();
    const archiveReport = await readReport(rvS3, rvDst, 'reports', archiveJob.JobId);
    const cephReport = await readReport(cephS3, cDst, 'reports', cephJob.JobId);
    expect(archiveReport.rows.map((r) => r[3])).toEqual(['succeeded', 'succeeded']);
    expect(cephReport.rows.map((r) => r[3])).toEqual(['succeeded', 'succeeded']);
  });

  it('refuses a role that maps to no profile at CreateJob, naming the profiles', async () => {
    const err = await api
      .createJob(
        jobRequest({
          manifestBucket: 'b',
          manifestKey: 'm.csv',
          etag: 'e',
          operation: { S3PutObjectTagging: { TagSet: [] } },
          reportBucket: 'b',
          extra: { RoleArn: 'arn:aws:iam::111122223333:role/unknown-role' },
        }),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('InvalidRequest');
    expect((err as ApiError).message).toMatch(/role\/unknown-role maps to no storage profile.*default, archive/);
  });
});
