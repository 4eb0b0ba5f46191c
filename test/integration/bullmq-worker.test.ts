/**
 * The worker side of the scale-out mode on real parts: a real redis-server (test/helpers/
 * redis-server.ts), Ceph RGW, BullMQ. Chunk jobs are added to the queue directly, as the engine
 * adds them (protocol.ts), and ChunkQueueWorker runs them in this process (its spool: the fs spool
 * in a temporary folder) or `s3batch worker` runs them as a subprocess. A fault proxy in front of
 * Ceph records the task requests (and slows them where a test needs a chunk to last).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { Queue, QueueEvents } from 'bullmq';
import { Redis as IORedis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { Chunk } from '../../src/domain/chunk.ts';
import type { CreateJobRequest } from '../../src/domain/job-spec.ts';
import { succeeded } from '../../src/domain/task.ts';
import { isS3BatchError } from '../../src/domain/errors.ts';
import {
  bullPriority,
  CHUNK_QUEUE,
  chunkFailure,
  chunkJobId,
  PROTOCOL_VERSION,
  redisNames,
  type ChunkJobData,
  type ChunkJobResult,
  type ProgressEntry,
  type WorkerInfo,
} from '../../src/execution/bullmq/protocol.ts';
import { ChunkQueueWorker, workerDepsFrom } from '../../src/execution/bullmq/worker.ts';
import { createFsSpool } from '../../src/storage/fs-spool.ts';
import type { ResultSpool } from '../../src/storage/result-spool.ts';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.ts';
import { runCli, shellEnv } from '../helpers/cli-process.ts';
import { getText, putManifest } from '../helpers/jobs.ts';
import { requireCeph } from '../helpers/provided.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { createTestBucket, makeS3Client, putObjects, type S3ServerInfo } from '../helpers/s3-servers.ts';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.ts';

const PREFIX = 'wt:';
const names = redisNames(PREFIX);
const isTagging = (req: http.IncomingMessage): boolean => req.method === 'PUT' && (req.url ?? '').includes('tagging');

let redis: TestRedis;
let cmd: IORedis;
let queue: Queue<ChunkJobData, ChunkJobResult>;
let events: QueueEvents;
let eventsConn: IORedis;
let ceph: S3ServerInfo;
let s3: S3Client;
let spoolDir: string;
let spool: ResultSpool;
let jobs = 0;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  ceph = requireCeph();
  s3 = makeS3Client(ceph);
  redis = await startRedis();
  cmd = new IORedis(redis.url, { maxRetriesPerRequest: null });
  queue = new Queue(CHUNK_QUEUE, { connection: cmd, prefix: names.bull });
  eventsConn = new IORedis(redis.url, { maxRetriesPerRequest: null });
  events = new QueueEvents(CHUNK_QUEUE, { connection: eventsConn, prefix: names.bull });
  await events.waitUntilReady();
  spoolDir = await mkdtemp(join(tmpdir(), 's3batch-bull-worker-'));
  spool = createFsSpool(spoolDir);
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

afterAll(async () => {
  await events?.close();
  await queue?.close();
  eventsConn?.disconnect();
  cmd?.disconnect();
  await redis?.stop();
  s3?.destroy();
  if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
});

interface Manifest {
  bucket: string;
  keys: string[];
  etag: string;
  lines: string[];
  chunks: Chunk[];
}

/** `count` objects in a new bucket and their CSV manifest, cut in chunks of `size` rows. */
async function manifest(count: number, size: number): Promise<Manifest> {
  const bucket = await createTestBucket(s3, 'bullw');
  const keys = Array.from({ length: count }, (_, i) => `k/${i}`);
  await putObjects(s3, bucket, keys);
  const { etag, rawKeys } = await putManifest(
    s3,
    bucket,
    'm.csv',
    keys.map((key) => ({ bucket, key })),
  );
  const lines = rawKeys.map((k) => `${bucket},${k}\n`);
  return { bucket, keys, etag, lines, chunks: chunksOf(lines, size) };
}

/** The manifest's lines cut in chunks of `size` rows. */
function chunksOf(lines: string[], size: number): Chunk[] {
  const chunks: Chunk[] = [];
  let offset = 0;
  for (let i = 0; i < lines.length; i += size) {
    const bytes = Buffer.byteLength(lines.slice(i, i + size).join(''));
    chunks.push({
      index: i / size,
      start: offset,
      end: offset + bytes,
      firstLine: i + 1,
      count: Math.min(size, lines.length - i),
    });
    offset += bytes;
  }
  return chunks;
}

/** A tagging job over the manifest; `report`: its results in part files under `rep/` in its bucket. */
function spec(m: Manifest, tag: string, etag = m.etag, report = false): ChunkJobData['spec'] {
  const request: CreateJobRequest = {
    Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'bull', Value: tag }] } },
    Manifest: {
      Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
      Location: { ObjectArn: `arn:aws:s3:::${m.bucket}/m.csv`, ETag: etag },
    },
    Report: report
      ? {
          Enabled: true,
          Bucket: `arn:aws:s3:::${m.bucket}`,
          Format: 'Report_CSV_20180820',
          Prefix: 'rep',
          ReportScope: 'AllTasks',
        }
      : { Enabled: false },
    Priority: 10,
    RoleArn: 'arn:aws:iam::000000000000:role/batch',
  };
  return { jobId: `job-${process.pid}-${++jobs}`, request, etag, localManifest: false };
}

function data(s: ChunkJobData['spec'], chunk: Chunk, extra: Partial<ChunkJobData> = {}): ChunkJobData {
  return { v: PROTOCOL_VERSION, spec: s, chunk, loops: 4, resume: false, gen: 0, ...extra };
}

/** Adds the chunk jobs as the engine does and resolves with their results. */
async function run(chunks: ChunkJobData[]): Promise<ChunkJobResult[]> {
  const added = await Promise.all(
    chunks.map((d) =>
      queue.add('chunk', d, { jobId: chunkJobId(d.spec.jobId, d.chunk.index), priority: bullPriority(10) }),
    ),
  );
  return Promise.all(added.map((job) => job.waitUntilFinished(events, 60_000) as Promise<ChunkJobResult>));
}

/** A worker in this process on `endpoint` (Ceph, or a proxy in front of it). */
async function startWorker(
  endpoint: string,
  options: { concurrency: number; chunks?: number; name?: string },
): Promise<ChunkQueueWorker> {
  const config = loadConfig(
    { endpoint, accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey, logLevel: 'silent' },
    {},
  );
  const conn = new IORedis(redis.url, { maxRetriesPerRequest: null });
  const deps = workerDepsFrom(config, {
    spool,
    localManifest: () => {
      throw new Error('no local task lists in this test');
    },
  });
  const worker = await ChunkQueueWorker.start(deps, { redis: conn, prefix: PREFIX, ...options });
  cleanups.push(async () => {
    await worker.close();
    conn.disconnect();
  });
  return worker;
}

async function proxy(latencyMs?: number): Promise<FaultProxy> {
  const p = await startFaultProxy(ceph.endpoint, () => undefined, { watch: isTagging, latencyMs });
  cleanups.push(() => p.close());
  return p;
}

async function tagOf(bucket: string, key: string): Promise<string | undefined> {
  const t = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
  return t.TagSet?.find((x) => x.Key === 'bull')?.Value;
}

async function progressOf(jobId: string): Promise<ProgressEntry[]> {
  const entries = await cmd.xrange(names.progress, '-', '+');
  return entries
    .map(([, fields]) => JSON.parse(fields[fields.indexOf('d') + 1]!) as ProgressEntry)
    .filter((e) => e.jobId === jobId);
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('ChunkQueueWorker', () => {
  it('runs a job of 3 chunks: the objects tagged, each chunk finished with its counts, rows spooled with ordinals', async () => {
    const m = await manifest(30, 10);
    const p = await proxy();
    const worker = await startWorker(p.endpoint, { concurrency: 4, chunks: 2, name: 'w-one' });
    const info = JSON.parse((await cmd.hget(names.workers, 'w-one'))!) as WorkerInfo;
    expect(info).toMatchObject({ name: 'w-one', concurrency: 4 });
    const s = spec(m, 'one');
    const results = await run(m.chunks.map((c) => data(s, c)));
    expect(results.map((r) => [r.finished, r.counts.index, r.counts.succeeded, r.counts.failed])).toEqual([
      [true, 0, 10, 0],
      [true, 1, 10, 0],
      [true, 2, 10, 0],
    ]);
    expect(results.every((r) => r.worker === 'w-one' && r.v === PROTOCOL_VERSION)).toBe(true);
    expect(p.watched.arrivals).toHaveLength(30);
    expect(p.watched.maxInFlight).toBeLessThanOrEqual(4);
    for (const key of [m.keys[0]!, m.keys[15]!, m.keys[29]!]) expect(await tagOf(m.bucket, key)).toBe('one');
    for (const c of m.chunks) {
      const rows = await spool.durable(s.jobId, c.index);
      expect([...rows!.ordinals].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i));
      expect(rows).toMatchObject({ succeeded: 10, failed: 0 });
    }
    // The last progress entry of each chunk holds its results; every attempt was reported once.
    const entries = await progressOf(s.jobId);
    for (const c of m.chunks) {
      const last = entries.filter((e) => e.chunk === c.index).at(-1)!;
      expect(last).toMatchObject({ worker: 'w-one', inFlight: 0, live: { succeeded: 10, failed: 0 } });
    }
    expect(entries.map((e) => e.attempts).join('')).toBe('s'.repeat(30));
    expect(entries.reduce((n, e) => n + e.tasks.length / 4, 0)).toBe(30);
    await worker.close();
    expect(await cmd.hget(names.workers, 'w-one')).toBeNull();
  });

  it('a chunk whose manifest changed fails its BullMQ job with the code and message', async () => {
    const m = await manifest(5, 5);
    await startWorker(ceph.endpoint, { concurrency: 2 });
    const s = spec(m, 'bad', '"0123456789abcdef0123456789abcdef"');
    const err = await run([data(s, m.chunks[0]!)]).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    const failure = chunkFailure(err!.message);
    expect(isS3BatchError(failure) && failure.code).toBe('ManifestETagMismatch');
  });

  it('a stop ends a chunk early with its partial counts; the resume runs the other rows, each row once', async () => {
    const m = await manifest(40, 40);
    // Each tagging request is held 100 ms: 40 rows, 2 at once, last 2 s.
    const p = await proxy(100);
    await startWorker(p.endpoint, { concurrency: 2 });
    const s = spec(m, 'stop');
    const first = run([data(s, m.chunks[0]!, { loops: 8 })]);
    await until('6 tagging requests', () => p.watched.arrivals.length >= 6);
    await cmd.set(names.stopKey(s.jobId), '1');
    await cmd.publish(names.control, JSON.stringify({ v: PROTOCOL_VERSION, t: 'stop', jobId: s.jobId, gen: 1 }));
    const [partial] = await first;
    expect(partial!.finished).toBe(false);
    const done = partial!.counts.succeeded;
    expect(done).toBeGreaterThanOrEqual(6);
    expect(done).toBeLessThan(40);
    expect(partial!.counts.failed).toBe(0);
    // The spool was closed before the answer: its rows are durable.
    expect((await spool.durable(s.jobId, 0))!.ordinals.size).toBe(done);
    expect(p.watched.arrivals).toHaveLength(done);

    // The engine sends it again with resume (a new BullMQ job: the finished one is removed first).
    await queue.remove(chunkJobId(s.jobId, 0));
    const [resumed] = await run([data(s, m.chunks[0]!, { loops: 8, resume: true, gen: 1 })]);
    expect(resumed!.finished).toBe(true);
    expect(resumed!.counts).toMatchObject({
      index: 0,
      succeeded: 40,
      failed: 0,
      resumed: { succeeded: done, failed: 0 },
    });
    expect(p.watched.arrivals).toHaveLength(40);
    const rows: string[] = [];
    for await (const r of spool.read(s.jobId, 0, 'succeeded')) rows.push(r.rawKey);
    expect(rows).toHaveLength(40);
    expect(new Set(rows).size).toBe(40);
    for (const key of [m.keys[0]!, m.keys[39]!]) expect(await tagOf(m.bucket, key)).toBe('stop');
  });

  it("control messages: 'loops' resizes a running chunk, 'rate' puts its job's requests under a rate in Redis", async () => {
    const m = await manifest(30, 30);
    const p = await proxy(100);
    await startWorker(p.endpoint, { concurrency: 8 });
    const s = spec(m, 'loops');
    const result = run([data(s, m.chunks[0]!, { loops: 1 })]);
    await until('3 tagging requests', () => p.watched.arrivals.length >= 3);
    expect(p.watched.maxInFlight).toBe(1);
    const publish = (msg: Record<string, unknown>) =>
      cmd.publish(names.control, JSON.stringify({ v: PROTOCOL_VERSION, jobId: s.jobId, ...msg }));
    await publish({ t: 'loops', chunk: 0, loops: 4 });
    await publish({ t: 'rate', rate: 1000 });
    const [r] = await result;
    expect(r).toMatchObject({ finished: true, counts: { succeeded: 30, failed: 0 } });
    expect(p.watched.arrivals).toHaveLength(30);
    expect(p.watched.maxInFlight).toBe(4);
    // rate-limiter-flexible's window keys of the job at 1000 requests per second.
    expect((await cmd.keys(`${names.rate}:${s.jobId}:1000:*`)).length).toBeGreaterThan(0);
  });

  it('a chunk sent before a stop it did not hear of ends at once: its stop key is read first', async () => {
    const m = await manifest(5, 5);
    const p = await proxy();
    await startWorker(p.endpoint, { concurrency: 2 });
    const s = spec(m, 'late');
    await cmd.set(names.stopKey(s.jobId), '3');
    const [r] = await run([data(s, m.chunks[0]!, { gen: 2 })]);
    expect(r).toMatchObject({ finished: false, counts: { index: 0, succeeded: 0, failed: 0 } });
    expect(p.watched.arrivals).toHaveLength(0);
  });
});

describe('s3batch worker (the CLI as a subprocess)', () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 's3batch-worker-home-'));
  });
  afterAll(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  /** `s3batch worker` on `endpoint` (a proxy in front of Ceph), resolved once it said it is ready. */
  async function startWorkerCli(endpoint: string, name: string, args: string[]): Promise<WorkerProcess> {
    const w = await startWorkerProcess({
      redisUrl: redis.url,
      s3: { ...ceph, endpoint },
      name,
      args: ['--redis-prefix', PREFIX, ...args],
    });
    cleanups.push(async () => {
      await w.kill('SIGKILL');
    });
    return w;
  }

  it('starts, says it is ready, heartbeats into the workers hash; SIGTERM stops its chunk (partial) and exits 0', async () => {
    const m = await manifest(40, 40);
    const p = await proxy(100);
    const cli = await startWorkerCli(p.endpoint, 'w-cli', ['--concurrency', '2', '--drain-seconds', '0']);
    expect(cli.output()).toMatch(/s3batch worker w-cli ready: 2 task slots, 1 chunk\(s\) at a time, Redis redis:/);
    const first = JSON.parse((await cmd.hget(names.workers, 'w-cli'))!) as WorkerInfo;
    expect(first).toMatchObject({ name: 'w-cli', concurrency: 2 });
    await until('a second heartbeat', async () => {
      const now = JSON.parse((await cmd.hget(names.workers, 'w-cli'))!) as WorkerInfo;
      return now.seen > first.seen;
    });
    const s = spec(m, 'cli', m.etag, true);
    const result = run([data(s, m.chunks[0]!, { loops: 2 })]);
    await until('4 tagging requests', () => p.watched.arrivals.length >= 4);
    const exitCode = cli.kill('SIGTERM');
    const [r] = await result;
    expect(r!.finished).toBe(false);
    expect(r!.worker).toBe('w-cli');
    expect(r!.counts.succeeded).toBeGreaterThanOrEqual(4);
    expect(r!.counts.succeeded).toBeLessThan(40);
    expect(await exitCode).toBe(0);
    expect(cli.output()).toContain('SIGTERM: stopping');
    expect(await cmd.hget(names.workers, 'w-cli')).toBeNull();
    expect(p.watched.arrivals).toHaveLength(r!.counts.succeeded);
    // Its results are in the chunk's part file in S3 (storage/s3-part-spool.ts), one row each.
    const part = await getText(s3, m.bucket, `rep/job-${s.jobId}/parts/0000000000.jsonl`);
    const lines = part.trim().split('\n');
    expect(lines).toHaveLength(r!.counts.succeeded);
    expect(lines.every((l) => l.startsWith('s'))).toBe(true);
  });

  it('the chunk of a worker SIGKILLed mid-chunk runs again on another worker, keeping the rows its spool holds', async () => {
    const m = await manifest(20, 20);
    const p = await proxy(100);
    const cli = await startWorkerCli(p.endpoint, 'w-killed', ['--concurrency', '2']);
    const s = spec(m, 'killed');
    // The rows the killed worker made durable (this test's fs spool stands in for the S3 part file
    // every worker shares; the CLI's own spool is a placeholder of its own).
    const w = await spool.open(s.jobId, 0);
    for (let i = 0; i < 5; i++) {
      w.append(succeeded({ line: i + 1, bucket: m.bucket, key: m.keys[i]!, rawKey: m.keys[i]! }), i);
    }
    await w.close();
    // A first send (resume false): the run after the stall resumes all the same.
    const result = run([data(s, m.chunks[0]!, { loops: 2 })]);
    await until('2 tagging requests', () => p.watched.arrivals.length >= 2);
    await cli.kill('SIGKILL');
    const before = p.watched.arrivals.length;
    await startWorker(p.endpoint, { concurrency: 2, name: 'w-other' });
    const [r] = await result;
    expect(r).toMatchObject({
      finished: true,
      worker: 'w-other',
      counts: { index: 0, succeeded: 20, failed: 0, resumed: { succeeded: 5, failed: 0 } },
    });
    expect(p.watched.arrivals.length - before).toBe(15);
    const rows: string[] = [];
    for await (const row of spool.read(s.jobId, 0, 'succeeded')) rows.push(row.rawKey);
    expect(new Set(rows)).toEqual(new Set(m.keys));
    expect(rows).toHaveLength(20);
  });

  it("two worker processes hold a job's max requests per second over both of them", async () => {
    const m = await manifest(100, 20);
    const p = await proxy();
    await Promise.all([
      startWorkerCli(p.endpoint, 'w-a', ['--concurrency', '8', '--chunks', '2']),
      startWorkerCli(p.endpoint, 'w-b', ['--concurrency', '8', '--chunks', '2']),
    ]);
    // A warm-up first (no limit, chunks of 5 for both workers): a process's first requests (new
    // sockets, code paths run once) would otherwise bunch the arrivals of the measured job's first second.
    const warm = spec(m, 'warm');
    await run(
      chunksOf(m.lines, 5)
        .slice(0, 4)
        .map((c) => data(warm, c)),
    );
    p.watched.arrivals.length = 0;
    const s = spec(m, 'rate');
    const results = await run(m.chunks.map((c) => data(s, c, { loops: 8, rate: 20 })));
    expect(results.every((r) => r.finished && r.counts.succeeded === 20)).toBe(true);
    // Both processes ran chunks of the job at once.
    expect(new Set(results.map((r) => r.worker))).toEqual(new Set(['w-a', 'w-b']));
    const arrivals = [...p.watched.arrivals].sort((x, y) => x - y);
    expect(arrivals).toHaveLength(100);
    // As test/e2e/limits.test.ts: every window starting at a request holds at most rate·T + the
    // burst of 2, plus 3 for delivery jitter.
    const perWindow = (ms: number): number =>
      Math.max(...arrivals.map((start) => arrivals.filter((t) => t >= start && t < start + ms).length));
    expect(perWindow(1000)).toBeLessThanOrEqual(20 + 2 + 3);
    expect(perWindow(2000)).toBeLessThanOrEqual(40 + 2 + 3);
    // 100 requests at 20 per second (2 at once) cannot arrive in less than ~4.9 s.
    expect(arrivals[arrivals.length - 1]! - arrivals[0]!).toBeGreaterThanOrEqual(4500);
    for (const key of [m.keys[0]!, m.keys[99]!]) expect(await tagOf(m.bucket, key)).toBe('rate');
  });

  it('clear errors: no --redis (2), a URL that is not Redis (1), a Redis that does not answer (1)', async () => {
    const opts = { cwd: home, env: shellEnv(home), killAfterMs: 30_000 };
    const none = await runCli(['worker'], opts);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^s3batch: InvalidArgument: s3batch worker needs --redis/);
    const bad = await runCli(['worker', '--redis', 'http://user:hunter2@127.0.0.1:6379'], opts);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      's3batch: InvalidConfiguration: Invalid Redis URL http://user:***@127.0.0.1:6379: ' +
        'the scheme must be redis:// or rediss://, not http://\n',
    );
    // A port nothing listens on: the one of a Redis just stopped.
    const gone = await startRedis();
    await gone.stop();
    const down = await runCli(['worker', '--redis', gone.url], opts);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      /^s3batch: InvalidConfiguration: Cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/0: .*\n$/,
    );
    expect(down.stderr.split('\n')).toHaveLength(2);
  });
});
