/**
 * The estimated percent and bytes processed (docs/job-lifecycle.md#percent-complete,
 * #bytes-processed) end to end: `s3batch serve` as a subprocess on Ceph RGW, behind a proxy that
 * can hold a listing's later pages (test/helpers/listing-hold.ts), read through the JSON API, its
 * SSE streams, /metrics, the CLI as a subprocess and the Jobs page in chromium.
 *
 * - Copy and checksum jobs over objects of known sizes: BytesProcessed is exactly their sum (in
 *   the job view, the SSE progress and end events, `describe-job`, `watch`, the page and
 *   s3batch_bytes_processed_total by operation).
 * - A generator job whose second listing page is held: the percent is `Estimated` (basis
 *   TasksFoundSoFar) in the view, the SSE `job` event, `describe-job` and the page, and exact
 *   once the listing ended. A tagging job moves no bytes: BytesProcessed is null.
 * - An inventory job whose data file is held (a second server behind its own proxy): Preparing,
 *   an estimate with no percent yet; once read and run, exact, its checksum bytes the sum.
 *
 * The tests run in order on one server; the CLI runs from dist/ (npm run build first).
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/domain/bytes-processed.ts';
import { openBrowser, type BrowserSession, signIn } from '../helpers/browser.ts';
import { runCli, serverEnv, shellEnv } from '../helpers/cli-process.ts';
import { jobRequest, putManifest } from '../helpers/jobs.ts';
import { basicAuth, JsonApi, type JobView } from '../helpers/json-api.ts';
import { startListingHold, type ListingHold } from '../helpers/listing-hold.ts';
import { parsePrometheusText } from '../helpers/prometheus.ts';
import { requireCeph } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, putObjects } from '../helpers/s3-servers.ts';
import { openSse, type SseEvent } from '../helpers/sse.ts';
import { until } from '../helpers/until.ts';
import { startServerProcess, tempDataDir, TEST_API_KEY, type ServerProcess } from '../helpers/server-process.ts';

const MiB = 1024 * 1024;
/** Object sizes, an empty one and one above the SDK's 1 MiB body chunks included. */
const SIZES = [0, 1, 1000, 65_536, MiB + 7, 3 * MiB];
const SUM = SIZES.reduce((a, b) => a + b, 0);
/** Objects the generator lists: more than one ListObjectsV2 page (1,000 keys). */
const LISTED = 1500;

interface PercentComplete {
  Percent: number | null;
  Estimated: boolean;
  EstimateBasis: string | null;
}
type View = JobView & {
  PercentComplete: PercentComplete;
  BytesProcessed: number | null;
  AverageBytesPerSecond: number | null;
  Discovery: { ObjectsListed: number; ObjectsFound: number; ListingComplete: boolean } | null;
};

let s3: S3Client;
let src: string;
let dst: string;
let gen: string;
let manifest: { key: string; etag: string };
let hold: ListingHold;
let server: ServerProcess;
let api: JsonApi;
let cwd: string;
let web: BrowserSession | undefined;
const jobs = { copy: '', checksum: '' };

const cli = (...args: string[]) =>
  runCli(args, { cwd, env: { ...shellEnv(cwd), XDG_CONFIG_HOME: cwd, ...serverEnv(server.url, TEST_API_KEY) } });
const view = async (id: string): Promise<View> => (await api.describe(id)) as View;
const json = <T>(e: SseEvent): T => JSON.parse(e.data) as T;

async function metric(operation: string): Promise<number | undefined> {
  const res = await fetch(`${server.url}/metrics`);
  return parsePrometheusText(await res.text()).value('s3batch_bytes_processed_total', { operation });
}

/** A job over the sized objects, Suspended until confirmed, so a stream can follow it from the start. */
async function suspended(operation: Record<string, unknown>, prefix: string): Promise<string> {
  const { JobId } = await api.createJob(
    jobRequest({
      manifestBucket: src,
      manifestKey: manifest.key,
      etag: manifest.etag,
      operation,
      reportBucket: dst,
      reportPrefix: prefix,
      confirmationRequired: true,
    }),
  );
  await api.waitFor(JobId, 'Suspended');
  return JobId;
}

/** Confirms the job while its event stream is open; returns the stream's progress and end events. */
async function runFollowed(jobId: string): Promise<{ progress: Record<string, unknown>[]; end: View }> {
  const stream = await openSse(`${server.url}/api/v1/jobs/${jobId}/events`, {
    authorization: basicAuth(TEST_API_KEY),
  });
  try {
    await stream.waitFor((e) => e.event === 'job', 'the job event');
    await api.updateStatus(jobId, 'Ready');
    const end = json<View>(await stream.waitFor((e) => e.event === 'end', 'the end event', 60_000));
    const progress = stream
      .events()
      .filter((e) => e.event === 'progress')
      .map((e) => json<Record<string, unknown>>(e));
    return { progress, end };
  } finally {
    stream.close();
  }
}

/** The checks every byte-moving job passes: view, SSE progress and end, /metrics. */
async function expectBytes(jobId: string, operation: string, before: number): Promise<void> {
  const { progress, end } = await runFollowed(jobId);
  expect(end.Job.Status).toBe('Complete');
  expect(end.Job.ProgressSummary.NumberOfTasksSucceeded).toBe(SIZES.length);
  expect(end.BytesProcessed).toBe(SUM);
  expect(end.PercentComplete).toEqual({ Percent: 100, Estimated: false, EstimateBasis: null });
  // The progress events count up to the sum, never back, each with a rate (a number, or null before two samples).
  expect(progress.length).toBeGreaterThan(0);
  const bytes = progress.map((p) => p.BytesProcessed as number);
  expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
  expect(bytes.at(-1)).toBe(SUM);
  for (const p of progress) expect(typeof p.BytesPerSecond).toBe('number');
  const v = await view(jobId);
  expect(v.BytesProcessed).toBe(SUM);
  expect(v.AverageBytesPerSecond === null || v.AverageBytesPerSecond <= SUM).toBe(true);
  expect(await metric(operation)).toBe(before + SUM);
}

beforeAll(async () => {
  const ceph = requireCeph();
  s3 = makeS3Client(ceph);
  src = await createTestBucket(s3, 'bytes-src');
  dst = await createTestBucket(s3, 'bytes-dst');
  gen = await createTestBucket(s3, 'bytes-gen');
  const keys = SIZES.map((n, i) => `sized/${i}-${n}.bin`);
  await putObjects(s3, src, keys, (key) => Buffer.alloc(SIZES[keys.indexOf(key)]!, 7));
  manifest = {
    key: 'sized.csv',
    etag: (
      await putManifest(
        s3,
        src,
        'sized.csv',
        keys.map((key) => ({ bucket: src, key })),
      )
    ).etag,
  };
  await putObjects(
    s3,
    gen,
    Array.from({ length: LISTED }, (_, i) => `g/${String(i).padStart(5, '0')}`),
    'x',
    64,
  );
  hold = await startListingHold(ceph.endpoint);
  server = await startServerProcess({ s3: { ...ceph, endpoint: hold.endpoint }, env: { S3BATCH_CHUNK_SIZE: '100' } });
  api = new JsonApi(server.url);
  cwd = tempDataDir('s3batch-bytes-cli-');
});

afterAll(async () => {
  hold?.release();
  await web?.close();
  await server?.kill('SIGTERM');
  await hold?.close();
  s3?.destroy();
});

describe('bytes processed', () => {
  it('a copy job counts the bytes of the objects it copied: view, SSE, /metrics', async () => {
    jobs.copy = await suspended({ S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${dst}` } }, 'copy');
    await expectBytes(jobs.copy, 'S3PutObjectCopy', (await metric('S3PutObjectCopy')) ?? 0);
  });

  it('a copy job tagged s3batch:count-copy-bytes=false copies without counting bytes', async () => {
    const before = (await metric('S3PutObjectCopy')) ?? 0;
    const { JobId } = await api.createJob(
      jobRequest({
        manifestBucket: src,
        manifestKey: manifest.key,
        etag: manifest.etag,
        operation: { S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${dst}`, TargetKeyPrefix: 'uncounted' } },
        reportBucket: dst,
        reportPrefix: 'uncounted-report',
        confirmationRequired: false,
        extra: { Tags: [{ Key: 's3batch:count-copy-bytes', Value: 'false' }] },
      }),
    );
    const done = (await api.waitFor(JobId, ['Complete', 'Failed'])) as View;
    expect(done.Job.ProgressSummary.NumberOfTasksSucceeded).toBe(SIZES.length);
    expect([done.BytesProcessed, done.AverageBytesPerSecond]).toEqual([null, null]);
    expect(await metric('S3PutObjectCopy')).toBe(before);
    // Refused like every bad s3batch: value, and fixed once the job exists.
    await expect(
      api.createJob(
        jobRequest({
          manifestBucket: src,
          manifestKey: manifest.key,
          etag: manifest.etag,
          operation: { S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${dst}` } },
          reportBucket: dst,
          extra: { Tags: [{ Key: 's3batch:count-copy-bytes', Value: 'no' }] },
        }),
      ),
    ).rejects.toMatchObject({ status: 400, code: 'InvalidRequest' });
  });

  it('a checksum job counts the bytes it read', async () => {
    jobs.checksum = await suspended(
      { S3ComputeObjectChecksum: { ChecksumAlgorithm: 'CRC32', ChecksumType: 'FULL_OBJECT' } },
      'checksum',
    );
    await expectBytes(jobs.checksum, 'S3ComputeObjectChecksum', (await metric('S3ComputeObjectChecksum')) ?? 0);
  });

  it('describe-job and watch (subprocesses) show the bytes in human units and exactly', async () => {
    const d = await cli('describe-job', jobs.copy);
    expect(d.stderr).toBe('');
    expect(d.code).toBe(0);
    expect(d.stdout).toContain(`${formatBytes(SUM)} (${SUM} bytes)`);
    expect(d.stdout).toMatch(/Processed +4\.1 MiB \(4260848 bytes\)(, average [\d.]+ (bytes|KiB|MiB|GiB)\/s)?\n/);
    expect(d.stdout).toMatch(/Progress +6\/6 \(100%\)\n/);
    const plain = await cli('watch', jobs.checksum);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(
      `6 of 6 tasks (100%), 0 failed, ${SUM} bytes processed (${formatBytes(SUM)}), Complete`,
    );
    const asJson = await cli('watch', jobs.checksum, '--json');
    const progress = asJson.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((o) => o.Type === 'progress');
    expect(progress.at(-1)).toMatchObject({ PercentEstimated: false, BytesProcessed: SUM });
  });
});

describe('an estimated percent while a generator lists', () => {
  let jobId: string;
  let page: Page;

  it('is Estimated (TasksFoundSoFar) while the second listing page is held: view, SSE, CLI, page', async () => {
    const { JobId } = await api.createJob({
      ConfirmationRequired: false,
      Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'estimated', Value: 'yes' }] } },
      ManifestGenerator: {
        S3JobManifestGenerator: { SourceBucket: `arn:aws:s3:::${gen}`, EnableManifestOutput: false },
      },
      Report: { Enabled: false },
      Priority: 10,
      RoleArn: 'arn:aws:iam::111122223333:role/batch-ops',
    });
    jobId = JobId;
    // The first page (1,000 keys) is all the listing can give while the second is held.
    const mid = (await api.waitUntil(
      jobId,
      'the first page of tasks ran',
      (v) => v.Job.ProgressSummary.NumberOfTasksSucceeded === 1000,
    )) as View;
    expect(hold.held()).toBe(1);
    expect(mid.Discovery).toMatchObject({ ObjectsFound: 1000, ListingComplete: false });
    // 1,000 of the 1,000 tasks found so far: "100 %" of what is known, which is why it says estimated.
    expect(mid.PercentComplete).toEqual({ Percent: 100, Estimated: true, EstimateBasis: 'TasksFoundSoFar' });
    expect(mid.BytesProcessed).toBeNull();
    expect(mid.AverageBytesPerSecond).toBeNull();

    const stream = await openSse(`${server.url}/api/v1/jobs/${jobId}/events`, {
      authorization: basicAuth(TEST_API_KEY),
    });
    try {
      const first = json<View>(await stream.waitFor((e) => e.event === 'job', 'the job event'));
      expect(first.PercentComplete).toMatchObject({ Estimated: true, EstimateBasis: 'TasksFoundSoFar' });
    } finally {
      stream.close();
    }

    const d = await cli('describe-job', jobId);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(
      /Progress +1000\/1000 \(100%\), estimated: of 1,000 tasks found so far in 1,000 objects listed; the listing goes on\n/,
    );
    expect(d.stdout).not.toContain('Processed');

    web = await openBrowser({ origin: server.url });
    page = web.page;
    await signIn(page, `${server.url}/`);
    await page.goto(`${server.url}/#/jobs/${jobId}`);
    const bar = page.locator('#job-progress .progress');
    await expect.poll(() => bar.getAttribute('data-estimated')).toBe('true');
    expect(await bar.locator('.progress-text').textContent()).toContain('1,000 / 1,000+ ~100% (estimated)');
    expect(await page.locator('#progress-metrics [data-key="percent"]').textContent()).toBe(
      '~100% (estimate: percent of the tasks found so far; the listing goes on, so the total still grows)',
    );
    expect(await page.locator('#progress-metrics [data-key="bytes-processed"]').count()).toBe(0);
    await web.screenshot('web-progress-estimated');
  });

  it('is exact once the listing ended', async () => {
    hold.release();
    const done = (await api.waitFor(jobId, ['Complete', 'Failed'])) as View;
    expect(done.Job.Status).toBe('Complete');
    expect(done.Job.ProgressSummary.TotalNumberOfTasks).toBe(LISTED);
    expect(done.PercentComplete).toEqual({ Percent: 100, Estimated: false, EstimateBasis: null });
    const d = await cli('describe-job', jobId);
    expect(d.stdout).toMatch(new RegExp(`Progress +${LISTED}/${LISTED} \\(100%\\)\n`));
    await expect.poll(() => page.locator('#job-progress .progress').getAttribute('data-estimated')).toBe('false');
  });

  it('the page shows the bytes a copy job processed, exactly in its title', async () => {
    await page.goto(`${server.url}/#/jobs/${jobs.copy}`);
    const dd = page.locator('#progress-metrics [data-key="bytes-processed"] span');
    await dd.waitFor();
    expect(await dd.getAttribute('data-bytes')).toBe(String(SUM));
    expect(await dd.getAttribute('title')).toBe(`${SUM.toLocaleString('en-US')} bytes`);
    expect(await dd.textContent()).toBe('4.1 MiB');
    expect(await page.locator('#progress-metrics [data-key="byte-rate"]').textContent()).toMatch(/\/s|—/);
    await web!.screenshot('web-progress-bytes');
    // Expected: the 401 of "who am I" before signing in, and event streams cut by navigation.
    const expected = [/status of 401 .*\/api\/v1\/session\)$/, /net::ERR_FAILED \(.*\/events\)$/];
    expect(web!.errors.filter((e) => !expected.some((re) => re.test(e)))).toEqual([]);
    expect(web!.foreignRequests).toEqual([]);
  });
});

describe('an estimated percent while an inventory report is read', () => {
  it('is an estimate with no percent while the data file is held; exact, with the bytes, once read', async () => {
    const ceph = requireCeph();
    const keys = SIZES.map((n, i) => `sized/${i}-${n}.bin`);
    const csv = keys.map((k, i) => `"${src}","${k}","${SIZES[i]}","2024-01-01T00:00:00.000Z","STANDARD"\n`).join('');
    const gz = gzipSync(csv);
    const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
    await s3.send(new PutObjectCommand({ Bucket: src, Key: 'inv/data/0.csv.gz', Body: gz }));
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: src,
        Key: 'inv/2024-01-01T00-00Z/manifest.json',
        Body: JSON.stringify({
          sourceBucket: src,
          destinationBucket: `arn:aws:s3:::${src}`,
          version: '2016-11-30',
          creationTimestamp: '1704067200000',
          fileFormat: 'CSV',
          fileSchema: 'Bucket, Key, Size, LastModifiedDate, StorageClass',
          files: [{ key: 'inv/data/0.csv.gz', size: gz.length, MD5checksum: md5(gz) }],
        }),
      }),
    );
    const dataHold = await startListingHold(
      ceph.endpoint,
      (req) => req.method === 'GET' && (req.url ?? '').includes('.csv.gz'),
    );
    const second = await startServerProcess({ s3: { ...ceph, endpoint: dataHold.endpoint } });
    try {
      const api2 = new JsonApi(second.url);
      const { JobId } = await api2.createJob({
        ConfirmationRequired: false,
        Operation: { S3ComputeObjectChecksum: { ChecksumAlgorithm: 'CRC32', ChecksumType: 'FULL_OBJECT' } },
        Manifest: {
          Spec: { Format: 'S3InventoryReport_CSV_20161130' },
          Location: {
            ObjectArn: `arn:aws:s3:::${src}/inv/2024-01-01T00-00Z/manifest.json`,
            ETag: (put.ETag ?? '').replace(/"/g, ''),
          },
        },
        Report: { Enabled: false },
        Priority: 10,
        RoleArn: 'arn:aws:iam::111122223333:role/batch-ops',
      });
      await until(() => dataHold.held() === 1, 'the data file request held', { timeoutMs: 30_000 });
      const reading = (await api2.describe(JobId)) as View;
      expect(reading.Job.Status).toBe('Preparing');
      expect(reading.PercentComplete).toEqual({ Percent: null, Estimated: true, EstimateBasis: 'TasksFoundSoFar' });
      expect(reading.BytesProcessed).toBe(0);
      const d = await runCli(['describe-job', JobId], {
        cwd,
        env: { ...shellEnv(cwd), XDG_CONFIG_HOME: cwd, ...serverEnv(second.url, TEST_API_KEY) },
      });
      expect(d.stdout).toMatch(/Progress +0\/0, estimated: no task found yet; the listing goes on\n/);
      dataHold.release();
      const done = (await api2.waitFor(JobId, ['Complete', 'Failed'])) as View;
      expect(done.Job.Status).toBe('Complete');
      expect(done.PercentComplete).toEqual({ Percent: 100, Estimated: false, EstimateBasis: null });
      expect(done.BytesProcessed).toBe(SUM);
    } finally {
      dataHold.release();
      await second.kill('SIGTERM');
      await dataHold.close();
    }
  });
});
