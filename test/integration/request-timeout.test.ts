/**
 * A request that is not sent whole in time (`--request-timeout-seconds`, here 2 s) gets 408 and its
 * connection is closed, on the real `s3batch serve` process (--local): a body that stops after 5 of
 * its 100 declared bytes, with or without credentials, on both APIs, and headers that never end.
 * Node checks for such requests every second (connectionsCheckingInterval, src/api/app.ts); before,
 * a stalled body stayed open for 300 s and more. The server keeps serving meanwhile and afterwards.
 */
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { basicAuth } from '../helpers/json-api.ts';
import { startServerProcess, TEST_API_KEY, type ServerProcess } from '../helpers/server-process.ts';

let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess({ args: ['--request-timeout-seconds', '2'] });
});

afterAll(async () => {
  await server?.kill('SIGTERM');
});

/** Writes `head` (and nothing after it) on a new connection; resolves with all it reads until the server closes it. */
function stall(head: string): Promise<string> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname);
    let got = '';
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      got += text;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(got));
    socket.write(head);
  });
}

const host = (): string => `host: ${new URL(server.url).host}\r\n`;
const body5 = (path: string, headers: string): string =>
  `POST ${path} HTTP/1.1\r\n${host()}${headers}content-length: 100\r\n\r\n12345`;

const cases: [string, () => string][] = [
  ['a JSON API body without credentials', () => body5('/api/v1/jobs', 'content-type: application/json\r\n')],
  [
    'a JSON API body with credentials',
    () => body5('/api/v1/jobs', `content-type: application/json\r\nauthorization: ${basicAuth(TEST_API_KEY)}\r\n`),
  ],
  [
    'an unsigned S3 Control API body',
    () => body5('/v20180820/jobs', `content-type: application/xml\r\nx-amz-account-id: ${TEST_API_KEY.accountId}\r\n`),
  ],
  ['a request whose headers never end', () => `GET /healthz HTTP/1.1\r\n${host()}x-partial: 1`],
];

it.each(cases)('%s that stalls gets 408 and is closed; /healthz answers meanwhile', async (_name, request) => {
  const answer = stall(request());
  const health = await fetch(`${server.url}/healthz`);
  expect(health.status).toBe(200);
  const got = await answer;
  expect(got).toMatch(/^HTTP\/1\.1 408 /);
  expect(got).toContain('"code":"RequestTimeout"');
});

it('keeps serving after the timed-out requests', async () => {
  const all = await Promise.all(cases.map(([, request]) => stall(request())));
  for (const got of all) expect(got).toMatch(/^HTTP\/1\.1 408 /);
  const health = await fetch(`${server.url}/healthz`);
  expect(health.status).toBe(200);
  const jobs = await fetch(`${server.url}/api/v1/jobs?maxResults=1`, {
    headers: { authorization: basicAuth(TEST_API_KEY) },
  });
  expect(jobs.status).toBe(200);
});
