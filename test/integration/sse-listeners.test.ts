/**
 * The SSE streams' footprint inside the real server (startServer in this process, on the s3rver of
 * the global setup), where the engine's event listeners can be counted: hundreds of streams
 * opened and dropped by their clients leave no listener on the engine, and server.close() with
 * streams still open returns promptly and ends them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobEventHub } from '../../src/api/rest/event-hub.ts';
import { eventRoutes } from '../../src/api/rest/event-routes.ts';
import { loadConfig } from '../../src/config.ts';
import { EngineEvents } from '../../src/engine/events.ts';
import { startServer, type RunningServer } from '../../src/main.ts';
import type { BatchService } from '../../src/service/batch-service.ts';
import { jobRequest, putManifest } from '../helpers/jobs.ts';
import { basicAuth, JsonApi } from '../helpers/json-api.ts';
import { requireS3rver } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client } from '../helpers/s3-servers.ts';
import { writeApiKeysFile } from '../helpers/s3control.ts';
import { TEST_API_KEY } from '../helpers/server-process.ts';
import { openSse, type SseStream } from '../helpers/sse.ts';
import { until } from '../helpers/until.ts';

let s3: S3Client;
let bucket: string;
let etag: string;
let dataDir: string;

const auth = { authorization: basicAuth(TEST_API_KEY) };
const EVENTS = ['job:status', 'job:progress'] as const;

async function start(): Promise<RunningServer> {
  const s3rver = requireS3rver();
  return startServer(
    loadConfig(
      {
        port: 0,
        dataDir: await mkdtemp(join(dataDir, 'server-')),
        endpoint: s3rver.endpoint,
        accessKeyId: s3rver.accessKeyId,
        secretAccessKey: s3rver.secretAccessKey,
        logLevel: 'silent',
        apiKeysFile: writeApiKeysFile(dataDir, [TEST_API_KEY]),
      },
      {},
    ),
  );
}

/** A job that waits in Suspended (confirmation required), to follow. */
async function suspendedJob(server: RunningServer): Promise<string> {
  const api = new JsonApi(server.url);
  const { JobId } = await api.createJob(
    jobRequest({
      manifestBucket: bucket,
      manifestKey: 'm.csv',
      etag,
      operation: { S3PutObjectTagging: { TagSet: [] } },
      reportBucket: bucket,
      confirmationRequired: true,
    }),
  );
  await api.waitFor(JobId, 'Suspended');
  return JobId;
}

beforeAll(async () => {
  s3 = makeS3Client(requireS3rver());
  bucket = await createTestBucket(s3, 'sse-listeners');
  etag = (await putManifest(s3, bucket, 'm.csv', [{ bucket, key: 'a' }])).etag;
  dataDir = await mkdtemp(join(tmpdir(), 's3batch-sse-listeners-'));
});

afterAll(async () => {
  s3?.destroy();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('SSE streams and the engine', () => {
  it('300 streams opened and dropped by their clients leave no engine listener', async () => {
    const server = await start();
    try {
      const jobId = await suspendedJob(server);
      const baseline = EVENTS.map((e) => server.engine.events.listenerCount(e));
      for (let round = 0; round < 10; round++) {
        const streams = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            openSse(`${server.url}/api/v1/${i % 3 === 0 ? 'events' : `jobs/${jobId}/events`}`, auth),
          ),
        );
        expect(streams.every((s) => s.response.status === 200)).toBe(true);
        await Promise.all(
          streams.filter((_, i) => i % 3 !== 0).map((s) => s.waitFor((e) => e.event === 'job', 'job event', 10_000)),
        );
        // While they are open the hub listens (once, not once per stream).
        for (const e of EVENTS) expect(server.engine.events.listenerCount(e)).toBe(1 + baseline[EVENTS.indexOf(e)]!);
        for (const s of streams) s.close();
        await until(
          () => EVENTS.every((e, i) => server.engine.events.listenerCount(e) === baseline[i]),
          'every listener removed',
          { everyMs: 20 },
        );
      }
      expect(EVENTS.map((e) => server.engine.events.listenerCount(e))).toEqual(baseline);
    } finally {
      await server.close();
    }
  });

  it('server.close() with streams open ends them, returns and leaves no engine listener', async () => {
    const server = await start();
    const jobId = await suspendedJob(server);
    const streams: SseStream[] = await Promise.all([
      openSse(`${server.url}/api/v1/events`, auth),
      openSse(`${server.url}/api/v1/jobs/${jobId}/events`, auth),
    ]);
    await streams[1]!.waitFor((e) => e.event === 'job', 'job event', 10_000);
    const closed = await Promise.race([
      server.close().then(() => 'closed'),
      new Promise((r) => setTimeout(() => r('still waiting'), 10_000)),
    ]);
    expect(closed).toBe('closed');
    for (const s of streams) expect(await s.ended(5_000)).toBe(true);
    // Closed, the server holds no engine listener at all: not the streams' hub, not the webhook notifier.
    expect(EVENTS.map((e) => server.engine.events.listenerCount(e))).toEqual([0, 0]);
  });
});

describe('a client that leaves before its stream starts', () => {
  it('leaves no subscription behind (its close came before the stream listened for it)', async () => {
    const hub = new JobEventHub({ events: new EngineEvents(), snapshot: () => undefined, intervalMs: 250 });
    let arrived!: () => void;
    let authenticated = false;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    const app = Fastify();
    await app.register(eventRoutes, {
      prefix: '/api/v1',
      // The account stream never touches the service; nothing else of it is needed here.
      service: {} as BatchService,
      hub,
      // Authentication that finishes only after the client has gone (a slow SigV4 check under load).
      accountOf: (req) =>
        new Promise<string>((resolve) => {
          arrived();
          req.raw.socket.once('close', () =>
            setImmediate(() => {
              authenticated = true;
              resolve(TEST_API_KEY.accountId);
            }),
          );
        }),
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const req = http.get(`${url}/api/v1/events`);
      req.on('error', () => {}); // the abort below
      await requestArrived;
      req.destroy();
      // The handler goes on in the same turn as authentication: by the next poll it has subscribed (and should have ended).
      await until(() => authenticated, 'the authentication to finish');
      await until(() => hub.size === 0, 'the stream of the departed client to end', { timeoutMs: 3_000 });
    } finally {
      hub.close();
      await app.close();
    }
  });
});
