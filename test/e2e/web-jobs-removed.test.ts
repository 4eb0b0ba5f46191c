/**
 * A job deleted by the retention sweep leaves the web page without a reload, in Debian's chromium
 * (playwright-core) against `s3batch serve` as a real subprocess on Ceph RGW with a job retention
 * of 0.00005 days (≈ 4.3 s): the list's row goes away when the account stream says `removed`, and
 * an open details view of the job says it was removed. Screenshots: web-removed-*.png.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, type BrowserSession, signIn } from '../helpers/browser.ts';
import { jobRequest, putManifest } from '../helpers/jobs.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { requireCeph } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, putObjects } from '../helpers/s3-servers.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

let s3: S3Client;
let server: ServerProcess;
let api: JsonApi;
let web: BrowserSession;
let page: Page;
/** Suspended (never ended, so never swept) until the test confirms `doomed`. */
const jobs = { doomed: '', kept: '' };

const rowIds = (p: Page = page): Promise<string[]> =>
  p.$$eval('#jobs-body tr[data-job-id]', (rows) => rows.map((r) => r.getAttribute('data-job-id') ?? ''));

beforeAll(async () => {
  const ceph = requireCeph();
  s3 = makeS3Client(ceph);
  const bucket = await createTestBucket(s3, 'web-removed');
  await putObjects(s3, bucket, ['o/1', 'o/2']);
  const { etag } = await putManifest(s3, bucket, 'm.csv', [
    { bucket, key: 'o/1' },
    { bucket, key: 'o/2' },
  ]);
  server = await startServerProcess({ s3: ceph, args: ['--job-retention-days', '0.00005'] });
  api = new JsonApi(server.url);
  for (const name of ['kept', 'doomed'] as const) {
    const req = jobRequest({
      manifestBucket: bucket,
      manifestKey: 'm.csv',
      etag,
      operation: { S3PutObjectTagging: { TagSet: [{ Key: 'rm', Value: name }] } },
      reportBucket: bucket,
      confirmationRequired: true,
      extra: { Description: `web: ${name}` },
    });
    jobs[name] = (await api.createJob(req)).JobId;
    await api.waitFor(jobs[name], 'Suspended');
  }
  web = await openBrowser({ origin: server.url });
  page = web.page;
});

afterAll(async () => {
  await web?.close();
  await server?.kill('SIGTERM');
  s3?.destroy();
});

describe('a removed job on the web page', () => {
  it('its row leaves the list and its details view says it was removed, without a reload', async () => {
    await signIn(page, `${server.url}/`);
    await expect.poll(rowIds).toEqual([jobs.doomed, jobs.kept]);
    await expect.poll(() => page.locator('#live-mode').getAttribute('data-mode')).toBe('stream');
    // A second tab (same session) shows the job's details.
    const details = await web.context.newPage();
    await details.goto(`${server.url}/#/jobs/${jobs.doomed}`);
    await details.locator('#job-facts').waitFor();
    for (const p of [page, details]) await p.evaluate('window.notReloaded = true');

    await api.updateStatus(jobs.doomed, 'Ready');
    await api.waitFor(jobs.doomed, 'Complete', 30_000);
    await expect
      .poll(() => details.locator('#job-facts [data-key="status"] .badge').getAttribute('data-status'), {
        timeout: 15_000,
      })
      .toBe('Complete');
    await web.screenshot('web-removed-01-ended', details);
    expect(await rowIds()).toEqual([jobs.doomed, jobs.kept]); // still there until its retention ends

    await expect.poll(() => rowIds(), { timeout: 20_000 }).toEqual([jobs.kept]);
    expect(await page.locator('#jobs-count').textContent()).toBe('1 job');
    await web.screenshot('web-removed-02-list');
    await expect
      .poll(() => details.locator('#job-removed').textContent(), { timeout: 10_000 })
      .toBe('This job was removed (its retention period ended).');
    expect(await details.locator('#job-facts').count()).toBe(0);
    await web.screenshot('web-removed-03-details', details);
    for (const p of [page, details]) expect(await p.evaluate('window.notReloaded')).toBe(true);
    expect(
      (await api.describe(jobs.doomed).catch((err: { status?: number }) => err)) as { status?: number },
    ).toMatchObject({ status: 404 });

    expect(web.foreignRequests).toEqual([]);
    // Expected: the 401 of "who am I" before signing in (chromium logs it as a failed load).
    expect(web.errors.filter((e) => !/status of 401 .*\/api\/v1\/session\)$/.test(e))).toEqual([]);
  });
});
