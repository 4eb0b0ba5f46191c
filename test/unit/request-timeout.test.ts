/**
 * The server bounds how long a client may take to send its request (30 s by default,
 * --request-timeout-seconds). fastify turns Node's own requestTimeout (300 s) off; then a client that stops in the middle of a body (one over the limit
 * is read on to its end, src/api/body-limit.ts) holds its request, and `close()` waits for it, for
 * ever. The app that startServer composes sets it again.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REQUEST_TIMEOUT_MS } from '../../src/api/app.ts';
import type { RunningServer } from '../../src/main.ts';
import { startOfflineServer } from '../helpers/offline-server.ts';

let server: RunningServer;

beforeAll(async () => {
  server = await startOfflineServer('s3batch-request-timeout-');
});

afterAll(async () => {
  await server?.close();
});

it("the HTTP server has a request timeout (30 s), not fastify's 0 (none), checked every second", () => {
  expect(REQUEST_TIMEOUT_MS).toBe(30_000);
  expect(server.app.server.requestTimeout).toBe(REQUEST_TIMEOUT_MS);
  expect(server.app.server.headersTimeout).toBe(REQUEST_TIMEOUT_MS);
});
