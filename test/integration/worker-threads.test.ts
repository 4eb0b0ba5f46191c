/**
 * Worker threads in a server started in this process (the tests' vitest, on the .ts sources): the
 * threads placement loads its entry through tsx there (threads.ts, startWorker), as the package
 * loads the compiled .js (the e2e tests, whose servers run dist/). A job of several chunks runs on
 * two threads to Complete, every task counted once, its report complete: `workerSpreadBusy: 0` spreads
 * it over both threads from its start (by default a job takes a second thread only when its first
 * is saturated, which a small job on s3rver never is; the e2e suites run that default). A second
 * server spreads a running job as soon as its thread does anything at all (`workerSpreadBusy`
 * 0.001): the thread that joins mid-job gets its share of slots and rate, and each task runs once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/main.ts';
import { startServerOn } from '../helpers/in-process-server.ts';
import { getText, jobRequest, putObjectsAndManifest } from '../helpers/jobs.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { parsePrometheusText } from '../helpers/prometheus.ts';
import { requireS3rver } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client } from '../helpers/s3-servers.ts';
import { writeApiKeysFile } from '../helpers/s3control.ts';
import { TEST_API_KEY } from '../helpers/server-process.ts';

let server: RunningServer | undefined;
/** Spreads a job to its second thread as soon as its first does anything (workerSpreadBusy 0.001). */
let spreading: RunningServer | undefined;
let s3: S3Client;
let dataDir: string;
let spreadDir: string;

beforeAll(async () => {
  const s3rver = requireS3rver();
  s3 = makeS3Client(s3rver);
  dataDir = await mkdtemp(join(tmpdir(), 's3batch-threads-'));
  spreadDir = await mkdtemp(join(tmpdir(), 's3batch-spread-'));
  server = await startServerOn(s3rver, dataDir, {
    apiKeysFile: writeApiKeysFile(dataDir, [TEST_API_KEY]),
    workers: 2,
    workerSpreadBusy: 0,
    chunkSize: 10,
  });
  spreading = await startServerOn(s3rver, spreadDir, {
    apiKeysFile: writeApiKeysFile(spreadDir, [TEST_API_KEY]),
    workers: 2,
    workerSpreadBusy: 0.001,
    chunkSize: 50,
  });
});

afterAll(async () => {
  await server?.close();
  await spreading?.close();
  s3?.destroy();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  if (spreadDir) await rm(spreadDir, { recursive: true, force: true });
});

async function workerThreads(url: string): Promise<number | undefined> {
  const res = await fetch(`${url}/metrics`);
  return parsePrometheusText(await res.text()).value('s3batch_worker_threads');
}

/** The report's succeeded rows (bucket,key,…), from its manifest.json. */
async function reportRows(bucket: string, prefix: string, jobId: string): Promise<string[]> {
  const manifest = JSON.parse(await getText(s3, bucket, `${prefix}/job-${jobId}/manifest.json`)) as {
    Results: { TaskExecutionStatus: string; Key: string }[];
  };
  const rows: string[] = [];
  for (const r of manifest.Results.filter((x) => x.TaskExecutionStatus === 'succeeded')) {
    rows.push(...(await getText(s3, bucket, r.Key)).trim().split('\n'));
  }
  return rows;
}

describe('worker threads in a server on the .ts sources', () => {
  it('run a job of 6 chunks on 2 threads to Complete: each task once, the objects tagged, the report complete', async () => {
    const bucket = await createTestBucket(s3, 'threads');
    const keys = Array.from({ length: 60 }, (_, i) => `t/${i}`);
    const etag = await putObjectsAndManifest(s3, bucket, 'm.csv', keys);
    const api = new JsonApi(server!.url);
    const { JobId } = await api.createJob(
      jobRequest({
        manifestBucket: bucket,
        manifestKey: 'm.csv',
        etag,
        operation: { S3PutObjectTagging: { TagSet: [{ Key: 'threads', Value: 'yes' }] } },
        reportBucket: bucket,
        reportPrefix: 'rep',
        confirmationRequired: false,
      }),
    );
    const done = await api.waitFor(JobId, ['Complete', 'Failed', 'Cancelled'], 60_000);
    expect(done.Job.Status).toBe('Complete');
    expect(done.Job.ProgressSummary).toMatchObject({
      TotalNumberOfTasks: 60,
      NumberOfTasksSucceeded: 60,
      NumberOfTasksFailed: 0,
    });
    for (const key of [keys[0]!, keys[35]!, keys[59]!]) {
      const t = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
      expect(t.TagSet).toEqual([{ Key: 'threads', Value: 'yes' }]);
    }
    const rows = await reportRows(bucket, 'rep', JobId);
    expect(rows).toHaveLength(60);
    expect(new Set(rows.map((row) => row.split(',')[1])).size).toBe(60);
  });

  it('spread a running job to a second thread when its first is busy: its tasks once each, its rate split', async () => {
    // Before any job no thread runs: they start on first use.
    expect(await workerThreads(spreading!.url)).toBe(0);
    const bucket = await createTestBucket(s3, 'spread');
    const keys = Array.from({ length: 600 }, (_, i) => `s/${i}`);
    const etag = await putObjectsAndManifest(s3, bucket, 'm.csv', keys);
    const api = new JsonApi(spreading!.url);
    // 100 requests per second: the job lasts 6 s or more, long enough for a full window on its
    // first thread (1 s after its first results), and may use up to 10 threads (rate/10).
    const { JobId } = await api.createJob(
      jobRequest({
        manifestBucket: bucket,
        manifestKey: 'm.csv',
        etag,
        operation: { S3PutObjectTagging: { TagSet: [{ Key: 'spread', Value: 'yes' }] } },
        reportBucket: bucket,
        reportPrefix: 'rep',
        confirmationRequired: false,
        extra: { Tags: [{ Key: 's3batch:max-requests-per-second', Value: '100' }] },
      }),
    );
    const done = await api.waitFor(JobId, ['Complete', 'Failed', 'Cancelled'], 60_000);
    expect(done.Job.Status).toBe('Complete');
    expect(done.Job.ProgressSummary).toMatchObject({
      TotalNumberOfTasks: 600,
      NumberOfTasksSucceeded: 600,
      NumberOfTasksFailed: 0,
    });
    expect(await workerThreads(spreading!.url)).toBe(2);
    const rows = await reportRows(bucket, 'rep', JobId);
    expect(rows).toHaveLength(600);
    expect(new Set(rows.map((row) => row.split(',')[1])).size).toBe(600);
  });
});
