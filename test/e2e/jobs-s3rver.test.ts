/**
 * The core scenario on s3rver, the embedded default: a copy job and a tagging job end to end,
 * and the newcomer's path — `s3batch serve --local` with nothing else configured.
 * (s3rver cannot copy keys with `; ? : @ & = + $ , #` — see shared/reference/s3rver.md — so the
 * tricky-key cases run on Ceph RGW in jobs-ceph.test.ts.)
 */
import { GetObjectCommand, GetObjectTaggingCommand, type S3Client as Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jobRequest, putManifest, readReport } from '../helpers/jobs.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { requireS3rver } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, putObjects, type S3ServerInfo } from '../helpers/s3-servers.ts';
import { embeddedS3Client, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

const KEYS = ['a.txt', 'with space.txt', 'unicode/日本語.txt', 'deep/er/path/file.bin', 'dash-under_score.txt'];

let s3rver: S3ServerInfo;
let s3: Client;
const servers: ServerProcess[] = [];

beforeAll(() => {
  s3rver = requireS3rver();
  s3 = makeS3Client(s3rver);
});
afterEach(async () => {
  for (const s of servers.splice(0)) await s.kill('SIGTERM');
});
afterAll(() => s3?.destroy());

describe('jobs on s3rver', () => {
  it('runs a copy job and a tagging job end to end with their reports', async () => {
    const server = await startServerProcess({ s3: s3rver });
    servers.push(server);
    const api = new JsonApi(server.url);
    const src = await createTestBucket(s3, 'rv-src');
    const dst = await createTestBucket(s3, 'rv-dst');
    const reports = await createTestBucket(s3, 'rv-rep');
    await putObjects(s3, src, KEYS, (k) => `content ${k}`);

    const copyManifest = await putManifest(s3, src, 'm/copy.csv', [
      ...KEYS.map((key) => ({ bucket: src, key })),
      { bucket: src, key: 'nope.txt' },
    ]);
    const copy = await api.createJob(
      jobRequest({
        manifestBucket: src,
        manifestKey: 'm/copy.csv',
        etag: copyManifest.etag,
        operation: { S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${dst}`, TargetKeyPrefix: 'backup/' } },
        reportBucket: reports,
        reportPrefix: 'r',
        confirmationRequired: false,
      }),
    );
    const copyDone = await api.waitFor(copy.JobId, ['Complete', 'Failed']);
    expect(copyDone.Job.Status).toBe('Complete');
    expect(copyDone.Job.ProgressSummary).toMatchObject({
      TotalNumberOfTasks: 6,
      NumberOfTasksSucceeded: 5,
      NumberOfTasksFailed: 1,
    });
    for (const key of KEYS) {
      const out = await s3.send(new GetObjectCommand({ Bucket: dst, Key: `backup/${key}` }));
      expect(await out.Body!.transformToString()).toBe(`content ${key}`);
    }
    const copyReport = await readReport(s3, reports, 'r', copy.JobId);
    expect(copyReport.rows).toHaveLength(6);
    for (let i = 0; i < KEYS.length; i++) {
      expect(copyReport.rows.filter((r) => r[1] === copyManifest.rawKeys[i])).toEqual([
        [src, copyManifest.rawKeys[i], '', 'succeeded', '200', '', 'Successful'],
      ]);
    }
    expect(copyReport.rows.find((r) => r[1] === 'nope.txt')?.slice(3, 6)).toEqual(['failed', '404', 'NoSuchKey']);

    const tagManifest = await putManifest(
      s3,
      src,
      'm/tag.csv',
      KEYS.map((key) => ({ bucket: src, key })),
    );
    const tag = await api.createJob(
      jobRequest({
        manifestBucket: src,
        manifestKey: 'm/tag.csv',
        etag: tagManifest.etag,
        operation: { S3PutObjectTagging: { TagSet: [{ Key: 'tier', Value: 'gold' }] } },
        reportBucket: reports,
        reportPrefix: 'r',
        confirmationRequired: false,
      }),
    );
    expect((await api.waitFor(tag.JobId, ['Complete', 'Failed'])).Job.Status).toBe('Complete');
    for (const key of KEYS) {
      const t = await s3.send(new GetObjectTaggingCommand({ Bucket: src, Key: key }));
      expect(t.TagSet).toEqual([{ Key: 'tier', Value: 'gold' }]);
    }
    expect((await readReport(s3, reports, 'r', tag.JobId)).rows.map((r) => r[3])).toEqual(Array(5).fill('succeeded'));
  });
});

describe('s3batch serve --local (the embedded default)', () => {
  it('starts its own S3 with a demo bucket and runs a job there', async () => {
    const server = await startServerProcess();
    servers.push(server);
    expect(server.s3Endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const local = embeddedS3Client(server);
    try {
      await putObjects(local, 's3batch-demo', ['photos/1.jpg', 'photos/2.jpg']);
      const m = await putManifest(local, 's3batch-demo', 'manifest.csv', [
        { bucket: 's3batch-demo', key: 'photos/1.jpg' },
        { bucket: 's3batch-demo', key: 'photos/2.jpg' },
      ]);
      const api = new JsonApi(server.url);
      const { JobId } = await api.createJob(
        jobRequest({
          manifestBucket: 's3batch-demo',
          manifestKey: 'manifest.csv',
          etag: m.etag,
          operation: { S3PutObjectTagging: { TagSet: [{ Key: 'reviewed', Value: 'yes' }] } },
          reportBucket: 's3batch-demo',
          reportPrefix: 'reports',
        }),
      );
      // ConfirmationRequired absent: AWS parks the job in Suspended until confirmed.
      await api.waitFor(JobId, 'Suspended');
      await api.updateStatus(JobId, 'Ready');
      const done = await api.waitFor(JobId, 'Complete');
      expect(done.Job.ProgressSummary.NumberOfTasksSucceeded).toBe(2);
      expect(done.Report?.files.map((f) => f.taskStatus)).toEqual(['succeeded']);
      expect((await readReport(local, 's3batch-demo', 'reports', JobId)).rows).toHaveLength(2);
    } finally {
      local.destroy();
    }
  });
});
