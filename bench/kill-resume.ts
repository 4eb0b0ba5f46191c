// Resume at task grain under frequent crashes (issue 13), on a running Ceph RGW:
//
//   npm run bench:kill-resume -- [--ceph URL,KEY,SECRET] [--tasks 20000] [--rate 250] [--kills 50]
//                                [--min-ms 1000] [--max-ms 2000] [--workers N[,M…]] [--resume-chunks 10000]
//                                [--resume-rounds 3] [--index-chunks 10000,1000000] [--skip kill,resume,index]
//
// 1. kill: an S3PutObjectCopy job of --tasks objects, limited to --rate tasks/s (the job's
//    s3batch:max-requests-per-second tag), runs while `s3batch serve` is SIGKILLed --kills times, each
//    a random --min-ms … --max-ms after the restarted server listens again, and restarted at once on
//    the same data folder. Then the baseline: the same job on a fresh server nobody kills. Printed:
//    tasks durable at the last kill against what the crash-free run finishes in the same time (the
//    kill phase's wall time, and the servers' running time only), then the kill run's report checked
//    row by row (missing, doubled) and its copies counted.
// 2. resume: restart → first task of a job of --resume-chunks × 1,000 rows whose chunks are all done but
//    the last. The state is built synthetically: a real 1,000-row job is prepared (Suspended), then
//    its record (through the job store's own module) and its chunk index are rewritten as if
//    10 M rows had been prepared and 9,999 chunks run (the done chunks are never read again on
//    resume: only the index's last record, the store record and the manifest range of the last
//    chunk matter). Timed from spawn to the first request of a task (its CopyObject, seen by a
//    pass-through proxy in front of Ceph), with the index in the fixed-width format
//    and in the older text format, alternating.
// 3. index: in this process, the time to read the last chunk of an index of --index-chunks chunks,
//    fixed-width (one seek) against the older text format (read from its start).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Chunk } from '../src/domain/chunk.ts';
import type { JobRecord } from '../src/domain/job.ts';
import { formatChunkLine, createFsChunkIndex } from '../src/storage/fs-chunk-index.ts';
import { LowdbJobStore } from '../src/storage/lowdb-job-store.ts';
import { startFaultProxy } from '../test/helpers/fault-proxy.ts';
import { jobRequest, putManifest, readReport } from '../test/helpers/jobs.ts';
import { JsonApi } from '../test/helpers/json-api.ts';
import { createTestBucket, makeS3Client, putObjects, type S3ServerInfo } from '../test/helpers/s3-servers.ts';
import { tempDataDir } from '../test/helpers/server-process.ts';
import { startEngineServer, type EngineServer } from './engine-server.ts';
import { removeBuckets } from './s3-server.ts';
import { table } from './table.ts';

const { values: opt } = parseArgs({
  options: {
    ceph: { type: 'string', default: process.env.S3BATCH_TEST_CEPH },
    tasks: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '250' },
    kills: { type: 'string', default: '50' },
    'min-ms': { type: 'string', default: '1000' },
    'max-ms': { type: 'string', default: '2000' },
    workers: { type: 'string' },
    'resume-chunks': { type: 'string', default: '10000' },
    'resume-rounds': { type: 'string', default: '3' },
    'index-chunks': { type: 'string', default: '10000,1000000' },
    skip: { type: 'string', default: '' },
  },
  strict: true,
});
const [endpoint, accessKeyId, secretAccessKey] = (opt.ceph ?? '').split(',');
if (!endpoint || !accessKeyId || !secretAccessKey) {
  console.error('--ceph URL,KEY,SECRET (or S3BATCH_TEST_CEPH) is required');
  process.exit(2);
}
const CEPH: S3ServerInfo = { name: 'ceph', endpoint, accessKeyId, secretAccessKey, region: 'us-east-1' };
const TASKS = Number(opt.tasks);
const RATE = Number(opt.rate);
const KILLS = Number(opt.kills);
const MIN_MS = Number(opt['min-ms']);
const MAX_MS = Number(opt['max-ms']);
const RESUME_CHUNKS = Number(opt['resume-chunks']);
const RESUME_ROUNDS = Number(opt['resume-rounds']);
const INDEX_CHUNKS = opt['index-chunks']
  .split(',')
  .filter(Boolean)
  .map((n) => Number(n));
const SKIP = new Set(opt.skip.split(',').filter(Boolean));
/** --workers: one kill phase per value (comma-separated); unset: the server's default (one thread per core). */
const WORKERS: (string | undefined)[] = opt.workers === undefined ? [undefined] : opt.workers.split(',');
const serveArgs = (workers: string | undefined): string[] => [
  '--job-concurrency',
  '64',
  '--max-concurrent-tasks',
  '64',
  ...(workers === undefined ? [] : ['--workers', workers]),
];
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const t0 = performance.now();
const log = (msg: string): void =>
  console.error(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const load = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

const cleanups: Array<() => Promise<void> | void> = [];

async function kill(server: EngineServer): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise<void>((r) => server.child.once('exit', () => r()));
  server.child.kill('SIGKILL');
  await exited;
}

async function serve(
  dataDir: string,
  workers: string | undefined,
  s3: S3ServerInfo = CEPH,
): Promise<{ server: EngineServer; startMs: number }> {
  const t = performance.now();
  const server = await startEngineServer({ s3, dataDir, serveArgs: serveArgs(workers) });
  cleanups.push(() => kill(server));
  return { server, startMs: performance.now() - t };
}

async function waitStatus(api: JsonApi, id: string, statuses: string[], timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (statuses.includes((await api.describe(id)).Job.Status)) return;
    await sleep(20);
  }
  throw new Error(`job ${id} did not reach ${statuses.join('|')}`);
}

const done = async (api: JsonApi, id: string): Promise<number> => {
  const p = (await api.describe(id)).Job.ProgressSummary;
  return p.NumberOfTasksSucceeded + p.NumberOfTasksFailed;
};

interface Env {
  readonly s3: S3Client;
  readonly src: string;
  readonly dst: string;
  readonly reports: string;
  readonly keys: readonly string[];
  readonly etag: string;
}

function copyRequest(env: Env, prefix: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return jobRequest({
    manifestBucket: env.src,
    manifestKey: 'manifest.csv',
    etag: env.etag,
    operation: { S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${env.dst}`, TargetKeyPrefix: prefix } },
    reportBucket: env.reports,
    reportPrefix: prefix,
    confirmationRequired: false,
    extra: { Tags: [{ Key: 's3batch:max-requests-per-second', Value: String(RATE) }], ...extra },
  });
}

async function countObjects(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  let n = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }),
    );
    n += page.KeyCount ?? 0;
    token = page.NextContinuationToken;
  } while (token);
  return n;
}

async function killPhase(env: Env, workers: string | undefined): Promise<string[]> {
  const prefix = `killed-w${workers ?? 'default'}`;
  const dataDir = tempDataDir('s3batch-bench-kill-');
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  let { server } = await serve(dataDir, workers);
  let api = new JsonApi(server.url);
  const { JobId: id } = await api.createJob(copyRequest(env, prefix));
  await waitStatus(api, id, ['Active']);
  const start = performance.now();
  log(`kill phase: job ${id} Active; load ${load()}`);
  let upMs = 0; // servers listening, between their start and their kill
  const restarts: number[] = [];
  let kills = 0;
  let ended = false;
  for (; kills < KILLS; kills++) {
    const wait = MIN_MS + Math.random() * (MAX_MS - MIN_MS);
    await sleep(wait);
    const status = (await api.describe(id)).Job.Status;
    if (status === 'Complete' || status === 'Completing') {
      ended = true;
      break;
    }
    await kill(server);
    upMs += wait;
    const next = await serve(dataDir, workers);
    server = next.server;
    api = new JsonApi(server.url);
    restarts.push(next.startMs);
    if ((kills + 1) % 10 === 0) log(`  ${kills + 1} kills; ${await done(api, id)} tasks durable; load ${load()}`);
  }
  const wallMs = performance.now() - start;
  // Right after the last restart: the store's counters and the spools' durable tasks (a task or
  // two of the new server's first milliseconds may be in it).
  const during = await done(api, id);
  const runMs = upMs + restarts.reduce((a, b) => a + b, 0);
  log(`kill phase: ${kills} kills in ${(wallMs / 1000).toFixed(1)} s, ${during} tasks durable; load ${load()}`);

  await waitStatus(api, id, ['Complete', 'Failed']);
  const view = await api.describe(id);
  const report = await readReport(env.s3, env.reports, prefix, id);
  const reported = report.rows.map((r) => decodeURIComponent(r[1]!));
  const counts = new Map<string, number>();
  for (const k of reported) counts.set(k, (counts.get(k) ?? 0) + 1);
  const missing = env.keys.filter((k) => !counts.has(k)).length;
  const doubled = [...counts.values()].filter((n) => n > 1).length;
  const copies = await countObjects(env.s3, env.dst, prefix);
  await server.stop();

  // The baseline: the same job, nobody kills the server.
  const baseDir = tempDataDir('s3batch-bench-base-');
  cleanups.push(() => rmSync(baseDir, { recursive: true, force: true }));
  const base = await serve(baseDir, workers);
  const baseApi = new JsonApi(base.server.url);
  const { JobId: baseId } = await baseApi.createJob(copyRequest(env, `baseline-w${workers ?? 'default'}`));
  await waitStatus(baseApi, baseId, ['Active']);
  const baseStart = performance.now();
  log(`baseline: job ${baseId} Active; load ${load()}`);
  const sample = async (ms: number): Promise<number> => {
    const left = baseStart + ms - performance.now();
    if (left > 0) await sleep(left);
    return done(baseApi, baseId);
  };
  // The crash-free rate over a window the job cannot outrun (it would stop at --tasks).
  const windowMs = Math.min(wallMs, (TASKS / RATE) * 1000 * 0.8);
  const atRun = runMs <= windowMs ? await sample(runMs) : undefined;
  const atWindow = await sample(windowMs);
  const baseTps = atWindow / (windowMs / 1000);
  await kill(base.server); // its rate is known: the rest of the job is not needed
  log(`baseline: ${atWindow} tasks in ${(windowMs / 1000).toFixed(1)} s (${baseTps.toFixed(0)}/s); load ${load()}`);

  // What the crash-free run finishes at its rate in the same time, had it tasks enough (not capped at --tasks).
  const crashFreeWall = baseTps * (wallMs / 1000);
  const crashFreeRun = atRun ?? baseTps * (runMs / 1000);
  const crashFreeUp = baseTps * (upMs / 1000);
  const pct = (a: number, b: number): string => `${((100 * a) / b).toFixed(0)} %`;
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  return [
    '',
    `kill-resume: ${TASKS} copy tasks at ${RATE} tasks/s, SIGKILL ${MIN_MS}–${MAX_MS} ms after each restart listens` +
      ` (${kills} kills${ended ? ', job ended first' : ''}), workers ${workers ?? 'default'}, load ${load()}`,
    table(
      ['figure', 'value'],
      [
        ['kill phase wall time', `${(wallMs / 1000).toFixed(1)} s`],
        ['  of which servers listening', `${(upMs / 1000).toFixed(1)} s`],
        [
          '  restarts (spawn → listening), median / max',
          `${median(restarts).toFixed(0)} / ${Math.max(...restarts).toFixed(0)} ms`,
        ],
        ['tasks durable at the last kill', String(during)],
        ['crash-free rate (baseline)', `${baseTps.toFixed(0)} tasks/s`],
        ['crash-free, same wall time', `${crashFreeWall.toFixed(0)} → ${pct(during, crashFreeWall)}`],
        [
          'crash-free, same running time (start-up + listening)',
          `${crashFreeRun.toFixed(0)} → ${pct(during, crashFreeRun)}`,
        ],
        ['crash-free, same listening time', `${crashFreeUp.toFixed(0)} → ${pct(during, crashFreeUp)}`],
        ['job status', view.Job.Status],
        ['report rows / missing / doubled', `${reported.length} / ${missing} / ${doubled}`],
        ['copies in the destination', String(copies)],
      ],
    ),
  ];
}

async function resumePhase(env: Env, workers: string | undefined): Promise<string[]> {
  // A real 1,000-row job, prepared and left Suspended.
  const rows = env.keys.slice(0, 1000).map((key) => ({ bucket: env.src, key }));
  const etag = (await putManifest(env.s3, env.src, 'resume.csv', rows)).etag;
  const stateDir = tempDataDir('s3batch-bench-resume-');
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const { server } = await serve(stateDir, workers);
  const api = new JsonApi(server.url);
  const request = jobRequest({
    manifestBucket: env.src,
    manifestKey: 'resume.csv',
    etag,
    operation: { S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${env.dst}`, TargetKeyPrefix: 'resumed' } },
    reportBucket: env.reports,
    reportPrefix: 'resumed',
    confirmationRequired: true,
  });
  const { JobId: id } = await api.createJob(request);
  await waitStatus(api, id, ['Suspended']);
  await server.stop();

  // As if 10 M rows were prepared and 9,999 chunks ran: the index's last record is the real chunk.
  const indexPath = path.join(stateDir, 'chunks', `${id}.idx`);
  const real: Chunk[] = [];
  for await (const c of createFsChunkIndex(indexPath).read()) real.push(c);
  if (real.length !== 1) throw new Error(`expected one chunk, got ${real.length}`);
  const last = RESUME_CHUNKS - 1;
  const chunks = function* (): Generator<Chunk> {
    for (let i = 0; i < RESUME_CHUNKS; i++) yield { ...real[0]!, index: i };
  };
  async function* asyncChunks(): AsyncGenerator<Chunk> {
    yield* chunks();
  }
  await createFsChunkIndex(indexPath).write(asyncChunks());
  const v2Dir = `${stateDir}-v2`;
  const v1Dir = `${stateDir}-v1`;
  const store = await LowdbJobStore.open(path.join(stateDir, 'jobs.json'));
  const job = store.get(id)!;
  const total = RESUME_CHUNKS * 1000;
  const record: JobRecord = {
    ...job,
    status: 'Active',
    prepared: { ...job.prepared!, totalTasks: total, chunkCount: RESUME_CHUNKS },
    chunks: { watermark: last, done: [] },
    progress: { total, succeeded: last * 1000, failed: 0 },
  };
  store.save(record);
  await store.flush();
  await store.close();
  spawnSync('cp', ['-a', stateDir, v2Dir]);
  spawnSync('cp', ['-a', stateDir, v1Dir]);
  await writeFile(path.join(v1Dir, 'chunks', `${id}.idx`), [...chunks()].map(formatChunkLine).join(''));
  cleanups.push(() => rmSync(v1Dir, { recursive: true, force: true }));
  cleanups.push(() => rmSync(v2Dir, { recursive: true, force: true }));

  const results: Record<'v2' | 'v1', { listen: number; first: number }[]> = { v2: [], v1: [] };
  for (let round = 0; round < RESUME_ROUNDS; round++) {
    for (const kind of round % 2 === 0 ? (['v2', 'v1'] as const) : (['v1', 'v2'] as const)) {
      const dir = `${stateDir}-round`;
      rmSync(dir, { recursive: true, force: true });
      spawnSync('cp', ['-a', kind === 'v2' ? v2Dir : v1Dir, dir]);
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      // First request of a task: its CopyObject (a PUT with x-amz-copy-source; the manifest read is a
      // GET). A proxy of its own per round: a killed server's requests leave nothing behind in it.
      const proxy = await startFaultProxy(CEPH.endpoint, () => undefined, {
        watch: (req) => req.method === 'PUT' && req.headers['x-amz-copy-source'] !== undefined,
      });
      const spawnedAt = Date.now();
      const t = performance.now();
      const { server: s } = await serve(dir, workers, { ...CEPH, endpoint: proxy.endpoint });
      const listen = performance.now() - t;
      // The first CopyObject that arrived after this spawn (a killed server's last ones may trail in).
      const firstAfter = (): number | undefined => proxy.watched.arrivals.find((a) => a >= spawnedAt);
      const deadline = Date.now() + 60_000;
      while (firstAfter() === undefined) {
        if (Date.now() > deadline) {
          const view = await new JsonApi(s.url).describe(id).catch((e: unknown) => String(e));
          throw new Error(`no task request within 60 s; job: ${JSON.stringify(view)}\nserver:\n${s.output()}`);
        }
        await sleep(2);
      }
      const first = firstAfter()! - spawnedAt;
      results[kind].push({ listen, first });
      log(`resume ${kind}: listening ${listen.toFixed(0)} ms, first task ${first} ms after spawn; load ${load()}`);
      await kill(s);
      await proxy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(', ');
  return [
    '',
    `resume: job of ${total.toLocaleString('en')} rows (${RESUME_CHUNKS} chunks), ${last} done; restart → first task` +
      ` (spawn → first CopyObject of a task), ${RESUME_ROUNDS} rounds, workers ${workers ?? 'default'}, load ${load()}`,
    table(
      ['chunk index', 'spawn → listening, ms', 'spawn → first task, ms', 'listening → first task, ms'],
      (['v2', 'v1'] as const).map((k) => [
        k === 'v2' ? 'fixed-width records (seek)' : 'text lines (read from start)',
        fmt(results[k].map((r) => r.listen)),
        fmt(results[k].map((r) => r.first)),
        fmt(results[k].map((r) => r.first - r.listen)),
      ]),
    ),
  ];
}

/** In this process: time to the last chunk of an index of n chunks, read from chunk n-1, in both formats. */
async function indexSeek(): Promise<string[]> {
  const dir = tempDataDir('s3batch-bench-index-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const rows: string[][] = [];
  for (const n of INDEX_CHUNKS) {
    const chunk = (i: number): Chunk => ({
      index: i,
      start: i * 40_000,
      end: (i + 1) * 40_000,
      firstLine: i * 1000 + 1,
      count: 1000,
    });
    const v2 = path.join(dir, `v2-${n}.idx`);
    const v1 = path.join(dir, `v1-${n}.idx`);
    await createFsChunkIndex(v2).write(
      (async function* () {
        for (let i = 0; i < n; i++) yield chunk(i);
      })(),
    );
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(formatChunkLine(chunk(i)));
    await writeFile(v1, lines.join(''));
    const time = async (file: string): Promise<number[]> => {
      const out: number[] = [];
      for (let r = 0; r < 5; r++) {
        const t = performance.now();
        for await (const c of createFsChunkIndex(file).read(n - 1))
          if (c.index !== n - 1) throw new Error('wrong chunk');
        out.push(performance.now() - t);
      }
      return out.sort((a, b) => a - b);
    };
    const [a, b] = [await time(v2), await time(v1)];
    rows.push([
      n.toLocaleString('en'),
      `${a[2]!.toFixed(2)} (${a[0]!.toFixed(2)})`,
      `${b[2]!.toFixed(0)} (${b[0]!.toFixed(0)})`,
    ]);
  }
  return [
    '',
    `chunk index: read chunk n-1 of n, in this process, median (fastest) of 5, ms; load ${load()}`,
    table(['chunks', 'fixed-width records (seek)', 'text lines (from start)'], rows),
  ];
}

async function main(): Promise<void> {
  log(`machine: ${os.availableParallelism()} CPUs, Node ${process.version}; load ${load()}`);
  const s3 = makeS3Client(CEPH);
  const src = await createTestBucket(s3, 'bench-kr-src');
  const dst = await createTestBucket(s3, 'bench-kr-dst');
  const reports = await createTestBucket(s3, 'bench-kr-rep');
  cleanups.push(() => removeBuckets(s3, [src, dst, reports]));
  const keys = Array.from({ length: TASKS }, (_, i) => `objects/obj-${String(i).padStart(7, '0')}`);
  const t = performance.now();
  await putObjects(s3, src, keys, Buffer.alloc(1024, 'x'), 64);
  const { etag } = await putManifest(
    s3,
    src,
    'manifest.csv',
    keys.map((key) => ({ bucket: src, key })),
  );
  log(`uploaded ${TASKS} objects in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const env: Env = { s3, src, dst, reports, keys, etag };
  const out: string[] = [`s3batch kill-resume bench — ${new Date().toISOString()}`];
  if (!SKIP.has('index')) out.push(...(await indexSeek()));
  if (!SKIP.has('resume') && RESUME_CHUNKS > 0) for (const w of WORKERS) out.push(...(await resumePhase(env, w)));
  if (!SKIP.has('kill')) for (const w of WORKERS) out.push(...(await killPhase(env, w)));
  console.log(out.join('\n'));
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  console.error(`bench failed: ${(err as Error).stack ?? String(err)}`);
} finally {
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch (err) {
      console.error(`clean-up: ${(err as Error).message}`);
    }
  }
}
process.exit(failed ? 1 : 0);
