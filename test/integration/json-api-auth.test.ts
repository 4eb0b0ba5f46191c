/**
 * Authentication of the JSON API (/api/v1) on the real `s3batch serve` process (on the s3rver of
 * the global setup): no credentials is 401 (with a Basic challenge unless the web page asks), HTTP
 * Basic and SigV4 (signed by @smithy/signature-v4, and by Debian's curl --aws-sigv4) with the
 * same access keys as the S3 Control API, web sessions (sign in, who am I, sign out, cookie flags,
 * the CSRF content-type rule, expired and forged cookies, the failed sign-in limit), account
 * isolation between keys, and a server that keeps serving after garbage credentials.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessKeyStore } from '../../src/api/auth/access-keys.ts';
import { createSessionTokens, loadSessionEpochs, SESSION_EPOCHS_FILE } from '../../src/api/auth/session.ts';
import { putManifest } from '../helpers/jobs.ts';
import { basicAuth, JsonApi } from '../helpers/json-api.ts';
import { requireS3rver } from '../helpers/provided.ts';
import { rawRequest, writeApiKeysFile, type ApiKey } from '../helpers/s3control.ts';
import { createTestBucket, makeS3Client } from '../helpers/s3-servers.ts';
import { startServerProcess, tempDataDir, TEST_API_KEY, type ServerProcess } from '../helpers/server-process.ts';

/** A second key, of another account (from a keys file, merged with TEST_API_KEY from the environment). */
const OTHER: ApiKey = {
  accessKeyId: 'AUTHJSONOTHERKEY0001',
  secretAccessKey: randomBytes(30).toString('base64url'),
  accountId: '444455556666',
};
const SECRETS = [TEST_API_KEY.secretAccessKey, OTHER.secretAccessKey];

let server: ServerProcess;
/** A job of TEST_API_KEY's account, waiting for confirmation (Suspended) on a real manifest. */
let jobId: string;
let manifest: { bucket: string; etag: string };

/** A job on the real one-line manifest that waits for confirmation (so its priority can change). */
const jobBody = (): Record<string, unknown> => ({
  Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'k', Value: 'v' }] } },
  Manifest: {
    Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
    Location: { ObjectArn: `arn:aws:s3:::${manifest.bucket}/manifest.csv`, ETag: manifest.etag },
  },
  Report: { Enabled: false },
  Priority: 10,
  RoleArn: 'arn:aws:iam::111122223333:role/batch',
  ConfirmationRequired: true,
  ClientRequestToken: randomUUID(),
});

beforeAll(async () => {
  const s3rver = requireS3rver();
  const s3 = makeS3Client(s3rver);
  const bucket = await createTestBucket(s3, 'json-auth');
  manifest = { bucket, etag: (await putManifest(s3, bucket, 'manifest.csv', [{ bucket, key: 'object.txt' }])).etag };
  s3.destroy();
  const dataDir = tempDataDir('s3batch-json-auth-');
  server = await startServerProcess({
    s3: s3rver,
    dataDir,
    // This server is probed with many bad credentials on purpose; the limit has tests of its own.
    args: ['--api-keys-file', writeApiKeysFile(dataDir, [OTHER]), '--max-failed-auth', '1000'],
  });
  const api = new JsonApi(server.url);
  jobId = (await api.createJob(jobBody())).JobId;
  await api.waitFor(jobId, 'Suspended');
});

afterAll(async () => {
  await server?.kill('SIGTERM');
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies of many shapes
  json: any;
}

async function call(method: string, p: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const res = await fetch(`${server.url}${p}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A JSON error with this status and code, and no secret anywhere in the answer. */
function expectError(a: Answer, status: number, code: string): void {
  expect({ status: a.status, code: a.json?.error?.code }, a.text).toEqual({ status, code });
  const everything = `${a.text}\n${[...a.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}`;
  for (const s of SECRETS) expect(everything).not.toContain(s);
}

const basic = basicAuth(TEST_API_KEY);
const JSON_TYPE = { 'content-type': 'application/json' };

async function signIn(
  key: { accessKeyId: string; secretAccessKey: string } = TEST_API_KEY,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return call(
    'POST',
    '/api/v1/session',
    { ...JSON_TYPE, ...headers },
    JSON.stringify({ accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey }),
  );
}

/** `s3batch_session=<token>` from a Set-Cookie header. */
function cookieOf(a: Answer): string {
  const m = /^(s3batch_session=[^;]*)/.exec(a.headers.get('set-cookie') ?? '');
  if (!m) throw new Error(`no session cookie in ${a.headers.get('set-cookie')}`);
  return m[1]!;
}

describe('without credentials', () => {
  it('every /api/v1 route is 401 Unauthorized with a Basic challenge, except for the web page', async () => {
    for (const [method, p] of [
      ['GET', '/api/v1/jobs'],
      ['GET', `/api/v1/jobs/${jobId}`],
      ['POST', '/api/v1/jobs'],
      ['GET', '/api/v1/session'],
      ['GET', `/api/v1/jobs/${jobId}/report`],
      ['GET', '/api/v1/events'],
    ] as const) {
      const a = await call(
        method,
        p,
        method === 'POST' ? JSON_TYPE : {},
        method === 'POST' ? JSON.stringify(jobBody()) : undefined,
      );
      expectError(a, 401, 'Unauthorized');
      expect(a.headers.get('www-authenticate'), `${method} ${p}`).toBe('Basic realm="s3batch"');
    }
    const web = await call('GET', '/api/v1/jobs', { 'x-requested-with': 's3batch-web' });
    expectError(web, 401, 'Unauthorized');
    expect(web.headers.get('www-authenticate')).toBeNull();
  });

  it('the serve banner names the web page and the CLI', () => {
    expect(server.output()).toContain(`  Web:        ${server.url}/  (sign in with an API access key)`);
    expect(server.output()).toContain(
      `  CLI:        s3batch list-jobs --endpoint-url ${server.url}  (with S3BATCH_API_ACCESS_KEY_ID and S3BATCH_API_SECRET_ACCESS_KEY set to an API key`,
    );
  });

  it('/healthz, /metrics and the OpenAPI description stay public', async () => {
    expect((await call('GET', '/healthz')).json).toEqual({ status: 'ok' });
    expect((await call('GET', '/metrics')).status).toBe(200);
    const openapi = await call('GET', '/api/v1/openapi.json');
    expect(openapi.status).toBe(200);
    expect(openapi.json.openapi).toMatch(/^3\./);
  });
});

describe('HTTP Basic', () => {
  it("the right key and secret act for the key's account", async () => {
    const a = await call('GET', '/api/v1/jobs', { authorization: basic });
    expect(a.status).toBe(200);
    expect(a.json.Jobs.map((j: { JobId: string }) => j.JobId)).toContain(jobId);
    expect(
      (await call('GET', `/api/v1/jobs/${jobId}`, { authorization: basic, 'x-amz-account-id': '111122223333' })).status,
    ).toBe(200);
  });

  it('a wrong secret and an unknown key id are the same 403 AccessDenied', async () => {
    const wrongSecret = await call('GET', '/api/v1/jobs', {
      authorization: basicAuth({ ...TEST_API_KEY, secretAccessKey: `${TEST_API_KEY.secretAccessKey}x` }),
    });
    const unknownKey = await call('GET', '/api/v1/jobs', {
      authorization: basicAuth({ accessKeyId: 'NOSUCHKEY0000000001', secretAccessKey: TEST_API_KEY.secretAccessKey }),
    });
    expectError(wrongSecret, 403, 'AccessDenied');
    expectError(unknownKey, 403, 'AccessDenied');
    expect(wrongSecret.json.error.message).toBe(unknownKey.json.error.message);
  });

  it("another account's key cannot see the job; x-amz-account-id naming another account is 403", async () => {
    const other = new JsonApi(server.url, OTHER.accountId, { key: OTHER });
    await expect(other.describe(jobId)).rejects.toMatchObject({ status: 404, code: 'NotFoundException' });
    expect((await other.call<{ Jobs: { JobId: string }[] }>('GET', '/jobs')).Jobs.map((j) => j.JobId)).not.toContain(
      jobId,
    );
    // TEST_API_KEY's account named with OTHER's key, and the other way round.
    expectError(
      await call('GET', `/api/v1/jobs/${jobId}`, {
        authorization: basicAuth(OTHER),
        'x-amz-account-id': '111122223333',
      }),
      403,
      'AccessDenied',
    );
    expectError(
      await call('GET', '/api/v1/jobs', { authorization: basic, 'x-amz-account-id': OTHER.accountId }),
      403,
      'AccessDenied',
    );
    await expect(new JsonApi(server.url, OTHER.accountId).describe(jobId)).rejects.toMatchObject({
      status: 403,
      code: 'AccessDenied',
    });
  });
});

describe('SigV4', () => {
  const signed = (
    method: string,
    p: string,
    key: ApiKey | typeof TEST_API_KEY,
    body?: string,
    extra: Partial<Parameters<typeof rawRequest>[1]> = {},
  ) =>
    rawRequest(server.url, {
      method,
      path: p,
      account: key.accountId,
      host: new URL(server.url).host,
      key,
      ...(body !== undefined ? { body, contentType: 'application/json' } : {}),
      ...extra,
    });

  it('a request signed by @smithy/signature-v4 (service s3) reads and creates jobs', async () => {
    const list = await signed('GET', '/api/v1/jobs?maxResults=1000', TEST_API_KEY);
    expect(list.status, list.body).toBe(200);
    expect((JSON.parse(list.body) as { Jobs: { JobId: string }[] }).Jobs.map((j) => j.JobId)).toContain(jobId);
    const created = await signed('POST', '/api/v1/jobs', TEST_API_KEY, JSON.stringify(jobBody()));
    expect(created.status, created.body).toBe(201);
    const id = (JSON.parse(created.body) as { JobId: string }).JobId;
    expect((await new JsonApi(server.url).describe(id)).Job.JobId).toBe(id);
  });

  it('a body changed after signing, a wrong secret or another account is 403', async () => {
    const body = JSON.stringify({ Priority: 5 });
    const tampered = await signed('POST', `/api/v1/jobs/${jobId}/priority`, TEST_API_KEY, body, {
      sendBody: JSON.stringify({ Priority: 6 }),
    });
    expect({ status: tampered.status, code: JSON.parse(tampered.body).error.code }).toEqual({
      status: 403,
      code: 'SignatureDoesNotMatch',
    });
    const wrong = await signed('GET', '/api/v1/jobs', {
      ...TEST_API_KEY,
      secretAccessKey: `${TEST_API_KEY.secretAccessKey}x`,
    });
    expect({ status: wrong.status, code: JSON.parse(wrong.body).error.code }).toEqual({
      status: 403,
      code: 'SignatureDoesNotMatch',
    });
    const foreign = await rawRequest(server.url, {
      method: 'GET',
      path: `/api/v1/jobs/${jobId}`,
      account: '111122223333',
      host: new URL(server.url).host,
      key: OTHER,
    });
    expect({ status: foreign.status, code: JSON.parse(foreign.body).error.code }).toEqual({
      status: 403,
      code: 'AccessDenied',
    });
    expect((await new JsonApi(server.url).describe(jobId)).Job.Priority).toBe(10);
  });

  it("Debian's curl --aws-sigv4 works (curl 7.88 signs x-amz-content-sha256 when given), and so does curl -u", () => {
    const help = spawnSync('curl', ['--help', 'all'], { encoding: 'utf8' });
    expect(help.stdout).toContain('--aws-sigv4');
    const user = `${TEST_API_KEY.accessKeyId}:${TEST_API_KEY.secretAccessKey}`;
    const body = JSON.stringify({ Priority: 42 });
    const sha = createHash('sha256').update(body).digest('hex');
    const curl = (args: string[]) =>
      spawnSync('curl', ['-sS', '-w', '\n%{http_code}', ...args], { encoding: 'utf8', timeout: 30_000 });
    const post = curl([
      '--aws-sigv4',
      'aws:amz:us-east-1:s3',
      '-u',
      user,
      '-H',
      `x-amz-content-sha256: ${sha}`,
      '-H',
      'content-type: application/json',
      '-d',
      body,
      `${server.url}/api/v1/jobs/${jobId}/priority`,
    ]);
    expect(post.stdout.trim().split('\n').at(-1), post.stdout + post.stderr).toBe('200');
    expect(JSON.parse(post.stdout.trim().split('\n')[0]!)).toEqual({ JobId: jobId, Priority: 42 });
    const get = curl([
      '--aws-sigv4',
      'aws:amz:us-east-1:s3',
      '-u',
      user,
      '-H',
      `x-amz-content-sha256: ${createHash('sha256').update('').digest('hex')}`,
      `${server.url}/api/v1/jobs/${jobId}`,
    ]);
    expect(get.stdout.trim().split('\n').at(-1), get.stdout + get.stderr).toBe('200');
    const basicCurl = curl(['-u', user, `${server.url}/api/v1/jobs/${jobId}`]);
    expect(basicCurl.stdout.trim().split('\n').at(-1)).toBe('200');
    expect(JSON.parse(basicCurl.stdout.trim().split('\n')[0]!).Job.Priority).toBe(42);
  });
});

describe('web sessions', () => {
  it('sign in, who am I, read and change with the cookie, sign out', async () => {
    const login = await signIn();
    expect(login.status, login.text).toBe(200);
    expect(login.json).toMatchObject({ AccessKeyId: TEST_API_KEY.accessKeyId, AccountId: TEST_API_KEY.accountId });
    const expires = Date.parse(login.json.ExpiresAt) - Date.now();
    expect(expires).toBeGreaterThan(11.9 * 3600_000);
    expect(expires).toBeLessThanOrEqual(12 * 3600_000);
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie.split(/;\s*/).slice(1).sort()).toEqual(['HttpOnly', 'Max-Age=43200', 'Path=/', 'SameSite=Strict']);
    expect(setCookie).not.toContain(TEST_API_KEY.secretAccessKey);
    const cookie = cookieOf(login);

    const me = await call('GET', '/api/v1/session', { cookie });
    expect(me.json).toMatchObject({
      AccessKeyId: TEST_API_KEY.accessKeyId,
      AccountId: TEST_API_KEY.accountId,
      ExpiresAt: login.json.ExpiresAt,
    });
    expect((await call('GET', `/api/v1/jobs/${jobId}`, { cookie })).json.Job.JobId).toBe(jobId);
    const created = await call('POST', '/api/v1/jobs', { cookie, ...JSON_TYPE }, JSON.stringify(jobBody()));
    expect(created.status, created.text).toBe(201);
    const put = await call(
      'PUT',
      `/api/v1/jobs/${jobId}/tagging`,
      { cookie, ...JSON_TYPE },
      JSON.stringify({ Tags: [{ Key: 'by', Value: 'cookie' }] }),
    );
    expect(put.status, put.text).toBe(204);
    const del = await call('DELETE', `/api/v1/jobs/${jobId}/tagging`, { cookie, ...JSON_TYPE });
    expect(del.status, del.text).toBe(204);

    const logout = await call('DELETE', '/api/v1/session', { cookie, ...JSON_TYPE });
    expect(logout.status).toBe(204);
    expect(logout.headers.get('set-cookie')).toMatch(
      /^s3batch_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0/,
    );
    expectError(await call('GET', '/api/v1/session', {}), 401, 'Unauthorized');
  });

  it('without --trust-proxy a client-sent x-forwarded-proto: https does not make the cookie Secure', async () => {
    // A trusted proxy's https does (test/integration/trust-proxy.test.ts).
    const login = await signIn(TEST_API_KEY, { 'x-forwarded-proto': 'https' });
    expect(login.status).toBe(200);
    expect(login.headers.get('set-cookie')).toMatch(/^s3batch_session=.*; SameSite=Strict; Max-Age=\d+$/);
  });

  it('a POST, PUT or DELETE with the cookie but without content-type application/json is 403 (CSRF)', async () => {
    const cookie = cookieOf(await signIn());
    for (const [method, p, headers, body] of [
      ['POST', '/api/v1/jobs', { 'content-type': 'text/plain' }, JSON.stringify(jobBody())],
      ['POST', `/api/v1/jobs/${jobId}/priority`, { 'content-type': 'application/x-www-form-urlencoded' }, 'Priority=1'],
      ['POST', `/api/v1/jobs/${jobId}/status`, {}, undefined],
      ['PUT', `/api/v1/jobs/${jobId}/tagging`, { 'content-type': 'multipart/form-data; boundary=x' }, '--x--'],
      ['DELETE', `/api/v1/jobs/${jobId}/tagging`, {}, undefined],
    ] as const) {
      const a = await call(method, p, { cookie, ...headers }, body);
      expectError(a, 403, 'AccessDenied');
      expect(a.json.error.message, `${method} ${p}`).toMatch(/content-type application\/json/);
    }
    expect((await new JsonApi(server.url).describe(jobId)).Job).toMatchObject({ Status: 'Suspended' });
    expect((await new JsonApi(server.url).describe(jobId)).Job.Priority).not.toBe(1);
  });

  it('a wrong key or secret is 403 AccessDenied without saying which, and sets no cookie', async () => {
    const wrongSecret = await signIn({ ...TEST_API_KEY, secretAccessKey: 'not-the-secret-000000000000' });
    const wrongKey = await signIn({
      accessKeyId: 'NOSUCHKEY0000000001',
      secretAccessKey: TEST_API_KEY.secretAccessKey,
    });
    expectError(wrongSecret, 403, 'AccessDenied');
    expectError(wrongKey, 403, 'AccessDenied');
    expect(wrongSecret.json.error.message).toBe(wrongKey.json.error.message);
    expect(wrongSecret.headers.get('set-cookie')).toBeNull();
    expectError(
      await call('POST', '/api/v1/session', JSON_TYPE, JSON.stringify({ accessKeyId: TEST_API_KEY.accessKeyId })),
      400,
      'InvalidRequest',
    );
  });

  it('an expired or forged cookie is 401 (and the browser is told to drop it); Basic next to it still works', async () => {
    // A token the server itself would have made 13 hours ago: signed with its session.key.
    const key = readFileSync(path.join(server.dataDir, 'session.key'));
    const keys = createAccessKeyStore([{ key: TEST_API_KEY, source: 'test' }]);
    const expired = createSessionTokens({ key, keys, now: () => Date.now() - 13 * 3600_000 }).issue(
      TEST_API_KEY.accessKeyId,
    ).token;
    const forged = createSessionTokens({ key: randomBytes(32), keys }).issue(TEST_API_KEY.accessKeyId).token;
    for (const token of [expired, forged, 'garbage', `${expired.split('.')[0]}.${'A'.repeat(43)}`]) {
      const a = await call('GET', '/api/v1/jobs', {
        cookie: `s3batch_session=${token}`,
        'x-requested-with': 's3batch-web',
      });
      expectError(a, 401, 'Unauthorized');
      expect(a.headers.get('www-authenticate')).toBeNull();
      expect(a.headers.get('set-cookie')).toMatch(/^s3batch_session=; .*Max-Age=0/);
    }
    expect(
      (await call('GET', '/api/v1/jobs', { cookie: `s3batch_session=${expired}`, authorization: basic })).status,
    ).toBe(200);
    // The same clock and key but a fresh expiry: accepted, so the refusal above was the expiry.
    // (Issued in the key's current session epoch: the sign-out test above ended the earlier ones.)
    const epochs = await loadSessionEpochs(path.join(server.dataDir, SESSION_EPOCHS_FILE));
    const fresh = createSessionTokens({ key, keys, epochs }).issue(TEST_API_KEY.accessKeyId).token;
    expect((await call('GET', '/api/v1/jobs', { cookie: `s3batch_session=${fresh}` })).status).toBe(200);
  });
});

describe('garbage credentials', () => {
  it('are refused with a 4xx and the server keeps serving', async () => {
    const huge = `Basic ${'A'.repeat(64 * 1024)}`;
    for (const authorization of [
      'Basic !!!',
      `Basic ${Buffer.from('no-colon-here').toString('base64')}`,
      `Basic ${Buffer.from(':only-a-secret').toString('base64')}`,
      'Basic ',
      'Basic',
      'Bearer abc.def.ghi',
      'AWS4-HMAC-SHA256 garbage',
      'AWS4-HMAC-SHA256 Credential=S3BATCHTESTKEY00001/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=zz',
      `Basic ${Buffer.from(`${TEST_API_KEY.accessKeyId}:${'x'.repeat(10_000)}`).toString('base64')}`,
    ]) {
      const a = await call('GET', '/api/v1/jobs', { authorization });
      expect([401, 403], `${authorization.slice(0, 60)} → ${a.status} ${a.text}`).toContain(a.status);
      expect(a.json?.error?.code).toMatch(/^(Unauthorized|AccessDenied)$/);
    }
    const tooBig = await call('GET', '/api/v1/jobs', { authorization: huge });
    expect(tooBig.status).toBe(431);
    expect(tooBig.json?.error?.code).toBe('RequestTooLarge'); // the JSON API's error shape, not fastify's {"error":"<text>"}
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('GET', `/api/v1/jobs/${jobId}`, { authorization: basic })).status).toBe(200);
  });
});

describe('malformed sign-ins', () => {
  it('non-JSON, non-object, wrong-typed and oversized bodies are 4xx with a stable code; the server keeps serving', async () => {
    const cases: [Record<string, string>, string, number, string][] = [
      [JSON_TYPE, 'not json', 400, 'MalformedJSON'],
      [JSON_TYPE, '[]', 400, 'MalformedJSON'],
      [JSON_TYPE, 'null', 400, 'MalformedJSON'],
      [JSON_TYPE, '"a string"', 400, 'MalformedJSON'],
      [JSON_TYPE, JSON.stringify({ accessKeyId: 5, secretAccessKey: {} }), 400, 'InvalidRequest'],
      [{ 'content-type': 'text/plain' }, 'accessKeyId=x', 400, 'MalformedJSON'],
      [
        { 'content-type': 'application/x-www-form-urlencoded' },
        'accessKeyId=x&secretAccessKey=y',
        415,
        'UnsupportedMediaType',
      ],
      // Sign-in needs no credentials, so it does not parse megabytes: 1 MiB is refused (413) unparsed.
      [
        JSON_TYPE,
        JSON.stringify({ accessKeyId: 'a'.repeat(1024 * 1024), secretAccessKey: 'x' }),
        413,
        'RequestTooLarge',
      ],
    ];
    for (const [headers, body, status, code] of cases) {
      const a = await call('POST', '/api/v1/session', headers, body);
      expect(a.status, `${body.slice(0, 40)} → ${a.text.slice(0, 200)}`).toBe(status);
      expect(a.json?.error?.code, body.slice(0, 40)).toBe(code);
      expect(a.headers.get('set-cookie')).toBeNull();
    }
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await signIn(TEST_API_KEY)).status).toBe(200); // none of these counted as a failed sign-in
  });
});

describe('failed sign-in limit', () => {
  it('after 10 failed sign-ins from one address within a minute, sign-in and Basic are 429 even with the right secret', async () => {
    // A server of its own: the limit is per server and remote address (here always 127.0.0.1).
    const own = await startServerProcess({ s3: requireS3rver() });
    try {
      const signInTo = (secretAccessKey: string) =>
        fetch(`${own.url}/api/v1/session`, {
          method: 'POST',
          headers: JSON_TYPE,
          body: JSON.stringify({ accessKeyId: TEST_API_KEY.accessKeyId, secretAccessKey }),
        });
      expect((await signInTo(TEST_API_KEY.secretAccessKey)).status).toBe(200);
      for (let i = 0; i < 10; i++) expect((await signInTo(`wrong-secret-${i}-00000000000000`)).status).toBe(403);
      const limited = await signInTo(TEST_API_KEY.secretAccessKey);
      expect(limited.status).toBe(429);
      expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('TooManyRequestsException');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(limited.headers.get('set-cookie')).toBeNull();
      // The limit is on the address, for every kind of credentials (issue 11): Basic waits too.
      const basicLimited = await fetch(`${own.url}/api/v1/jobs`, { headers: { authorization: basic } });
      expect(basicLimited.status).toBe(429);
      expect(Number(basicLimited.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await own.kill('SIGTERM');
    }
  });
});
