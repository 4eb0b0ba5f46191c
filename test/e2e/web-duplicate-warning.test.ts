/**
 * CreateJob's duplicate warning on the web Jobs page (docs/job-lifecycle.md#duplicate-jobs), in
 * Debian's chromium (playwright-core) against `s3batch serve` as a subprocess on Ceph RGW: the page
 * does not create jobs, so two identical jobs are created through the JSON API; the second one's
 * details show the warning with a link to the first, which opens its details; the first shows none.
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
let original: string;
let duplicate: string;

beforeAll(async () => {
  const ceph = requireCeph();
  s3 = makeS3Client(ceph);
  const bucket = await createTestBucket(s3, 'web-dup');
  await putObjects(s3, bucket, ['a.txt']);
  const { etag } = await putManifest(s3, bucket, 'm.csv', [{ bucket, key: 'a.txt' }]);
  server = await startServerProcess({ s3: ceph });
  api = new JsonApi(server.url);
  const request = jobRequest({
    manifestBucket: bucket,
    manifestKey: 'm.csv',
    etag,
    operation: { S3PutObjectTagging: { TagSet: [{ Key: 'dup', Value: 'web' }] } },
    reportBucket: bucket,
    confirmationRequired: true,
  });
  original = (await api.createJob(request)).JobId;
  const second = await api.call<{ JobId: string; Warnings?: { JobId: string }[] }>('POST', '/jobs', request);
  expect(second.Warnings?.[0]?.JobId).toBe(original);
  duplicate = second.JobId;
  for (const id of [original, duplicate]) await api.waitFor(id, 'Suspended');
  web = await openBrowser({ origin: server.url });
  page = web.page;
});

afterAll(async () => {
  await web?.close();
  await server?.kill('SIGTERM');
  s3?.destroy();
});

describe('the duplicate warning on the web page', () => {
  it("shows it in the duplicate's details, linked to the other job, and not in the other's", async () => {
    await signIn(page, `${server.url}/`);

    await page.goto(`${server.url}/#/jobs/${duplicate}`);
    const warning = page.locator('#job-facts [data-key="duplicate-of"]');
    await warning.waitFor();
    expect(await warning.textContent()).toBe(
      `Created although it repeats job ${original} (same operation, manifest and target)`,
    );
    await web.screenshot('web-duplicate-01-warning');

    await warning.locator('a').click();
    await expect.poll(() => page.locator('#details-title code').textContent()).toBe(original);
    await page.locator('#job-facts [data-key="status"]').waitFor();
    expect(await page.locator('#job-facts [data-key="duplicate-of"]').count()).toBe(0);

    expect(web.foreignRequests).toEqual([]);
    // Expected: the 401 of "who am I" before signing in (chromium logs it as a failed load).
    expect(web.errors.filter((e) => !/status of 401 .*\/api\/v1\/session\)$/.test(e))).toEqual([]);
  });
});
