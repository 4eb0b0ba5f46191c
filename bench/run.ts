// s3batch benchmark: engine throughput against a bare AWS SDK loop, in the same run, on the same S3 server.
//
//   npm run bench -- [--server ceph|s3rver] [--ceph URL,KEY,SECRET] [--objects 5000] [--concurrency 64]
//                    [--rounds 2] [--large-rows N] [--warmup 500] [--poll-ms 100] [--cpu-prof DIR]
//                    [--workers N]
//                    [--ops tagging,copy,large,delete,checksum,lambda,generator,observers,report-download,
//                           load,describe-latency,rclone,prepare,store-history]
//                    [--delete-objects N] [--report-rows 50000,100000] [--prepare-rows 1000000] …
//
// What it does (bench/README.md explains how to read the output):
//   1. starts the S3 server (Ceph RGW by default, or s3rver), creates the buckets, uploads N small objects;
//   2. starts the real `s3batch serve` as a subprocess (job and global concurrency = --concurrency),
//      and forks bench/bare-worker.ts, the baseline: an AWS SDK loop with --concurrency workers;
//   3. warms both up, then runs S3PutObjectTagging and S3PutObjectCopy (HeadObject + CopyObject)
//      over the N objects, bare and engine alternately (ABBA over the rounds), plus a CopyObject-only loop;
//   4. runs one large tagging job (the N keys repeated to --large-rows rows) and samples the server's
//      RSS at ~10 % and ~100 % of it;
//   5. the other operation kinds and manifests, each against its own bare baseline in the same run:
//      S3DeleteObject (vs single DeleteObject calls and vs 1,000-key DeleteObjects batches; objects
//      re-created before each side), S3ComputeObjectChecksum CRC32/SHA256 (vs GetObject + node hash),
//      LambdaInvoke to an HTTP function served by this process (vs POSTing the same JSON), and a
//      ManifestGenerator tagging job (vs the same job from a CSV manifest; its listing alone vs a
//      ListObjectsV2 loop);
//   6. observers (bench/observers.ts): the tagging job with nobody watching vs with SSE clients, /metrics
//      scrapes and `s3batch watch --json`; report-download (bench/report-download.ts): a large completion
//      report through the server and `s3batch report` vs GetObject to disk, with the server's peak RSS;
//   7. load (bench/load.ts): JSON-API request latency per kind while a job runs vs idle;
//      describe-latency (bench/describe-latency.ts): S3 Control DescribeJob at a steady rate while a
//      job runs vs idle; rclone (bench/rclone.ts): a bucket-to-bucket copy, s3batch vs rclone copy;
//      prepare (bench/prepare.ts): preparing a large CSV manifest vs GetObject + counting its lines and vs
//      csv-parse with info, with the server's peak RSS; store-history (bench/store-history.ts): a server
//      on a store with 20,000 ended jobs vs one on an empty store (DescribeJob, a small job, RSS, start);
//   8. prints throughput ratios, CPU per task and memory, and stops everything (also on error / Ctrl-C).
//
// This file parses the options, starts the servers and dispatches: each scenario is a module of its
// own (tagging-copy.ts, large-job.ts, delete.ts, checksum.ts, lambda-invoke.ts, generator.ts,
// observers.ts, report-download.ts, load.ts, describe-latency.ts, rclone.ts, prepare.ts, store-history.ts) working on the
// BenchContext (context.ts) built here; the measurements are in measure.ts, the S3 server set-up in s3-server.ts.
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { S3Client } from '@aws-sdk/client-s3';
import { jobRequest, putManifest } from '../test/helpers/jobs.ts';
import { JsonApi } from '../test/helpers/json-api.ts';
import { createTestBucket, makeS3Client, putObjects } from '../test/helpers/s3-servers.ts';
import { tempDataDir } from '../test/helpers/server-process.ts';
import { checksumScenario } from './checksum.ts';
import { comparisonTables } from './comparisons.ts';
import type { BenchContext, Comparison } from './context.ts';
import { deleteScenario } from './delete.ts';
import { describeLatencyScenario } from './describe-latency.ts';
import { startEngineServer } from './engine-server.ts';
import { secs } from './format.ts';
import { generatorScenario } from './generator.ts';
import { lambdaScenario } from './lambda-invoke.ts';
import { largeJobScenario } from './large-job.ts';
import { loadScenario } from './load.ts';
import { BareWorker, measureBare, measureEngine, measureListing, type MeasureEnv } from './measure.ts';
import { observersScenario } from './observers.ts';
import { rcloneScenario } from './rclone.ts';
import { clkTck, memory, mib } from './proc.ts';
import { prepareScenario } from './prepare.ts';
import { reportDownloadScenario } from './report-download.ts';
import { removeBuckets, startBenchS3 } from './s3-server.ts';
import { storeHistoryScenario } from './store-history.ts';
import { taggingCopyScenario, warmUp } from './tagging-copy.ts';

// ---------------------------------------------------------------------------------------------
// Options

const USAGE = `usage: npm run bench -- [options]
  --server ceph|s3rver   S3 server to benchmark on (default ceph: a throw-away Ceph RGW)
  --ceph URL,KEY,SECRET  use this running Ceph RGW instead of starting one (its buckets are removed at the end)
  --objects N            small objects per job (default 5000)
  --concurrency N        engine job concurrency = global task budget = bare workers (default 64)
  --rounds N             bare/engine pairs per operation, alternating order (default 2)
  --large-rows N         rows of the large tagging job (default 10 × objects; 0 skips it)
  --warmup N             tasks of the warm-up job and loop (default 500; at least 1,000 per task thread)
  --poll-ms N            job status poll interval (default 100)
  --ops LIST             what to run, comma-separated (default all):
                         tagging,copy,large,delete,checksum,lambda,generator,observers,report-download,
                         load,describe-latency,rclone,prepare,store-history
                         observers: the tagging job (--objects) with nobody watching vs 20 job SSE + 5 account
                           SSE clients, GET /metrics every 250 ms and s3batch watch --json, vs the bare loop
                         report-download: a large completion report via GET /api/v1/jobs/:id/report/files/:name
                           and s3batch report vs GetObject to disk; MiB/s and the server's peak RSS per size
  --delete-objects N     objects deleted per delete run (default 2000; re-created before each run)
  --checksum-objects N   objects read per checksum run (default 500); a list pairs with --checksum-kib's
  --checksum-kib N       size of each checksum object in KiB (default 1024); a list (64,8192) runs each size
  --lambda-tasks N       tasks per LambdaInvoke run (default 3000)
  --generator-objects N  objects under the generator's prefix (default 3000)
  --report-rows LIST     report-download: report sizes in rows, comma-separated (default 50000,100000)
  --report-row-bytes N   report-download: resultString bytes in every report row (default 1000: ~1 KiB rows)
  --load-requests N      load: JSON-API requests per phase (default 1000: 40 % DescribeJob, 40 % ListJobs,
                           20 % CreateJob), idle vs while a tagging job runs
  --load-burst N         load: requests sent at once (default 200)
  --load-tasks N         load: tasks of the background tagging job (default 5000)
  --load-small-tasks N   load: tasks of each job CreateJob makes (default 10)
  --describe-rate N      describe-latency: S3 Control DescribeJob per second (default 20)
  --describe-seconds N   describe-latency: sampling window (default 20)
  --describe-tasks N     describe-latency: tasks of the tagging job (default 30000; it must outlast the window)
  --prepare-rows LIST    prepare: CSV manifest sizes in rows, comma-separated (default 1000000); the engine prepares
                           each (job stops in Suspended) vs a GetObject + line-count floor and csv-parse with info
  --history-jobs N       store-history: ended jobs in the history store (default 20000), vs an empty store
  --history-rate N       store-history: idle S3 Control DescribeJob per second (default 200)
  --history-seconds N    store-history: DescribeJob window per round and side (default 10)
  --cpu-prof DIR         run the server with --cpu-prof, profiles written to DIR at exit
  --workers N            the server's --workers: task threads, 0 = tasks in its main thread (default: its own,
                           one per core)`;

const ALL_OPS = [
  'tagging',
  'copy',
  'large',
  'delete',
  'checksum',
  'lambda',
  'generator',
  'observers',
  'report-download',
  'load',
  'describe-latency',
  'rclone',
  'prepare',
  'store-history',
];
const { values: opt } = parseArgs({
  options: {
    server: { type: 'string', default: 'ceph' },
    objects: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '2' },
    'large-rows': { type: 'string' },
    warmup: { type: 'string', default: '500' },
    'poll-ms': { type: 'string', default: '100' },
    'cpu-prof': { type: 'string' },
    workers: { type: 'string' },
    ops: { type: 'string', default: ALL_OPS.join(',') },
    ceph: { type: 'string' },
    'delete-objects': { type: 'string', default: '2000' },
    'checksum-objects': { type: 'string', default: '500' },
    'checksum-kib': { type: 'string', default: '1024' },
    'lambda-tasks': { type: 'string', default: '3000' },
    'generator-objects': { type: 'string', default: '3000' },
    'report-rows': { type: 'string', default: '50000,100000' },
    'report-row-bytes': { type: 'string', default: '1000' },
    'load-requests': { type: 'string', default: '1000' },
    'load-burst': { type: 'string', default: '200' },
    'load-tasks': { type: 'string', default: '5000' },
    'load-small-tasks': { type: 'string', default: '10' },
    'describe-rate': { type: 'string', default: '20' },
    'describe-seconds': { type: 'string', default: '20' },
    'describe-tasks': { type: 'string', default: '30000' },
    'prepare-rows': { type: 'string', default: '1000000' },
    'history-jobs': { type: 'string', default: '20000' },
    'history-rate': { type: 'string', default: '200' },
    'history-seconds': { type: 'string', default: '10' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (opt.help) {
  console.log(USAGE);
  process.exit(0);
}
function int(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer ≥ ${min}, got ${value}\n${USAGE}`);
    process.exit(2);
  }
  return n;
}
if (opt.server !== 'ceph' && opt.server !== 's3rver') {
  console.error(`--server must be ceph or s3rver\n${USAGE}`);
  process.exit(2);
}
const SERVER = opt.server;
const OBJECTS = int('objects', opt.objects, 1);
const CONCURRENCY = int('concurrency', opt.concurrency, 1);
const ROUNDS = int('rounds', opt.rounds, 1);
const LARGE_ROWS = int('large-rows', opt['large-rows'] ?? String(OBJECTS * 10), 0);
const POLL_MS = int('poll-ms', opt['poll-ms'], 5);
const CPU_PROF = opt['cpu-prof'] ? path.resolve(opt['cpu-prof']) : undefined;
const WORKERS = opt.workers === undefined ? undefined : int('workers', opt.workers, 0);
/**
 * A thread runs whole chunks (the server's default chunk size, 1,000 rows): a warm-up job of one
 * chunk warms one task thread and leaves the JIT warm-up of the others in the measured jobs. So
 * the warm-up is at least one chunk per thread (--warmup 0 still skips it).
 */
const SERVER_CHUNK_ROWS = 1000;
const WARMUP_ASKED = int('warmup', opt.warmup, 0);
const WARMUP = Math.min(
  WARMUP_ASKED === 0 ? 0 : Math.max(WARMUP_ASKED, (WORKERS ?? os.availableParallelism()) * SERVER_CHUNK_ROWS),
  OBJECTS,
);
const OPS = new Set(
  opt.ops
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean),
);
for (const o of OPS) {
  if (!ALL_OPS.includes(o)) {
    console.error(`--ops: unknown ${o}\n${USAGE}`);
    process.exit(2);
  }
}
const DELETE_OBJECTS = int('delete-objects', opt['delete-objects'], 1);
const CHECKSUM_OBJECTS = opt['checksum-objects'].split(',').map((n) => int('checksum-objects', n.trim(), 1));
const CHECKSUM_KIB = opt['checksum-kib'].split(',').map((n) => int('checksum-kib', n.trim(), 1));
if (CHECKSUM_OBJECTS.length !== CHECKSUM_KIB.length && CHECKSUM_OBJECTS.length !== 1) {
  console.error(`--checksum-objects: one count, or one per --checksum-kib size\n${USAGE}`);
  process.exit(2);
}
const LAMBDA_TASKS = int('lambda-tasks', opt['lambda-tasks'], 1);
const GENERATOR_OBJECTS = int('generator-objects', opt['generator-objects'], 1);
const REPORT_ROWS = opt['report-rows'].split(',').map((n) => int('report-rows', n.trim(), 1));
const REPORT_ROW_BYTES = int('report-row-bytes', opt['report-row-bytes'], 0);
const LOAD = {
  requests: int('load-requests', opt['load-requests'], 1),
  burst: int('load-burst', opt['load-burst'], 1),
  backgroundTasks: int('load-tasks', opt['load-tasks'], 1),
  smallTasks: int('load-small-tasks', opt['load-small-tasks'], 1),
};
const DESCRIBE = {
  rate: int('describe-rate', opt['describe-rate'], 1),
  seconds: int('describe-seconds', opt['describe-seconds'], 1),
  tasks: int('describe-tasks', opt['describe-tasks'], 1),
};
const HISTORY = {
  jobs: int('history-jobs', opt['history-jobs'], 1),
  rate: int('history-rate', opt['history-rate'], 1),
  seconds: int('history-seconds', opt['history-seconds'], 1),
};
const PREPARE_ROWS = opt['prepare-rows'].split(',').map((n) => int('prepare-rows', n.trim(), 1));
const EXTERNAL_CEPH = ((): { endpoint: string; accessKeyId: string; secretAccessKey: string } | undefined => {
  if (opt.ceph === undefined) return undefined;
  const [endpoint, accessKeyId, secretAccessKey] = opt.ceph.split(',');
  if (!endpoint || !accessKeyId || !secretAccessKey || SERVER !== 'ceph') {
    console.error(`--ceph must be <endpoint>,<accessKey>,<secretKey> (with --server ceph)\n${USAGE}`);
    process.exit(2);
  }
  return { endpoint, accessKeyId, secretAccessKey };
})();
const BODY = Buffer.alloc(1024, 'x'); // "small objects": 1 KiB each
// The SDK's "Node 20 support ends in 2027" warning, in this process, the bare worker and the server.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// ---------------------------------------------------------------------------------------------
// Clean-up: everything started registers its stop; run once, in reverse, on exit, error or signal.

const cleanups: Array<() => Promise<void> | void> = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error(`clean-up: ${(err as Error).message}`);
      }
    }
  })();
  return cleaning;
}
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    interrupted = true;
    console.error(`\n${sig}: stopping the servers…`);
    void cleanup().finally(() => process.exit(130));
  });
}

const t0Bench = performance.now();
const log = (msg: string): void => {
  console.error(`[${((performance.now() - t0Bench) / 1000).toFixed(1).padStart(5)}s] ${msg}`);
};

/** Processes run with --cpu-prof, by role. */
const profiledPids: Record<string, number> = {};

// ---------------------------------------------------------------------------------------------
// The run

async function main(): Promise<void> {
  const cpuModel = os.cpus()[0]?.model ?? 'unknown CPU';
  const machine = `${os.availableParallelism()} CPUs (${cpuModel}), ${mib(os.totalmem() / 1024)} RAM, Node ${process.version}, ${os.type()} ${os.release()}, CLK_TCK ${clkTck()}`;
  log(`machine: ${machine}`);

  // 1. S3 server
  const onCleanup = (fn: () => Promise<void> | void): void => {
    cleanups.push(fn);
  };
  const bench = await startBenchS3({
    kind: SERVER,
    ...(EXTERNAL_CEPH ? { external: EXTERNAL_CEPH } : {}),
    onCleanup,
    log,
  });
  const s3server = bench.server;
  const s3Pids = bench.pids;
  log(
    `S3: ${bench.description}, started in ${s3server.startupMs} ms; S3 server pids ${s3Pids.join(', ') || '(not found: no S3 CPU figures)'}`,
  );

  // 2. Buckets, objects, manifests
  const s3: S3Client = makeS3Client(s3server);
  cleanups.push(() => s3.destroy());
  const src = await createTestBucket(s3, 'bench-src');
  const dst = await createTestBucket(s3, 'bench-dst');
  const reports = await createTestBucket(s3, 'bench-reports');
  // A shared cluster keeps what we write (memstore: in its OSD's memory): remove it at the end.
  if (EXTERNAL_CEPH) cleanups.push(() => removeBuckets(s3, [src, dst, reports]));
  const keys = Array.from({ length: OBJECTS }, (_, i) => `objects/obj-${String(i).padStart(7, '0')}`);
  const t = performance.now();
  await putObjects(s3, src, keys, BODY, CONCURRENCY);
  log(`uploaded ${OBJECTS} objects of ${BODY.length} B in ${secs(performance.now() - t)}`);
  const etags: Record<string, string> = {};
  const manifest = async (name: string, n: number, of: readonly string[] = keys): Promise<void> => {
    const rows = Array.from({ length: n }, (_, i) => ({ bucket: src, key: of[i % of.length]! }));
    etags[name] = (await putManifest(s3, src, `manifests/${name}.csv`, rows)).etag;
  };
  if (WARMUP > 0) await manifest('warmup', WARMUP);
  await manifest('all', OBJECTS);
  const request = (
    manifestName: string,
    operation: Record<string, unknown>,
    reportPrefix: string,
  ): Record<string, unknown> =>
    jobRequest({
      manifestBucket: src,
      manifestKey: `manifests/${manifestName}.csv`,
      etag: etags[manifestName] ?? '',
      operation,
      reportBucket: reports,
      reportPrefix,
      confirmationRequired: false,
    });

  // 3. The engine server and the bare worker
  const dataDir = tempDataDir('s3batch-bench-');
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  if (CPU_PROF) mkdirSync(CPU_PROF, { recursive: true });
  const server = await startEngineServer({
    s3: s3server,
    dataDir,
    serveArgs: [
      '--job-concurrency',
      String(CONCURRENCY),
      '--max-concurrent-tasks',
      String(CONCURRENCY),
      // load creates 200 jobs a phase in bursts: measured is the latency, not the CreateJob rate limit
      // (10/s, burst 50, per account by default)
      ...(OPS.has('load') ? ['--create-job-rate', '100000'] : []),
      ...(WORKERS === undefined ? [] : ['--workers', String(WORKERS)]),
    ],
    ...(CPU_PROF ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] } : {}),
  });
  cleanups.push(() => server.stop());
  profiledPids.server = server.pid;
  const api = new JsonApi(server.url);
  log(
    `s3batch serve pid ${server.child.pid} at ${server.url} (job concurrency ${CONCURRENCY}, max concurrent tasks ${CONCURRENCY}, workers ${WORKERS ?? 'default'}), idle RSS ${mib(memory(server.pid).rssKiB)}`,
  );

  const bare = await BareWorker.start(
    {
      type: 'init',
      endpoint: s3server.endpoint,
      region: s3server.region,
      accessKeyId: s3server.accessKeyId,
      secretAccessKey: s3server.secretAccessKey,
      maxSockets: Math.max(64, CONCURRENCY), // as src/main.ts gives the engine's task client
      bucket: src,
      keys,
    },
    CPU_PROF,
  );
  cleanups.push(() => bare.stop());
  profiledPids['bare worker'] = bare.pid;
  log(`bare worker pid ${bare.pid} (${CONCURRENCY} workers, createS3Client from src/storage/s3-clients.ts)`);

  // 4. The scenarios, in this order, each against its baseline measured in the same run.
  const env: MeasureEnv = { concurrency: CONCURRENCY, pollMs: POLL_MS, s3Pids, log };
  const ctx: BenchContext = {
    api,
    server,
    s3,
    buckets: { src, dst, reports },
    objects: OBJECTS,
    rounds: ROUNDS,
    concurrency: CONCURRENCY,
    warmup: WARMUP,
    body: BODY,
    s3Cpu: s3Pids.length > 0,
    bare,
    log,
    onCleanup,
    manifest,
    request,
    measureBare: (label, run) => measureBare(env, bare, label, run),
    measureEngine: (label, req, tasks, onCreated, onPoll) =>
      measureEngine(env, api, server, label, req, tasks, onPoll, onCreated),
    measureListing: (label, req, objects) => measureListing(env, api, server, label, req, objects),
    alternate: async (round, steps) => {
      for (const step of round % 2 === 1 ? steps : [...steps].reverse()) await step();
    },
  };
  await warmUp(ctx, OPS.has('copy'));
  const throughput = await taggingCopyScenario(ctx, { tagging: OPS.has('tagging'), copy: OPS.has('copy') });
  const large = LARGE_ROWS > 0 && OPS.has('large') ? await largeJobScenario(ctx, LARGE_ROWS) : [];
  const comparisons: Comparison[] = [];
  if (OPS.has('delete')) comparisons.push(...(await deleteScenario(ctx, DELETE_OBJECTS)));
  if (OPS.has('checksum')) {
    for (const [i, kib] of CHECKSUM_KIB.entries()) {
      const objects = CHECKSUM_OBJECTS[CHECKSUM_OBJECTS.length === 1 ? 0 : i] ?? 1;
      comparisons.push(...(await checksumScenario(ctx, { objects, kib })));
    }
  }
  if (OPS.has('lambda')) comparisons.push(...(await lambdaScenario(ctx, LAMBDA_TASKS)));
  if (OPS.has('generator')) comparisons.push(...(await generatorScenario(ctx, GENERATOR_OBJECTS)));
  const scenarioOut: string[] = [];
  if (OPS.has('observers')) scenarioOut.push(...(await observersScenario(ctx)));
  if (OPS.has('report-download'))
    scenarioOut.push(
      ...(await reportDownloadScenario(ctx, { rows: REPORT_ROWS, resultStringBytes: REPORT_ROW_BYTES })),
    );
  if (OPS.has('load')) scenarioOut.push(...(await loadScenario(ctx, LOAD)));
  if (OPS.has('describe-latency')) scenarioOut.push(...(await describeLatencyScenario(ctx, DESCRIBE)));
  if (OPS.has('rclone'))
    scenarioOut.push(
      ...(await rcloneScenario(ctx, {
        kind: SERVER,
        endpoint: s3server.endpoint,
        region: s3server.region,
        accessKeyId: s3server.accessKeyId,
        secretAccessKey: s3server.secretAccessKey,
      })),
    );
  if (OPS.has('prepare')) scenarioOut.push(...(await prepareScenario(ctx, PREPARE_ROWS)));
  if (OPS.has('store-history')) scenarioOut.push(...(await storeHistoryScenario(ctx, { s3: s3server, ...HISTORY })));

  // 5. Report
  const benchSecs = (performance.now() - t0Bench) / 1000;
  const out: string[] = [];
  out.push('');
  out.push(`s3batch benchmark — ${new Date().toISOString()}`);
  out.push(`machine:     ${machine}`);
  out.push(`S3 server:   ${bench.description}`);
  out.push(
    `workload:    ${OBJECTS} objects of ${BODY.length} B, concurrency ${CONCURRENCY} (engine: --job-concurrency ${CONCURRENCY} --max-concurrent-tasks ${CONCURRENCY}; bare: ${CONCURRENCY} workers), ${ROUNDS} round(s) per operation, bare/engine alternating`,
  );
  out.push(...throughput, ...large, ...comparisonTables(comparisons), ...scenarioOut);
  out.push('');
  out.push(`bench wall time ${benchSecs.toFixed(0)} s`);
  console.log(out.join('\n'));
}

try {
  await main();
} catch (err) {
  // after Ctrl-C, requests to the stopped servers fail: not worth a stack trace
  if (!interrupted) console.error(`\nbench failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
if (CPU_PROF) {
  // One profile per thread (tsx runs its loader hooks on a thread of their own): the main thread's is the big one.
  const files = readdirSync(CPU_PROF).filter((f) => f.endsWith('.cpuprofile'));
  for (const [who, pid] of Object.entries(profiledPids)) {
    const mine = files.filter((f) => f.split('.')[3] === String(pid)).map((f) => path.join(CPU_PROF, f));
    mine.sort((a, b) => statSync(b).size - statSync(a).size);
    log(`CPU profiles of the ${who} (pid ${pid}): ${mine.join(' ') || 'none'}`);
  }
  log('summarise with: node --import tsx bench/profile-summary.ts FILE.cpuprofile');
}
