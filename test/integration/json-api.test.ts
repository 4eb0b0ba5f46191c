/**
 * The JSON API (/api/v1) of the real server (startServer, in process) on the s3rver of the global
 * setup, with plain fetch as the client: bad input of every kind answers a 4xx JSON error with a
 * stable code and never takes the server down; account isolation; ListJobs paging and filters;
 * idempotent CreateJob; job tagging; priority and status updates against the job's state.
 *
 * Most jobs here point at a manifest that does not exist, so they fail in Preparing with
 * ManifestNotFound; jobs that must stay non-terminal read a real manifest and wait for confirmation.
 * Every test works in an account of its own, so listings see only that test's jobs.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/main.ts';
import { startServerOn } from '../helpers/in-process-server.ts';
import { putManifest } from '../helpers/jobs.ts';
import { requireS3rver } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client } from '../helpers/s3-servers.ts';
import { basicAuth } from '../helpers/json-api.ts';
import { writeApiKeysFile, type ApiKey } from '../helpers/s3control.ts';
import { TEST_API_KEY } from '../helpers/server-process.ts';

let server: RunningServer;
let dataDir: string;
let s3: S3Client;
let bucket: string;
/** A real one-line manifest: jobs on it reach Suspended when they need confirmation. */
let manifestEtag: string;

beforeAll(async () => {
  const s3rver = requireS3rver();
  s3 = makeS3Client(s3rver);
  bucket = await createTestBucket(s3, 'json-api');
  manifestEtag = (await putManifest(s3, bucket, 'manifest.csv', [{ bucket, key: 'object.txt' }])).etag;
  dataDir = await mkdtemp(join(tmpdir(), 's3batch-json-api-'));
  const apiKeysFile = writeApiKeysFile(dataDir, [TEST_API_KEY, ...ACCOUNT_KEYS.values()]);
  server = await startServerOn(s3rver, dataDir, { apiKeysFile });
});

afterAll(async () => {
  await server?.close();
  s3?.destroy();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/**
 * The JSON API acts for the account of the caller's access key: the server gets one key for each
 * of these accounts (and TEST_API_KEY, account 111122223333), and `call` signs with the key of
 * the account it names.
 */
const ACCOUNT_KEYS = new Map<string, ApiKey>(
  Array.from({ length: 40 }, (_, i) => {
    const accountId = String(randomInt(100_000_000_000, 999_999_999_999));
    return [
      accountId,
      { accessKeyId: `JSONAPITESTKEY${String(i).padStart(4, '0')}`, secretAccessKey: randomUUID(), accountId },
    ] as const;
  }),
);
const unusedAccounts = [...ACCOUNT_KEYS.keys()];

/** A fresh 12-digit account id of its own (with a key), not TEST_API_KEY's 111122223333. */
const newAccount = (): string => {
  const account = unusedAccounts.shift();
  if (account === undefined) throw new Error('json-api.test.ts: more accounts used than ACCOUNT_KEYS holds');
  return account;
};

interface Answer {
  status: number;
  contentType: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the one `any`: response bodies of many shapes
  json: any;
}

async function call(
  method: string,
  path: string,
  opts: { account?: string | null; body?: unknown; raw?: string | Uint8Array; contentType?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.account !== null) headers['x-amz-account-id'] = opts.account ?? '111122223333';
  // The key of the account named (TEST_API_KEY for none, or for a malformed account id).
  headers.authorization = basicAuth(ACCOUNT_KEYS.get(opts.account ?? '') ?? TEST_API_KEY);
  let body: string | Uint8Array | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  const res = await fetch(`${server.url}/api/v1${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    json: text ? JSON.parse(text) : undefined,
  };
}

/** Expects a 4xx JSON error with this status and code. */
function expectError(answer: Answer, status: number, code: string): void {
  expect({ status: answer.status, code: answer.json?.error?.code }).toEqual({ status, code });
  expect(answer.contentType).toMatch(/^application\/json/);
  expect(typeof answer.json.error.message).toBe('string');
  expect(answer.json.error.requestId).toMatch(/^[0-9A-F]{16}$/);
}

function jobBody(
  extra: Record<string, unknown> = {},
  manifest: 'missing' | 'real' = 'missing',
): Record<string, unknown> {
  const key = manifest === 'real' ? 'manifest.csv' : `missing/${randomUUID()}.csv`;
  return {
    Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'k', Value: 'v' }] } },
    Manifest: {
      Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
      Location: {
        ObjectArn: `arn:aws:s3:::${bucket}/${key}`,
        ETag: manifest === 'real' ? manifestEtag : 'no-such-etag',
      },
    },
    Report: { Enabled: false },
    Priority: 10,
    RoleArn: 'arn:aws:iam::111122223333:role/batch-operations',
    ConfirmationRequired: manifest === 'real',
    // A missing manifest fails the job in Preparing only past CreateJob's access check.
    ...(manifest === 'missing' ? { SkipAccessCheck: true } : {}),
    ...extra,
  };
}

async function createJob(account: string, body: Record<string, unknown>): Promise<string> {
  const res = await call('POST', '/jobs', { account, body });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  expect(res.json.JobId).toMatch(/^[0-9a-f-]{36}$/);
  return res.json.JobId as string;
}

/** Polls DescribeJob until the job is in `status` (fails with the last view after the timeout). */
async function waitForStatus(account: string, jobId: string, status: string, timeoutMs = 30_000): Promise<Answer> {
  const deadline = Date.now() + timeoutMs;
  let last: Answer | undefined;
  while (Date.now() < deadline) {
    last = await call('GET', `/jobs/${jobId}`, { account });
    if (last.json?.Job?.Status === status) return last;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`job ${jobId} did not reach ${status} in ${timeoutMs} ms; last: ${JSON.stringify(last?.json)}`);
}

/** A job that failed in Preparing because its manifest does not exist. */
async function failedJob(account: string, extra: Record<string, unknown> = {}): Promise<string> {
  const id = await createJob(account, jobBody(extra));
  await waitForStatus(account, id, 'Failed');
  return id;
}

/** A job waiting for confirmation (non-terminal). */
async function suspendedJob(account: string, extra: Record<string, unknown> = {}): Promise<string> {
  const id = await createJob(account, jobBody(extra, 'real'));
  await waitForStatus(account, id, 'Suspended');
  return id;
}

describe('bad input never crashes the server', () => {
  it('answers every bad request with a 4xx JSON error and a stable code, then keeps serving', async () => {
    const account = newAccount();
    const suspended = await suspendedJob(account);
    const bigBody = JSON.stringify({ ...jobBody(), Description: 'x'.repeat(11 * 1024 * 1024) });

    const cases: [name: string, answer: () => Promise<Answer>, status: number, code: string][] = [
      // bodies that are not a JSON object
      ['malformed JSON', () => call('POST', '/jobs', { account, raw: '{"Priority": 1,' }), 400, 'MalformedJSON'],
      ['a JSON array', () => call('POST', '/jobs', { account, raw: '[1, 2]' }), 400, 'MalformedJSON'],
      ['a JSON string', () => call('POST', '/jobs', { account, raw: '"create a job"' }), 400, 'MalformedJSON'],
      ['JSON null', () => call('POST', '/jobs', { account, raw: 'null' }), 400, 'MalformedJSON'],
      ['a JSON number', () => call('POST', '/jobs', { account, raw: '42' }), 400, 'MalformedJSON'],
      ['no body at all', () => call('POST', '/jobs', { account }), 400, 'MalformedJSON'],
      ['an empty JSON body', () => call('POST', '/jobs', { account, raw: '' }), 400, 'MalformedJSON'],
      [
        'a __proto__ key',
        () => call('POST', '/jobs', { account, raw: '{"__proto__": {"Priority": 1}}' }),
        400,
        'MalformedJSON',
      ],
      [
        'a JSON text sent as text/plain',
        () => call('POST', '/jobs', { account, raw: JSON.stringify(jobBody()), contentType: 'text/plain' }),
        400,
        'MalformedJSON',
      ],
      [
        'an XML content type',
        () => call('POST', '/jobs', { account, raw: '<CreateJobRequest/>', contentType: 'application/xml' }),
        415,
        'UnsupportedMediaType',
      ],
      ['an 11 MB body (limit 10 MB)', () => call('POST', '/jobs', { account, raw: bigBody }), 413, 'RequestTooLarge'],
      // fields of the wrong type
      [
        'Priority as a string',
        () => call('POST', '/jobs', { account, body: jobBody({ Priority: '5' }) }),
        400,
        'InvalidRequest',
      ],
      [
        'Manifest as a list',
        () => call('POST', '/jobs', { account, body: jobBody({ Manifest: [] }) }),
        400,
        'InvalidRequest',
      ],
      [
        'Operation as a string',
        () => call('POST', '/jobs', { account, body: jobBody({ Operation: 'S3PutObjectCopy' }) }),
        400,
        'InvalidRequest',
      ],
      [
        'Report as a boolean',
        () => call('POST', '/jobs', { account, body: jobBody({ Report: false }) }),
        400,
        'InvalidRequest',
      ],
      [
        'Tags as an object',
        () => call('POST', '/jobs', { account, body: jobBody({ Tags: { a: 'b' } }) }),
        400,
        'InvalidRequest',
      ],
      [
        'ConfirmationRequired as a string',
        () => call('POST', '/jobs', { account, body: jobBody({ ConfirmationRequired: 'no' }) }),
        400,
        'InvalidRequest',
      ],
      [
        '51 tags',
        () => call('POST', '/jobs', { account, body: jobBody({ Tags: manyTags(51) }) }),
        400,
        'TooManyTagsException',
      ],
      // unknown jobs
      [
        'DescribeJob of an unknown id',
        () => call('GET', `/jobs/${randomUUID()}`, { account }),
        404,
        'NotFoundException',
      ],
      [
        'DescribeJob of a garbage id',
        () => call('GET', '/jobs/..%2F..%2Fetc%2Fpasswd', { account }),
        404,
        'NotFoundException',
      ],
      [
        'UpdateJobStatus of an unknown id',
        () => call('POST', `/jobs/${randomUUID()}/status`, { account, body: { RequestedJobStatus: 'Cancelled' } }),
        404,
        'NotFoundException',
      ],
      [
        'UpdateJobPriority of an unknown id',
        () => call('POST', `/jobs/${randomUUID()}/priority`, { account, body: { Priority: 1 } }),
        404,
        'NotFoundException',
      ],
      [
        'GetJobTagging of an unknown id',
        () => call('GET', `/jobs/${randomUUID()}/tagging`, { account }),
        404,
        'NotFoundException',
      ],
      [
        'PutJobTagging of an unknown id',
        () => call('PUT', `/jobs/${randomUUID()}/tagging`, { account, body: { Tags: [] } }),
        404,
        'NotFoundException',
      ],
      [
        'DeleteJobTagging of an unknown id',
        () => call('DELETE', `/jobs/${randomUUID()}/tagging`, { account }),
        404,
        'NotFoundException',
      ],
      ['an unknown route', () => call('GET', '/nothing-here', { account }), 404, 'NotFound'],
      // the account header
      [
        'x-amz-account-id not 12 digits (ListJobs)',
        () => call('GET', '/jobs', { account: '12345' }),
        400,
        'InvalidRequest',
      ],
      [
        'x-amz-account-id with letters (CreateJob)',
        () => call('POST', '/jobs', { account: '11112222333a', body: jobBody() }),
        400,
        'InvalidRequest',
      ],
      [
        'x-amz-account-id with letters (DescribeJob)',
        () => call('GET', `/jobs/${suspended}`, { account: 'abcdefghijkl' }),
        400,
        'InvalidRequest',
      ],
      // ListJobs query
      [
        'maxResults not a number',
        () => call('GET', '/jobs?maxResults=ten', { account }),
        400,
        'InvalidRequestException',
      ],
      ['maxResults negative', () => call('GET', '/jobs?maxResults=-1', { account }), 400, 'InvalidRequestException'],
      ['maxResults fractional', () => call('GET', '/jobs?maxResults=1.5', { account }), 400, 'InvalidRequestException'],
      ['maxResults over 1000', () => call('GET', '/jobs?maxResults=1001', { account }), 400, 'InvalidRequestException'],
      ['maxResults empty', () => call('GET', '/jobs?maxResults=', { account }), 400, 'InvalidRequestException'],
      [
        'nextToken garbage',
        () => call('GET', '/jobs?nextToken=not-a-token', { account }),
        400,
        'InvalidNextTokenException',
      ],
      [
        'nextToken of foreign JSON',
        () => call('GET', `/jobs?nextToken=${Buffer.from('{"page":2}').toString('base64url')}`, { account }),
        400,
        'InvalidNextTokenException',
      ],
      [
        'an unknown job status filter',
        () => call('GET', '/jobs?jobStatuses=Running', { account }),
        400,
        'InvalidRequestException',
      ],
      // UpdateJobStatus / UpdateJobPriority arguments
      [
        'RequestedJobStatus Active',
        () => call('POST', `/jobs/${suspended}/status`, { account, body: { RequestedJobStatus: 'Active' } }),
        400,
        'BadRequestException',
      ],
      [
        'RequestedJobStatus missing',
        () => call('POST', `/jobs/${suspended}/status`, { account, body: {} }),
        400,
        'BadRequestException',
      ],
      [
        'RequestedJobStatus lower-case',
        () => call('POST', `/jobs/${suspended}/status`, { account, body: { RequestedJobStatus: 'cancelled' } }),
        400,
        'BadRequestException',
      ],
      [
        'StatusUpdateReason a number',
        () =>
          call('POST', `/jobs/${suspended}/status`, {
            account,
            body: { RequestedJobStatus: 'Cancelled', StatusUpdateReason: 7 },
          }),
        400,
        'BadRequestException',
      ],
      [
        'StatusUpdateReason of 257 characters',
        () =>
          call('POST', `/jobs/${suspended}/status`, {
            account,
            body: { RequestedJobStatus: 'Cancelled', StatusUpdateReason: 'r'.repeat(257) },
          }),
        400,
        'BadRequestException',
      ],
      [
        'a status update without a body',
        () => call('POST', `/jobs/${suspended}/status`, { account }),
        400,
        'MalformedJSON',
      ],
      [
        'Priority -1',
        () => call('POST', `/jobs/${suspended}/priority`, { account, body: { Priority: -1 } }),
        400,
        'InvalidRequest',
      ],
      [
        'Priority "high"',
        () => call('POST', `/jobs/${suspended}/priority`, { account, body: { Priority: 'high' } }),
        400,
        'InvalidRequest',
      ],
      [
        'Priority 2^31',
        () => call('POST', `/jobs/${suspended}/priority`, { account, body: { Priority: 2 ** 31 } }),
        400,
        'InvalidRequest',
      ],
      [
        'Priority missing',
        () => call('POST', `/jobs/${suspended}/priority`, { account, body: {} }),
        400,
        'InvalidRequest',
      ],
      // PutJobTagging arguments
      [
        'PutJobTagging without Tags',
        () => call('PUT', `/jobs/${suspended}/tagging`, { account, body: { tags: [{ Key: 'a', Value: 'b' }] } }),
        400,
        'InvalidRequest',
      ],
      [
        'PutJobTagging with a tag list that is a string',
        () => call('PUT', `/jobs/${suspended}/tagging`, { account, body: { Tags: 'a=b' } }),
        400,
        'InvalidRequest',
      ],
    ];

    const got: string[] = [];
    const want: string[] = [];
    for (const [name, answer, status, code] of cases) {
      const res = await answer();
      got.push(`${name}: ${res.status} ${res.json?.error?.code}`);
      want.push(`${name}: ${status} ${code}`);
      if (res.status === status && res.json?.error?.code === code) expectError(res, status, code);
    }
    expect(got).toEqual(want);

    // None of it changed the job or took the server down: a valid request still works.
    const view = await call('GET', `/jobs/${suspended}`, { account });
    expect(view.status).toBe(200);
    expect(view.json.Job).toMatchObject({ Status: 'Suspended', Priority: 10 });
    expect(view.json.Tags).toEqual([]);
    expect((await call('GET', '/jobs', { account })).json.Jobs).toHaveLength(1);
    const fresh = await createJob(account, jobBody());
    expect((await call('GET', `/jobs/${fresh}`, { account })).status).toBe(200);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('fails a job whose manifest does not exist in Preparing with ManifestNotFound', async () => {
    const account = newAccount();
    const id = await failedJob(account, { Description: 'missing manifest' });
    const view = await call('GET', `/jobs/${id}`, { account });
    expect(view.json.Job.FailureReasons).toEqual([
      { FailureCode: 'ManifestNotFound', FailureReason: expect.any(String) },
    ]);
    expect(view.json.Job).toMatchObject({
      Description: 'missing manifest',
      ConfirmationRequired: false,
      ProgressSummary: { TotalNumberOfTasks: 0 },
    });
    expect(view.json.Job.TerminationDate).toEqual(expect.any(String));
    expect(view.json.StatusHistory.map((h: { status: string }) => h.status)).toEqual([
      'New',
      'Preparing',
      'Failing',
      'Failed',
    ]);
  });
});

describe('accounts', () => {
  it('another account can neither see, describe, update nor tag a job', async () => {
    const owner = newAccount();
    const other = newAccount();
    const id = await suspendedJob(owner, { Tags: [{ Key: 'team', Value: 'data' }] });
    for (const account of [other, null]) {
      // null: no header, so the account of the key sent (TEST_API_KEY's 111122223333)
      expectError(await call('GET', `/jobs/${id}`, { account }), 404, 'NotFoundException');
      expectError(
        await call('POST', `/jobs/${id}/status`, { account, body: { RequestedJobStatus: 'Cancelled' } }),
        404,
        'NotFoundException',
      );
      expectError(
        await call('POST', `/jobs/${id}/priority`, { account, body: { Priority: 99 } }),
        404,
        'NotFoundException',
      );
      expectError(await call('GET', `/jobs/${id}/tagging`, { account }), 404, 'NotFoundException');
      expectError(await call('PUT', `/jobs/${id}/tagging`, { account, body: { Tags: [] } }), 404, 'NotFoundException');
      expectError(await call('DELETE', `/jobs/${id}/tagging`, { account }), 404, 'NotFoundException');
      const list = await call('GET', '/jobs', { account });
      expect(list.json.Jobs.map((j: { JobId: string }) => j.JobId)).not.toContain(id);
    }
    // …and nothing they tried changed it
    const view = await call('GET', `/jobs/${id}`, { account: owner });
    expect(view.json.Job).toMatchObject({ Status: 'Suspended', Priority: 10 });
    expect(view.json.Tags).toEqual([{ Key: 'team', Value: 'data' }]);
    expect((await call('GET', '/jobs', { account: owner })).json.Jobs.map((j: { JobId: string }) => j.JobId)).toEqual([
      id,
    ]);
  });
});

describe('ListJobs', () => {
  it('pages with maxResults=2 over 5 jobs: every job exactly once, newest first', async () => {
    const account = newAccount();
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      // distinct creation times, so newest-first is one exact order
      const before = Date.now();
      while (Date.now() === before) await new Promise((r) => setImmediate(r));
      created.push(await createJob(account, jobBody({ Description: `job ${i}` })));
    }
    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const res = await call('GET', `/jobs?maxResults=2${token ? `&nextToken=${encodeURIComponent(token)}` : ''}`, {
        account,
      });
      expect(res.status).toBe(200);
      pages.push(res.json.Jobs.map((j: { JobId: string }) => j.JobId));
      token = res.json.NextToken;
      expect(pages.length).toBeLessThanOrEqual(5);
    } while (token !== undefined);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual([...created].reverse());

    // Tokens are signed: a cursor forged from a real one is refused.
    const first = await call('GET', '/jobs?maxResults=1', { account });
    const [payload, mac] = (first.json.NextToken as string).split('.');
    const cursor = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { c: string; i: string };
    const forged = `${Buffer.from(JSON.stringify({ ...cursor, c: '2000-01-01T00:00:00.000Z' })).toString('base64url')}.${mac}`;
    const refused = await call('GET', `/jobs?nextToken=${encodeURIComponent(forged)}`, { account });
    expect([refused.status, refused.json.error.code]).toEqual([400, 'InvalidNextTokenException']);

    const all = await call('GET', '/jobs', { account });
    expect(all.json.NextToken).toBeUndefined();
    expect(all.json.Jobs.map((j: { JobId: string }) => j.JobId)).toEqual([...created].reverse());
    expect(all.json.Jobs[0]).toMatchObject({ Description: 'job 4', Operation: 'S3PutObjectTagging', Priority: 10 });
    const exact = await call('GET', '/jobs?maxResults=5', { account });
    expect(exact.json.Jobs).toHaveLength(5);
    expect(exact.json.NextToken).toBeUndefined();
  });

  it('filters by status (repeated jobStatuses, or a comma list in status)', async () => {
    const account = newAccount();
    const failed = [await failedJob(account), await failedJob(account)];
    const suspended = await suspendedJob(account);
    const ids = async (query: string): Promise<string[]> => {
      const res = await call('GET', `/jobs?${query}`, { account });
      expect(res.status).toBe(200);
      return (res.json.Jobs as { JobId: string; Status: string }[]).map((j) => j.JobId).sort();
    };
    expect(await ids('jobStatuses=Suspended')).toEqual([suspended]);
    expect(await ids('jobStatuses=Failed')).toEqual([...failed].sort());
    expect(await ids('jobStatuses=Failed&jobStatuses=Suspended')).toEqual([...failed, suspended].sort());
    expect(await ids('status=Suspended,Failed')).toEqual([...failed, suspended].sort());
    expect(await ids('jobStatuses=Active')).toEqual([]);
    // a filtered listing pages too
    const first = await call('GET', '/jobs?jobStatuses=Failed&maxResults=1', { account });
    expect(first.json.Jobs).toHaveLength(1);
    const second = await call(
      'GET',
      `/jobs?jobStatuses=Failed&maxResults=1&nextToken=${encodeURIComponent(first.json.NextToken)}`,
      { account },
    );
    expect(second.json.Jobs).toHaveLength(1);
    expect(second.json.NextToken).toBeUndefined();
    expect([first.json.Jobs[0].JobId, second.json.Jobs[0].JobId].sort()).toEqual([...failed].sort());
  });
});

describe('CreateJob idempotency (ClientRequestToken)', () => {
  it('same token and request → the same job; a different request → 409 IdempotencyException', async () => {
    const account = newAccount();
    const token = randomUUID();
    const body = jobBody({ ClientRequestToken: token, Description: 'idempotent' });
    const first = await createJob(account, body);
    expect(await createJob(account, body)).toBe(first);
    // the same request with its members in another order is the same request
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    expect(await createJob(account, reordered)).toBe(first);
    expectError(await call('POST', '/jobs', { account, body: { ...body, Priority: 11 } }), 409, 'IdempotencyException');
    expectError(
      await call('POST', '/jobs', { account, body: { ...body, Description: 'other' } }),
      409,
      'IdempotencyException',
    );
    expect((await call('GET', '/jobs', { account })).json.Jobs.map((j: { JobId: string }) => j.JobId)).toEqual([first]);
    // tokens belong to an account: another account's same token is another job
    const other = newAccount();
    const theirs = await createJob(other, body);
    expect(theirs).not.toBe(first);
    // without a token, every request is a new job
    const a = await createJob(account, jobBody());
    const b = await createJob(account, jobBody());
    expect(new Set([first, a, b]).size).toBe(3);
  });
});

describe('job tagging', () => {
  it('puts, gets and deletes tags; refuses more than 50; works on a finished job', async () => {
    const account = newAccount();
    const id = await failedJob(account, { Tags: [{ Key: 'created', Value: 'at-create' }] });
    const tagging = `/jobs/${id}/tagging`;
    expect((await call('GET', tagging, { account })).json).toEqual({ Tags: [{ Key: 'created', Value: 'at-create' }] });

    const put = await call('PUT', tagging, {
      account,
      body: {
        Tags: [
          { Key: 'team', Value: 'data' },
          { Key: 'cost-center', Value: '42' },
        ],
      },
    });
    expect(put.status).toBe(204);
    expect((await call('GET', tagging, { account })).json).toEqual({
      Tags: [
        { Key: 'team', Value: 'data' },
        { Key: 'cost-center', Value: '42' },
      ],
    });

    expectError(await call('PUT', tagging, { account, body: { Tags: manyTags(51) } }), 400, 'TooManyTagsException');
    expectError(
      await call('PUT', tagging, {
        account,
        body: {
          Tags: [
            { Key: 'a', Value: '1' },
            { Key: 'a', Value: '2' },
          ],
        },
      }),
      400,
      'InvalidRequest',
    );
    expectError(
      await call('PUT', tagging, { account, body: { Tags: [{ Key: 'a', Value: 'v'.repeat(257) }] } }),
      400,
      'InvalidRequest',
    );
    // refused puts leave the tags as they were
    expect((await call('GET', tagging, { account })).json.Tags).toHaveLength(2);

    expect((await call('PUT', tagging, { account, body: { Tags: manyTags(50) } })).status).toBe(204);
    expect((await call('GET', tagging, { account })).json.Tags).toHaveLength(50);

    expect((await call('DELETE', tagging, { account })).status).toBe(204);
    expect((await call('GET', tagging, { account })).json).toEqual({ Tags: [] });

    // an empty list also removes every tag
    await call('PUT', tagging, { account, body: { Tags: [{ Key: 'k', Value: '' }] } });
    expect((await call('PUT', tagging, { account, body: { Tags: [] } })).status).toBe(204);
    expect((await call('GET', tagging, { account })).json).toEqual({ Tags: [] });
  });

  it('keeps the tags that define a job (s3batch:dry-run) through Put and DeleteJobTagging; limits may change', async () => {
    const account = newAccount();
    const id = await failedJob(account, {
      Tags: [
        { Key: 's3batch:dry-run', Value: 'true' },
        { Key: 'team', Value: 'a' },
      ],
    });
    const tagging = `/jobs/${id}/tagging`;
    expectError(
      await call('PUT', tagging, { account, body: { Tags: [{ Key: 'team', Value: 'b' }] } }),
      400,
      'InvalidRequest',
    );
    expectError(
      await call('PUT', tagging, { account, body: { Tags: [{ Key: 's3batch:dry-run', Value: 'false' }] } }),
      400,
      'InvalidRequest',
    );
    const keep = [
      { Key: 's3batch:dry-run', Value: 'true' },
      { Key: 's3batch:max-concurrent-tasks', Value: '2' },
    ];
    expect((await call('PUT', tagging, { account, body: { Tags: keep } })).status).toBe(204);
    expect((await call('GET', tagging, { account })).json).toEqual({ Tags: keep });
    expect((await call('DELETE', tagging, { account })).status).toBe(204);
    expect((await call('GET', tagging, { account })).json).toEqual({
      Tags: [{ Key: 's3batch:dry-run', Value: 'true' }],
    });
  });
});

describe('UpdateJobPriority and UpdateJobStatus against the job state', () => {
  it('changes the priority of a waiting job; refuses it on a finished job (BadRequestException)', async () => {
    const account = newAccount();
    const waiting = await suspendedJob(account);
    const res = await call('POST', `/jobs/${waiting}/priority`, { account, body: { Priority: 2_147_483_647 } });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ JobId: waiting, Priority: 2_147_483_647 });
    expect((await call('GET', `/jobs/${waiting}`, { account })).json.Job.Priority).toBe(2_147_483_647);

    const finished = await failedJob(account);
    expectError(
      await call('POST', `/jobs/${finished}/priority`, { account, body: { Priority: 1 } }),
      400,
      'BadRequestException',
    );
    expect((await call('GET', `/jobs/${finished}`, { account })).json.Job.Priority).toBe(10);
  });

  it('refuses Ready on a job that is not Suspended (409 JobStatusException); cancels a waiting job', async () => {
    const account = newAccount();
    const finished = await failedJob(account);
    expectError(
      await call('POST', `/jobs/${finished}/status`, { account, body: { RequestedJobStatus: 'Ready' } }),
      409,
      'JobStatusException',
    );
    expectError(
      await call('POST', `/jobs/${finished}/status`, { account, body: { RequestedJobStatus: 'Cancelled' } }),
      409,
      'JobStatusException',
    );
    expect((await call('GET', `/jobs/${finished}`, { account })).json.Job.Status).toBe('Failed');

    const waiting = await suspendedJob(account);
    const cancel = await call('POST', `/jobs/${waiting}/status`, {
      account,
      body: { RequestedJobStatus: 'Cancelled', StatusUpdateReason: 'not needed' },
    });
    expect(cancel.status).toBe(200);
    expect(cancel.json).toEqual({ JobId: waiting, Status: 'Cancelled', StatusUpdateReason: 'not needed' });
    expectError(
      await call('POST', `/jobs/${waiting}/status`, { account, body: { RequestedJobStatus: 'Ready' } }),
      409,
      'JobStatusException',
    );
    const view = await call('GET', `/jobs/${waiting}`, { account });
    expect(view.json.Job).toMatchObject({ Status: 'Cancelled', StatusUpdateReason: 'not needed' });
  });
});

function manyTags(n: number): { Key: string; Value: string }[] {
  return Array.from({ length: n }, (_, i) => ({ Key: `tag-${i}`, Value: `value-${i}` }));
}
