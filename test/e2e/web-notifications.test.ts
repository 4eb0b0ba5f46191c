/**
 * The Notifications section of the web page's job details (docs/notifications.md#delivery-log), in
 * Debian's chromium against `s3batch serve` on Ceph RGW: a job whose webhook (a real node:http
 * receiver) failed each event twice before taking it shows every delivery as delivered after 3
 * attempts; a job without a webhook says so. No unexpected console error, no request off the server's origin.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, type BrowserSession, signIn } from '../helpers/browser.ts';
import { jobRequest, putObjectsAndManifest } from '../helpers/jobs.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { requireCeph } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client } from '../helpers/s3-servers.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

let s3: S3Client;
let server: ServerProcess;
let receiver: WebhookReceiver;
let api: JsonApi;
let web: BrowserSession;
let page: Page;
let notified: string;
let silent: string;
let deliveries = 0;

beforeAll(async () => {
  const ceph = requireCeph();
  s3 = makeS3Client(ceph);
  const bucket = await createTestBucket(s3, 'web-notify');
  const etag = await putObjectsAndManifest(s3, bucket, 'm.csv', ['a.txt', 'b.txt']);
  receiver = await startWebhookReceiver((_path, nth) => (nth <= 2 ? 503 : 200));
  server = await startServerProcess({
    s3: ceph,
    args: ['--notify-retry-base-ms', '20', '--notify-retry-max-ms', '100'],
  });
  api = new JsonApi(server.url);
  const create = async (tags: { Key: string; Value: string }[]): Promise<string> =>
    (
      await api.createJob(
        jobRequest({
          manifestBucket: bucket,
          manifestKey: 'm.csv',
          etag,
          operation: { S3PutObjectTagging: { TagSet: [{ Key: 'web', Value: 'notify' }] } },
          reportBucket: bucket,
          confirmationRequired: false,
          extra: { Tags: tags },
        }),
      )
    ).JobId;
  notified = await create([{ Key: 's3batch:notify', Value: `${receiver.url}/hook` }]);
  silent = await create([]);
  const done = await api.waitFor(notified, 'Complete');
  await api.waitFor(silent, 'Complete');
  deliveries = done.StatusHistory.length - 1;
  await until(
    async () => {
      const log = await api.call<{ Deliveries: { State: string }[] }>('GET', `/jobs/${notified}/notifications`);
      return log.Deliveries.length === deliveries && log.Deliveries.every((d) => d.State === 'delivered');
    },
    'every delivery of the notified job',
    { timeoutMs: 60_000, everyMs: 50 },
  );
  web = await openBrowser({ origin: server.url });
  page = web.page;
});

afterAll(async () => {
  await web?.close();
  await server?.kill('SIGTERM');
  await receiver?.close();
  s3?.destroy();
});

describe('web page: a job’s notifications', () => {
  it('shows each delivery with its state, attempts and last status; a job without webhook says so', async () => {
    await signIn(page, `${server.url}/`);

    await page.goto(`${server.url}/#/jobs/${notified}`);
    const rows = page.locator('#notifications-table tbody tr');
    await expect.poll(() => rows.count()).toBe(deliveries);
    for (const row of await rows.all()) {
      expect(await row.getAttribute('data-state')).toBe('delivered');
      const cells = await row.locator('td').allTextContents();
      expect(cells[1]).toBe(`${receiver.url}/hook`);
      expect(cells[3]).toBe('3');
      expect(cells[4]).toMatch(/^200 /);
    }
    expect(await rows.locator('td').first().textContent()).toMatch(/^(status|end) → \w+$/);
    await web.screenshot('web-notifications-delivered');

    await page.goto(`${server.url}/#/jobs/${silent}`);
    await expect.poll(() => page.locator('#job-notifications').textContent()).toMatch(/No webhook for this job/);
    // Expected: the 401 of "who am I" before signing in, and event streams closed by navigation.
    const expected = [/status of 401 .*\/api\/v1\/session\)$/, /net::ERR_FAILED \(.*\/events\)$/];
    expect(web.errors.filter((e) => !expected.some((re) => re.test(e)))).toEqual([]);
    expect(web.foreignRequests).toEqual([]);
  });
});
