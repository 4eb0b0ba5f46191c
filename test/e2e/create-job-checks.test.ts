/**
 * CreateJob's checks at submit (docs/job-lifecycle.md#checks-at-submit) end to end on Ceph RGW:
 * the real `s3batch serve` process, its JSON API over fetch, its S3 Control API through the real
 * `@aws-sdk/client-s3-control`, and the `s3batch` CLI as a subprocess.
 * - The access check: a missing manifest, a wrong ETag, a missing report bucket and a missing copy
 *   target bucket are refused (AccessCheckFailed, naming the target and the S3 code) and no job
 *   exists; the opt-out (JSON member, tag, CLI flag) creates the job, which fails in Preparing as before.
 *   A storage that holds the HEADs (a proxy) is a Timeout after 5 s, both HEADs in flight together.
 * - Duplicates: a request that repeats a live job is created with a warning (JSON Warnings, the
 *   X-S3Batch-Duplicate-Of header on both APIs, the job view's DuplicateOf, the CLI's stderr), or
 *   refused with 409 DuplicateJob when asked (RejectDuplicates, tag s3batch:no-duplicates, --no-duplicates).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  CreateJobCommand,
  type CreateJobCommandInput,
  S3ControlServiceException,
  type S3ControlClient,
} from '@aws-sdk/client-s3-control';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, serverEnv, shellEnv } from '../helpers/cli-process.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { putManifest } from '../helpers/jobs.ts';
import { basicAuth, JsonApi } from '../helpers/json-api.ts';
import { requireCeph } from '../helpers/provided.ts';
import { hostPrefixClient } from '../helpers/s3control.ts';
import { createTestBucket, makeS3Client, putObjects, type S3ServerInfo } from '../helpers/s3-servers.ts';
import { startServerProcess, TEST_API_KEY, tempDataDir, type ServerProcess } from '../helpers/server-process.ts';

const ACCOUNT = TEST_API_KEY.accountId;
const ROLE = `arn:aws:iam::${ACCOUNT}:role/default`;

let ceph: S3ServerInfo;
let s3: S3Client;
let server: ServerProcess;
let api: JsonApi;
let sdk: S3ControlClient;
let src: string;
let reports: string;
let dst: string;
let manifest: { key: string; etag: string };

beforeAll(async () => {
  ceph = requireCeph();
  s3 = makeS3Client(ceph);
  src = await createTestBucket(s3, 'chk-src');
  reports = await createTestBucket(s3, 'chk-rep');
  dst = await createTestBucket(s3, 'chk-dst');
  await putObjects(s3, src, ['a.txt', 'b.txt']);
  const key = 'manifests/ab.csv';
  manifest = {
    key,
    etag: (
      await putManifest(s3, src, key, [
        { bucket: src, key: 'a.txt' },
        { bucket: src, key: 'b.txt' },
      ])
    ).etag,
  };
  server = await startServerProcess({ s3: ceph, dataDir: tempDataDir('s3batch-checks-') });
  api = new JsonApi(server.url);
  sdk = hostPrefixClient(server.url, TEST_API_KEY);
});

afterAll(async () => {
  sdk?.destroy();
  s3?.destroy();
  await server?.kill('SIGTERM');
});

/** A JSON CreateJob body: tags the listed objects (each test its own tag value, so its own fingerprint). */
function body(overrides: Record<string, unknown> = {}, manifestOverrides: { key?: string; etag?: string } = {}) {
  return {
    Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'checked', Value: randomUUID() }] } },
    Manifest: {
      Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
      Location: {
        ObjectArn: `arn:aws:s3:::${src}/${manifestOverrides.key ?? manifest.key}`,
        ETag: manifestOverrides.etag ?? manifest.etag,
      },
    },
    Report: { Enabled: true, Bucket: `arn:aws:s3:::${reports}`, Format: 'Report_CSV_20180820', Prefix: 'chk' },
    Priority: 10,
    RoleArn: ROLE,
    ConfirmationRequired: true,
    ...overrides,
  };
}

interface Answer {
  status: number;
  headers: Headers;
  json: any; // the API's JSON, of several shapes
}

/** POST /api/v1/jobs, keeping the status and headers JsonApi does not return. */
async function postJob(request: unknown): Promise<Answer> {
  const res = await fetch(`${server.url}/api/v1/jobs`, {
    method: 'POST',
    headers: {
      'x-amz-account-id': ACCOUNT,
      authorization: basicAuth(TEST_API_KEY),
      'content-type': 'application/json',
    },
    body: JSON.stringify(request),
  });
  return { status: res.status, headers: res.headers, json: await res.json() };
}

async function jobCount(): Promise<number> {
  let n = 0;
  let token: string | undefined;
  do {
    const page = await api.call<{ Jobs: unknown[]; NextToken?: string }>(
      'GET',
      `/jobs?maxResults=1000${token ? `&nextToken=${encodeURIComponent(token)}` : ''}`,
    );
    n += page.Jobs.length;
    token = page.NextToken;
  } while (token);
  return n;
}

/** Expects a 400 AccessCheckFailed whose message names `what` and `code`, and no new job. */
async function expectRefused(request: unknown, what: string, code: string): Promise<void> {
  const before = await jobCount();
  const out = await postJob(request);
  expect(out.status).toBe(400);
  expect(out.json.error.code).toBe('AccessCheckFailed');
  expect(out.json.error.message).toContain(what);
  expect(out.json.error.message).toContain(code);
  expect(await jobCount()).toBe(before);
}

describe('access check at CreateJob (JSON API)', () => {
  it('refuses a missing manifest, naming it and NoSuchKey', async () => {
    await expectRefused(
      body({}, { key: 'manifests/none.csv' }),
      `manifest arn:aws:s3:::${src}/manifests/none.csv`,
      'NoSuchKey (HTTP 404)',
    );
  });

  it("refuses a manifest whose ETag is not the request's, naming both", async () => {
    await expectRefused(body({}, { etag: '0123456789abcdef0123456789abcdef' }), 'ETagMismatch', manifest.etag);
  });

  it('refuses a missing report bucket', async () => {
    const missing = `chk-none-${randomUUID().slice(0, 8)}`;
    await expectRefused(
      body({ Report: { Enabled: true, Bucket: `arn:aws:s3:::${missing}`, Format: 'Report_CSV_20180820' } }),
      `report bucket arn:aws:s3:::${missing}`,
      'NoSuchBucket',
    );
  });

  it('refuses a missing copy target bucket, and names every problem at once', async () => {
    const missing = `chk-none-${randomUUID().slice(0, 8)}`;
    const request = body(
      { Operation: { S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${missing}` } } },
      { key: 'manifests/none.csv' },
    );
    await expectRefused(request, `copy target bucket arn:aws:s3:::${missing}`, 'NoSuchBucket');
    const out = await postJob(request);
    expect(out.json.error.message).toContain('NoSuchKey');
  });

  it('creates a copy job whose manifest, report bucket and target bucket exist', async () => {
    const out = await postJob(body({ Operation: { S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${dst}` } } }));
    expect(out.status).toBe(201);
    expect((await api.waitFor(out.json.JobId, 'Suspended')).Job.Status).toBe('Suspended');
  });

  it('SkipAccessCheck creates the job, which fails in Preparing as without the check', async () => {
    const out = await postJob(body({ SkipAccessCheck: true, ConfirmationRequired: false }, { key: 'none.csv' }));
    expect(out.status).toBe(201);
    const failed = await api.waitFor(out.json.JobId, 'Failed');
    expect(failed.Job.FailureReasons.map((r) => r.FailureCode)).toContain('ManifestNotFound');
    expect(failed.StatusHistory.map((h) => h.status)).toEqual(['New', 'Preparing', 'Failing', 'Failed']);
  });

  it('refuses a SkipAccessCheck or RejectDuplicates that is not a boolean, and keeps serving', async () => {
    for (const bad of [{ SkipAccessCheck: 'yes' }, { RejectDuplicates: 1 }]) {
      const out = await postJob(body(bad));
      expect(out.status).toBe(400);
      expect(out.json.error.code).toBe('InvalidRequest');
    }
    expect((await postJob(body())).status).toBe(201);
  });
});

describe('access check timeout (a proxy that holds HEADs)', () => {
  it('answers AccessCheckFailed naming each target with Timeout; the HEADs run at once; the server keeps serving', async () => {
    // The proxy holds every HEAD 7 s, past the check's 5 s: a storage that does not answer in time.
    const proxy = await startFaultProxy(ceph.endpoint, () => undefined, {
      watch: (req) => req.method === 'HEAD',
      latencyMs: 7_000,
    });
    const slow = await startServerProcess({
      s3: { ...ceph, endpoint: proxy.endpoint },
      dataDir: tempDataDir('s3batch-checks-slow-'),
    });
    try {
      const res = await fetch(`${slow.url}/api/v1/jobs`, {
        method: 'POST',
        headers: {
          'x-amz-account-id': ACCOUNT,
          authorization: basicAuth(TEST_API_KEY),
          'content-type': 'application/json',
        },
        body: JSON.stringify(body()),
      });
      const json = (await res.json()) as { error: { code: string; message: string } };
      expect(res.status).toBe(400);
      expect(json.error.code).toBe('AccessCheckFailed');
      expect(json.error.message).toContain(
        `manifest arn:aws:s3:::${src}/${manifest.key}: Timeout: no answer within 5000 ms`,
      );
      expect(json.error.message).toContain(`report bucket arn:aws:s3:::${reports}: Timeout`);
      // The manifest's HeadObject and the report bucket's HeadBucket were in flight together.
      expect(proxy.watched.maxInFlight).toBe(2);
      expect((await fetch(`${slow.url}/healthz`)).status).toBe(200);
    } finally {
      await slow.kill('SIGTERM');
      await proxy.close();
    }
  });
});

/** The SDK's CreateJob input of a JSON body (AccountId added). */
const sdkInput = (b: Record<string, unknown>): CreateJobCommandInput =>
  ({ AccountId: ACCOUNT, ...b }) as unknown as CreateJobCommandInput;

/** Sends CreateJob through the SDK, also returning the duplicate header the SDK does not surface. */
async function sdkCreate(input: CreateJobCommandInput): Promise<{ JobId: string; duplicateOf: string | undefined }> {
  const command = new CreateJobCommand(input);
  let duplicateOf: string | undefined;
  command.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      duplicateOf = (out.response as { headers: Record<string, string> }).headers['x-s3batch-duplicate-of'];
      return out;
    },
    { step: 'deserialize', name: 'readDuplicateHeader' },
  );
  const out = await sdk.send(command);
  return { JobId: out.JobId!, duplicateOf };
}

async function sdkError(input: CreateJobCommandInput): Promise<S3ControlServiceException> {
  try {
    await sdk.send(new CreateJobCommand(input));
  } catch (err) {
    if (err instanceof S3ControlServiceException) return err;
    throw err;
  }
  throw new Error('CreateJob succeeded');
}

describe('access check at CreateJob (S3 Control API, AWS SDK)', () => {
  it('is an XML error the unchanged SDK parses, with the code and the message', async () => {
    const err = await sdkError(sdkInput(body({}, { key: 'manifests/none.csv' })));
    expect(err.name).toBe('AccessCheckFailed');
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(err.message).toContain(`arn:aws:s3:::${src}/manifests/none.csv`);
    expect(err.message).toContain('NoSuchKey');
  });

  it('the tag s3batch:skip-access-check=true creates the job', async () => {
    const { JobId } = await sdkCreate(
      sdkInput(
        body(
          { Tags: [{ Key: 's3batch:skip-access-check', Value: 'true' }], ConfirmationRequired: false },
          {
            key: 'none.csv',
          },
        ),
      ),
    );
    const failed = await api.waitFor(JobId, 'Failed');
    expect(failed.Job.FailureReasons.map((r) => r.FailureCode)).toContain('ManifestNotFound');
  });
});

describe('duplicate jobs', () => {
  it('warns in JSON and in the header, keeps the warning in the job view, refuses when asked', async () => {
    const request = body();
    const first = await postJob(request);
    expect(first.status).toBe(201);
    expect(first.json.Warnings).toBeUndefined();
    expect(first.headers.get('x-s3batch-duplicate-of')).toBeNull();

    const second = await postJob(request);
    expect(second.status).toBe(201);
    expect(second.json.JobId).not.toBe(first.json.JobId);
    expect(second.headers.get('x-s3batch-duplicate-of')).toBe(first.json.JobId);
    expect(second.json.Warnings).toEqual([
      { Code: 'DuplicateJob', JobId: first.json.JobId, Message: expect.stringContaining(first.json.JobId) },
    ]);
    const view = await api.call<{ DuplicateOf: string | null }>('GET', `/jobs/${second.json.JobId}`);
    expect(view.DuplicateOf).toBe(first.json.JobId);
    const firstView = await api.call<{ DuplicateOf: string | null }>('GET', `/jobs/${first.json.JobId}`);
    expect(firstView.DuplicateOf).toBeNull();

    // The newest match is named; the same ClientRequestToken stays idempotent (the same job, no new warning).
    const token = randomUUID();
    const third = await postJob({ ...request, ClientRequestToken: token });
    expect(third.json.Warnings[0].JobId).toBe(second.json.JobId);
    const again = await postJob({ ...request, ClientRequestToken: token });
    expect(again.status).toBe(201);
    expect(again.json).toEqual({ JobId: third.json.JobId });

    const before = await jobCount();
    const refused = await postJob({ ...request, RejectDuplicates: true });
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe('DuplicateJob');
    expect(refused.json.error.message).toContain(third.json.JobId);
    expect(await jobCount()).toBe(before);
  });

  it('does not warn when the operation, the manifest or the target differ', async () => {
    const request = body();
    expect((await postJob(request)).status).toBe(201);
    const otherTag = await postJob({
      ...request,
      Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'x', Value: 'y' }] } },
    });
    expect(otherTag.json.Warnings).toBeUndefined();
    // Priority, Description and the report are not part of what a duplicate repeats.
    const samework = await postJob({ ...request, Priority: 99, Description: 'again' });
    expect(samework.json.Warnings?.[0]?.Code).toBe('DuplicateJob');
    const copyA = body({ Operation: { S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${dst}` } } });
    expect((await postJob(copyA)).status).toBe(201);
    const copyB = await postJob({
      ...copyA,
      Operation: { S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${dst}`, TargetKeyPrefix: 'other' } },
    });
    expect(copyB.json.Warnings).toBeUndefined();
  });

  it('a cancelled job (ended within 24 h) still counts', async () => {
    const request = body();
    const first = await postJob(request);
    await api.waitFor(first.json.JobId, 'Suspended');
    await api.updateStatus(first.json.JobId, 'Cancelled');
    await api.waitFor(first.json.JobId, 'Cancelled');
    const second = await postJob(request);
    expect(second.json.Warnings[0].JobId).toBe(first.json.JobId);
  });

  it('through the SDK: the answer parses, the header names the job; the tag s3batch:no-duplicates refuses', async () => {
    const request = body();
    const first = await sdkCreate(sdkInput(request));
    expect(first.duplicateOf).toBeUndefined();
    const second = await sdkCreate(sdkInput(request));
    expect(second.JobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.duplicateOf).toBe(first.JobId);
    const err = await sdkError(sdkInput({ ...request, Tags: [{ Key: 's3batch:no-duplicates', Value: 'true' }] }));
    expect(err.name).toBe('DuplicateJob');
    expect(err.$metadata.httpStatusCode).toBe(409);
    expect(err.message).toContain(second.JobId);
  });
});

describe('the CLI', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 's3batch-checks-cli-'));
  const cli = (args: string[]) =>
    runCli(args, {
      cwd: home,
      env: { ...shellEnv(home), ...serverEnv(server.url, TEST_API_KEY) },
      killAfterMs: 60_000,
    });
  const flags = (tagValue: string) => [
    'create-job',
    '--manifest',
    `s3://${src}/${manifest.key}`,
    '--manifest-etag',
    manifest.etag,
    '--operation',
    'tag',
    '--tag',
    `cli=${tagValue}`,
    '--report',
    `s3://${reports}/cli`,
  ];

  it('prints the duplicate warning on stderr and the JobId on stdout; --no-duplicates refuses', async () => {
    const value = randomUUID();
    const first = await cli(flags(value));
    expect(first.code).toBe(0);
    expect(first.stderr).toBe('');
    const firstId = first.stdout.trim();
    const second = await cli(flags(value));
    expect(second.code).toBe(0);
    expect(second.stdout.trim()).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.stderr).toContain(`warning: DuplicateJob: job ${second.stdout.trim()} repeats job ${firstId}`);
    const refused = await cli([...flags(value), '--no-duplicates']);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('DuplicateJob');
    expect(refused.stderr).toContain(second.stdout.trim());
  });

  it('refuses a missing manifest with the reason; --skip-access-check creates the job', async () => {
    const args = flags(randomUUID()).map((a) => (a === `s3://${src}/${manifest.key}` ? `s3://${src}/cli-none.csv` : a));
    const refused = await cli(args);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('AccessCheckFailed');
    expect(refused.stderr).toContain(`arn:aws:s3:::${src}/cli-none.csv`);
    const skipped = await cli([...args, '--skip-access-check', '--confirm']);
    expect(skipped.code).toBe(0);
    const failed = await api.waitFor(skipped.stdout.trim(), 'Failed');
    expect(failed.Job.FailureReasons.map((r) => r.FailureCode)).toContain('ManifestNotFound');
  });
});
