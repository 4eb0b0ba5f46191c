/**
 * Failures by error code and "retry failed", end to end: `s3batch serve` as a subprocess on Ceph
 * RGW, a tagging job whose manifest lists existing objects, keys that do not exist (NoSuchKey) and
 * keys in a bucket that does not exist (NoSuchBucket).
 *
 * - the groups live while the job runs (SSE progress events and the JSON view), and final after it
 *   ended (JSON view, SSE `end`, `s3batch describe-job` as a subprocess);
 * - retry with `--codes` (CLI subprocess) and without (JSON API): the new job's tasks are exactly
 *   the failed rows asked for (its report lists them), the manifest lies under the origin's report
 *   prefix, the links (RetryOf / Retries) are set;
 * - every refusal with its stable code, and the server keeps serving;
 * - the Jobs page in chromium: the failures table and the "Retry failed" button with its dialog.
 */
import { randomUUID } from 'node:crypto';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, type BrowserSession, signIn } from '../helpers/browser.ts';
import { CLI_BIN, serverEnv, shellEnv, startCli, type CliResult } from '../helpers/cli-process.ts';
import { jobRequest, putManifest, readReport } from '../helpers/jobs.ts';
import { ApiError, basicAuth, JsonApi } from '../helpers/json-api.ts';
import { requireCeph } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, putObjects } from '../helpers/s3-servers.ts';
import { startServerProcess, tempDataDir, TEST_API_KEY, type ServerProcess } from '../helpers/server-process.ts';
import { openSse } from '../helpers/sse.ts';

const OK = 120;
const MISSING = 30;
const NO_BUCKET = 12;

interface Group {
  Code: string;
  HttpStatus: number | null;
  Count: number;
  SampleKeys: string[];
}
interface View {
  Job: { JobId: string; Status: string; ProgressSummary: { NumberOfTasksFailed: number } };
  FailuresByCode: Group[];
  RetryOf: string | null;
  Retries: string[];
}
interface RetryAnswer extends View {
  RetryManifest: { ObjectArn: string; ETag: string; Tasks: number };
}

let s3: S3Client;
let bucket: string;
let reports: string;
let server: ServerProcess;
let api: JsonApi;
let cwd: string;
let manifestEtag: string;
let okManifestEtag: string;
const okKeys = Array.from({ length: OK }, (_, i) => `ok/${String(i).padStart(4, '0')}.txt`);
const missingKeys = Array.from({ length: MISSING }, (_, i) => `missing/${i} with space.txt`);
const noBucketKeys = Array.from({ length: NO_BUCKET }, (_, i) => `nowhere/${i}.txt`);
const absentBucket = `absent-${randomUUID().slice(0, 8)}`;

const view = (id: string): Promise<View> => api.call('GET', `/jobs/${id}`);
const retry = (id: string, body: unknown): Promise<RetryAnswer> => api.call('POST', `/jobs/${id}/retry`, body);

function cli(...args: string[]): Promise<CliResult> {
  return startCli(process.execPath, [CLI_BIN, ...args], {
    cwd,
    env: { ...shellEnv(cwd), XDG_CONFIG_HOME: cwd, ...serverEnv(server.url, TEST_API_KEY) },
  }).done;
}

/** A tagging job over `keys` of `rows`; extra members over jobRequest's. */
async function createJob(extra: Record<string, unknown> = {}, tags: { Key: string; Value: string }[] = []) {
  const { JobId } = await api.createJob(
    jobRequest({
      manifestBucket: bucket,
      manifestKey: 'manifest.csv',
      etag: manifestEtag,
      operation: { S3PutObjectTagging: { TagSet: [{ Key: 'retried', Value: 'yes' }] } },
      reportBucket: reports,
      reportPrefix: 'fr',
      confirmationRequired: false,
      extra: { Tags: tags, ...extra },
    }),
  );
  return JobId;
}

/** The keys (decoded) of the failed rows of a job's report. */
async function failedKeysOf(jobId: string): Promise<string[]> {
  const { rows } = await readReport(s3, reports, 'fr', jobId);
  return rows.filter((r) => r[3] === 'failed').map((r) => decodeURIComponent(r[1]!.replaceAll('+', ' ')));
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof ApiError) return `${err.status} ${err.code}`;
    throw err;
  }
}

beforeAll(async () => {
  const ceph = requireCeph();
  s3 = makeS3Client(ceph);
  bucket = await createTestBucket(s3, 'fail-src');
  reports = await createTestBucket(s3, 'fail-rep');
  await putObjects(s3, bucket, okKeys);
  // Failures first, so they show while the rest still runs.
  const rows = [
    ...missingKeys.map((key) => ({ bucket, key })),
    ...noBucketKeys.map((key) => ({ bucket: absentBucket, key })),
    ...okKeys.map((key) => ({ bucket, key })),
  ];
  manifestEtag = (await putManifest(s3, bucket, 'manifest.csv', rows)).etag;
  okManifestEtag = (
    await putManifest(
      s3,
      bucket,
      'ok.csv',
      okKeys.slice(0, 5).map((key) => ({ bucket, key })),
    )
  ).etag;
  server = await startServerProcess({ s3: ceph });
  api = new JsonApi(server.url);
  cwd = tempDataDir('s3batch-failures-');
});

afterAll(async () => {
  await server?.kill('SIGTERM');
  s3?.destroy();
});

describe('failures by code and retry failed', () => {
  let origin: string;

  it('groups the failures live while the job runs and final once it ended (JSON, SSE, CLI)', async () => {
    // 20 requests/s: the 162 tasks run for ~8 s, long enough to see the groups while Active.
    origin = await createJob({}, [{ Key: 's3batch:max-requests-per-second', Value: '20' }]);
    const sse = await openSse(`${server.url}/api/v1/jobs/${origin}/events`, { authorization: basicAuth(TEST_API_KEY) });
    const live = await sse.waitFor(
      (e) =>
        e.event === 'progress' &&
        (JSON.parse(e.data) as { Status: string }).Status === 'Active' &&
        (JSON.parse(e.data) as { FailuresByCode: Group[] }).FailuresByCode.some((g) => g.Code === 'NoSuchKey'),
      'a progress event of the running job with NoSuchKey failures',
      30_000,
    );
    const liveGroups = (JSON.parse(live.data) as { FailuresByCode: Group[] }).FailuresByCode;
    expect(liveGroups[0]).toMatchObject({ Code: 'NoSuchKey', HttpStatus: 404 });
    const running = await view(origin);
    if (running.Job.Status === 'Active') expect(running.FailuresByCode.length).toBeGreaterThan(0);

    const end = await sse.waitFor((e) => e.event === 'end', 'the end event', 60_000);
    sse.close();
    const expected = [
      { Code: 'NoSuchKey', HttpStatus: 404, Count: MISSING },
      { Code: 'NoSuchBucket', HttpStatus: 404, Count: NO_BUCKET },
    ];
    const final = await view(origin);
    expect(final.Job.Status).toBe('Complete');
    expect(final.FailuresByCode.map(({ Code, HttpStatus, Count }) => ({ Code, HttpStatus, Count }))).toEqual(expected);
    expect((JSON.parse(end.data) as View).FailuresByCode).toEqual(final.FailuresByCode);
    for (const g of final.FailuresByCode) expect(g.SampleKeys).toHaveLength(5);
    // Sample keys are the decoded keys of failed tasks.
    expect(final.FailuresByCode[0]!.SampleKeys.every((k) => missingKeys.includes(k))).toBe(true);
    expect(final.FailuresByCode[1]!.SampleKeys.every((k) => noBucketKeys.includes(k))).toBe(true);
    expect(final.RetryOf).toBeNull();
    expect(final.Retries).toEqual([]);

    const d = await cli('describe-job', origin);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toContain('Failures by code:');
    expect(d.stdout).toMatch(/^NoSuchKey\s+404\s+30\s+missing\/\d+ with space\.txt/m);
    expect(d.stdout).toMatch(/^NoSuchBucket\s+404\s+12\s+nowhere\/\d+\.txt/m);
    expect(d.stdout).toContain(`s3batch retry ${origin}`);
  });

  it('retries only the failed tasks of the codes asked for (CLI --codes)', async () => {
    const r = await cli('retry', origin, '--codes', 'NoSuchBucket', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as RetryAnswer;
    expect(out.RetryOf).toBe(origin);
    expect(out.RetryManifest.Tasks).toBe(NO_BUCKET);
    expect(out.RetryManifest.ObjectArn).toMatch(
      new RegExp(`^arn:aws:s3:::${reports}/fr/job-${origin}/retries/[0-9a-f-]+\\.csv$`),
    );
    const id = out.Job.JobId;
    await api.waitFor(id, 'Complete');
    expect((await failedKeysOf(id)).sort()).toEqual([...noBucketKeys].sort());
    const again = await view(id);
    expect(again.FailuresByCode.map((g) => [g.Code, g.Count])).toEqual([['NoSuchBucket', NO_BUCKET]]);
    expect((await view(origin)).Retries).toEqual([id]);
  });

  it('retries every failed task (JSON API): the missing objects now exist and succeed', async () => {
    await putObjects(s3, bucket, missingKeys);
    const out = await retry(origin, {});
    expect(out.RetryManifest.Tasks).toBe(MISSING + NO_BUCKET);
    expect(out.RetryOf).toBe(origin);
    const done = await api.waitFor(out.Job.JobId, 'Complete');
    expect(done.Job.ProgressSummary.TotalNumberOfTasks).toBe(MISSING + NO_BUCKET);
    expect(done.Job.ProgressSummary.NumberOfTasksSucceeded).toBe(MISSING);
    const { rows } = await readReport(s3, reports, 'fr', out.Job.JobId);
    const keys = rows.map((r) => decodeURIComponent(r[1]!.replaceAll('+', ' '))).sort();
    expect(keys).toEqual([...missingKeys, ...noBucketKeys].sort());
    expect((await view(origin)).Retries).toHaveLength(2);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: reports, Prefix: `fr/job-${origin}/retries/` }));
    expect(listed.KeyCount).toBe(2);
  });

  it('refuses what cannot be retried with stable codes, and keeps serving', async () => {
    expect(await code(retry(origin, { Codes: ['SlowDown'] }))).toBe('409 RetryCodesMatchNothing');
    expect(await code(retry(origin, { Codes: 'NoSuchKey' }))).toBe('400 InvalidRequest');
    expect(await code(retry(origin, { Codes: [] }))).toBe('400 InvalidRequest');
    // Members are PascalCase, as in the rest of the JSON API: the camelCase spelling is refused.
    expect(await code(retry(origin, { codes: ['NoSuchKey'] }))).toBe('400 InvalidRequest');
    expect(await code(retry('no-such-job', {}))).toBe('404 NotFoundException');

    const suspended = await createJob({ ConfirmationRequired: true });
    await api.waitFor(suspended, 'Suspended');
    expect(await code(retry(suspended, {}))).toBe('409 RetryJobNotEnded');
    await api.updateStatus(suspended, 'Cancelled');

    const noReport = await createJob({ Report: { Enabled: false } });
    await api.waitFor(noReport, 'Complete');
    expect(await code(retry(noReport, {}))).toBe('409 RetryNoReport');

    const clean = await createJob({
      Manifest: {
        Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
        Location: { ObjectArn: `arn:aws:s3:::${bucket}/ok.csv`, ETag: okManifestEtag },
      },
    });
    await api.waitFor(clean, 'Complete');
    expect(await code(retry(clean, {}))).toBe('409 RetryNoFailedTasks');

    const bad = await cli('retry', origin, '--codes', ' , ');
    expect(bad.code).toBe(2);
    const refused = await cli('retry', noReport);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('RetryNoReport');
    expect((await view(origin)).Job.Status).toBe('Complete'); // still serving
  });

  it('shows the failures table and retries from the Jobs page (chromium)', async () => {
    let web: BrowserSession | undefined;
    try {
      web = await openBrowser({ origin: server.url });
      const page = web.page;
      await signIn(page, `${server.url}/`);
      // The page asks who is signed in before the form (401): only errors after sign-in count.
      const before = web.errors.length;
      // Live: a running job's table fills from its progress events while it is Active (the missing
      // objects exist by now: only the NoSuchBucket tasks fail).
      const running = await createJob({}, [{ Key: 's3batch:max-requests-per-second', Value: '20' }]);
      await page.goto(`${server.url}/#/jobs/${running}`);
      await page
        .locator('#job-failures-by-code:not([hidden]) tr[data-code="NoSuchBucket"]')
        .waitFor({ timeout: 30_000 });
      expect(await page.locator('#job-facts [data-key="status"] .badge').getAttribute('data-status')).toBe('Active');
      await web.screenshot('web-failures-by-code-live');
      await api.updateStatus(running, 'Cancelled');

      await page.goto(`${server.url}/#/jobs/${origin}`);
      await page.locator('#job-failures-by-code:not([hidden])').waitFor();
      const rows = page.locator('#failures-by-code-table tbody tr');
      await expect.poll(() => rows.count()).toBe(2);
      expect(await rows.nth(0).getAttribute('data-code')).toBe('NoSuchKey');
      expect(await rows.nth(0).locator('td.count').textContent()).toBe('30');
      expect(await rows.nth(1).locator('td.samples').textContent()).toMatch(/nowhere\/\d+\.txt/);
      expect(await page.locator('#job-facts [data-key="retries"] a').count()).toBe(2);
      await web.screenshot('web-failures-by-code');

      await page.click('#action-retry');
      await page.locator('#retry-codes').waitFor();
      await page.uncheck('#retry-code-0'); // NoSuchKey: only NoSuchBucket is retried
      await web.screenshot('web-retry-dialog');
      await page.click('#dialog-ok');
      await page.waitForURL((u) => /#\/jobs\//.test(u.hash) && !u.hash.includes(origin));
      const newId = decodeURIComponent(new URL(page.url()).hash.replace('#/jobs/', ''));
      await page.locator('#job-facts [data-key="retry-of"] a').waitFor();
      expect(await page.locator('#job-facts [data-key="retry-of"] a').getAttribute('href')).toBe(`#/jobs/${origin}`);
      const done = await api.waitFor(newId, 'Complete');
      expect(done.Job.ProgressSummary.TotalNumberOfTasks).toBe(NO_BUCKET);
      expect((await view(origin)).Retries).toContain(newId);
      expect(web.errors.slice(before)).toEqual([]);
      expect(web.foreignRequests).toEqual([]);
    } finally {
      await web?.close();
    }
  });
});
