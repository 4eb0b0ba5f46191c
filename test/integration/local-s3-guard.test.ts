/**
 * The embedded S3's guard (src/storage/local-s3-guard.cjs) on a real `s3batch serve --local`: a
 * large PUT signed with a wrong key gets its whole 403, not a broken pipe. The guard refuses before
 * s3rver reads the body, so it reads and drops that body first, then answers and closes. And two
 * servers started at once on one new data folder agree on its key pair (local-s3-keys.json is
 * created whole or not at all, the loser reads the winner's file).
 */
import http from 'node:http';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signS3 } from '../helpers/s3control.ts';
import {
  embeddedS3Client,
  embeddedS3Keys,
  startServerProcess,
  tempDataDir,
  type ServerProcess,
} from '../helpers/server-process.ts';

const MiB = 1024 * 1024;
const ROUNDS = 10;
let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess();
});

afterAll(async () => {
  await server?.kill('SIGTERM');
});

/** A PUT of `body` over a new node:http connection; rejects on any socket error (EPIPE, ECONNRESET). */
function put(endpoint: string, urlPath: string, headers: Record<string, string>, body: Buffer) {
  const url = new URL(endpoint);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'PUT',
        path: urlPath,
        agent: false,
        headers: { ...headers, 'content-length': String(body.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the embedded S3 refusing a large PUT', () => {
  it(`answers an 11 MiB PUT with a wrong key 403, whole, ${ROUNDS} times of ${ROUNDS}; the right key still works`, async () => {
    const endpoint = server.s3Endpoint as string;
    const host = new URL(endpoint).host;
    const keys = embeddedS3Keys(server);
    const body = Buffer.alloc(11 * MiB, 0x61);
    const wrong = { accessKeyId: keys.accessKeyId, secretAccessKey: 'not-the-secret-of-this-data-folder' };
    const answers: string[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const urlPath = `/s3batch-demo/guard-large-${i}.bin`;
      const headers = await signS3({ method: 'PUT', path: urlPath, headers: { host }, body, key: wrong });
      const res = await put(endpoint, urlPath, headers, body).catch((err: Error) => ({ status: 0, body: err.message }));
      answers.push(`${res.status} ${/<Code>([^<]*)<\/Code>/.exec(res.body)?.[1] ?? res.body.slice(0, 100)}`);
    }
    expect(answers).toEqual(Array(ROUNDS).fill('403 SignatureDoesNotMatch'));
    // An unknown key id is refused the same way.
    const urlPath = '/s3batch-demo/guard-large-unknown.bin';
    const unknown = { accessKeyId: 'NOT-THE-KEY-ID', secretAccessKey: 'whatever' };
    const headers = await signS3({ method: 'PUT', path: urlPath, headers: { host }, body, key: unknown });
    const res = await put(endpoint, urlPath, headers, body);
    expect(res.status).toBe(403);
    expect(res.body).toContain('<Code>InvalidAccessKeyId</Code>');
    // The guard still lets the right key through.
    const okPath = '/s3batch-demo/guard-large-ok.bin';
    const okHeaders = await signS3({ method: 'PUT', path: okPath, headers: { host }, body, key: keys });
    expect((await put(endpoint, okPath, okHeaders, body)).status).toBe(200);
  });
});

describe('two servers starting at once on one new data folder', () => {
  it('both start and use the one key pair in local-s3-keys.json, 3 rounds', async () => {
    for (let round = 0; round < 3; round++) {
      const dataDir = tempDataDir('s3batch-keys-race-');
      const servers = await Promise.all([startServerProcess({ dataDir }), startServerProcess({ dataDir })]);
      try {
        const [a, b] = servers.map((s) => embeddedS3Keys(s));
        expect(a).toEqual(b);
        for (const s of servers) {
          const client = embeddedS3Client(s);
          try {
            expect((await client.send(new ListBucketsCommand({}))).$metadata.httpStatusCode).toBe(200);
          } finally {
            client.destroy();
          }
        }
      } finally {
        await Promise.all(servers.map((s) => s.kill('SIGTERM')));
      }
    }
  });
});
