import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth } from '../helpers/json-api.ts';
import { type BodyMode, type PostAnswer, postBody } from '../helpers/raw-post.ts';
import { errorCode, signS3 } from '../helpers/s3control.ts';
import { startServerProcess, TEST_API_KEY, type ServerProcess } from '../helpers/server-process.ts';

const MiB = 1024 * 1024;
/** Each case is sent this many times in a row: the broken pipe came 20 times in 20 at 11 MiB. */
const ROUNDS = 10;
const ACCOUNT = TEST_API_KEY.accountId;
const WRONG_KEY = { ...TEST_API_KEY, secretAccessKey: 'wrong-secret-wrong-secret-wrong-secret-00' };
const UNKNOWN_KEY = { ...TEST_API_KEY, accessKeyId: 'NOSUCHKEY0000000001' };

let server: ServerProcess;

beforeAll(async () => {
  // This file sends hundreds of wrong credentials from one address on purpose: lift the failed-auth
  // limit (429 after 10 a minute, tested in auth-hardening.test.ts) so each refusal is the one under test.
  server = await startServerProcess({ args: ['--max-failed-auth', '1000000'] });
});

afterAll(async () => {
  await server?.kill('SIGTERM');
});

type Answer = PostAnswer;

/** POSTs `body` to this file's server (test/helpers/raw-post.ts). */
const post = (urlPath: string, headers: Record<string, string>, body: Buffer, mode: BodyMode): Promise<Answer> =>
  postBody(server.url, urlPath, headers, body, mode);

/** SigV4 headers (service s3) for a POST of `body` to `urlPath`, signed with `key`. */
async function sigv4(
  urlPath: string,
  body: Buffer,
  key: typeof TEST_API_KEY,
  extra: Record<string, string>,
): Promise<Record<string, string>> {
  return signS3({
    method: 'POST',
    path: urlPath,
    headers: { host: `127.0.0.1:${new URL(server.url).port}`, ...extra },
    body,
    key,
  });
}

async function expectStillServing(): Promise<void> {
  const health = await fetch(`${server.url}/healthz`);
  expect(health.status).toBe(200);
  const json = await fetch(`${server.url}/api/v1/jobs?maxResults=1`, {
    headers: { authorization: basicAuth(TEST_API_KEY) },
  });
  expect(json.status).toBe(200);
}

const jsonError = (a: Answer): unknown => {
  try {
    return (JSON.parse(a.body) as { error: { code: string } }).error.code;
  } catch {
    return a.body.slice(0, 200);
  }
};

interface Case {
  name: string;
  path: string;
  headers(body: Buffer): Promise<Record<string, string>>;
  /** The status and error code expected for a body of `bytes`. */
  expected(bytes: number): { status: number; code: string };
  code(a: Answer): unknown;
}

const JSON_JOBS = '/api/v1/jobs';
const XML_JOBS = '/v20180820/jobs';
const JSON_LIMIT = 1 * MiB;
const XML_LIMIT = 256 * 1024;

const cases: Case[] = [
  {
    name: 'JSON API, no credentials',
    path: JSON_JOBS,
    headers: async () => ({ 'content-type': 'application/json' }),
    expected: () => ({ status: 401, code: 'Unauthorized' }),
    code: jsonError,
  },
  {
    name: 'JSON API, Basic with a wrong secret',
    path: JSON_JOBS,
    headers: async () => ({ 'content-type': 'application/json', authorization: basicAuth(WRONG_KEY) }),
    expected: () => ({ status: 403, code: 'AccessDenied' }),
    code: jsonError,
  },
  {
    name: 'JSON API, SigV4 with a wrong secret',
    path: JSON_JOBS,
    headers: (body) => sigv4(JSON_JOBS, body, WRONG_KEY, { 'content-type': 'application/json' }),
    expected: (bytes) =>
      bytes > JSON_LIMIT ? { status: 413, code: 'RequestTooLarge' } : { status: 403, code: 'AccessDenied' },
    code: jsonError,
  },
  {
    name: 'JSON API, a content type it does not take',
    path: JSON_JOBS,
    headers: async () => ({ 'content-type': 'application/xml', authorization: basicAuth(TEST_API_KEY) }),
    expected: () => ({ status: 415, code: 'UnsupportedMediaType' }),
    code: jsonError,
  },
  {
    name: 'S3 Control API, no credentials',
    path: XML_JOBS,
    headers: async () => ({ 'content-type': 'application/xml', 'x-amz-account-id': ACCOUNT }),
    expected: () => ({ status: 403, code: 'AccessDenied' }),
    code: (a) => errorCode(a.body) ?? a.body.slice(0, 200),
  },
  {
    name: 'S3 Control API, Basic with a wrong secret',
    path: XML_JOBS,
    headers: async () => ({
      'content-type': 'application/xml',
      'x-amz-account-id': ACCOUNT,
      authorization: basicAuth(WRONG_KEY),
    }),
    expected: () => ({ status: 403, code: 'AccessDenied' }),
    code: (a) => errorCode(a.body) ?? a.body.slice(0, 200),
  },
  {
    name: 'S3 Control API, SigV4 with a wrong secret',
    path: XML_JOBS,
    headers: (body) =>
      sigv4(XML_JOBS, body, WRONG_KEY, { 'content-type': 'application/xml', 'x-amz-account-id': ACCOUNT }),
    expected: (bytes) =>
      bytes > XML_LIMIT
        ? { status: 413, code: 'MaxMessageLengthExceeded' }
        : { status: 403, code: 'SignatureDoesNotMatch' },
    code: (a) => errorCode(a.body) ?? a.body.slice(0, 200),
  },
  {
    // An access key id s3batch does not have is refused before the body is read, whatever its size.
    name: 'S3 Control API, SigV4 with an unknown access key id',
    path: XML_JOBS,
    headers: (body) =>
      sigv4(XML_JOBS, body, UNKNOWN_KEY, { 'content-type': 'application/xml', 'x-amz-account-id': ACCOUNT }),
    expected: () => ({ status: 403, code: 'InvalidAccessKeyId' }),
    code: (a) => errorCode(a.body) ?? a.body.slice(0, 200),
  },
];

const bodies = new Map<number, Buffer>();
const bodyOf = (bytes: number): Buffer => {
  let b = bodies.get(bytes);
  if (b === undefined) {
    b = Buffer.from(JSON.stringify({ Description: 'x'.repeat(bytes - 20) }));
    bodies.set(bytes, b);
  }
  return b;
};

describe.each([3 * MiB, 11 * MiB])('a body of %d bytes', (bytes) => {
  describe.each(cases)('$name', (c) => {
    it.each<BodyMode>(['content-length', 'chunked'])(
      `sent ${ROUNDS} times with %s gets the whole answer each time; the server keeps serving`,
      async (mode) => {
        const body = bodyOf(bytes);
        const headers = await c.headers(body);
        for (let i = 0; i < ROUNDS; i++) {
          const a = await post(c.path, headers, body, mode);
          expect({ status: a.status, code: c.code(a) }, `round ${i}`).toEqual(c.expected(body.length));
          expect(Number(a.headers['content-length'])).toBe(Buffer.byteLength(a.body));
        }
        await expectStillServing();
      },
    );
  });
});
