/**
 * `removed` on the account's event stream, against the real `s3batch serve` process on Ceph RGW
 * with a job retention of 0.00002 days (≈ 1.7 s; the sweep then runs every second): once a job has
 * ended and its retention passed, its account's stream gets `event: removed` `{"JobId"}` (after the
 * job's terminal status) and the job is gone from the API; another account's stream gets only its
 * own job's `removed`, never this one's.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobRequest, putObjectsAndManifest } from '../helpers/jobs.ts';
import { basicAuth, JsonApi, ApiError } from '../helpers/json-api.ts';
import { requireCeph } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client } from '../helpers/s3-servers.ts';
import { writeApiKeysFile } from '../helpers/s3control.ts';
import {
  startServerProcess,
  tempDataDir,
  TEST_API_KEY,
  type ServerProcess,
  type TestApiKey,
} from '../helpers/server-process.ts';
import { openSse, type SseEvent, type SseStream } from '../helpers/sse.ts';

const OTHER: TestApiKey = {
  accessKeyId: 'S3BATCHRMOTHER00001',
  secretAccessKey: 'removed-other-account-secret-00001',
  accountId: '444455556666',
};

let s3: S3Client;
let bucket: string;
let etag: string;
let server: ServerProcess;
let api: JsonApi;
let otherApi: JsonApi;
const streams: SseStream[] = [];

const json = <T = Record<string, unknown>>(e: SseEvent): T => JSON.parse(e.data) as T;

async function open(key: Pick<TestApiKey, 'accessKeyId' | 'secretAccessKey'>): Promise<SseStream> {
  const s = await openSse(`${server.url}/api/v1/events`, { authorization: basicAuth(key) });
  streams.push(s);
  expect(s.response.status).toBe(200);
  return s;
}

function request(): Record<string, unknown> {
  return jobRequest({
    manifestBucket: bucket,
    manifestKey: 'm.csv',
    etag,
    operation: { S3PutObjectTagging: { TagSet: [{ Key: 'rm', Value: 'soon' }] } },
    reportBucket: bucket,
    reportPrefix: 'reports',
    confirmationRequired: false,
  });
}

beforeAll(async () => {
  const ceph = requireCeph();
  s3 = makeS3Client(ceph);
  bucket = await createTestBucket(s3, 'sse-removed');
  const keys = ['o/1', 'o/2', 'o/3'];
  etag = await putObjectsAndManifest(s3, bucket, 'm.csv', keys, 'x');
  const dataDir = tempDataDir('s3batch-sse-removed-');
  const keysFile = writeApiKeysFile(dataDir, [OTHER]);
  server = await startServerProcess({
    s3: ceph,
    dataDir,
    args: ['--job-retention-days', '0.00002', '--api-keys-file', keysFile],
  });
  api = new JsonApi(server.url);
  otherApi = new JsonApi(server.url, OTHER.accountId, { key: OTHER });
});

afterAll(async () => {
  for (const s of streams) s.close();
  await server?.kill('SIGTERM');
  s3?.destroy();
});

describe('GET /api/v1/events: removed', () => {
  it('the account stream says `removed` {JobId} once the ended job is deleted; another account hears only of its own', async () => {
    const mine = await open(TEST_API_KEY);
    const theirs = await open(OTHER);
    const { JobId } = await api.createJob(request());
    const { JobId: otherJobId } = await otherApi.createJob(request());

    const removed = await mine.waitFor((e) => e.event === 'removed', 'removed', 30_000);
    expect(json(removed)).toEqual({ JobId });
    // It follows the job's terminal status.
    const events = mine.events();
    const complete = events.findIndex(
      (e) => e.event === 'status' && json(e).JobId === JobId && json(e).To === 'Complete',
    );
    expect(complete).toBeGreaterThanOrEqual(0);
    expect(complete).toBeLessThan(events.indexOf(removed));
    // The job is gone.
    const gone = await api.describe(JobId).catch((err: unknown) => err);
    expect(gone).toBeInstanceOf(ApiError);
    expect((gone as ApiError).status).toBe(404);

    // The other account's stream: its own job's removed, nothing of this account's job.
    const theirsRemoved = await theirs.waitFor((e) => e.event === 'removed', 'removed (other account)', 30_000);
    expect(json(theirsRemoved)).toEqual({ JobId: otherJobId });
    // (Both removals were sent by then: the hub delivers one removal to every stream at once.)
    expect(theirs.events().filter((e) => e.data.includes(JobId))).toEqual([]);
    expect(mine.events().filter((e) => e.data.includes(otherJobId))).toEqual([]);
    expect(mine.events().filter((e) => e.event === 'removed')).toHaveLength(1);
  });
});
