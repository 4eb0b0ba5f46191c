/**
 * Webhook notifications end to end (docs/notifications.md): `s3batch serve` on Ceph RGW as a
 * subprocess, jobs with the s3batch:notify tag and an account webhook, and real HTTP receivers
 * (node:http in this process): one that answers 200 (every body's HMAC verified with the account's
 * secret), one that fails each event twice before it answers, one that is down, and one that
 * comes up only after the server restarted with deliveries still pending. The backoff is kept
 * short with --notify-retry-base-ms / --notify-retry-max-ms; the tests wait for states, never a time.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { CreateJobCommand } from '@aws-sdk/client-s3-control';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../src/notify/signature.ts';
import { runCli, serverEnv, shellEnv } from '../helpers/cli-process.ts';
import { jobRequest, putObjectsAndManifest } from '../helpers/jobs.ts';
import { ApiError, JsonApi } from '../helpers/json-api.ts';
import { requireCeph } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, type S3ServerInfo } from '../helpers/s3-servers.ts';
import { hostPrefixClient, waitForJob } from '../helpers/s3control.ts';
import { startServerProcess, tempDataDir, TEST_API_KEY, type ServerProcess } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';
import { deadPort, startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

interface Delivery {
  EventId: string;
  Event: string;
  Status: string;
  Source: string;
  Url: string;
  State: string;
  AttemptCount: number;
  Attempts: { At: string; StatusCode: number | null; Error?: string }[];
  GaveUpReason?: string;
}

interface WebhookBody {
  EventId: string;
  EventType: string;
  JobId: string;
  AccountId: string;
  PreviousStatus: string;
  Status: string;
  View: { Job: { JobId: string; Status: string } };
}

let ceph: S3ServerInfo;
let s3: S3Client;
let bucket: string;
let receiver: WebhookReceiver;
let down: number;
let server: ServerProcess;
let api: JsonApi;
const servers: ServerProcess[] = [];
const receivers: WebhookReceiver[] = [];

const deliveries = async (a: JsonApi, jobId: string): Promise<Delivery[]> =>
  (await a.call<{ Deliveries: Delivery[] }>('GET', `/jobs/${jobId}/notifications`)).Deliveries;

/** Waits until the job's log holds no pending delivery (and at least `min`). */
async function settled(a: JsonApi, jobId: string, min = 1): Promise<Delivery[]> {
  let last: Delivery[] = [];
  await until(
    async () => {
      last = await deliveries(a, jobId);
      return last.length >= min && last.every((d) => d.State !== 'pending');
    },
    `the deliveries of job ${jobId} to settle`,
    { timeoutMs: 60_000, everyMs: 50 },
  );
  return last;
}

/** A job over two objects that runs without confirmation, with `tags`. */
async function createJob(a: JsonApi, tags: { Key: string; Value: string }[]): Promise<string> {
  const { etag, manifestKey } = await manifest();
  const { JobId } = await a.createJob(
    jobRequest({
      manifestBucket: bucket,
      manifestKey,
      etag,
      operation: { S3PutObjectTagging: { TagSet: [{ Key: 'seen', Value: 'yes' }] } },
      reportBucket: bucket,
      confirmationRequired: false,
      extra: { Tags: tags },
    }),
  );
  return JobId;
}

let manifests = 0;
async function manifest(): Promise<{ etag: string; manifestKey: string }> {
  const manifestKey = `manifest-${++manifests}.csv`;
  const etag = await putObjectsAndManifest(s3, bucket, manifestKey, [`a-${manifests}.txt`, `b-${manifests}.txt`]);
  return { etag, manifestKey };
}

const bodyOf = (text: string): WebhookBody => JSON.parse(text) as WebhookBody;
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  ceph = requireCeph();
  s3 = makeS3Client(ceph);
  bucket = await createTestBucket(s3, 'notify');
  // /flaky/…: each event fails twice (503) before it is taken; every other path answers 200 at once.
  receiver = await startWebhookReceiver((p, nth) => (p.startsWith('/flaky') && nth <= 2 ? 503 : 200));
  receivers.push(receiver);
  down = await deadPort();
  server = await startServerProcess({
    s3: ceph,
    args: [
      '--function-urls',
      `${receiver.url}/,http://127.0.0.1:${down}/`,
      '--notify-retry-base-ms',
      '20',
      '--notify-retry-max-ms',
      '200',
      '--notify-max-age',
      '4',
    ],
  });
  servers.push(server);
  api = new JsonApi(server.url);
});

afterAll(async () => {
  for (const s of servers) await s.kill('SIGTERM');
  for (const r of receivers) await r.close();
  s3?.destroy();
});

describe('webhook notifications', () => {
  let secret: string;
  let firstJob: string;

  it('posts every status change to the job webhook and the end to the account webhook, signed', async () => {
    const put = await api.call<{ Webhooks: { Url: string; Events: string[] }[]; Secret: string }>(
      'PUT',
      '/notifications',
      { Webhooks: [{ Url: `${receiver.url}/account?token=t0ken`, Events: ['end'] }] },
    );
    expect(put.Webhooks).toEqual([{ Url: `${receiver.url}/account?token=t0ken`, Events: ['end'] }]);
    expect(put.Secret).toMatch(/^whsec_[0-9a-f]{64}$/);
    secret = put.Secret;
    expect(await api.call('GET', '/notifications')).toEqual(put);

    const jobId = await createJob(api, [{ Key: 's3batch:notify', Value: `${receiver.url}/job` }]);
    firstJob = jobId;
    const done = await api.waitFor(jobId, ['Complete', 'Failed']);
    expect(done.Job.Status).toBe('Complete');
    const log = await settled(api, jobId, done.StatusHistory.length);

    // One delivery per status change to the job's URL, and the end once to the account's.
    const changes = done.StatusHistory.slice(1).map((h) => h.status);
    const jobLog = log.filter((d) => d.Source === 'job');
    expect(jobLog.map((d) => d.Status).sort()).toEqual([...changes].sort());
    expect(log.filter((d) => d.Source === 'account').map((d) => [d.Event, d.Status])).toEqual([['end', 'Complete']]);
    for (const d of log) {
      expect(d).toMatchObject({ State: 'delivered', AttemptCount: 1 });
      expect(d.Attempts.map((a) => a.StatusCode)).toEqual([200]);
    }
    // The log shows the URL without its query (it may carry a token).
    expect(new Set(log.map((d) => d.Url))).toEqual(new Set([`${receiver.url}/job`, `${receiver.url}/account`]));

    const got = receiver.received.filter((r) => bodyOf(r.body).JobId === jobId);
    expect(got).toHaveLength(log.length);
    for (const r of got) {
      const headers = {
        signature: r.headers['x-s3batch-signature'] as string,
        timestamp: r.headers['x-s3batch-timestamp'] as string,
      };
      expect(verifyWebhook(secret, headers, r.body, nowSeconds())).toBe(true);
      expect(verifyWebhook(secret, headers, r.body.replace('"Status"', '"status"'), nowSeconds())).toBe(false);
      const body = bodyOf(r.body);
      expect(r.headers['x-s3batch-event-id']).toBe(body.EventId);
      expect(r.headers['content-type']).toBe('application/json');
      expect(body).toMatchObject({ JobId: jobId, AccountId: TEST_API_KEY.accountId });
      expect(body.View.Job.JobId).toBe(jobId);
      expect(r.headers['x-s3batch-event']).toBe(body.Status === 'Complete' ? 'end' : 'status');
      expect(body.EventType).toBe(`s3batch:job:${r.headers['x-s3batch-event']}`);
    }
    expect(got.filter((r) => r.path === '/job')).toHaveLength(changes.length);
    const end = got.find((r) => r.path === '/account?token=t0ken');
    expect(bodyOf(end!.body)).toMatchObject({ Status: 'Complete', View: { Job: { Status: 'Complete' } } });
  });

  it('retries a receiver that fails first, with the same body, until it answers 2xx (CLI create-job --notify)', async () => {
    await api.call('DELETE', '/notifications');
    expect(await api.call('GET', '/notifications')).toEqual({ Webhooks: [], Secret: secret });
    const { etag, manifestKey } = await manifest();
    const home = mkdtempSync(path.join(os.tmpdir(), 's3batch-notify-cli-'));
    const created = await runCli(
      [
        'create-job',
        '--manifest',
        `s3://${bucket}/${manifestKey}`,
        '--manifest-etag',
        etag,
        '--operation',
        'delete-tags',
        '--no-report',
        '--confirm',
        '--notify',
        `${receiver.url}/flaky`,
      ],
      { cwd: home, env: { ...shellEnv(home), ...serverEnv(server.url, TEST_API_KEY) }, input: '', killAfterMs: 60_000 },
    );
    expect(created.code, created.stderr).toBe(0);
    const jobId = created.stdout.trim();
    const done = await api.waitFor(jobId, ['Complete', 'Failed']);
    expect(done.Job.Status).toBe('Complete');
    const log = await settled(api, jobId, done.StatusHistory.length - 1);
    for (const d of log) {
      expect(d).toMatchObject({ State: 'delivered', AttemptCount: 3, Source: 'job', Url: `${receiver.url}/flaky` });
      expect(d.Attempts.map((a) => a.StatusCode)).toEqual([503, 503, 200]);
      const tries = receiver.received.filter((r) => r.headers['x-s3batch-event-id'] === d.EventId);
      expect(tries.map((r) => r.headers['x-s3batch-delivery-attempt'])).toEqual(['1', '2', '3']);
      expect(new Set(tries.map((r) => r.body)).size).toBe(1);
    }

    // The CLI shows the log: a line per delivery, its attempts below.
    const cliEnv = { ...shellEnv(home), ...serverEnv(server.url, TEST_API_KEY) };
    const shown = await runCli(['notifications', jobId], { cwd: home, env: cliEnv, input: '', killAfterMs: 60_000 });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(
      /^end\s+Complete\s+delivered\s+3 attempt\(s\)\s+http:\/\/127\.0\.0\.1:\d+\/flaky \[job\]$/m,
    );
    expect(shown.stdout.match(/^ {4}\S+ {2}503$/gm)).toHaveLength(2 * log.length);
    const asJson = await runCli(['notifications', jobId, '--json'], {
      cwd: home,
      env: cliEnv,
      input: '',
      killAfterMs: 60_000,
    });
    expect((JSON.parse(asJson.stdout) as { Deliveries: Delivery[] }).Deliveries).toHaveLength(log.length);
    const missing = await runCli(['notifications', 'no-such-job'], {
      cwd: home,
      env: cliEnv,
      input: '',
      killAfterMs: 60_000,
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/NotFoundException/);
  });

  it('logs the failures of a receiver that is down and gives up at the deadline; the job is unaffected', async () => {
    const jobId = await createJob(api, [{ Key: 's3batch:notify', Value: `http://127.0.0.1:${down}/hook` }]);
    const done = await api.waitFor(jobId, ['Complete', 'Failed']);
    expect(done.Job.Status).toBe('Complete');
    expect(done.Job.ProgressSummary).toMatchObject({ TotalNumberOfTasks: 2, NumberOfTasksSucceeded: 2 });
    const log = await settled(api, jobId, done.StatusHistory.length - 1);
    for (const d of log) {
      expect(d.State).toBe('failed');
      expect(d.GaveUpReason).toMatch(/no 2xx answer within 4 s/);
      expect(d.AttemptCount).toBeGreaterThanOrEqual(1);
      for (const a of d.Attempts) expect(a).toMatchObject({ StatusCode: null, Error: 'ECONNREFUSED' });
    }
  });

  it('refuses webhook URLs outside --function-urls and bad input with 400, and keeps serving', async () => {
    const refuse = async (p: Promise<unknown>, code: string, message?: RegExp): Promise<void> => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe(code);
      expect((err as ApiError).status).toBe(400);
      if (message) expect((err as ApiError).message).toMatch(message);
    };
    const outside = 'http://127.0.0.2:9/hook';
    await refuse(
      createJob(api, [{ Key: 's3batch:notify', Value: outside }]),
      'InvalidRequest',
      /Tag s3batch:notify http:\/\/127\.0\.0\.2:9\/hook is not a URL this server may call/,
    );
    await refuse(createJob(api, [{ Key: 's3batch:notify', Value: 'ftp://x/y' }]), 'InvalidRequest', /http/);
    await refuse(createJob(api, [{ Key: 's3batch:notify', Value: 'not a url' }]), 'InvalidRequest', /not a valid URL/);
    await refuse(
      api.call('PUT', `/jobs/${firstJob}/tagging`, { Tags: [{ Key: 's3batch:notify', Value: outside }] }),
      'InvalidRequest',
      /not a URL this server may call/,
    );
    await refuse(
      api.call('PUT', '/notifications', { Webhooks: [{ Url: outside }] }),
      'InvalidRequest',
      /Webhooks\[0\]\.Url .* is not a URL this server may call/,
    );
    await refuse(api.call('PUT', '/notifications', { Webhooks: 'x' }), 'InvalidRequest', /must be a list/);
    await refuse(api.call('PUT', '/notifications', { Hooks: [] }), 'InvalidRequest', /"Hooks" is not a member/);
    await refuse(
      api.call('PUT', '/notifications', { Webhooks: [{ Url: `${receiver.url}/a`, Events: ['bogus'] }] }),
      'InvalidRequest',
      /"bogus" is not an event/,
    );
    await refuse(
      api.call('PUT', '/notifications', { Webhooks: [{ Url: `${receiver.url}/a`, Secret: 'x' }] }),
      'InvalidRequest',
      /"Webhooks\[0\]\.Secret" is not a member/,
    );
    await refuse(
      api.call('PUT', '/notifications', {
        Webhooks: Array.from({ length: 11 }, (_, i) => ({ Url: `${receiver.url}/${i}` })),
      }),
      'InvalidRequest',
      /at most 10/,
    );
    await refuse(api.call('PUT', '/notifications', [1, 2]), 'MalformedJSON');
    const unknown = await api.call('GET', '/jobs/no-such-job/notifications').catch((e: unknown) => e);
    expect((unknown as ApiError).code).toBe('NotFoundException');
    // Nothing changed, and the server still answers.
    expect(await api.call('GET', '/notifications')).toEqual({ Webhooks: [], Secret: secret });
    const rotated = await api.call<{ Secret: string }>('POST', '/notifications/secret');
    expect(rotated.Secret).not.toBe(secret);
    expect(rotated.Secret).toMatch(/^whsec_[0-9a-f]{64}$/);
  });

  it("takes a job's webhook as the JSON member NotifyUrl (the s3batch:notify tag), with its checks", async () => {
    const { etag, manifestKey } = await manifest();
    const request = (extra: Record<string, unknown>): Record<string, unknown> =>
      jobRequest({
        manifestBucket: bucket,
        manifestKey,
        etag,
        operation: { S3PutObjectTagging: { TagSet: [{ Key: 'seen', Value: 'member' }] } },
        reportBucket: bucket,
        confirmationRequired: false,
        extra,
      });
    const refused = async (extra: Record<string, unknown>, message: RegExp): Promise<void> => {
      const err = await api.createJob(request(extra) as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect((err as ApiError).code).toBe('InvalidRequest');
      expect((err as ApiError).message).toMatch(message);
    };
    await refused({ NotifyUrl: 5 }, /NotifyUrl must be a string/);
    await refused({ NotifyUrl: 'http://127.0.0.2:9/hook' }, /not a URL this server may call/);
    await refused(
      { NotifyUrl: `${receiver.url}/member`, Tags: [{ Key: 's3batch:notify', Value: `${receiver.url}/member` }] },
      /NotifyUrl or the tag s3batch:notify, not both/,
    );

    const { JobId } = await api.createJob(request({ NotifyUrl: `${receiver.url}/member` }) as never);
    const done = await api.waitFor(JobId, ['Complete', 'Failed']);
    expect(done.Job.Status).toBe('Complete');
    expect((done as unknown as { Tags: { Key: string; Value: string }[] }).Tags).toContainEqual({
      Key: 's3batch:notify',
      Value: `${receiver.url}/member`,
    });
    const log = await settled(api, JobId, done.StatusHistory.length - 1);
    expect(log.map((d) => [d.Source, d.Url, d.State])).toEqual(
      log.map(() => ['job', `${receiver.url}/member`, 'delivered']),
    );
    expect(log.map((d) => d.Status).sort()).toEqual(
      done.StatusHistory.slice(1)
        .map((h) => h.status)
        .sort(),
    );
    expect(receiver.received.filter((r) => r.path === '/member' && bodyOf(r.body).JobId === JobId)).toHaveLength(
      log.length,
    );
  });
});

describe('s3batch webhooks (CLI)', () => {
  it('shows, sets, refuses a URL outside the policy, rotates the secret and clears', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 's3batch-webhooks-cli-'));
    const run = (args: string[]) =>
      runCli(['webhooks', ...args], {
        cwd: home,
        env: { ...shellEnv(home), ...serverEnv(server.url, TEST_API_KEY) },
        input: '',
        killAfterMs: 60_000,
      });
    const set = await run(['set', `${receiver.url}/cli`, '--events', 'end']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(new RegExp(`^${receiver.url}/cli  \\(end\\)$`, 'm'));
    expect(set.stdout).toMatch(/^Signing secret: whsec_[0-9a-f]{64}$/m);
    const shown = JSON.parse((await run(['show', '--json'])).stdout) as { Webhooks: unknown[]; Secret: string };
    expect(shown.Webhooks).toEqual([{ Url: `${receiver.url}/cli`, Events: ['end'] }]);

    const refused = await run(['set', 'http://127.0.0.2:9/x']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/InvalidRequest.*not a URL this server may call/);

    const rotated = await run(['rotate-secret']);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout.trim()).toMatch(/^whsec_[0-9a-f]{64}$/);
    expect(rotated.stdout.trim()).not.toBe(shown.Secret);
    expect((await run(['clear'])).code).toBe(0);
    const after = await run(['show']);
    expect(after.stdout).toMatch(/^No account webhooks\.$/m);
    expect(after.stdout).toContain(`Signing secret: ${rotated.stdout.trim()}`);
  });
});

describe('webhook notifications through the S3 Control API', () => {
  it('takes the s3batch:notify tag from the unchanged AWS SDK, and refuses one outside the policy', async () => {
    const client = hostPrefixClient(server.url, TEST_API_KEY);
    try {
      const { etag, manifestKey } = await manifest();
      const create = (url: string) =>
        client.send(
          new CreateJobCommand({
            AccountId: TEST_API_KEY.accountId,
            ConfirmationRequired: false,
            Operation: { S3DeleteObjectTagging: {} },
            Manifest: {
              Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
              Location: { ObjectArn: `arn:aws:s3:::${bucket}/${manifestKey}`, ETag: etag },
            },
            Report: { Enabled: false },
            Priority: 10,
            RoleArn: 'arn:aws:iam::111122223333:role/batch-ops',
            Tags: [{ Key: 's3batch:notify', Value: url }],
          }),
        );
      const refused = await create('http://127.0.0.2:9/hook').catch((e: unknown) => e);
      expect((refused as { name?: string }).name).toBe('InvalidRequest');
      expect((refused as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(400);

      const { JobId } = await create(`${receiver.url}/xml`);
      const job = await waitForJob(client, TEST_API_KEY.accountId, JobId!, ['Complete', 'Failed']);
      expect(job.Status).toBe('Complete');
      const log = await settled(api, JobId!, 2);
      expect(log.find((d) => d.Event === 'end')).toMatchObject({ State: 'delivered', Url: `${receiver.url}/xml` });
      expect(receiver.received.some((r) => r.path === '/xml' && bodyOf(r.body).JobId === JobId)).toBe(true);
    } finally {
      client.destroy();
    }
  });
});

describe('webhook notifications across a restart', () => {
  it('delivers what was pending when the server stopped, once it runs again', async () => {
    const port = await deadPort();
    const dataDir = tempDataDir('s3batch-notify-restart-');
    const args = ['--notify-retry-base-ms', '50', '--notify-retry-max-ms', '200', '--notify-max-age', '600'];
    const first = await startServerProcess({ s3: ceph, dataDir, args });
    servers.push(first);
    const a1 = new JsonApi(first.url);
    const jobId = await createJob(a1, [{ Key: 's3batch:notify', Value: `http://127.0.0.1:${port}/late` }]);
    const done = await a1.waitFor(jobId, ['Complete', 'Failed']);
    expect(done.Job.Status).toBe('Complete');
    let before: Delivery[] = [];
    await until(
      async () => {
        before = await deliveries(a1, jobId);
        const end = before.find((d) => d.Event === 'end');
        return end !== undefined && end.AttemptCount >= 1;
      },
      'a failed attempt of the end event',
      { timeoutMs: 30_000, everyMs: 50 },
    );
    expect(before.every((d) => d.State === 'pending')).toBe(true);
    await first.kill('SIGTERM');

    const late = await startWebhookReceiver(() => 200, port);
    receivers.push(late);
    const second = await startServerProcess({ s3: ceph, dataDir, args });
    servers.push(second);
    const a2 = new JsonApi(second.url);
    const after = await settled(a2, jobId, before.length);
    expect(after.map((d) => d.EventId).sort()).toEqual(before.map((d) => d.EventId).sort());
    for (const d of after) {
      expect(d.State).toBe('delivered');
      expect(d.Attempts[0]).toMatchObject({ StatusCode: null, Error: 'ECONNREFUSED' });
      expect(d.Attempts.at(-1)?.StatusCode).toBe(200);
    }
    const endEvent = before.find((d) => d.Event === 'end')!;
    const got = late.received.filter((r) => r.headers['x-s3batch-event-id'] === endEvent.EventId);
    expect(got).toHaveLength(1);
    expect(bodyOf(got[0]!.body)).toMatchObject({ JobId: jobId, Status: 'Complete' });
  });
});
