/**
 * The web Jobs list in pages, in Debian's chromium (playwright-core) against `s3batch serve` as a
 * real subprocess on Ceph RGW: with `?pageSize=3` in the page's URL the list asks the API for 3
 * jobs at a time; "Load more" appends the next page of the same query (NextToken) until there is
 * none, every job shown once in the query's order (newest first, then by priority); a loaded row
 * of the last page still follows the account's event stream. Screenshots: web-paging-*.png.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, type BrowserSession } from '../helpers/browser.ts';
import { jobRequest, putManifest } from '../helpers/jobs.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { requireCeph } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, putObjects } from '../helpers/s3-servers.ts';
import { startServerProcess, TEST_API_KEY, type ServerProcess } from '../helpers/server-process.ts';

const JOBS = 7;
const PAGE_SIZE = 3;
/** Priorities in creation order, so priority order differs from creation order. */
const PRIORITIES = [4, 9, 1, 7, 3, 8, 2];

let s3: S3Client;
let server: ServerProcess;
let api: JsonApi;
let web: BrowserSession;
let page: Page;
/** Job ids in creation order (oldest first). */
const created: string[] = [];
/** The page sizes the page asked the API for (maxResults of each GET /api/v1/jobs). */
const asked: string[] = [];

const rowIds = (): Promise<string[]> =>
  page.$$eval('#jobs-body tr[data-job-id]', (rows) => rows.map((r) => r.getAttribute('data-job-id') ?? ''));
const moreVisible = (): Promise<boolean> => page.locator('#jobs-more').isVisible();
/**
 * Waits until the list has nothing to do: no request queued or under way, no search or refresh
 * due (the page marks its table aria-busy="true" meanwhile).
 */
const settled = async (): Promise<void> => {
  await page.waitForSelector('#jobs-table[aria-busy="false"]');
};

/** Clicks "Load more" until it disappears; returns the row ids after each click. */
async function loadAll(): Promise<string[][]> {
  const seen: string[][] = [];
  for (let i = 0; i < JOBS && (await moreVisible()); i++) {
    const before = (await rowIds()).length;
    await page.click('#jobs-more');
    await settled();
    const now = await rowIds();
    expect(now.length).toBeGreaterThan(before);
    seen.push(now);
  }
  expect(await moreVisible()).toBe(false);
  return seen;
}

beforeAll(async () => {
  const ceph = requireCeph();
  s3 = makeS3Client(ceph);
  const bucket = await createTestBucket(s3, 'web-paging');
  const keys = ['objects/a.txt', 'objects/b.txt'];
  await putObjects(s3, bucket, keys);
  const manifest = await putManifest(
    s3,
    bucket,
    'm.csv',
    keys.map((key) => ({ bucket, key })),
  );
  server = await startServerProcess({ s3: ceph });
  api = new JsonApi(server.url);
  for (let i = 0; i < JOBS; i++) {
    const req = jobRequest({
      manifestBucket: bucket,
      manifestKey: 'm.csv',
      etag: manifest.etag,
      operation: { S3PutObjectTagging: { TagSet: [{ Key: 'paged', Value: 'yes' }] } },
      reportBucket: bucket,
      priority: PRIORITIES[i] ?? 0,
      confirmationRequired: true,
      extra: { Description: `paged job ${i}` },
    });
    created.push((await api.createJob(req)).JobId);
  }
  for (const id of created) await api.waitFor(id, 'Suspended');
  web = await openBrowser({ origin: server.url });
  page = web.page;
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname === '/api/v1/jobs' && r.method() === 'GET') asked.push(url.searchParams.get('maxResults') ?? '');
  });
});

afterAll(async () => {
  await web?.close();
  await server?.kill('SIGTERM');
  s3?.destroy();
});

describe('web Jobs list in pages', () => {
  it('shows the first page, then "Load more" appends pages until every job is shown once, newest first', async () => {
    await page.goto(`${server.url}/?pageSize=${PAGE_SIZE}#/`);
    await page.fill('#signin-key', TEST_API_KEY.accessKeyId);
    await page.fill('#signin-secret', TEST_API_KEY.secretAccessKey);
    await page.click('#signin-submit');
    await settled();
    expect(await rowIds()).toHaveLength(PAGE_SIZE);
    const newestFirst = [...created].reverse();
    expect(await rowIds()).toEqual(newestFirst.slice(0, PAGE_SIZE));
    expect(await moreVisible()).toBe(true);
    expect(await page.locator('#jobs-count').textContent()).toBe('3 jobs shown, more below');
    await web.screenshot('web-paging-01-first-page');

    const steps = await loadAll();
    expect(steps.map((s) => s.length)).toEqual([6, 7]);
    const ids = await rowIds();
    expect(ids).toEqual(newestFirst);
    expect(new Set(ids).size).toBe(JOBS);
    expect(await page.locator('#jobs-count').textContent()).toBe('7 jobs');
    // Every request asked for one page, never the whole list.
    expect(asked.length).toBeGreaterThanOrEqual(3);
    expect(new Set(asked)).toEqual(new Set([String(PAGE_SIZE)]));
    await web.screenshot('web-paging-02-all-loaded');
  });

  it('a loaded row of the last page follows the account stream, and the loaded pages stay', async () => {
    await page.evaluate('window.notReloaded = true');
    const oldest = created[0] ?? '';
    await api.updateStatus(oldest, 'Ready');
    await api.waitFor(oldest, 'Complete', 30_000);
    const status = page.locator(`#jobs-body tr[data-job-id="${oldest}"] [data-col="status"]`);
    await expect.poll(() => status.textContent(), { timeout: 15_000 }).toBe('Complete');
    // The status events reloaded the list: as many jobs as were loaded, in the same order.
    expect(await rowIds()).toEqual([...created].reverse());
    expect(await moreVisible()).toBe(false);
    expect(await page.evaluate('window.notReloaded')).toBe(true);
  });

  it('pages a sorted query the same way (priority, lowest first)', async () => {
    await page.selectOption('#filter-sort', 'priority:asc');
    const byPriority = created
      .map((id, i) => ({ id, p: PRIORITIES[i] ?? 0 }))
      .sort((a, b) => a.p - b.p)
      .map((j) => j.id);
    await settled();
    expect(await rowIds()).toEqual(byPriority.slice(0, PAGE_SIZE));
    await loadAll();
    expect(await rowIds()).toEqual(byPriority);
    await web.screenshot('web-paging-03-by-priority');
    // A search narrows the query: one page holds it all, no "Load more".
    await page.fill('#filter-search', 'paged job 1');
    await settled();
    expect(await rowIds()).toEqual([created[1]]);
    expect(await moreVisible()).toBe(false);
    // Expected: the 401 of "who am I" before signing in (chromium logs it as a failed load).
    expect(web.errors.filter((e) => !/status of 401 .*\/api\/v1\/session\)$/.test(e))).toEqual([]);
    expect(web.foreignRequests).toEqual([]);
  });
});
