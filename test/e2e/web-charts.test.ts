/**
 * The job page's charts in Debian's chromium (playwright-core), against `s3batch serve` as a real
 * subprocess on Ceph RGW: a running job's tasks/s chart (from GET /api/v1/jobs/<id>/history)
 * present and changing as the job runs, then complete; its title, aria-label and text summary; the
 * bar chart of failed tasks by error code (the job view's and progress events' FailuresByCode) on
 * real NoSuchKey failures, growing as the job runs; the history route's answers to bad input
 * (unknown job, another account, no credentials) with the server serving on; the history kept
 * across a restart of the server. Screenshots are saved under test-artifacts/screenshots/ (charts-*.png)
 * and their paths printed.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, type BrowserSession, signIn } from '../helpers/browser.ts';
import { jobRequest, putManifest } from '../helpers/jobs.ts';
import { ApiError, JsonApi } from '../helpers/json-api.ts';
import { requireCeph } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, putObjects } from '../helpers/s3-servers.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

/** Tasks of the watched job; at 30 requests/s (its s3batch: tag) it runs ~8 s. */
const RUNNING_TASKS = 240;
/** Tasks of the job with failures (a quarter of its keys are missing); ~4 s at 30 requests/s. */
const MIXED_TASKS = 120;

interface HistoryAnswer {
  JobId: string;
  Status: string;
  ResolutionMs: number;
  MaxPoints: number;
  Points: { Time: number; TasksPerSecond: number; TasksSucceeded: number; TasksFailed: number }[];
}

let s3: S3Client;
let bucket: string;
let server: ServerProcess;
let api: JsonApi;
let web: BrowserSession;
let page: Page;
let manifest: { key: string; etag: string };
let mixed: { key: string; etag: string };
const screenshots: string[] = [];

async function shot(name: string): Promise<void> {
  const file = await web.screenshot(name);
  screenshots.push(file);
  console.log(`screenshot: ${file}`);
}

function createJob(m: { key: string; etag: string }, description: string): Promise<{ JobId: string }> {
  return api.createJob(
    jobRequest({
      manifestBucket: bucket,
      manifestKey: m.key,
      etag: m.etag,
      operation: { S3PutObjectTagging: { TagSet: [{ Key: 'chart', Value: 'tested' }] } },
      reportBucket: bucket,
      reportPrefix: 'reports',
      priority: 10,
      confirmationRequired: false,
      extra: { Description: description, Tags: [{ Key: 's3batch:max-requests-per-second', Value: '30' }] },
    }),
  );
}

const statusBadge = (): Promise<string | null> =>
  page
    .locator('#job-facts [data-key="status"] .badge')
    .getAttribute('data-status', { timeout: 1000 })
    .catch(() => null);

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('the call succeeded');
}

beforeAll(async () => {
  const ceph = requireCeph();
  s3 = makeS3Client(ceph);
  bucket = await createTestBucket(s3, 'web-charts');
  const keys = Array.from({ length: RUNNING_TASKS }, (_, i) => `objects/${String(i).padStart(4, '0')}.txt`);
  await putObjects(s3, bucket, keys);
  const all = await putManifest(
    s3,
    bucket,
    'all.csv',
    keys.map((key) => ({ bucket, key })),
  );
  manifest = { key: 'all.csv', etag: all.etag };
  // Every fourth row names an object that does not exist: NoSuchKey (404) for 30 of 120 tasks.
  const rows = Array.from({ length: MIXED_TASKS }, (_, i) => ({
    bucket,
    key: i % 4 === 3 ? `missing/${String(i).padStart(4, '0')}.txt` : keys[i]!,
  }));
  mixed = { key: 'mixed.csv', etag: (await putManifest(s3, bucket, 'mixed.csv', rows)).etag };
  server = await startServerProcess({ s3: ceph });
  api = new JsonApi(server.url);
  web = await openBrowser({ origin: server.url });
  page = web.page;
  await signIn(page, `${server.url}/`);
});

afterAll(async () => {
  await web?.close();
  await server?.kill('SIGTERM');
  s3?.destroy();
});

describe('web job page charts in chromium', () => {
  it("draws a running job's tasks/s chart that changes as it runs, then its whole life", async () => {
    const { JobId } = await createJob(manifest, 'web: charts');
    await page.goto(`${server.url}/#/jobs/${JobId}`);
    await page.locator('#job-facts').waitFor();
    const chart = page.locator('#job-throughput svg#throughput-chart');
    const line = chart.locator('path.chart-line');
    const pointsNow = async (): Promise<number> =>
      Number((await chart.getAttribute('data-points', { timeout: 1000 }).catch(() => null)) ?? 0);
    // Running, with at least two points (the run's start and the live end): a line is drawn.
    await expect.poll(pointsNow, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    expect((await api.describe(JobId)).Job.Status).toBe('Active');
    const firstPath = await line.getAttribute('d');
    const firstPoints = await pointsNow();
    expect(firstPath).toMatch(/^M[\d.]+,[\d.]+ H/);
    await shot('charts-01-running');
    // A few seconds later the page has reloaded the history: more points, another line.
    await expect.poll(pointsNow, { timeout: 20_000 }).toBeGreaterThan(firstPoints);
    await expect.poll(() => line.getAttribute('d'), { timeout: 20_000 }).not.toBe(firstPath);
    expect(Number(await chart.getAttribute('data-peak'))).toBeGreaterThan(0);
    await shot('charts-02-running-later');

    // Accessible: an image with a title and a label that say what it shows, and a text summary.
    expect(await chart.getAttribute('role')).toBe('img');
    expect(await chart.locator('title').textContent()).toMatch(/^Tasks per second over the job's life\./);
    expect(await chart.getAttribute('aria-label')).toMatch(/peak [\d.]+ tasks\/s/);
    expect(await page.locator('#throughput-summary').textContent()).toMatch(
      /^Over \S+: peak [\d.]+ tasks\/s, average [\d.]+ tasks\/s, latest [\d.]+ tasks\/s \(\d+ points\)\.$/,
    );

    // Ended: the chart covers the job from its run's start to its end, every task in it.
    await expect.poll(statusBadge, { timeout: 60_000 }).toBe('Complete');
    const history = await api.call<HistoryAnswer>('GET', `/jobs/${JobId}/history`);
    expect(history).toMatchObject({ JobId, Status: 'Complete', MaxPoints: 240 });
    expect(history.ResolutionMs).toBeGreaterThanOrEqual(1000);
    const last = history.Points[history.Points.length - 1]!;
    expect(last.TasksSucceeded).toBe(RUNNING_TASKS);
    expect(history.Points[0]).toMatchObject({ TasksPerSecond: 0 });
    // Throttled to 30 requests/s: no interval of the chart above that (with a little slack for
    // the token bucket's first burst).
    for (const p of history.Points.slice(1)) expect(p.TasksPerSecond).toBeLessThanOrEqual(60);
    await expect.poll(pointsNow, { timeout: 10_000 }).toBe(history.Points.length);
    // No failure: the bar chart of failures by code stays hidden.
    expect(await page.locator('#job-failure-codes').isHidden()).toBe(true);
    await shot('charts-03-complete');
  });

  it('draws failed tasks by error code as bars that grow as the job runs', async () => {
    const { JobId } = await createJob(mixed, 'web: failures');
    await page.goto(`${server.url}/#/jobs/${JobId}`);
    await page.locator('#job-facts').waitFor();
    const card = page.locator('#job-failure-codes');
    const bar = card.locator('svg#failure-codes-chart g.chart-bar[data-code="NoSuchKey"]');
    const countNow = async (): Promise<number> =>
      Number((await bar.getAttribute('data-count', { timeout: 1000 }).catch(() => null)) ?? 0);
    // Running, with some failures: the card appears with its bar.
    await expect.poll(countNow, { timeout: 30_000 }).toBeGreaterThan(0);
    const first = await countNow();
    expect(first).toBeLessThan(MIXED_TASKS / 4);
    expect((await api.describe(JobId)).Job.Status).toBe('Active');
    const firstWidth = Number(await bar.locator('rect').getAttribute('width'));
    expect(firstWidth).toBeGreaterThan(0);
    await shot('charts-04-failures-running');
    await expect.poll(countNow, { timeout: 20_000 }).toBeGreaterThan(first);

    await expect.poll(statusBadge, { timeout: 60_000 }).toBe('Complete');
    await expect.poll(countNow, { timeout: 10_000 }).toBe(MIXED_TASKS / 4);
    const chart = card.locator('svg#failure-codes-chart');
    expect(await chart.getAttribute('role')).toBe('img');
    expect(await chart.getAttribute('data-bars')).toBe('1');
    expect(await chart.locator(':scope > title').textContent()).toMatch(/^Failed tasks by error code\./);
    expect(await bar.locator('title').textContent()).toMatch(/^NoSuchKey \(404\): 30 — e\.g\. missing\/\d{4}\.txt$/);
    expect(await page.locator('#failure-codes-summary').textContent()).toBe(
      '30 failed tasks in 1 code: NoSuchKey (404) 30.',
    );
    // The tasks/s chart counts the failed tasks too: its last point has every task.
    const history = await api.call<HistoryAnswer>('GET', `/jobs/${JobId}/history`);
    expect(history.Points.at(-1)).toMatchObject({ TasksSucceeded: MIXED_TASKS - 30, TasksFailed: 30 });
    await shot('charts-05-failures-complete');
  });

  it("redraws both charts at a phone's width (375 px) in dark, without horizontal overflow", async () => {
    // The page still shows the ended job with failures.
    const wide = Number(
      await page
        .locator('#throughput-chart')
        .getAttribute('viewBox')
        .then((v) => v?.split(' ')[2]),
    );
    await page.setViewportSize({ width: 375, height: 800 });
    await page.emulateMedia({ colorScheme: 'dark' });
    const narrow = async (): Promise<number> =>
      Number((await page.locator('#throughput-chart').getAttribute('viewBox'))?.split(' ')[2]);
    await expect.poll(narrow).toBeLessThan(375);
    expect(wide).toBeGreaterThan(375);
    await expect
      .poll(async () => Number((await page.locator('#failure-codes-chart').getAttribute('viewBox'))?.split(' ')[2]))
      .toBeLessThan(375);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await shot('charts-06-phone-dark');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('answers bad input on the history route with 404/401 and stable codes, and serves on', async () => {
    const unknown = await apiError(api.call('GET', '/jobs/00000000-0000-4000-8000-000000000000/history'));
    expect([unknown.status, unknown.code]).toEqual([404, 'NotFoundException']);
    const odd = await apiError(api.call('GET', `/jobs/${encodeURIComponent('../../etc/passwd')}/history`));
    expect([odd.status, odd.code]).toEqual([404, 'NotFoundException']);
    const { JobId } = (await api.call<{ Jobs: { JobId: string }[] }>('GET', '/jobs')).Jobs[0]!;
    const other = await apiError(new JsonApi(server.url, '999988887777').call('GET', `/jobs/${JobId}/history`));
    expect(other.status).toBe(403); // the key's account is another: refused before any lookup
    const anonymous = await apiError(
      new JsonApi(server.url, undefined, { key: null }).call('GET', `/jobs/${JobId}/history`),
    );
    expect(anonymous.status).toBe(401);
    const again = await api.call<HistoryAnswer>('GET', `/jobs/${JobId}/history`);
    expect(again.JobId).toBe(JobId);
  });

  it('keeps the history with the job record across a restart of the server', async () => {
    const { JobId } = (await api.call<{ Jobs: { JobId: string }[] }>('GET', '/jobs')).Jobs[0]!;
    const before = await api.call<HistoryAnswer>('GET', `/jobs/${JobId}/history`);
    expect(before.Points.length).toBeGreaterThanOrEqual(3);
    await server.kill('SIGTERM');
    server = await startServerProcess({ s3: requireCeph(), dataDir: server.dataDir });
    const after = await new JsonApi(server.url).call<HistoryAnswer>('GET', `/jobs/${JobId}/history`);
    expect(after).toEqual(before);
  });

  it('saved its screenshots, requested nothing outside the server and logged no console error', () => {
    expect(screenshots.length).toBe(6);
    expect(web.foreignRequests).toEqual([]);
    // Expected: the 401 of "who am I" before signing in, which chromium logs as a failed load.
    const expected = [/status of 401 .*\/api\/v1\/session\)$/];
    expect(web.errors.filter((e) => !expected.some((re) => re.test(e)))).toEqual([]);
  });
});
