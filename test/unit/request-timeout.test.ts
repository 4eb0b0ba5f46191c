/**
 * The server bounds how long a client may take to send its request. fastify turns Node's own
 * requestTimeout (300 s) off; then a client that stops in the middle of a body (one over the limit
 * is read on to its end, src/api/body-limit.ts) holds its request, and `close()` waits for it, for
 * ever. The app that startServer composes (its S3 endpoint is never contacted here) sets it again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REQUEST_TIMEOUT_MS } from '../../src/api/app.ts';
import { loadConfig } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/main.ts';

let server: RunningServer;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 's3batch-request-timeout-'));
  server = await startServer(
    loadConfig(
      {
        port: 0,
        host: '127.0.0.1',
        dataDir,
        endpoint: 'http://127.0.0.1:9',
        accessKeyId: 'AK',
        secretAccessKey: 'SK',
        logLevel: 'silent',
      },
      {},
    ),
  );
});

afterAll(async () => {
  await server?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it("the HTTP server has Node's request timeout (300 s), not fastify's 0 (none)", () => {
  expect(REQUEST_TIMEOUT_MS).toBe(300_000);
  expect(server.app.server.requestTimeout).toBe(REQUEST_TIMEOUT_MS);
});
