/**
 * Bodies over the limit on the real `s3batch serve` process (--local): a client that sends one,
 * with Content-Length or chunked, through node:http or curl, gets the whole 413 in the API's own
 * envelope (S3 Control ErrorResponse XML, the JSON API's `{"error":…}`) and no broken pipe, and the
 * server keeps serving. The server reads and drops an over-limit body up to max(4 × limit, 16 MiB)
 * (src/api/body-limit.ts); a client past that bound may be cut off, and the server still serves.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth } from '../helpers/json-api.ts';
import { type BodyMode, type PostAnswer, postBody } from '../helpers/raw-post.ts';
import { errorCode, rawRequest } from '../helpers/s3control.ts';
import { startServerProcess, TEST_API_KEY, type ServerProcess } from '../helpers/server-process.ts';

const MiB = 1024 * 1024;
/** Each case is sent this many times: the broken pipe it guards against came in 2 of 3 runs. */
const ROUNDS = 5;
const ACCOUNT = TEST_API_KEY.accountId;

let server: ServerProcess;
let agent: http.Agent;

beforeAll(async () => {
  server = await startServerProcess();
  agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
});

afterAll(async () => {
  agent?.destroy();
  await server?.kill('SIGTERM');
});

type Answer = PostAnswer;

/** POSTs `body` to this file's server (test/helpers/raw-post.ts). */
const post = (urlPath: string, headers: Record<string, string>, body: Buffer, mode: BodyMode): Promise<Answer> =>
  postBody(server.url, urlPath, headers, body, mode, agent);

function expectXml413(a: Answer): void {
  expect({ status: a.status, code: errorCode(a.body) }, a.body.slice(0, 300)).toEqual({
    status: 413,
    code: 'MaxMessageLengthExceeded',
  });
  expect(a.headers['content-type']).toMatch(/^application\/xml/);
  const requestId = a.headers['x-amz-request-id'];
  expect(requestId).toMatch(/^[0-9A-F]{16}$/);
  expect(a.body).toMatch(
    new RegExp(
      '^<\\?xml [^>]*\\?><ErrorResponse [^>]*><Error><Code>MaxMessageLengthExceeded</Code><Message>[^<]+</Message>' +
        `</Error><RequestId>${requestId}</RequestId>.*</ErrorResponse>$`,
    ),
  );
}

function expectJson413(a: Answer): void {
  expect(a.status, a.body.slice(0, 300)).toBe(413);
  expect(a.headers['content-type']).toMatch(/^application\/json/);
  expect(JSON.parse(a.body)).toEqual({
    error: { code: 'RequestTooLarge', message: expect.any(String), requestId: expect.stringMatching(/^[0-9A-F]{16}$/) },
  });
}

async function expectStillServing(): Promise<void> {
  const health = await fetch(`${server.url}/healthz`);
  expect(health.status).toBe(200);
  const list = await rawRequest(server.url, {
    method: 'GET',
    path: '/v20180820/jobs?maxResults=1',
    account: ACCOUNT,
    key: TEST_API_KEY,
  });
  expect(list.status, list.body).toBe(200);
  const json = await fetch(`${server.url}/api/v1/jobs?maxResults=1`, {
    headers: { authorization: basicAuth(TEST_API_KEY) },
  });
  expect(json.status).toBe(200);
}

const xmlBody = (bytes: number): Buffer =>
  Buffer.from(`<CreateJobRequest><Description>${'x'.repeat(bytes)}</Description></CreateJobRequest>`);
const jsonBody = (bytes: number): Buffer =>
  Buffer.from(JSON.stringify({ accessKeyId: 'a'.repeat(bytes), secretAccessKey: 'x' }));

// A SigV4-looking Authorization header: a request without one is refused (403) before its body is
// read; with one, the body is read first, and one over the limit is refused 413 before the signature
// is looked at.
const S3CONTROL_HEADERS = {
  'content-type': 'application/xml',
  'x-amz-account-id': ACCOUNT,
  authorization: `AWS4-HMAC-SHA256 Credential=${TEST_API_KEY.accessKeyId}/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`,
};
const JSON_HEADERS = { 'content-type': 'application/json' };

describe.each<BodyMode>(['content-length', 'chunked'])('a 2 MiB body sent with %s through node:http', (mode) => {
  it('to the S3 Control API (limit 256 KiB) gets the whole 413 ErrorResponse; the server keeps serving', async () => {
    for (let i = 0; i < ROUNDS; i++)
      expectXml413(await post('/v20180820/jobs', S3CONTROL_HEADERS, xmlBody(2 * MiB), mode));
    await expectStillServing();
  });

  it('to the JSON API sign-in (limit 16 KiB) gets the whole 413 JSON error; the server keeps serving', async () => {
    for (let i = 0; i < ROUNDS; i++)
      expectJson413(await post('/api/v1/session', JSON_HEADERS, jsonBody(2 * MiB), mode));
    await expectStillServing();
  });

  it('as text/plain to the JSON API sign-in gets the whole 413 JSON error', async () => {
    const headers = { 'content-type': 'text/plain' };
    for (let i = 0; i < ROUNDS; i++) expectJson413(await post('/api/v1/session', headers, jsonBody(2 * MiB), mode));
  });
});

describe('the JSON API CreateJob (limit 1 MiB)', () => {
  it.each<BodyMode>(['content-length', 'chunked'])(
    'an 11 MiB body sent with %s gets the whole 413 JSON error',
    async (mode) => {
      const headers = { ...JSON_HEADERS, authorization: basicAuth(TEST_API_KEY) };
      const body = Buffer.from(JSON.stringify({ Description: 'x'.repeat(11 * MiB) }));
      for (let i = 0; i < 2; i++) expectJson413(await post('/api/v1/jobs', headers, body, mode));
      await expectStillServing();
    },
  );
});

describe('curl', () => {
  const curl = promisify(execFile);
  const file = (name: string, body: Buffer): string => {
    const p = path.join(server.dataDir, name);
    writeFileSync(p, body);
    return p;
  };
  /** curl's exit status must be 0 (no broken pipe); returns the status and body it printed. */
  async function curlPost(urlPath: string, headers: Record<string, string>, bodyFile: string): Promise<Answer> {
    const args = ['-sS', '--max-time', '60', '-X', 'POST', '--data-binary', `@${bodyFile}`];
    for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
    args.push('-D', '-', `${server.url}${urlPath}`);
    const { stdout } = await curl('curl', args, { maxBuffer: 4 * MiB });
    const head = stdout.lastIndexOf('\r\n\r\n');
    const headerText = stdout.slice(0, head);
    const blocks = headerText.split('\r\n\r\n'); // a `100 Continue` comes first when curl asked for it
    const last = blocks[blocks.length - 1]!.split('\r\n');
    const parsed: http.IncomingHttpHeaders = {};
    for (const line of last.slice(1)) {
      const colon = line.indexOf(':');
      parsed[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { status: Number(last[0]!.split(' ')[1]), headers: parsed, body: stdout.slice(head + 4) };
  }

  it.each<BodyMode>(['content-length', 'chunked'])(
    'sending 2 MiB with %s gets the whole 413 from both APIs',
    async (mode) => {
      const chunked: Record<string, string> = mode === 'chunked' ? { 'transfer-encoding': 'chunked' } : {};
      const xml = file('big.xml', xmlBody(2 * MiB));
      const json = file('big.json', jsonBody(2 * MiB));
      for (let i = 0; i < 3; i++) {
        expectXml413(await curlPost('/v20180820/jobs', { ...S3CONTROL_HEADERS, ...chunked }, xml));
        expectJson413(await curlPost('/api/v1/session', { ...JSON_HEADERS, ...chunked }, json));
      }
      await expectStillServing();
    },
  );
});

describe('past the bound (16 MiB for these limits)', () => {
  it('a 24 MiB body may be cut off, with a 413 if anything; the server keeps serving', async () => {
    for (const mode of ['content-length', 'chunked'] as const) {
      for (const [urlPath, headers, body, expect413] of [
        ['/v20180820/jobs', S3CONTROL_HEADERS, xmlBody(24 * MiB), expectXml413],
        ['/api/v1/session', JSON_HEADERS, jsonBody(24 * MiB), expectJson413],
      ] as const) {
        const answer = await post(urlPath, headers, body, mode).catch((err: NodeJS.ErrnoException) => err);
        if (answer instanceof Error) expect(answer.code).toMatch(/^(EPIPE|ECONNRESET)$/);
        else expect413(answer);
      }
    }
    await expectStillServing();
  });
});
