/**
 * Heavy JSON bodies on the real `s3batch serve` process (--local), with valid credentials: a body
 * nested deeper than 32 levels is refused 400 MalformedJSON before JSON.parse works through it,
 * one over the JSON API's 1 MiB limit 413 RequestTooLarge (src/api/body-limit.ts), and /healthz
 * answers 200 while they are processed. Before, an 8 MiB body of 4 M nested arrays held the
 * server's thread for about 2 s and was answered 400 after it.
 */
import http from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { basicAuth } from '../helpers/json-api.ts';
import { startServerProcess, TEST_API_KEY, type ServerProcess } from '../helpers/server-process.ts';

let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess();
});

afterAll(async () => {
  await server?.kill('SIGTERM');
});

/** POSTs `body` to /api/v1/jobs as JSON with valid Basic credentials; resolves with the status and error code. */
function postJob(body: Buffer): Promise<{ status: number; code: unknown; message: unknown }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/api/v1/jobs',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': String(body.length),
          authorization: basicAuth(TEST_API_KEY),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let code: unknown = text.slice(0, 200);
          let message: unknown;
          try {
            ({ code, message } = (JSON.parse(text) as { error: { code: string; message: string } }).error);
          } catch {}
          resolve({ status: res.statusCode ?? 0, code, message });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const TOO_DEEP = { status: 400, code: 'MalformedJSON', message: 'The JSON body is nested more than 32 levels deep' };
const nested = (depth: number): Buffer => Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`);

it.each<[string, Buffer, { status: number; code: string; message?: unknown }]>([
  ['33 nested arrays', nested(33), TOO_DEEP],
  ['400,000 nested arrays (800 KB)', nested(400_000), TOO_DEEP],
  [
    '33 nested objects inside a CreateJob',
    Buffer.from(`{"Priority":1,"Description":${'{"a":'.repeat(33)}1${'}'.repeat(33)}}`),
    TOO_DEEP,
  ],
  [
    '4,000,000 nested arrays (8 MiB)',
    nested(4_000_000),
    { status: 413, code: 'RequestTooLarge', message: expect.any(String) },
  ],
])('%s: refused with its code while /healthz answers', async (_name, body, expected) => {
  const answer = postJob(body);
  const health = await fetch(`${server.url}/healthz`);
  expect(health.status).toBe(200);
  expect(await answer).toEqual(expected);
});

it('brackets inside strings do not count as nesting', async () => {
  // Not refused as too deep: it reaches CreateJob's own checks (400 for the missing members).
  const body = Buffer.from(JSON.stringify({ Description: '['.repeat(1000), ClientRequestToken: '{"\\'.repeat(50) }));
  const answer = await postJob(body);
  expect(answer.status).toBe(400);
  expect(answer.code).not.toBe('MalformedJSON');
  const health = await fetch(`${server.url}/healthz`);
  expect(health.status).toBe(200);
});
