/**
 * The web Jobs page in Debian's chromium (playwright-core), against `s3batch serve` as a real
 * subprocess on Ceph RGW: sign in through the form with the test key, the list (filter, search,
 * sort, refreshed without reloading), a running job's progress moving live, confirm, cancel and
 * change priority through the confirming dialog (and the server's error shown in it), a report
 * file downloaded and compared with the object in S3, a phone's width without horizontal
 * overflow, no request leaving the server's origin and no console error. Each step saves a
 * screenshot under test-artifacts/screenshots/ (web-*.png), kept as the test's artefacts.
 *
 * The tests run in order on one server, one browser page and the jobs made in beforeAll.
 */
import { readFile } from 'node:fs/promises';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, type BrowserSession } from '../helpers/browser.ts';
import { getText, jobRequest, putManifest } from '../helpers/jobs.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { requireCeph } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, putObjects } from '../helpers/s3-servers.ts';
import { startServerProcess, TEST_API_KEY, type ServerProcess } from '../helpers/server-process.ts';

/** Tasks of the job watched while it runs; at 40 requests/s (its s3batch: tag) it runs ~7 s. */
const RUNNING_TASKS = 300;

let s3: S3Client;
let bucket: string;
let server: ServerProcess;
let api: JsonApi;
let web: BrowserSession;
let page: Page;
const jobs = { confirm: '', cancel: '', priority: '', done: '' };
let runningManifest: { key: string; etag: string };
let smallManifest: { key: string; etag: string };

const tagging = { S3PutObjectTagging: { TagSet: [{ Key: 'web', Value: 'tested' }] } };

async function createJob(
  manifest: { key: string; etag: string },
  extra: Record<string, unknown>,
  priority: number,
  confirm: boolean,
): Promise<string> {
  const req = jobRequest({
    manifestBucket: bucket,
    manifestKey: manifest.key,
    etag: manifest.etag,
    operation: tagging,
    reportBucket: bucket,
    reportPrefix: 'reports',
    priority,
    confirmationRequired: confirm,
    extra,
  });
  return (await api.createJob(req)).JobId;
}

const rowIds = (): Promise<string[]> =>
  page.$$eval('#jobs-body tr[data-job-id]', (rows) => rows.map((r) => r.getAttribute('data-job-id') ?? ''));
const factStatus = (p: Page = page): Promise<string | null> =>
  p
    .locator('#job-facts [data-key="status"] .badge')
    .getAttribute('data-status', { timeout: 1000 })
    .catch(() => null);

async function openJob(id: string): Promise<void> {
  await page.goto(`${server.url}/#/jobs/${id}`);
  await page.locator('#job-facts').waitFor();
}

beforeAll(async () => {
  const ceph = requireCeph();
  s3 = makeS3Client(ceph);
  bucket = await createTestBucket(s3, 'web-page');
  const keys = Array.from({ length: RUNNING_TASKS }, (_, i) => `objects/${String(i).padStart(4, '0')}.txt`);
  await putObjects(s3, bucket, keys);
  const small = await putManifest(
    s3,
    bucket,
    'small.csv',
    keys.slice(0, 20).map((key) => ({ bucket, key })),
  );
  const all = await putManifest(
    s3,
    bucket,
    'all.csv',
    keys.map((key) => ({ bucket, key })),
  );
  runningManifest = { key: 'all.csv', etag: all.etag };
  smallManifest = { key: 'small.csv', etag: small.etag };
  server = await startServerProcess({ s3: ceph });
  api = new JsonApi(server.url);
  // Created in this order (oldest first), with distinct priorities for the sort checks.
  jobs.confirm = await createJob(
    smallManifest,
    { Description: 'web: confirm me', Tags: [{ Key: 'team', Value: 'alpha' }] },
    5,
    true,
  );
  jobs.cancel = await createJob(smallManifest, { Description: 'web: cancel me' }, 7, true);
  jobs.priority = await createJob(smallManifest, { Description: 'web: reprioritise me' }, 3, true);
  jobs.done = await createJob(
    smallManifest,
    { Description: 'web: done', Tags: [{ Key: 'team', Value: 'bravo' }] },
    20,
    false,
  );
  for (const id of [jobs.confirm, jobs.cancel, jobs.priority]) await api.waitFor(id, 'Suspended');
  await api.waitFor(jobs.done, 'Complete');
  web = await openBrowser({ origin: server.url });
  page = web.page;
});

afterAll(async () => {
  await web?.close();
  await server?.kill('SIGTERM');
  s3?.destroy();
});

describe('web Jobs page in chromium', () => {
  it('signs in through the form with an API key', async () => {
    await page.goto(`${server.url}/`);
    await page.locator('#view-signin').waitFor();
    await page.fill('#signin-key', TEST_API_KEY.accessKeyId);
    await page.fill('#signin-secret', 'wrong-secret-0000000000');
    await page.click('#signin-submit');
    await expect.poll(() => page.locator('#signin-error').textContent()).toMatch(/Sign-in refused/);
    await web.screenshot('web-01-sign-in-refused');
    await page.fill('#signin-secret', TEST_API_KEY.secretAccessKey);
    await page.click('#signin-submit');
    await page.locator('#view-list').waitFor();
    expect(await page.locator('#who-account').textContent()).toContain(TEST_API_KEY.accountId);
    await expect.poll(rowIds).toHaveLength(4);
    await web.screenshot('web-02-jobs-list');
  });

  it('lists the jobs with status, priority, operation, progress and creation time; filter, search and sort work', async () => {
    const done = page.locator(`#jobs-body tr[data-job-id="${jobs.done}"]`);
    expect(await done.locator('[data-col="status"]').textContent()).toBe('Complete');
    expect(await done.locator('[data-col="priority"]').textContent()).toBe('20');
    expect(await done.textContent()).toContain('S3PutObjectTagging');
    expect(await done.locator('progress').getAttribute('value')).toBe('20');
    expect(await done.locator('.progress-text').textContent()).toContain('20 / 20');
    expect(await done.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);

    // Newest first by default.
    expect(await rowIds()).toEqual([jobs.done, jobs.priority, jobs.cancel, jobs.confirm]);
    await page.selectOption('#filter-status', 'Suspended');
    await expect.poll(rowIds).toEqual([jobs.priority, jobs.cancel, jobs.confirm]);
    await page.selectOption('#filter-status', '');
    await expect.poll(rowIds).toHaveLength(4);

    await page.fill('#filter-search', 'BRAVO'); // a tag value, any case
    await expect.poll(rowIds).toEqual([jobs.done]);
    await page.fill('#filter-search', 'cancel me'); // the description
    await expect.poll(rowIds).toEqual([jobs.cancel]);
    await page.fill('#filter-search', jobs.confirm.slice(0, 13)); // the job id
    await expect.poll(rowIds).toEqual([jobs.confirm]);
    await web.screenshot('web-03-list-search');
    // Typed text stops at the API's 256 characters (beyond, the list would answer 400); regex characters are text.
    await page.fill('#filter-search', '');
    await page.locator('#filter-search').pressSequentially(`[(.*+?${'x'.repeat(300)}`);
    expect((await page.locator('#filter-search').inputValue()).length).toBe(256);
    await expect.poll(rowIds).toEqual([]);
    expect(await page.locator('#list-error').isHidden()).toBe(true);
    await page.fill('#filter-search', '');
    await expect.poll(rowIds).toHaveLength(4);

    await page.selectOption('#filter-sort', 'priority:desc');
    await expect.poll(rowIds).toEqual([jobs.done, jobs.cancel, jobs.confirm, jobs.priority]);
    await page.selectOption('#filter-sort', 'created:asc');
    await expect.poll(rowIds).toEqual([jobs.confirm, jobs.cancel, jobs.priority, jobs.done]);
    await web.screenshot('web-04-list-sorted');
    await page.selectOption('#filter-sort', 'created:desc');
    await expect.poll(rowIds).toHaveLength(4);
  });

  it('shows a new job without reloading and its progress moving live, then its report links', async () => {
    // A marker on the window: it would be gone if anything reloaded the page.
    expect(await page.locator('#live-mode').getAttribute('data-mode')).toBe('stream'); // the account's SSE stream
    await page.evaluate('window.notReloaded = true');
    const running = await createJob(
      runningManifest,
      { Description: 'web: running', Tags: [{ Key: 's3batch:max-requests-per-second', Value: '40' }] },
      10,
      false,
    );
    // The list picks it up from the account's event stream (or its polling).
    await page.locator(`#jobs-body tr[data-job-id="${running}"]`).waitFor({ timeout: 15_000 });
    await page.click(`#jobs-body a[href="#/jobs/${running}"]`);
    const bar = page.locator('#job-progress progress');
    await bar.waitFor();
    const doneNow = async (): Promise<number> => Number(await bar.getAttribute('data-done'));
    await expect.poll(doneNow, { timeout: 20_000 }).toBeGreaterThan(0);
    const first = await doneNow();
    expect(first).toBeLessThan(RUNNING_TASKS);
    await web.screenshot('web-05-job-running');
    await expect.poll(doneNow, { timeout: 20_000 }).toBeGreaterThan(first);
    expect(Number(await page.locator('#job-progress [data-key="processed"]').textContent())).toBeGreaterThan(first);
    // The stream's rate while it runs (40 requests/s at most).
    await expect
      .poll(() => page.locator('#job-progress [data-key="rate"]').textContent(), { timeout: 10_000 })
      .toMatch(/tasks\/s/);
    expect(await page.locator('#job-progress [data-key="total"]').textContent()).toBe(String(RUNNING_TASKS));

    await expect.poll(factStatus, { timeout: 60_000 }).toBe('Complete');
    await page.locator('#report-files a').first().waitFor({ timeout: 15_000 });
    expect(await doneNow()).toBe(RUNNING_TASKS);
    expect(await page.locator('#job-progress [data-key="succeeded"]').textContent()).toBe(
      RUNNING_TASKS.toLocaleString('en-US'),
    );
    expect(await page.locator('#timeline-list').textContent()).toMatch(/Active.*Complete/s);
    expect(await page.locator('#job-spec pre').textContent()).toContain('"S3PutObjectTagging"');
    expect(await page.evaluate('window.notReloaded')).toBe(true);
    await web.screenshot('web-06-job-complete');
  });

  it('confirms a suspended job through the dialog', async () => {
    await openJob(jobs.confirm);
    expect(await factStatus()).toBe('Suspended');
    expect(await page.locator('#job-tags').textContent()).toContain('alpha');
    // The API's SuspendedCause in the page's words, pointing at the button.
    expect(await page.locator('#job-facts [data-key="suspended-cause"]').textContent()).toBe(
      'It waits for your confirmation: "Confirm and run" starts it.',
    );
    await page.click('#action-confirm');
    await page.locator('#dialog[open]').waitFor();
    await web.screenshot('web-07-confirm-dialog');
    await page.click('#dialog-ok');
    await page.locator('#dialog').waitFor({ state: 'hidden' });
    await expect.poll(factStatus, { timeout: 30_000 }).toMatch(/^(Ready|Active|Completing|Complete)$/);
    const view = await api.waitFor(jobs.confirm, 'Complete', 30_000);
    expect(view.StatusHistory.map((c) => c.status)).toContain('Active');
    await expect.poll(factStatus, { timeout: 15_000 }).toBe('Complete');
    // Why it was suspended is history now (the descriptor keeps SuspendedCause): not shown any more.
    expect(await page.locator('#job-facts [data-key="suspended-cause"]').count()).toBe(0);
    await web.screenshot('web-08-confirmed');
  });

  it('cancels a job through the dialog, with a reason', async () => {
    await openJob(jobs.cancel);
    await page.click('#action-cancel');
    await page.locator('#dialog[open]').waitFor();
    await page.fill('#dialog-reason', 'not needed any more');
    await web.screenshot('web-09-cancel-dialog');
    await page.click('#dialog-ok');
    await expect.poll(factStatus, { timeout: 15_000 }).toBe('Cancelled');
    const view = await api.describe(jobs.cancel);
    expect(view.Job.Status).toBe('Cancelled');
    expect(view.Job.StatusUpdateReason).toBe('not needed any more');
    expect(await page.locator('#job-facts [data-key="status-reason"]').textContent()).toBe('not needed any more');
    expect(await page.locator('#action-cancel').count()).toBe(0);
  });

  it("changes the priority through the dialog, showing the server's error when it refuses", async () => {
    await openJob(jobs.priority);
    await page.click('#action-priority');
    await page.locator('#dialog[open]').waitFor();
    await page.fill('#dialog-priority', '-1');
    await page.click('#dialog-ok');
    await expect
      .poll(() => page.locator('#dialog-error').textContent())
      .toMatch(/priority must be an integer from 0 to/i);
    expect(await page.locator('#dialog[open]').count()).toBe(1); // still open
    await web.screenshot('web-10-priority-refused');
    await page.fill('#dialog-priority', '42');
    await page.click('#dialog-ok');
    await page.locator('#dialog').waitFor({ state: 'hidden' });
    await expect.poll(() => page.locator('#job-facts [data-key="priority"]').textContent()).toBe('42');
    expect((await api.describe(jobs.priority)).Job.Priority).toBe(42);
  });

  it('downloads report files that are the objects in S3', async () => {
    await openJob(jobs.done);
    const links = page.locator('#report-files a');
    await links.first().waitFor({ timeout: 15_000 });
    await web.screenshot('web-11-report-links');
    const report = await api.call<{ Report: { Files: { Name: string; Key: string }[]; Manifest: { Key: string } } }>(
      'GET',
      `/jobs/${jobs.done}/report`,
    );
    const file = report.Report.Files[0]!;
    expect(await links.count()).toBe(report.Report.Files.length + 1); // + manifest.json
    for (const [name, key] of [
      [file.Name, file.Key],
      ['manifest.json', report.Report.Manifest.Key],
    ] as const) {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('#report-files a', { hasText: name }).click(),
      ]);
      expect(download.suggestedFilename()).toBe(name);
      const body = await readFile(await download.path());
      expect(body.toString('utf8')).toBe(await getText(s3, bucket, key));
    }
    // The done job's rows: one per object of its 20-row manifest, all succeeded.
    const csv = await getText(s3, bucket, file.Key);
    expect(csv.trim().split('\n')).toHaveLength(20);
  });

  it('falls back to polling every 3 s when the event streams fail', async () => {
    // The streams fail in the browser because playwright aborts their requests: a broken stream is
    // what nothing on this machine produces on demand otherwise. Same session (same context).
    const polled = await web.context.newPage();
    await polled.route('**/api/v1/events', (r) => r.abort());
    await polled.route('**/api/v1/jobs/*/events', (r) => r.abort());
    await polled.goto(`${server.url}/#/`);
    await polled.locator('#live-mode[data-mode="polling"]').waitFor();
    expect(await polled.locator('#live-mode').textContent()).toBe('Refreshing every 3 s');
    const id = await createJob(smallManifest, { Description: 'web: polled' }, 2, true);
    await polled.locator(`#jobs-body tr[data-job-id="${id}"]`).waitFor({ timeout: 10_000 });
    await api.waitFor(id, 'Suspended');
    await polled.click(`#jobs-body a[href="#/jobs/${id}"]`);
    await expect.poll(() => factStatus(polled), { timeout: 10_000 }).toBe('Suspended');
    await api.updateStatus(id, 'Ready');
    await expect.poll(() => factStatus(polled), { timeout: 20_000 }).toBe('Complete');
    expect(await polled.locator('#job-progress progress').getAttribute('data-done')).toBe('20');
    await web.screenshot('web-12-polling-fallback', polled);
    await polled.close();
  });

  it("is usable at a phone's width (375 px) without horizontal overflow, in light and dark", async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    const overflow = (): Promise<number[]> =>
      page.evaluate(
        '[document.documentElement.scrollWidth - document.documentElement.clientWidth, document.body.scrollWidth - document.body.clientWidth]',
      );
    await page.goto(`${server.url}/#/`);
    await expect.poll(rowIds).toHaveLength(6);
    expect(await overflow()).toEqual([0, 0]);
    // The table became cards: each cell shows its label.
    expect(await page.locator('#jobs-table thead').boundingBox()).toMatchObject({ height: 1 });
    await web.screenshot('web-13-phone-list');
    await openJob(jobs.done);
    await page.locator('#report-files a').first().waitFor();
    expect(await overflow()).toEqual([0, 0]);
    await web.screenshot('web-14-phone-details');
    await page.emulateMedia({ colorScheme: 'dark' });
    const bg = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    expect(bg).toBe('rgb(18, 20, 23)');
    await web.screenshot('web-15-phone-details-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('marks a dry run (list badge, what it would do), shows failed tasks in the list, and no bytes for a CSV manifest', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `objects/${String(i).padStart(4, '0')}.txt`);
    const rows = [...keys, 'objects/missing.txt'].map((key) => ({ bucket, key }));
    const dry = await putManifest(s3, bucket, 'dry.csv', rows);
    const id = await createJob(
      { key: 'dry.csv', etag: dry.etag },
      { Description: 'web: dry run', Tags: [{ Key: 's3batch:dry-run', Value: 'true' }] },
      1,
      false,
    );
    await api.waitFor(id, 'Complete');
    await page.goto(`${server.url}/#/`);
    const row = page.locator(`#jobs-body tr[data-job-id="${id}"]`);
    await row.waitFor();
    expect(await row.locator('.badge.dry-run').textContent()).toBe('dry run');
    await expect.poll(() => row.locator('.failed-count').textContent()).toBe(' · 1 failed');
    expect(await page.locator(`#jobs-body tr[data-job-id="${jobs.done}"] .failed-count`).count()).toBe(0);
    await openJob(id);
    expect(await page.locator('#job-facts [data-key="dry-run"]').textContent()).toMatch(
      /^Nothing was changed: the operation would act on 20 objects \(.+\), 1 would fail\./,
    );
    // A CSV manifest lists no sizes: no "0 bytes" that would read as empty objects.
    expect(await page.locator('#discovery-metrics [data-key="total-bytes"]').textContent()).toBe('—');
    await web.screenshot('web-16-dry-run');
  });

  it("shows a failed job's failure reasons, and a generator job's discovery metrics (objects, bytes)", async () => {
    const failed = await createJob(
      { key: smallManifest.key, etag: '0123456789abcdef0123456789abcdef' },
      // Past CreateJob's access check, so that Preparing fails the job.
      { Description: 'web: wrong etag', SkipAccessCheck: true },
      1,
      false,
    );
    await api.waitFor(failed, 'Failed');
    await openJob(failed);
    await page.locator('#job-failures:not([hidden])').waitFor();
    expect(await page.locator('#job-failures').textContent()).toMatch(
      /ManifestETagMismatch: The manifest's ETag does not match/,
    );
    expect(await page.locator('#job-progress .progress-text').textContent()).toBe('—'); // no tasks: no "100%"
    await expect.poll(() => page.locator('#job-report').textContent()).toContain('No report was written.');
    await web.screenshot('web-17-failed-job');

    const generated = (
      await api.createJob({
        ...jobRequest({
          manifestBucket: bucket,
          manifestKey: 'unused',
          etag: 'unused',
          operation: tagging,
          reportBucket: bucket,
          reportPrefix: 'reports',
          priority: 1,
          confirmationRequired: false,
        }),
        Manifest: undefined,
        ManifestGenerator: {
          S3JobManifestGenerator: {
            SourceBucket: `arn:aws:s3:::${bucket}`,
            EnableManifestOutput: false,
            Filter: { KeyNameConstraint: { MatchAnyPrefix: ['objects/001'] } },
          },
        },
      })
    ).JobId;
    await api.waitFor(generated, 'Complete');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'objects/001' }));
    const sizes = (listed.Contents ?? []).map((o) => o.Size ?? 0);
    expect(sizes).toHaveLength(10);
    await openJob(generated);
    await page.locator('#discovery-metrics').waitFor();
    // No description: nothing under the title (the DOM's replaceChildren once wrote it as "null").
    expect(await page.locator('#job-head .description').count()).toBe(0);
    expect(await page.locator('#job-head').textContent()).not.toContain('null');
    expect(await page.locator('#discovery-metrics [data-key="objects-found"]').textContent()).toBe('10');
    expect(await page.locator('#discovery-metrics [data-key="listing-complete"]').textContent()).toBe('complete');
    const bytesTitle = await page.locator('#discovery-metrics [data-key="total-bytes"] span').getAttribute('title');
    expect(bytesTitle).toBe(`${sizes.reduce((a, b) => a + b, 0).toLocaleString('en-US')} bytes`);
    await web.screenshot('web-18-generator-discovery');
  });

  it('signs out, and a reload stays signed out', async () => {
    await page.goto(`${server.url}/#/`);
    await page.locator('#sign-out').click();
    await page.locator('#view-signin').waitFor();
    await page.reload();
    await page.locator('#view-signin').waitFor();
    expect(await page.locator('#view-list').isHidden()).toBe(true);
    await web.screenshot('web-19-signed-out');
  });

  it('sent no request outside the server and logged no console error', () => {
    expect(web.foreignRequests).toEqual([]);
    // Expected: the 401 of "who am I" before signing in, the 403 of the wrong secret, the 400 of
    // the refused priority and the aborted event streams, which chromium logs as failed loads.
    const expected = [
      /status of 401 .*\/api\/v1\/session\)$/,
      /status of 403 .*\/api\/v1\/session\)$/,
      /status of 400 .*\/jobs\/[^/]+\/priority\)$/,
      /net::ERR_FAILED \(.*\/events\)$/,
    ];
    expect(web.errors.filter((e) => !expected.some((re) => re.test(e)))).toEqual([]);
    expect(web.errors.length).toBeGreaterThan(0); // the expected ones were seen: the listener works
  });
});
