/**
 * Authentication hardening of issue 11 (part 4), on the real `s3batch serve` process working on
 * the shared Ceph RGW:
 * - `x-amz-content-sha256: UNSIGNED-PAYLOAD` is refused by default (403 UnsignedPayloadNotAllowed),
 *   so a CreateJob body swapped after signing creates nothing; `--allow-unsigned-payload` accepts
 *   it (and then the swapped body is what runs: the trade-off); the AWS SDK, which signs the
 *   payload, works either way;
 * - signing out ends the session on the server: a copy of the cookie is 401 at once, also after a
 *   restart (the key's session epoch is kept in the data folder), and signing in again works;
 * - failed Basic and SigV4 attempts are limited per client address and per access key (429 +
 *   Retry-After), while the right key still works from another client (X-Forwarded-For through
 *   --trust-proxy 127.0.0.1 stands for other client addresses).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CreateJobCommand, DescribeJobCommand, ListJobsCommand } from '@aws-sdk/client-s3-control';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putManifest } from '../helpers/jobs.ts';
import { basicAuth } from '../helpers/json-api.ts';
import { requireCeph } from '../helpers/provided.ts';
import { errorCode, hostPrefixClient, rawRequest, type RawRequest } from '../helpers/s3control.ts';
import { createTestBucket, makeS3Client } from '../helpers/s3-servers.ts';
import { startServerProcess, tempDataDir, TEST_API_KEY, type ServerProcess } from '../helpers/server-process.ts';

const ACCOUNT = TEST_API_KEY.accountId;
const running: ServerProcess[] = [];
let manifest: { bucket: string; etag: string };

beforeAll(async () => {
  const s3 = makeS3Client(requireCeph());
  const bucket = await createTestBucket(s3, 'auth-hard');
  manifest = { bucket, etag: (await putManifest(s3, bucket, 'manifest.csv', [{ bucket, key: 'object.txt' }])).etag };
  s3.destroy();
});

afterAll(async () => {
  await Promise.all(running.splice(0).map((s) => s.kill('SIGTERM')));
});

async function serve(args: readonly string[] = [], dataDir?: string): Promise<ServerProcess> {
  const server = await startServerProcess({ s3: requireCeph(), args, ...(dataDir ? { dataDir } : {}) });
  running.push(server);
  return server;
}

async function stop(server: ServerProcess): Promise<void> {
  running.splice(running.indexOf(server), 1);
  await server.kill('SIGTERM');
}

function createJobXml(priority: number): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<CreateJobRequest xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/">
  <Operation><S3PutObjectTagging><TagSet><member><Key>k</Key><Value>v</Value></member></TagSet></S3PutObjectTagging></Operation>
  <Manifest><Spec><Format>S3BatchOperations_CSV_20180820</Format><Fields><member>Bucket</member><member>Key</member></Fields></Spec>
    <Location><ObjectArn>arn:aws:s3:::${manifest.bucket}/manifest.csv</ObjectArn><ETag>${manifest.etag}</ETag></Location></Manifest>
  <Report><Enabled>false</Enabled></Report>
  <ClientRequestToken>${randomUUID()}</ClientRequestToken>
  <Priority>${priority}</Priority>
  <RoleArn>arn:aws:iam::${ACCOUNT}:role/batch</RoleArn>
  <ConfirmationRequired>true</ConfirmationRequired>
</CreateJobRequest>`;
}

/** A CreateJob signed over Priority 5 with UNSIGNED-PAYLOAD, then sent with Priority 9. */
const swappedCreateJob = (): RawRequest => {
  const body = createJobXml(5);
  return {
    method: 'POST',
    path: '/v20180820/jobs',
    account: ACCOUNT,
    contentType: 'application/xml',
    key: TEST_API_KEY,
    payloadHash: 'UNSIGNED-PAYLOAD',
    body,
    sendBody: body.replace('<Priority>5</Priority>', '<Priority>9</Priority>'),
  };
};

async function jobCount(server: ServerProcess): Promise<number> {
  const client = hostPrefixClient(server.url, TEST_API_KEY);
  try {
    return (await client.send(new ListJobsCommand({ AccountId: ACCOUNT }))).Jobs?.length ?? 0;
  } finally {
    client.destroy();
  }
}

describe('x-amz-content-sha256: UNSIGNED-PAYLOAD', () => {
  it('is refused by default: a body swapped after signing creates no job; the AWS SDK still works', async () => {
    const server = await serve();
    const refused = await rawRequest(server.url, swappedCreateJob());
    expect({ status: refused.status, code: errorCode(refused.body) }, refused.body).toEqual({
      status: 403,
      code: 'UnsignedPayloadNotAllowed',
    });
    expect(refused.body).toContain('--allow-unsigned-payload');
    expect(await jobCount(server)).toBe(0);

    // The JSON API takes SigV4 too: refused there as well, in its JSON envelope.
    const json = await rawRequest(server.url, {
      method: 'GET',
      path: '/api/v1/jobs',
      account: ACCOUNT,
      key: TEST_API_KEY,
      payloadHash: 'UNSIGNED-PAYLOAD',
    });
    expect(json.status, json.body).toBe(403);
    expect((JSON.parse(json.body) as { error: { code: string } }).error.code).toBe('UnsignedPayloadNotAllowed');

    // The SDK signs the payload over http: accepted.
    const client = hostPrefixClient(server.url, TEST_API_KEY);
    try {
      const { JobId } = await client.send(
        new CreateJobCommand({
          AccountId: ACCOUNT,
          Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'k', Value: 'v' }] } },
          Manifest: {
            Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
            Location: { ObjectArn: `arn:aws:s3:::${manifest.bucket}/manifest.csv`, ETag: manifest.etag },
          },
          Report: { Enabled: false },
          Priority: 7,
          RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
          ConfirmationRequired: true,
          ClientRequestToken: randomUUID(),
        }),
      );
      const job = (await client.send(new DescribeJobCommand({ AccountId: ACCOUNT, JobId }))).Job;
      expect(job?.Priority).toBe(7);
    } finally {
      client.destroy();
    }
    await stop(server);
  });

  it('is accepted with --allow-unsigned-payload, and then the swapped body is what runs (the trade-off)', async () => {
    const server = await serve(['--allow-unsigned-payload']);
    const accepted = await rawRequest(server.url, swappedCreateJob());
    expect(accepted.status, accepted.body).toBe(200);
    const jobId = /<JobId>([^<]+)<\/JobId>/.exec(accepted.body)?.[1];
    expect(jobId).toBeDefined();
    const client = hostPrefixClient(server.url, TEST_API_KEY);
    try {
      const job = (await client.send(new DescribeJobCommand({ AccountId: ACCOUNT, JobId: jobId }))).Job;
      expect(job?.Priority).toBe(9);
    } finally {
      client.destroy();
    }
    await stop(server);
  });
});

describe('signing out', () => {
  const signIn = (server: ServerProcess): Promise<Response> =>
    fetch(`${server.url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accessKeyId: TEST_API_KEY.accessKeyId, secretAccessKey: TEST_API_KEY.secretAccessKey }),
    });
  const cookieOf = (answer: Response): string => {
    const m = /^(s3batch_session=[^;]+)/.exec(answer.headers.get('set-cookie') ?? '');
    if (m === null) throw new Error(`no session cookie: ${answer.headers.get('set-cookie')}`);
    return m[1] as string;
  };
  const whoAmI = (server: ServerProcess, cookie: string): Promise<Response> =>
    fetch(`${server.url}/api/v1/session`, { headers: { cookie, 'x-requested-with': 's3batch-web' } });

  it('ends the session on the server: a copied cookie is 401, also after a restart; signing in again works', async () => {
    const dataDir = tempDataDir('s3batch-signout-');
    let server = await serve([], dataDir);
    const first = await signIn(server);
    expect(first.status).toBe(200);
    const copy = cookieOf(first);
    // A second browser signed in with the same key.
    const other = cookieOf(await signIn(server));
    expect((await whoAmI(server, copy)).status).toBe(200);

    const out = await fetch(`${server.url}/api/v1/session`, {
      method: 'DELETE',
      headers: { cookie: copy, 'content-type': 'application/json' },
    });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^s3batch_session=; .*Max-Age=0/);
    const afterOut = await whoAmI(server, copy);
    expect(afterOut.status).toBe(401);
    expect(((await afterOut.json()) as { error: { code: string } }).error.code).toBe('Unauthorized');
    // Signing out ends every session of that access key (documented).
    expect((await whoAmI(server, other)).status).toBe(401);

    const again = cookieOf(await signIn(server));
    expect((await whoAmI(server, again)).status).toBe(200);
    expect(existsSync(path.join(dataDir, 'session-epochs.json'))).toBe(true);

    await stop(server);
    server = await serve([], dataDir);
    expect((await whoAmI(server, copy)).status).toBe(401);
    expect((await whoAmI(server, again)).status).toBe(200);
    await stop(server);
  });

  it('deleting session-epochs.json brings no signed-out or earlier cookie back; signing in again works', async () => {
    const dataDir = tempDataDir('s3batch-signout-');
    let server = await serve([], dataDir);
    const signedOut = cookieOf(await signIn(server));
    const out = await fetch(`${server.url}/api/v1/session`, {
      method: 'DELETE',
      headers: { cookie: signedOut, 'content-type': 'application/json' },
    });
    expect(out.status).toBe(204);
    const live = cookieOf(await signIn(server));
    expect((await whoAmI(server, live)).status).toBe(200);
    await stop(server);
    rmSync(path.join(dataDir, 'session-epochs.json'));
    server = await serve([], dataDir);
    // With a counter, the lost file reset the epoch to 0 and the signed-out cookie worked again.
    expect((await whoAmI(server, signedOut)).status).toBe(401);
    expect((await whoAmI(server, live)).status).toBe(401);
    const again = cookieOf(await signIn(server));
    expect((await whoAmI(server, again)).status).toBe(200);
    await stop(server);
  });
});

describe('failed authentication limit (--trust-proxy 127.0.0.1: X-Forwarded-For is the client)', () => {
  const wrongBasic = basicAuth({ accessKeyId: TEST_API_KEY.accessKeyId, secretAccessKey: 'not-the-secret-0000000000' });

  it('60 wrong Basic secrets from one client: 403 ten times, then 429 with Retry-After; the key works from another client', async () => {
    const server = await serve(['--trust-proxy', '127.0.0.1']);
    const get = (authorization: string, client: string): Promise<Response> =>
      fetch(`${server.url}/api/v1/jobs`, { headers: { authorization, 'x-forwarded-for': client } });

    const answers: Response[] = [];
    for (let i = 0; i < 60; i++) answers.push(await get(wrongBasic, '203.0.113.1'));
    expect(answers.map((a) => a.status)).toEqual([...Array(10).fill(403), ...Array(50).fill(429)]);
    const last = answers[59] as Response;
    expect(((await last.json()) as { error: { code: string } }).error.code).toBe('TooManyRequestsException');
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(last.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    // That client waits, even with the right key …
    expect((await get(basicAuth(TEST_API_KEY), '203.0.113.1')).status).toBe(429);
    // … the owner, from another address, does not.
    expect((await get(basicAuth(TEST_API_KEY), '198.51.100.7')).status).toBe(200);
    // The key is over its own limit: a new address gets one try; after a failure it waits too.
    expect((await get(wrongBasic, '198.51.100.8')).status).toBe(403);
    expect((await get(basicAuth(TEST_API_KEY), '198.51.100.8')).status).toBe(429);
    await stop(server);
  });

  it('guesses spread over one IPv6 /64 share its limit; past 10 × the key limit from all addresses, failures get 429 and the right key still works', async () => {
    const server = await serve(['--trust-proxy', '127.0.0.1']);
    const get = (authorization: string, client: string): Promise<Response> =>
      fetch(`${server.url}/api/v1/jobs`, { headers: { authorization, 'x-forwarded-for': client } });
    // 20 addresses of one /64, one wrong secret each: the /64 is one client (10 failures, then 429).
    const v6: number[] = [];
    for (let i = 1; i <= 20; i++) v6.push((await get(wrongBasic, `2001:db8:1:2::${i.toString(16)}`)).status);
    expect(v6).toEqual([...Array(10).fill(403), ...Array(10).fill(429)]);
    // Another /64 is another client; the right key works from it.
    expect((await get(basicAuth(TEST_API_KEY), '2001:db8:1:3::1')).status).toBe(200);
    // 100 fresh IPv4 addresses, one wrong secret each: the key has 10 failures so far, so the
    // ceiling (10 × 10 = 100 from all addresses) is passed after 90 more; the rest are 429.
    const v4: number[] = [];
    for (let i = 0; i < 100; i++) v4.push((await get(wrongBasic, `10.9.${i >> 8}.${i & 255}`)).status);
    expect(v4).toEqual([...Array(90).fill(403), ...Array(10).fill(429)]);
    // A correct key from a fresh address is never refused by the ceiling.
    expect((await get(basicAuth(TEST_API_KEY), '10.10.0.1')).status).toBe(200);
    expect(server.stdout()).toContain('passed the ceiling');
    await stop(server);
  });

  it('a forged cookie next to valid Basic credentials is no failed attempt: 20 requests, all 200', async () => {
    const server = await serve(['--trust-proxy', '127.0.0.1']);
    // A browser after a key or session.key rotation: its cookie no longer verifies, its Basic key does.
    const headers = {
      authorization: basicAuth(TEST_API_KEY),
      cookie: 's3batch_session=garbage-from-an-older-session-key',
      'x-forwarded-for': '203.0.113.9',
    };
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await fetch(`${server.url}/api/v1/jobs`, { headers })).status);
    expect(statuses).toEqual(Array(20).fill(200));
    // The same cookie alone is a failed attempt each time: the limit still applies to it.
    const alone: number[] = [];
    for (let i = 0; i < 12; i++) {
      const answer = await fetch(`${server.url}/api/v1/jobs`, {
        headers: { cookie: headers.cookie, 'x-forwarded-for': '203.0.113.10' },
      });
      alone.push(answer.status);
    }
    expect(alone).toEqual([...Array(10).fill(401), 429, 429]);
    await stop(server);
  });

  it('60 wrongly signed S3 Control requests: 403 ten times, then 429 TooManyRequestsException in an ErrorResponse; the key works from another client', async () => {
    const server = await serve(['--trust-proxy', '127.0.0.1']);
    const listJobs = (secretAccessKey: string, client: string) =>
      rawRequest(server.url, {
        method: 'GET',
        path: '/v20180820/jobs',
        account: ACCOUNT,
        key: { accessKeyId: TEST_API_KEY.accessKeyId, secretAccessKey },
        afterSigning: (headers) => {
          headers['x-forwarded-for'] = client;
        },
      });

    const answers: string[] = [];
    let last: Awaited<ReturnType<typeof listJobs>> | undefined;
    for (let i = 0; i < 60; i++) {
      last = await listJobs('not-the-secret-0000000000', '203.0.113.2');
      answers.push(`${last.status} ${errorCode(last.body)}`);
    }
    expect(answers).toEqual([
      ...Array(10).fill('403 SignatureDoesNotMatch'),
      ...Array(50).fill('429 TooManyRequestsException'),
    ]);
    expect(last?.headers.get('content-type')).toMatch(/^application\/xml/);
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(last?.headers.get('x-amz-request-id')).toMatch(/^[0-9A-F]{16}$/);
    expect((await listJobs(TEST_API_KEY.secretAccessKey, '203.0.113.2')).status).toBe(429);
    const owner = await listJobs(TEST_API_KEY.secretAccessKey, '198.51.100.9');
    expect(owner.status, owner.body).toBe(200);
    await stop(server);
  });
});
