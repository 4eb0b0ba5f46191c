/**
 * Server-sent events of the JSON API against the real `s3batch serve` process on Ceph RGW, read
 * with fetch and the tests' SSE parser (test/helpers/sse.ts):
 *  - a job's stream: `job` (the job view), every status change in order, `progress` coalesced
 *    (far fewer events than tasks, counters never going back, a TasksPerSecond), then `end` with
 *    the final view, and the server closes the stream; an ended job gets `job` + `end` at once;
 *  - the account stream sees its own jobs' events and never another account's;
 *  - an unknown or another account's job is a JSON 404 before any stream, no credentials a 401;
 *  - `: ping` heartbeats (S3BATCH_SSE_HEARTBEAT_SECONDS=1 here);
 *  - clients that go away leave no subscription behind (the s3batch_event_streams gauge);
 *  - stopping the server ends open streams instead of waiting for them.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobRequest, putManifest, putObjectsAndManifest } from '../helpers/jobs.ts';
import { basicAuth, JsonApi } from '../helpers/json-api.ts';
import { parsePrometheusText } from '../helpers/prometheus.ts';
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

const TASKS = 2000;
/** A second account, to check isolation. */
const OTHER: TestApiKey = {
  accessKeyId: 'S3BATCHSSEOTHER0001',
  secretAccessKey: 'sse-other-account-secret-000000001',
  accountId: '444455556666',
};

let s3: S3Client;
let bucket: string;
let manifestEtag: string;
let smallEtag: string;
let server: ServerProcess;
let api: JsonApi;
let otherApi: JsonApi;
const streams: SseStream[] = [];

const auth = (key: Pick<TestApiKey, 'accessKeyId' | 'secretAccessKey'> = TEST_API_KEY): Record<string, string> => ({
  authorization: basicAuth(key),
});
const json = <T = Record<string, unknown>>(e: SseEvent): T => JSON.parse(e.data) as T;

async function open(
  pathname: string,
  key: Pick<TestApiKey, 'accessKeyId' | 'secretAccessKey'> = TEST_API_KEY,
): Promise<SseStream> {
  const s = await openSse(`${server.url}${pathname}`, auth(key));
  streams.push(s);
  return s;
}

function tagging(manifestKey: string, etag: string, confirmationRequired: boolean): Record<string, unknown> {
  return jobRequest({
    manifestBucket: bucket,
    manifestKey,
    etag,
    operation: { S3PutObjectTagging: { TagSet: [{ Key: 'sse', Value: 'seen' }] } },
    reportBucket: bucket,
    reportPrefix: 'reports',
    confirmationRequired,
  });
}

async function streamGauge(): Promise<number> {
  const res = await fetch(`${server.url}/metrics`);
  return parsePrometheusText(await res.text()).value('s3batch_event_streams') ?? Number.NaN;
}

async function waitForGauge(value: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  let last = await streamGauge();
  while (last !== value && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    last = await streamGauge();
  }
  expect(last).toBe(value);
}

beforeAll(async () => {
  const ceph = requireCeph();
  s3 = makeS3Client(ceph);
  bucket = await createTestBucket(s3, 'sse');
  const keys = Array.from({ length: TASKS }, (_, i) => `o/${i}`);
  manifestEtag = await putObjectsAndManifest(s3, bucket, 'big.csv', keys, 'x');
  smallEtag = (
    await putManifest(
      s3,
      bucket,
      'small.csv',
      keys.slice(0, 5).map((key) => ({ bucket, key })),
    )
  ).etag;
  const dataDir = tempDataDir('s3batch-sse-');
  const keysFile = writeApiKeysFile(dataDir, [OTHER]);
  server = await startServerProcess({
    s3: ceph,
    dataDir,
    // Few tasks at once: the 2,000-task job runs for seconds, long enough to see progress move.
    args: ['--job-concurrency', '8', '--max-concurrent-tasks', '8', '--api-keys-file', keysFile],
    env: { S3BATCH_SSE_HEARTBEAT_SECONDS: '1' },
  });
  api = new JsonApi(server.url);
  otherApi = new JsonApi(server.url, OTHER.accountId, { key: OTHER });
});

afterAll(async () => {
  for (const s of streams) s.close();
  await server?.kill('SIGTERM');
  s3?.destroy();
});

describe('GET /api/v1/jobs/:id/events', () => {
  let bigJobId = '';

  it('job, each status change, coalesced progress with a rate, end; then the server closes the stream', async () => {
    const { JobId } = await api.createJob(tagging('big.csv', manifestEtag, true));
    bigJobId = JobId;
    const stream = await open(`/api/v1/jobs/${JobId}/events`);
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(stream.response.headers.get('cache-control')).toBe('no-cache');
    expect(stream.response.headers.get('x-accel-buffering')).toBe('no');

    const first = await stream.waitFor(() => true, 'the first event', 10_000);
    expect(first.event).toBe('job');
    const firstView = json<{ Job: { JobId: string; Status: string }; StatusHistory: unknown[] }>(first);
    expect(firstView.Job.JobId).toBe(JobId);
    expect(['New', 'Preparing', 'Suspended']).toContain(firstView.Job.Status);
    // The same JSON as GET /jobs/:id (apart from what moved since).
    expect(Object.keys(firstView).sort()).toEqual(Object.keys(await api.describe(JobId)).sort());

    if (firstView.Job.Status !== 'Suspended')
      await stream.waitFor((e) => e.event === 'status' && json(e).To === 'Suspended', 'status → Suspended', 30_000);
    await api.updateStatus(JobId, 'Ready');
    expect(await stream.ended(120_000)).toBe(true);

    const events = stream.events();
    expect(events[0]!.event).toBe('job');
    const last = events.at(-1)!;
    expect(last.event).toBe('end');
    const end = json<{
      Job: {
        Status: string;
        ProgressSummary: { TotalNumberOfTasks: number; NumberOfTasksSucceeded: number; NumberOfTasksFailed: number };
      };
      Report: unknown;
    }>(last);
    expect(end.Job.Status).toBe('Complete');
    expect(end.Job.ProgressSummary).toMatchObject({
      TotalNumberOfTasks: TASKS,
      NumberOfTasksSucceeded: TASKS,
      NumberOfTasksFailed: 0,
    });
    expect(end.Report).not.toBeNull();
    expect(events.filter((e) => e.event === 'end')).toHaveLength(1);

    // Status changes: a chain from the first view's status to Complete, through Active.
    const statuses = events
      .filter((e) => e.event === 'status')
      .map((e) => json<{ JobId: string; From: string; To: string; At: string }>(e));
    let at = firstView.Job.Status;
    for (const s of statuses) {
      expect(s.JobId).toBe(JobId);
      expect(s.From).toBe(at);
      expect(Number.isNaN(Date.parse(s.At))).toBe(false);
      at = s.To;
    }
    expect(statuses.map((s) => s.To)).toEqual(expect.arrayContaining(['Ready', 'Active', 'Completing', 'Complete']));
    expect(statuses.at(-1)!.To).toBe('Complete');
    expect(events.at(-2)!.event).toBe('status');

    // Progress: several events, counters never going back, a rate; far fewer events than tasks.
    const progress = events.filter((e) => e.event === 'progress');
    const bodies = progress.map((e) =>
      json<
        Record<string, unknown> & {
          NumberOfTasksSucceeded: number;
          NumberOfTasksFailed: number;
          TasksPerSecond: number;
          EtaSeconds: number | null;
        }
      >(e),
    );
    expect(progress.length).toBeGreaterThanOrEqual(3);
    for (const p of bodies) {
      expect(Object.keys(p).sort()).toEqual(
        [
          'Discovery',
          'ElapsedTimeInActiveSeconds',
          'EtaSeconds',
          'JobId',
          'NumberOfTasksFailed',
          'NumberOfTasksSucceeded',
          'Status',
          'TasksPerSecond',
          'TotalNumberOfTasks',
          'FailuresByCode',
          'PercentComplete',
          'BytesProcessed',
          'AverageBytesPerSecond',
          'BytesPerSecond',
        ].sort(),
      );
      expect(p.JobId).toBe(JobId);
      // A tagging job from a CSV manifest: an exact percent, no bytes processed.
      expect(p.PercentComplete).toMatchObject({ Estimated: false, EstimateBasis: null });
      expect([p.BytesProcessed, p.AverageBytesPerSecond, p.BytesPerSecond]).toEqual([null, null, null]);
      expect(p.EtaSeconds === null || (Number.isInteger(p.EtaSeconds) && p.EtaSeconds >= 0)).toBe(true);
    }
    const done = bodies.map((p) => p.NumberOfTasksSucceeded + p.NumberOfTasksFailed);
    for (let i = 1; i < done.length; i++) expect(done[i]!).toBeGreaterThanOrEqual(done[i - 1]!);
    expect(done.at(-1)).toBe(TASKS);
    // A CSV manifest tells no object sizes: the bytes are unknown (null), not 0.
    expect(bodies.at(-1)!.Discovery).toEqual({
      ObjectsListed: TASKS,
      ObjectsFound: TASKS,
      TotalBytes: null,
      ListingComplete: true,
    });
    // Sent only when something moved (the counters, or the status with the same counters).
    expect(new Set(bodies.map((p, i) => `${p.Status}:${done[i]}`)).size).toBe(bodies.length);
    expect(Math.max(...bodies.map((p) => p.TasksPerSecond))).toBeGreaterThan(0);
    expect(bodies.some((p) => p.Status === 'Active' && typeof p.EtaSeconds === 'number')).toBe(true);
    // At most one per 250 ms (plus the final one), measured on arrival.
    const span = progress.at(-1)!.at - progress[0]!.at;
    expect(progress.length).toBeLessThanOrEqual(Math.floor(span / 250) + 3);
    expect(progress.length).toBeLessThan(TASKS / 10);
  });

  it('a job that already ended: job, then end, then the stream closes', async () => {
    expect(bigJobId).not.toBe('');
    const stream = await open(`/api/v1/jobs/${bigJobId}/events`);
    expect(await stream.ended(10_000)).toBe(true);
    expect(stream.events().map((e) => e.event)).toEqual(['job', 'end']);
    const [job, end] = stream.events().map((e) => json<{ Job: { Status: string } }>(e));
    expect(job!.Job.Status).toBe('Complete');
    expect(end).toEqual(job);
  });

  it("an unknown job and another account's job are a JSON 404 (NotFoundException); no credentials a 401", async () => {
    const { JobId } = await api.createJob(tagging('small.csv', smallEtag, true));
    for (const [url, key] of [
      [`/api/v1/jobs/00000000-0000-4000-8000-000000000000/events`, TEST_API_KEY],
      [`/api/v1/jobs/${JobId}/events`, OTHER],
    ] as const) {
      const res = await fetch(`${server.url}${url}`, { headers: auth(key) });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NotFoundException');
    }
    for (const url of [`/api/v1/jobs/${JobId}/events`, '/api/v1/events']) {
      const res = await fetch(`${server.url}${url}`);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('Unauthorized');
    }
    await api.updateStatus(JobId, 'Cancelled');
  });
});

describe('GET /api/v1/events', () => {
  it("shows the account's jobs' status and progress, and nothing of another account's", async () => {
    const mine = await open('/api/v1/events');
    const theirs = await open('/api/v1/events', OTHER);
    expect(mine.response.status).toBe(200);
    expect(theirs.response.status).toBe(200);
    const { JobId: myJob } = await api.createJob(tagging('small.csv', smallEtag, false));
    const { JobId: theirJob } = await otherApi.createJob(tagging('small.csv', smallEtag, false));
    await api.waitFor(myJob, 'Complete');
    await otherApi.waitFor(theirJob, 'Complete');
    await mine.waitFor(
      (e) => e.event === 'status' && json(e).JobId === myJob && json(e).To === 'Complete',
      'my job Complete',
      10_000,
    );
    await theirs.waitFor(
      (e) => e.event === 'status' && json(e).JobId === theirJob && json(e).To === 'Complete',
      'their job Complete',
      10_000,
    );
    const mineEvents = mine.events();
    const theirEvents = theirs.events();
    expect(mineEvents.every((e) => json(e).JobId !== theirJob)).toBe(true);
    expect(theirEvents.every((e) => json(e).JobId !== myJob)).toBe(true);
    expect(new Set(mineEvents.map((e) => e.event))).toEqual(new Set(['status', 'progress']));
    // The job's whole life, in order.
    const trail = mineEvents.filter((e) => e.event === 'status' && json(e).JobId === myJob).map((e) => json(e).To);
    expect(trail).toEqual(['Preparing', 'Ready', 'Active', 'Completing', 'Complete']);
    const lastProgress = mineEvents.filter((e) => e.event === 'progress' && json(e).JobId === myJob).at(-1);
    expect(lastProgress && json(lastProgress)).toMatchObject({ TotalNumberOfTasks: 5, NumberOfTasksSucceeded: 5 });
    // The account stream stays open after its jobs ended.
    expect(await mine.ended(300)).toBe(false);
  });

  it('sends a `: ping` comment on an idle stream', async () => {
    const s = await open('/api/v1/events');
    const ping = await s.waitForComment('ping', 5_000);
    expect(s.events()).toEqual([]);
    expect(ping.text).toBe('ping');
  });
});

describe('stream lifecycle', () => {
  it('clients that disconnect leave no subscription behind', async () => {
    for (const s of streams.splice(0)) s.close();
    await waitForGauge(0);
    const { JobId } = await api.createJob(tagging('small.csv', smallEtag, true));
    await api.waitFor(JobId, 'Suspended');
    for (let round = 0; round < 3; round++) {
      const batch = await Promise.all(
        Array.from({ length: 20 }, (_, i) => open(i % 2 === 0 ? '/api/v1/events' : `/api/v1/jobs/${JobId}/events`)),
      );
      await Promise.all(
        batch.filter((_, i) => i % 2 === 1).map((s) => s.waitFor((e) => e.event === 'job', 'job event', 10_000)),
      );
      await waitForGauge(20);
      for (const s of batch) s.close();
      await waitForGauge(0);
    }
    // The server still streams to a new client afterwards.
    const again = await open(`/api/v1/jobs/${JobId}/events`);
    await again.waitFor((e) => e.event === 'job', 'job event', 10_000);
    await api.updateStatus(JobId, 'Cancelled');
    const end = await again.waitFor((e) => e.event === 'end', 'end after cancel', 30_000);
    expect(json<{ Job: { Status: string } }>(end).Job.Status).toBe('Cancelled');
    expect(await again.ended(10_000)).toBe(true);
  });

  it('stopping the server ends open streams and does not wait for them', async () => {
    const own = await startServerProcess({ s3: requireCeph(), env: { S3BATCH_SSE_HEARTBEAT_SECONDS: '1' } });
    try {
      const ownApi = new JsonApi(own.url);
      const { JobId } = await ownApi.createJob(tagging('small.csv', smallEtag, true));
      await ownApi.waitFor(JobId, 'Suspended');
      const open3 = await Promise.all([
        openSse(`${own.url}/api/v1/events`, auth()),
        openSse(`${own.url}/api/v1/jobs/${JobId}/events`, auth()),
        openSse(`${own.url}/api/v1/events`, auth()),
      ]);
      await open3[1]!.waitFor((e) => e.event === 'job', 'job event', 10_000);
      const started = Date.now();
      const exited = new Promise<number | null>((resolve) => own.child.once('exit', (code) => resolve(code)));
      own.child.kill('SIGTERM');
      for (const s of open3) expect(await s.ended(10_000)).toBe(true);
      expect(await exited).toBe(0);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await own.kill('SIGKILL');
    }
  });
});
