/**
 * A user's pause and resume (docs/job-lifecycle.md#user-pause), end to end on Ceph RGW: `s3batch
 * serve` as a subprocess, the JSON API, the real S3ControlClient (UpdateJobStatus with the
 * RequestedJobStatus=Paused extension, DescribeJob), the CLI as a subprocess (`s3batch pause`,
 * `resume`), a restart of the server while a job is paused, and the web page's buttons in chromium.
 * The running jobs are slowed down by their own `s3batch:max-requests-per-second` tag, so they
 * still run when paused.
 */
import { GetObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  DescribeJobCommand,
  S3ControlServiceException,
  UpdateJobStatusCommand,
  type RequestedJobStatus,
  type S3ControlClient,
} from '@aws-sdk/client-s3-control';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, type BrowserSession, signIn } from '../helpers/browser.ts';
import { runCli, serverEnv, shellEnv } from '../helpers/cli-process.ts';
import { jobRequest, putManifest } from '../helpers/jobs.ts';
import { ApiError, JsonApi, type JobView } from '../helpers/json-api.ts';
import { requireCeph } from '../helpers/provided.ts';
import { hostPrefixClient } from '../helpers/s3control.ts';
import { createTestBucket, makeS3Client, putObjects, type S3ServerInfo } from '../helpers/s3-servers.ts';
import { startServerProcess, tempDataDir, TEST_API_KEY, type ServerProcess } from '../helpers/server-process.ts';

const TASKS = 60;
type PauseView = JobView & {
  PausedBy: 'user' | 'priority' | null;
  UserPause: { Reason: string | null; PausedAt: string } | null;
};

let ceph: S3ServerInfo;
let s3: S3Client;
let bucket: string;
let keys: string[];
let manifest: { key: string; etag: string };
let dataDir: string;
let server: ServerProcess;
let api: JsonApi;
let sdk: S3ControlClient;

async function serve(): Promise<void> {
  server = await startServerProcess({ s3: ceph, dataDir });
  api = new JsonApi(server.url);
  sdk?.destroy();
  sdk = hostPrefixClient(server.url, TEST_API_KEY);
}

/** A tagging job on the bucket's objects: `rate` requests per second (slow enough to pause), or unlimited. */
async function createJob(tag: string, opts: { rate?: number; confirm?: boolean } = {}): Promise<string> {
  const req = jobRequest({
    manifestBucket: bucket,
    manifestKey: manifest.key,
    etag: manifest.etag,
    operation: { S3PutObjectTagging: { TagSet: [{ Key: 'pause', Value: tag }] } },
    reportBucket: bucket,
    reportPrefix: 'reports',
    confirmationRequired: opts.confirm ?? false,
    extra:
      opts.rate !== undefined ? { Tags: [{ Key: 's3batch:max-requests-per-second', Value: String(opts.rate) }] } : {},
  });
  return (await api.createJob(req)).JobId;
}

const view = async (id: string): Promise<PauseView> => (await api.describe(id)) as PauseView;

/** How many of the bucket's objects carry the job's tag value (what its tasks really did). */
async function taggedWith(value: string): Promise<number> {
  let n = 0;
  for (const key of keys) {
    const out = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
    if (out.TagSet?.some((t) => t.Key === 'pause' && t.Value === value)) n++;
  }
  return n;
}

async function apiFailure(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

beforeAll(async () => {
  ceph = requireCeph();
  s3 = makeS3Client(ceph);
  bucket = await createTestBucket(s3, 'user-pause');
  keys = Array.from({ length: TASKS }, (_, i) => `objects/${String(i).padStart(3, '0')}`);
  await putObjects(s3, bucket, keys);
  const m = await putManifest(
    s3,
    bucket,
    'all.csv',
    keys.map((key) => ({ bucket, key })),
  );
  manifest = { key: 'all.csv', etag: m.etag };
  dataDir = tempDataDir('s3batch-user-pause-');
  await serve();
});

afterAll(async () => {
  sdk?.destroy();
  await server?.kill('SIGTERM');
  s3?.destroy();
});

describe('user pause and resume on Ceph RGW', () => {
  it('pauses a running job (JSON API); it stays paused across a restart; the SDK resumes it with Ready', async () => {
    const id = await createJob('restart', { rate: 8 });
    await api.waitUntil(id, 'some tasks done', (v) => v.Job.ProgressSummary.NumberOfTasksSucceeded >= 3);
    const answer = await api.call<{ JobId: string; Status: string; StatusUpdateReason: string }>(
      'POST',
      `/jobs/${id}/pause`,
      { Reason: 'storage maintenance' },
    );
    expect(answer.JobId).toBe(id);
    expect(['Pausing', 'Paused']).toContain(answer.Status);
    expect(answer.StatusUpdateReason).toBe('storage maintenance');
    await api.waitFor(id, 'Paused');
    const paused = await view(id);
    expect(paused.PausedBy).toBe('user');
    expect(paused.UserPause).toMatchObject({ Reason: 'storage maintenance' });
    const done = paused.Job.ProgressSummary.NumberOfTasksSucceeded;
    expect(done).toBeLessThan(TASKS);
    // The unchanged SDK parses DescribeJob of a user-paused job; the reason is its StatusUpdateReason.
    const described = await sdk.send(new DescribeJobCommand({ AccountId: TEST_API_KEY.accountId, JobId: id }));
    expect(described.Job?.Status).toBe('Paused');
    expect(described.Job?.StatusUpdateReason).toBe('storage maintenance');

    await server.kill('SIGTERM');
    await serve();
    const after = await view(id);
    expect(after.Job.Status).toBe('Paused');
    expect(after.PausedBy).toBe('user');
    expect(after.UserPause?.Reason).toBe('storage maintenance');
    expect(after.Job.ProgressSummary.NumberOfTasksSucceeded).toBe(done);
    expect(await taggedWith('restart')).toBe(done); // no task ran while it was paused

    // RequestedJobStatus=Ready on a job a user paused resumes it (extension); the SDK parses the answer.
    const resumed = await sdk.send(
      new UpdateJobStatusCommand({
        AccountId: TEST_API_KEY.accountId,
        JobId: id,
        RequestedJobStatus: 'Ready',
        StatusUpdateReason: 'maintenance over',
      }),
    );
    expect(resumed.JobId).toBe(id);
    expect(['Active', 'Completing', 'Complete']).toContain(resumed.Status);
    expect(resumed.StatusUpdateReason).toBe('maintenance over');
    const end = (await api.waitFor(id, ['Complete', 'Failed'])) as PauseView;
    expect(end.Job.Status).toBe('Complete');
    expect(end.Job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: TASKS, NumberOfTasksFailed: 0 });
    expect(end.PausedBy).toBeNull();
    expect(end.UserPause).toBeNull();
    expect(end.StatusHistory.map((h) => h.status)).toEqual([
      'New',
      'Preparing',
      'Ready',
      'Active',
      'Pausing',
      'Paused',
      'Active',
      'Completing',
      'Complete',
    ]);
    expect(await taggedWith('restart')).toBe(TASKS);
  });

  it('the SDK pauses with RequestedJobStatus=Paused (extension) and gets JobStatusException for an ended job', async () => {
    const id = await createJob('sdk', { rate: 8 });
    await api.waitFor(id, 'Active');
    const out = await sdk.send(
      new UpdateJobStatusCommand({
        AccountId: TEST_API_KEY.accountId,
        JobId: id,
        // Not in the AWS model's enum: the SDK sends it as it is (docs/extensions.md).
        RequestedJobStatus: 'Paused' as RequestedJobStatus,
        StatusUpdateReason: 'via the SDK',
      }),
    );
    expect(['Pausing', 'Paused']).toContain(out.Status);
    await api.waitFor(id, 'Paused');
    expect((await view(id)).PausedBy).toBe('user');
    const cancelled = await sdk.send(
      new UpdateJobStatusCommand({ AccountId: TEST_API_KEY.accountId, JobId: id, RequestedJobStatus: 'Cancelled' }),
    );
    expect(['Cancelling', 'Cancelled']).toContain(cancelled.Status);
    await api.waitFor(id, 'Cancelled');
    const err = await sdk
      .send(
        new UpdateJobStatusCommand({
          AccountId: TEST_API_KEY.accountId,
          JobId: id,
          RequestedJobStatus: 'Paused' as RequestedJobStatus,
        }),
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(S3ControlServiceException);
    expect((err as S3ControlServiceException).name).toBe('JobStatusException');
    expect((err as S3ControlServiceException).$metadata.httpStatusCode).toBe(409);
  });

  it('refuses bad requests with clear codes and keeps serving', async () => {
    const id = await createJob('bad', { confirm: true });
    await api.waitFor(id, 'Suspended');
    expect((await apiFailure(api.call('POST', `/jobs/${id}/pause`, { Reasn: 'x' }))).code).toBe('InvalidRequest');
    expect((await apiFailure(api.call('POST', `/jobs/${id}/pause`, { Reason: 5 }))).code).toBe('BadRequestException');
    expect((await apiFailure(api.call('POST', `/jobs/${id}/pause`, { Reason: '' }))).code).toBe('BadRequestException');
    expect((await apiFailure(api.call('POST', `/jobs/${id}/pause`, [1]))).code).toBe('MalformedJSON');
    const missing = await apiFailure(api.call('POST', '/jobs/00000000-0000-0000-0000-000000000000/pause', {}));
    expect([missing.status, missing.code]).toEqual([404, 'NotFoundException']);
    const notPaused = await apiFailure(api.call('POST', `/jobs/${id}/resume`, {}));
    expect([notPaused.status, notPaused.code]).toEqual([409, 'JobStatusException']);
    await api.updateStatus(id, 'Cancelled');
    await api.waitFor(id, 'Cancelled');
    const ended = await apiFailure(api.call('POST', `/jobs/${id}/pause`, {}));
    expect([ended.status, ended.code]).toEqual([409, 'JobStatusException']);
    expect((await apiFailure(api.updateStatus(id, 'Pausing'))).code).toBe('BadRequestException');
    expect((await view(id)).Job.Status).toBe('Cancelled'); // still serving
  });

  it('s3batch pause and resume (CLI subprocess): a Suspended job paused waits Paused once confirmed', async () => {
    const id = await createJob('cli', { confirm: true });
    await api.waitFor(id, 'Suspended');
    const home = tempDataDir('s3batch-user-pause-cli-');
    const env = { ...shellEnv(home), ...serverEnv(server.url, TEST_API_KEY) };
    const cli = (args: string[]) => runCli(args, { cwd: home, env, killAfterMs: 60_000 });

    const pause = await cli(['pause', id, '--reason', 'not tonight']);
    expect(pause.code, pause.stderr).toBe(0);
    expect(pause.stdout).toBe(`${id}  Suspended\n`);
    expect((await view(id)).UserPause?.Reason).toBe('not tonight');
    const before = await cli(['describe-job', id]);
    expect(before.stdout).toMatch(
      new RegExp(`\\nPaused +by a user at \\S+, before it runs: it will wait Paused; s3batch resume ${id} to go on\\n`),
    );
    expect(before.stdout).toMatch(/\nReason +not tonight\n/);
    const confirm = await cli(['confirm', id]);
    expect(confirm.code, confirm.stderr).toBe(0);
    await api.waitFor(id, 'Paused');
    expect((await view(id)).PausedBy).toBe('user');
    const described = await cli(['describe-job', id]);
    expect(described.code, described.stderr).toBe(0);
    expect(described.stdout).toMatch(new RegExp(`\\nPaused +by a user at \\S+; s3batch resume ${id} to go on\\n`));
    expect(await taggedWith('cli')).toBe(0);

    const resume = await cli(['resume', id, '--json']);
    expect(resume.code, resume.stderr).toBe(0);
    expect(JSON.parse(resume.stdout)).toMatchObject({ JobId: id, StatusUpdateReason: 'Resumed by the user' });
    await api.waitFor(id, 'Complete');
    expect(await taggedWith('cli')).toBe(TASKS);

    const again = await cli(['resume', id]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/JobStatusException/);
    expect(again.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const help = await cli(['pause', '--help']);
    expect(help.stdout).toMatch(/--reason <text>/);
  });
});

describe('the web page: Pause and Resume buttons in chromium', () => {
  let web: BrowserSession;
  afterAll(async () => {
    await web?.close();
  });

  it('pauses a running job with a reason, shows who paused it, and resumes it', async () => {
    // 2 tasks/s: still running however long the browser takes to start.
    const id = await createJob('web', { rate: 2 });
    await api.waitFor(id, 'Active');
    web = await openBrowser({ origin: server.url });
    const page = web.page;
    await signIn(page, `${server.url}/`);
    await page.goto(`${server.url}/#/jobs/${id}`);
    await page.locator('#job-facts').waitFor();
    const status = () =>
      page
        .locator('#job-facts [data-key="status"] .badge')
        .getAttribute('data-status', { timeout: 1000 })
        .catch(() => null);

    await page.click('#action-pause');
    await page.locator('#dialog[open]').waitFor();
    await page.fill('#dialog-reason', 'quiet hours');
    await web.screenshot('web-pause-dialog');
    await page.click('#dialog-ok');
    await expect.poll(status, { timeout: 30_000 }).toBe('Paused');
    await expect
      .poll(() => page.locator('#job-facts [data-key="paused-by"]').textContent())
      .toBe('you (user): quiet hours');
    expect(await page.locator('#action-pause').count()).toBe(0);
    await web.screenshot('web-paused');
    const v = await view(id);
    expect([v.Job.Status, v.PausedBy, v.Job.StatusUpdateReason]).toEqual(['Paused', 'user', 'quiet hours']);

    await page.click('#action-resume');
    await page.locator('#dialog[open]').waitFor();
    await page.click('#dialog-ok');
    await page.locator('#dialog').waitFor({ state: 'hidden' });
    await expect.poll(async () => (await view(id)).UserPause).toBeNull();
    await expect.poll(() => page.locator('#action-resume').count()).toBe(0);
    await expect.poll(status, { timeout: 30_000 }).toBe('Active');
    expect(await page.locator('#action-pause').count()).toBe(1);
    await web.screenshot('web-resumed');
    await api.updateStatus(id, 'Cancelled'); // the rest would take half a minute
    await expect.poll(status, { timeout: 30_000 }).toBe('Cancelled');
    // Expected: the 401 of "who am I" before signing in, and event streams ended by navigation.
    const expected = [/status of 401 .*\/api\/v1\/session\)$/, /net::ERR_FAILED \(.*\/events\)$/];
    expect(web.errors.filter((e) => !expected.some((re) => re.test(e)))).toEqual([]);
    expect(web.foreignRequests).toEqual([]);
  });
});
