// s3batch benchmark: engine throughput against a bare AWS SDK loop, in the same run, on the same S3 server.
//
//   npm run bench -- [--server ceph|s3rver] [--ceph URL,KEY,SECRET] [--objects 5000] [--concurrency 64]
//                    [--rounds 2] [--large-rows N] [--warmup 500] [--poll-ms 100] [--cpu-prof DIR]
//                    [--ops tagging,copy,large,delete,checksum,lambda,generator,observers,report-download]
//                    [--delete-objects N] [--report-rows 50000,100000] …
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
//   7. prints throughput ratios, CPU per task and memory, and stops everything (also on error / Ctrl-C).
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { jobRequest, putManifest } from '../test/helpers/jobs.ts';
import { JsonApi, type JobView } from '../test/helpers/json-api.ts';
import {
  REPO_ROOT,
  createTestBucket,
  makeS3Client,
  putObjects,
  startCeph,
  startS3rver,
  type S3Server,
} from '../test/helpers/s3-servers.ts';
import { tempDataDir } from '../test/helpers/server-process.ts';
import { startEngineServer, type EngineServer } from './engine-server.ts';
import type { BareDone, BareInit, BareRun } from './bare-worker.ts';
import type { BenchContext, EngineMeasured, Measured } from './context.ts';
import { startFunctionServer } from './function-server.ts';
import { observersScenario } from './observers.ts';
import { clkTck, cpuMs, cpuMsOf, listensOn, memory, mib, pidsWithCmdline, RssWatch } from './proc.ts';
import { reportDownloadScenario } from './report-download.ts';
import { table } from './table.ts';

// ---------------------------------------------------------------------------------------------
// Options

const USAGE = `usage: npm run bench -- [options]
  --server ceph|s3rver   S3 server to benchmark on (default ceph: a throw-away Ceph RGW)
  --ceph URL,KEY,SECRET  use this running Ceph RGW instead of starting one (its buckets are removed at the end)
  --objects N            small objects per job (default 5000)
  --concurrency N        engine job concurrency = global task budget = bare workers (default 64)
  --rounds N             bare/engine pairs per operation, alternating order (default 2)
  --large-rows N         rows of the large tagging job (default 10 × objects; 0 skips it)
  --warmup N             tasks of the warm-up job and loop (default 500)
  --poll-ms N            job status poll interval (default 100)
  --ops LIST             what to run, comma-separated (default all):
                         tagging,copy,large,delete,checksum,lambda,generator,observers,report-download
                         observers: the tagging job (--objects) with nobody watching vs 20 job SSE + 5 account
                           SSE clients, GET /metrics every 250 ms and s3batch watch --json, vs the bare loop
                         report-download: a large completion report via GET /api/v1/jobs/:id/report/files/:name
                           and s3batch report vs GetObject to disk; MiB/s and the server's peak RSS per size
  --delete-objects N     objects deleted per delete run (default 2000; re-created before each run)
  --checksum-objects N   objects read per checksum run (default 500)
  --checksum-kib N       size of each checksum object in KiB (default 1024)
  --lambda-tasks N       tasks per LambdaInvoke run (default 3000)
  --generator-objects N  objects under the generator's prefix (default 3000)
  --report-rows LIST     report-download: report sizes in rows, comma-separated (default 50000,100000)
  --report-row-bytes N   report-download: resultString bytes in every report row (default 1000: ~1 KiB rows)
  --cpu-prof DIR         run the server with --cpu-prof, profiles written to DIR at exit`;

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
    ops: { type: 'string', default: ALL_OPS.join(',') },
    ceph: { type: 'string' },
    'delete-objects': { type: 'string', default: '2000' },
    'checksum-objects': { type: 'string', default: '500' },
    'checksum-kib': { type: 'string', default: '1024' },
    'lambda-tasks': { type: 'string', default: '3000' },
    'generator-objects': { type: 'string', default: '3000' },
    'report-rows': { type: 'string', default: '50000,100000' },
    'report-row-bytes': { type: 'string', default: '1000' },
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
const WARMUP = Math.min(int('warmup', opt.warmup, 0), OBJECTS);
const POLL_MS = int('poll-ms', opt['poll-ms'], 5);
const CPU_PROF = opt['cpu-prof'] ? path.resolve(opt['cpu-prof']) : undefined;
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
const CHECKSUM_OBJECTS = int('checksum-objects', opt['checksum-objects'], 1);
const CHECKSUM_KIB = int('checksum-kib', opt['checksum-kib'], 1);
const LAMBDA_TASKS = int('lambda-tasks', opt['lambda-tasks'], 1);
const GENERATOR_OBJECTS = int('generator-objects', opt['generator-objects'], 1);
const REPORT_ROWS = opt['report-rows'].split(',').map((n) => int('report-rows', n.trim(), 1));
const REPORT_ROW_BYTES = int('report-row-bytes', opt['report-row-bytes'], 0);
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

// ---------------------------------------------------------------------------------------------
// The bare baseline process

class BareWorker {
  private pending: { resolve: (d: BareDone) => void; reject: (e: Error) => void } | undefined;
  private constructor(readonly child: ChildProcess) {
    child.on('message', (raw: unknown) => {
      const msg = raw as BareDone | { type: 'ready' } | { type: 'error'; message: string };
      const p = this.pending;
      if (!p) return;
      this.pending = undefined;
      if (msg.type === 'done') p.resolve(msg);
      else if (msg.type === 'error') p.reject(new Error(`bare worker: ${msg.message}`));
      else p.resolve(msg as unknown as BareDone);
    });
    child.on('exit', (code, signal) => {
      this.pending?.reject(new Error(`bare worker exited (${signal ?? code})`));
      this.pending = undefined;
    });
  }

  static async start(init: BareInit): Promise<BareWorker> {
    const child = fork(path.join(REPO_ROOT, 'bench', 'bare-worker.ts'), [], {
      cwd: REPO_ROOT,
      execArgv: ['--import', 'tsx', ...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const w = new BareWorker(child);
    await w.request(init);
    return w;
  }

  get pid(): number {
    return this.child.pid!;
  }

  request(msg: BareInit | BareRun): Promise<BareDone> {
    if (this.pending) throw new Error('bare worker is busy');
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.child.send(msg);
    });
  }

  /** Disconnects (the worker exits through process.exit, writing its --cpu-prof); SIGKILL after 5 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Measurements

let s3Pids: number[] = [];
/** Processes run with --cpu-prof, by role. */
const profiledPids: Record<string, number> = {};

async function measureBare(
  bare: BareWorker,
  label: string,
  run: Omit<BareRun, 'type' | 'concurrency'>,
): Promise<Measured> {
  const cpu0 = cpuMs(bare.pid);
  const s3cpu0 = cpuMsOf(s3Pids);
  const done = await bare.request({ type: 'run', concurrency: CONCURRENCY, ...run });
  const cpu = cpuMs(bare.pid) - cpu0;
  const s3cpu = cpuMsOf(s3Pids) - s3cpu0;
  if (done.failed > 0) log(`  ${label}: ${done.failed} of ${done.tasks} tasks FAILED, first: ${done.firstError}`);
  const m: Measured = {
    label,
    tasks: done.tasks,
    failed: done.failed,
    tps: done.tasks / (done.ms / 1000),
    cpuMsPerTask: cpu / done.tasks,
    s3CpuMsPerTask: s3cpu / done.tasks,
  };
  log(
    `  ${label.padEnd(26)} ${fmtTps(m.tps)} tasks/s  ${(done.ms / 1000).toFixed(2)} s  CPU ${m.cpuMsPerTask.toFixed(3)} ms/task (in-loop ${(done.cpuMs / done.tasks).toFixed(3)})  S3 CPU ${m.s3CpuMsPerTask.toFixed(3)} ms/task`,
  );
  return m;
}

function historyAt(view: JobView, status: string): number {
  const h = view.StatusHistory.find((e) => e.status === status);
  if (!h) throw new Error(`job ${view.Job.JobId}: no ${status} in StatusHistory ${JSON.stringify(view.StatusHistory)}`);
  return Date.parse(h.at);
}

async function measureEngine(
  api: JsonApi,
  server: EngineServer,
  label: string,
  request: Record<string, unknown>,
  tasks: number,
  onPoll?: (view: JobView, rss: RssWatch) => void,
  /** Called once the job exists (the observers scenario attaches its watchers there). */
  onCreated?: (jobId: string) => void,
): Promise<EngineMeasured> {
  const pid = server.pid;
  const rss = new RssWatch(pid);
  const cpu0 = cpuMs(pid);
  const s3cpu0 = cpuMsOf(s3Pids);
  const t0 = performance.now();
  let view: JobView;
  try {
    const { JobId } = await api.createJob(request);
    onCreated?.(JobId);
    for (;;) {
      view = await api.describe(JobId);
      onPoll?.(view, rss);
      if (['Complete', 'Failed', 'Cancelled'].includes(view.Job.Status)) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    rss.stop();
  }
  const clientMs = performance.now() - t0;
  const cpu = cpuMs(pid) - cpu0;
  const s3cpu = cpuMsOf(s3Pids) - s3cpu0;
  const mem = rss.sample();
  const p = view.Job.ProgressSummary;
  if (view.Job.Status !== 'Complete' || p.TotalNumberOfTasks !== tasks) {
    throw new Error(
      `${label}: job ${view.Job.JobId} ended ${view.Job.Status} with ${JSON.stringify(p)}: ${JSON.stringify(view.Job.FailureReasons)}\nserver output:\n${server.output().slice(-4000)}`,
    );
  }
  if (p.NumberOfTasksFailed > 0) log(`  ${label}: ${p.NumberOfTasksFailed} of ${tasks} tasks FAILED`);
  const active = historyAt(view, 'Active');
  const completing = historyAt(view, 'Completing');
  const m: EngineMeasured = {
    label,
    tasks,
    failed: p.NumberOfTasksFailed,
    tps: tasks / ((completing - active) / 1000),
    cpuMsPerTask: cpu / tasks,
    s3CpuMsPerTask: s3cpu / tasks,
    wallMs: historyAt(view, 'Complete') - historyAt(view, 'New'),
    prepareMs: historyAt(view, 'Ready') - historyAt(view, 'Preparing'),
    activeMs: completing - active,
    reportMs: historyAt(view, 'Complete') - completing,
    toCompletingMs: completing - historyAt(view, 'New'),
    clientMs,
    peakRssKiB: mem.peakKiB,
    endRssKiB: mem.rssKiB,
  };
  log(
    `  ${label.padEnd(26)} ${fmtTps(m.tps)} tasks/s  active ${(m.activeMs / 1000).toFixed(2)} s, wall ${(m.wallMs / 1000).toFixed(2)} s (prepare ${m.prepareMs} ms, report ${m.reportMs} ms; seen by polling ${(m.clientMs / 1000).toFixed(2)} s)  CPU ${m.cpuMsPerTask.toFixed(3)} ms/task  S3 CPU ${m.s3CpuMsPerTask.toFixed(3)} ms/task  peak RSS ${mib(m.peakRssKiB)}`,
  );
  return m;
}

/** An engine side of a scenario: rated by `Scenario.rate`, with the server's peak RSS. */
type EngineRun = Measured & { readonly peakRssKiB: number };

/** One operation kind or manifest: the engine against one or more baselines, same run, same server. */
interface Scenario {
  readonly name: string;
  readonly objects: number;
  readonly engine: EngineRun[];
  readonly baselines: ReadonlyArray<{ readonly name: string; readonly runs: Measured[] }>;
  /** What the engine's rate is measured over (default Active → Completing). */
  readonly rate?: string;
}

/**
 * A generator job whose filter matches nothing: its listing goes through every object under the
 * prefix, then the job fails with ManifestGenerationEmpty. Rate = objects listed ÷ (Preparing →
 * Failing), the listing alone (no task, no report).
 */
async function measureListing(
  api: JsonApi,
  server: EngineServer,
  label: string,
  request: Record<string, unknown>,
  objects: number,
): Promise<EngineRun> {
  const rss = new RssWatch(server.pid);
  const cpu0 = cpuMs(server.pid);
  const s3cpu0 = cpuMsOf(s3Pids);
  let view: JobView & { Discovery?: { ObjectsListed: number } | null };
  try {
    const { JobId } = await api.createJob(request);
    for (;;) {
      view = await api.describe(JobId);
      if (['Complete', 'Failed', 'Cancelled'].includes(view.Job.Status)) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    rss.stop();
  }
  const codes = view.Job.FailureReasons.map((f) => f.FailureCode);
  if (view.Job.Status !== 'Failed' || !codes.includes('ManifestGenerationEmpty')) {
    throw new Error(
      `${label}: job ${view.Job.JobId} ended ${view.Job.Status} (${JSON.stringify(view.Job.FailureReasons)}), expected Failed with ManifestGenerationEmpty`,
    );
  }
  // Discovery.ObjectsListed is not a count to use here: a listing that ends in ManifestGenerationEmpty
  // leaves it at its last periodic update (seen: 1,000 of 3,000). The bucket holds `objects`.
  const listed = objects;
  const end =
    view.StatusHistory.find((e) => e.status === 'Failing') ?? view.StatusHistory.find((e) => e.status === 'Failed');
  const ms = Date.parse(end!.at) - historyAt(view, 'Preparing');
  const m: EngineRun = {
    label,
    tasks: listed,
    failed: 0,
    tps: listed / (ms / 1000),
    cpuMsPerTask: (cpuMs(server.pid) - cpu0) / listed,
    s3CpuMsPerTask: (cpuMsOf(s3Pids) - s3cpu0) / listed,
    peakRssKiB: rss.sample().peakKiB,
  };
  log(
    `  ${label.padEnd(26)} ${fmtTps(m.tps)} objects/s  listing ${secs(ms)}  CPU ${m.cpuMsPerTask.toFixed(3)} ms/object  peak RSS ${mib(m.peakRssKiB)}`,
  );
  return m;
}

// ---------------------------------------------------------------------------------------------
// Formatting

function fmtTps(n: number): string {
  return n.toFixed(0).padStart(6);
}
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

// ---------------------------------------------------------------------------------------------
// The run

async function main(): Promise<void> {
  const cpuModel = os.cpus()[0]?.model ?? 'unknown CPU';
  const machine = `${os.availableParallelism()} CPUs (${cpuModel}), ${mib(os.totalmem() / 1024)} RAM, Node ${process.version}, ${os.type()} ${os.release()}, CLK_TCK ${clkTck()}`;
  log(`machine: ${machine}`);

  // 1. S3 server
  let s3server: S3Server;
  let s3Desc: string;
  if (EXTERNAL_CEPH) {
    s3server = { name: 'ceph', ...EXTERNAL_CEPH, region: 'us-east-1', startupMs: 0, stop: async () => {} };
    s3Pids = cephPidsServing(Number(new URL(EXTERNAL_CEPH.endpoint).port || 80));
    const version = commandOutput('radosgw', ['--version']) ?? 'radosgw';
    s3Desc = `a running Ceph RGW (${version.replace(/\s*\(.*$/, '')}; shared, other clients may load it) at ${EXTERNAL_CEPH.endpoint}`;
  } else if (SERVER === 'ceph') {
    const cephDir = process.env.CEPH_DIR ?? path.join(REPO_ROOT, 'tmp', 'ceph-bench');
    // Ports of our own, away from the test suite's defaults (17480/13300/16800): a test run starting
    // at the same time must not answer our readiness check (or our requests) with its RGW.
    const envPort = (name: string, dflt: number): number => (process.env[name] ? Number(process.env[name]) : dflt);
    log(`starting Ceph RGW in ${cephDir}…`);
    s3server = await startCeph({
      cephDir,
      rgwPort: envPort('RGW_PORT', 27480),
      monPort: envPort('MON_PORT', 23300),
      portMin: envPort('PORT_MIN', 26800),
      autoPorts: true,
      storageClasses: [],
    });
    cleanups.push(() => s3server.stop());
    const pidOf = (name: string): number | undefined => {
      try {
        return Number(readFileSync(path.join(cephDir, 'run', `${name}.fgpid`), 'utf8').trim());
      } catch {
        return undefined;
      }
    };
    s3Pids = ['rgw.a', 'osd.0', 'mon.a'].map(pidOf).filter((p): p is number => p !== undefined);
    // The endpoint must be served by OUR radosgw (start-ceph.sh's check could have seen another one).
    const rgwPid = pidOf('rgw.a');
    const rgwPort = Number(new URL(s3server.endpoint).port);
    const deadline = Date.now() + 15_000;
    while (rgwPid === undefined || !listensOn(rgwPid, rgwPort)) {
      if (Date.now() > deadline) {
        throw new Error(
          `${s3server.endpoint} is not served by this cluster's radosgw (pid ${rgwPid}): port taken by another process? see ${cephDir}/log/client.rgw.a.log; set RGW_PORT`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const version = commandOutput('radosgw', ['--version']) ?? 'radosgw';
    s3Desc = `Ceph RGW (${version.replace(/\s*\(.*$/, '')}; 1 mon, 1 memstore OSD, beast) at ${s3server.endpoint}`;
  } else {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's3batch-bench-s3rver-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    log(`starting s3rver in ${dir}…`);
    s3server = await startS3rver(dir);
    cleanups.push(() => s3server.stop());
    s3Pids = pidsWithCmdline(dir);
    s3Desc = `s3rver (one Node process, files in ${dir}) at ${s3server.endpoint}`;
  }
  log(
    `S3: ${s3Desc}, started in ${s3server.startupMs} ms; S3 server pids ${s3Pids.join(', ') || '(not found: no S3 CPU figures)'}`,
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
  const manifest = async (name: string, n: number, of: readonly string[] = keys): Promise<string> => {
    const rows = Array.from({ length: n }, (_, i) => ({ bucket: src, key: of[i % of.length]! }));
    return (await putManifest(s3, src, `manifests/${name}.csv`, rows)).etag;
  };
  const etags: Record<string, string> = {
    warmup: WARMUP > 0 ? await manifest('warmup', WARMUP) : '',
    all: await manifest('all', OBJECTS),
    large: LARGE_ROWS > 0 && OPS.has('large') ? await manifest('large', LARGE_ROWS) : '',
  };
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
  const tagging = (value: string) => ({ S3PutObjectTagging: { TagSet: [{ Key: 'bench', Value: value }] } });
  const copy = (prefix: string) => ({
    S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${dst}`, TargetKeyPrefix: prefix, MetadataDirective: 'COPY' },
  });

  // 3. The engine server and the bare worker
  const dataDir = tempDataDir('s3batch-bench-');
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  if (CPU_PROF) mkdirSync(CPU_PROF, { recursive: true });
  const server = await startEngineServer({
    s3: s3server,
    dataDir,
    serveArgs: ['--job-concurrency', String(CONCURRENCY), '--max-concurrent-tasks', String(CONCURRENCY)],
    ...(CPU_PROF ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] } : {}),
  });
  cleanups.push(() => server.stop());
  profiledPids.server = server.pid;
  const api = new JsonApi(server.url);
  log(
    `s3batch serve pid ${server.child.pid} at ${server.url} (job concurrency ${CONCURRENCY}, max concurrent tasks ${CONCURRENCY}), idle RSS ${mib(memory(server.pid).rssKiB)}`,
  );

  const bare = await BareWorker.start({
    type: 'init',
    endpoint: s3server.endpoint,
    region: s3server.region,
    accessKeyId: s3server.accessKeyId,
    secretAccessKey: s3server.secretAccessKey,
    maxSockets: Math.max(64, CONCURRENCY), // as src/main.ts gives the engine's task client
    bucket: src,
    keys,
  });
  cleanups.push(() => bare.stop());
  profiledPids['bare worker'] = bare.pid;
  log(`bare worker pid ${bare.pid} (${CONCURRENCY} workers, createS3Client from src/storage/s3-clients.ts)`);

  // 4. Warm-up (not reported)
  if (WARMUP > 0) {
    log(`warm-up: ${WARMUP} tasks each`);
    await measureBare(bare, 'warm-up bare tagging', {
      op: 'tagging',
      tasks: WARMUP,
      tagSet: [{ Key: 'bench', Value: 'warmup' }],
    });
    await measureEngine(api, server, 'warm-up engine tagging', request('warmup', tagging('warmup'), 'warmup'), WARMUP);
    if (OPS.has('copy')) {
      await measureBare(bare, 'warm-up bare copy', {
        op: 'copy',
        tasks: WARMUP,
        targetBucket: dst,
        targetPrefix: 'warmup-bare',
      });
      await measureEngine(
        api,
        server,
        'warm-up engine copy',
        request('warmup', copy('warmup-engine'), 'warmup'),
        WARMUP,
      );
    }
  }

  // 5. Alternating bare / engine: round 1 bare first, round 2 engine first, … (ABBA cancels drift)
  interface OpResult {
    readonly name: string;
    readonly bare: Measured[];
    readonly engine: EngineMeasured[];
    readonly copyOnly: Measured[];
  }
  const results: OpResult[] = [];

  const tagRes: OpResult = { name: 'PutObjectTagging', bare: [], engine: [], copyOnly: [] };
  if (OPS.has('tagging')) {
    results.push(tagRes);
    log(`S3PutObjectTagging, ${OBJECTS} objects, ${ROUNDS} round(s)`);
  }
  for (let r = 1; r <= (OPS.has('tagging') ? ROUNDS : 0); r++) {
    const tagSet = [{ Key: 'bench', Value: `round-${r}` }];
    const runBare = async () =>
      tagRes.bare.push(await measureBare(bare, `r${r} bare tagging`, { op: 'tagging', tasks: OBJECTS, tagSet }));
    const runEngine = async () =>
      tagRes.engine.push(
        await measureEngine(
          api,
          server,
          `r${r} engine tagging`,
          request('all', tagging(`round-${r}`), `tagging-${r}`),
          OBJECTS,
        ),
      );
    if (r % 2 === 1) {
      await runBare();
      await runEngine();
    } else {
      await runEngine();
      await runBare();
    }
  }

  const copyRes: OpResult = { name: 'PutObjectCopy', bare: [], engine: [], copyOnly: [] };
  if (OPS.has('copy')) {
    results.push(copyRes);
    log(
      `S3PutObjectCopy (HeadObject + CopyObject), ${OBJECTS} objects, ${ROUNDS} round(s); every run copies to a new prefix`,
    );
  }
  for (let r = 1; r <= (OPS.has('copy') ? ROUNDS : 0); r++) {
    const runBare = async () =>
      copyRes.bare.push(
        await measureBare(bare, `r${r} bare head+copy`, {
          op: 'copy',
          tasks: OBJECTS,
          targetBucket: dst,
          targetPrefix: `bare-${r}`,
        }),
      );
    const runEngine = async () =>
      copyRes.engine.push(
        await measureEngine(
          api,
          server,
          `r${r} engine copy`,
          request('all', copy(`engine-${r}`), `copy-${r}`),
          OBJECTS,
        ),
      );
    if (r % 2 === 1) {
      await runBare();
      await runEngine();
    } else {
      await runEngine();
      await runBare();
    }
    copyRes.copyOnly.push(
      await measureBare(bare, `r${r} bare copy-only`, {
        op: 'copy-only',
        tasks: OBJECTS,
        targetBucket: dst,
        targetPrefix: `bare-only-${r}`,
      }),
    );
  }

  // 6. The large job: does the server's memory grow with the job's size?
  interface LargeResult {
    readonly m: EngineMeasured;
    readonly idleRssKiB: number;
    readonly at10: { pct: number; rssKiB: number; peakKiB: number } | undefined;
    readonly at100: { pct: number; rssKiB: number; peakKiB: number } | undefined;
  }
  let large: LargeResult | undefined;
  if (LARGE_ROWS > 0 && OPS.has('large')) {
    log(`large S3PutObjectTagging job: ${LARGE_ROWS} rows (the ${OBJECTS} keys repeated)`);
    const idleRssKiB = memory(server.pid).rssKiB;
    let at10: LargeResult['at10'];
    let at100: LargeResult['at100'];
    const m = await measureEngine(
      api,
      server,
      'large engine tagging',
      request('large', tagging('large'), 'large'),
      LARGE_ROWS,
      (view, rss) => {
        const p = view.Job.ProgressSummary;
        const total = p.TotalNumberOfTasks || LARGE_ROWS;
        const pct = (100 * (p.NumberOfTasksSucceeded + p.NumberOfTasksFailed)) / total;
        if (at10 === undefined && pct >= 10) at10 = { pct, ...rss.sample() };
        if (at100 === undefined && (pct >= 99.5 || view.Job.Status === 'Completing' || view.Job.Status === 'Complete'))
          at100 = { pct, ...rss.sample() };
      },
    );
    large = { m, idleRssKiB, at10, at100 };
  }

  // 7. The other operation kinds and manifests, each against its own baseline, alternating.
  const scenarios: Scenario[] = [];
  /** Runs the steps in order on odd rounds, reversed on even ones (ABBA: drift cancels out). */
  const alternate = async (round: number, steps: ReadonlyArray<() => Promise<unknown>>): Promise<void> => {
    for (const step of round % 2 === 1 ? steps : [...steps].reverse()) await step();
  };

  if (OPS.has('delete')) {
    // No '/' in these keys: s3rver removes a key's emptied "directory" after a delete, and concurrent
    // deletes of a folder's last keys race on it (InternalError, ENOENT), which only the engine retries.
    const delKeys = Array.from({ length: DELETE_OBJECTS }, (_, i) => `delete-obj-${String(i).padStart(7, '0')}`);
    etags.delete = await manifest('delete', DELETE_OBJECTS, delKeys);
    const sc: Scenario = {
      name: 'S3DeleteObject',
      objects: DELETE_OBJECTS,
      engine: [],
      baselines: [
        { name: 'DeleteObject loop (1 key/request)', runs: [] },
        { name: 'DeleteObjects loop (1,000 keys/request)', runs: [] },
      ],
    };
    scenarios.push(sc);
    log(
      `S3DeleteObject, ${DELETE_OBJECTS} objects, ${ROUNDS} round(s); the objects are re-created (not timed) before each run`,
    );
    const recreate = (): Promise<void> => putObjects(s3, src, delKeys, BODY, CONCURRENCY);
    const w = Math.min(WARMUP, DELETE_OBJECTS);
    if (w > 0) {
      etags['delete-warmup'] = await manifest('delete-warmup', w, delKeys);
      await recreate();
      await measureEngine(
        api,
        server,
        'warm-up engine delete',
        request('delete-warmup', { S3DeleteObject: {} }, 'warmup'),
        w,
      );
      await measureBare(bare, 'warm-up bare DeleteObject', { op: 'delete', tasks: w, keys: delKeys.slice(w, 2 * w) });
      await measureBare(bare, 'warm-up bare DeleteObjects', {
        op: 'delete-batch',
        tasks: w,
        keys: delKeys.slice(2 * w, 3 * w),
      });
    }
    for (let r = 1; r <= ROUNDS; r++) {
      await alternate(r, [
        async () => {
          await recreate();
          sc.engine.push(
            await measureEngine(
              api,
              server,
              `r${r} engine delete`,
              request('delete', { S3DeleteObject: {} }, `delete-${r}`),
              DELETE_OBJECTS,
            ),
          );
        },
        async () => {
          await recreate();
          sc.baselines[0]!.runs.push(
            await measureBare(bare, `r${r} bare DeleteObject`, { op: 'delete', tasks: DELETE_OBJECTS, keys: delKeys }),
          );
        },
        async () => {
          await recreate();
          sc.baselines[1]!.runs.push(
            await measureBare(bare, `r${r} bare DeleteObjects`, {
              op: 'delete-batch',
              tasks: DELETE_OBJECTS,
              keys: delKeys,
            }),
          );
        },
      ]);
    }
  }

  if (OPS.has('checksum')) {
    const sumKeys = Array.from({ length: CHECKSUM_OBJECTS }, (_, i) => `checksum/obj-${String(i).padStart(7, '0')}`);
    const t1 = performance.now();
    await putObjects(s3, src, sumKeys, Buffer.alloc(CHECKSUM_KIB * 1024, 'c'), Math.min(CONCURRENCY, 16));
    log(`uploaded ${CHECKSUM_OBJECTS} objects of ${CHECKSUM_KIB} KiB in ${secs(performance.now() - t1)}`);
    etags.checksum = await manifest('checksum', CHECKSUM_OBJECTS, sumKeys);
    const w = Math.min(WARMUP, Math.ceil(CHECKSUM_OBJECTS / 10));
    if (w > 0) {
      etags['checksum-warmup'] = await manifest('checksum-warmup', w, sumKeys);
      for (const algorithm of ['CRC32', 'SHA256'] as const) {
        await measureBare(bare, `warm-up bare ${algorithm}`, { op: 'checksum', tasks: w, keys: sumKeys, algorithm });
        await measureEngine(
          api,
          server,
          `warm-up engine ${algorithm}`,
          request('checksum-warmup', { S3ComputeObjectChecksum: { ChecksumAlgorithm: algorithm } }, 'warmup'),
          w,
        );
      }
    }
    for (const algorithm of ['CRC32', 'SHA256'] as const) {
      const sc: Scenario = {
        name: `S3ComputeObjectChecksum ${algorithm} (${CHECKSUM_KIB} KiB)`,
        objects: CHECKSUM_OBJECTS,
        engine: [],
        baselines: [{ name: `GetObject + ${algorithm === 'CRC32' ? 'zlib.crc32' : 'sha256'} loop`, runs: [] }],
      };
      scenarios.push(sc);
      log(`S3ComputeObjectChecksum ${algorithm}, ${CHECKSUM_OBJECTS} × ${CHECKSUM_KIB} KiB, ${ROUNDS} round(s)`);
      const op = { S3ComputeObjectChecksum: { ChecksumAlgorithm: algorithm, ChecksumType: 'FULL_OBJECT' } };
      for (let r = 1; r <= ROUNDS; r++) {
        await alternate(r, [
          async () =>
            sc.baselines[0]!.runs.push(
              await measureBare(bare, `r${r} bare ${algorithm}`, {
                op: 'checksum',
                tasks: CHECKSUM_OBJECTS,
                keys: sumKeys,
                algorithm,
              }),
            ),
          async () =>
            sc.engine.push(
              await measureEngine(
                api,
                server,
                `r${r} engine ${algorithm}`,
                request('checksum', op, `checksum-${algorithm}-${r}`),
                CHECKSUM_OBJECTS,
              ),
            ),
        ]);
      }
    }
  }

  if (OPS.has('lambda')) {
    const fn = await startFunctionServer();
    cleanups.push(() => fn.close());
    etags.lambda = await manifest('lambda', LAMBDA_TASKS);
    const w = Math.min(WARMUP, LAMBDA_TASKS);
    if (w > 0) {
      etags['lambda-warmup'] = await manifest('lambda-warmup', w);
      await measureBare(bare, 'warm-up bare POST', { op: 'lambda', tasks: w, functionUrl: fn.url });
      await measureEngine(
        api,
        server,
        'warm-up engine LambdaInvoke',
        request('lambda-warmup', { LambdaInvoke: { FunctionArn: fn.url } }, 'warmup'),
        w,
      );
    }
    const sc: Scenario = {
      name: 'LambdaInvoke, HTTP function',
      objects: LAMBDA_TASKS,
      engine: [],
      baselines: [{ name: 'node:http POST loop, same JSON', runs: [] }],
    };
    scenarios.push(sc);
    log(
      `LambdaInvoke to ${fn.url} (a node:http server in the bench process answering Succeeded), ${LAMBDA_TASKS} tasks, ${ROUNDS} round(s)`,
    );
    for (let r = 1; r <= ROUNDS; r++) {
      await alternate(r, [
        async () =>
          sc.baselines[0]!.runs.push(
            await measureBare(bare, `r${r} bare POST`, { op: 'lambda', tasks: LAMBDA_TASKS, functionUrl: fn.url }),
          ),
        async () =>
          sc.engine.push(
            await measureEngine(
              api,
              server,
              `r${r} engine LambdaInvoke`,
              request('lambda', { LambdaInvoke: { FunctionArn: fn.url } }, `lambda-${r}`),
              LAMBDA_TASKS,
            ),
          ),
      ]);
    }
    log(`  the function answered ${fn.calls()} calls`);
  }

  if (OPS.has('generator')) {
    const genKeys = Array.from({ length: GENERATOR_OBJECTS }, (_, i) => `generated/obj-${String(i).padStart(7, '0')}`);
    await putObjects(s3, src, genKeys, BODY, CONCURRENCY);
    etags.generator = await manifest('generator', GENERATOR_OBJECTS, genKeys);
    const generatorRequest = (
      filter: Record<string, unknown>,
      operation: Record<string, unknown>,
      reportPrefix: string,
    ): Record<string, unknown> => {
      const rest = request('generator', operation, reportPrefix);
      delete rest.Manifest;
      return {
        ...rest,
        ManifestGenerator: {
          S3JobManifestGenerator: { SourceBucket: `arn:aws:s3:::${src}`, EnableManifestOutput: false, Filter: filter },
        },
      };
    };
    const prefixFilter = { KeyNameConstraint: { MatchAnyPrefix: ['generated/'] } };
    // Both sides are rated on New → Completing: the generator lists while its tasks run, and its
    // first chunk is listed in Preparing, so the Active phase alone would hide part of the listing.
    const untilCompleting = (m: EngineMeasured): EngineMeasured => ({ ...m, tps: m.tasks / (m.toCompletingMs / 1000) });
    const sc: Scenario = {
      name: 'ManifestGenerator tagging job',
      objects: GENERATOR_OBJECTS,
      engine: [],
      baselines: [{ name: 'the same job, CSV manifest (engine)', runs: [] }],
      rate: 'New → Completing',
    };
    scenarios.push(sc);
    log(
      `ManifestGenerator (MatchAnyPrefix generated/, ${GENERATOR_OBJECTS} objects) vs CSV manifest, S3PutObjectTagging, ${ROUNDS} round(s)`,
    );
    for (let r = 1; r <= ROUNDS; r++) {
      const op = tagging(`generator-${r}`);
      await alternate(r, [
        async () =>
          sc.baselines[0]!.runs.push(
            untilCompleting(
              await measureEngine(
                api,
                server,
                `r${r} engine CSV tagging`,
                request('generator', op, `gen-csv-${r}`),
                GENERATOR_OBJECTS,
              ),
            ),
          ),
        async () =>
          sc.engine.push(
            untilCompleting(
              await measureEngine(
                api,
                server,
                `r${r} engine generator tagging`,
                generatorRequest(prefixFilter, op, `gen-${r}`),
                GENERATOR_OBJECTS,
              ),
            ),
          ),
      ]);
    }
    // The listing alone: a filter no object matches (a suffix none has, no prefix) lists the whole
    // source bucket (every object the bench put there, more pages than the prefix alone) and fails
    // the job with ManifestGenerationEmpty; Preparing → Failing is the listing. The bare loop lists
    // the same bucket; an untimed bare listing first counts it (and warms the path up).
    const inBucket = (await bare.request({ type: 'run', op: 'list', concurrency: 1, tasks: 0 })).tasks;
    const lc: Scenario = {
      name: 'ManifestGenerator listing alone',
      objects: inBucket,
      engine: [],
      baselines: [{ name: 'ListObjectsV2 loop (1,000/page)', runs: [] }],
      rate: 'Preparing → Failing',
    };
    scenarios.push(lc);
    const noMatch = { KeyNameConstraint: { MatchAnySuffix: ['.no-such-suffix'] } };
    for (let r = 1; r <= ROUNDS; r++) {
      await alternate(r, [
        async () =>
          lc.baselines[0]!.runs.push(await measureBare(bare, `r${r} bare ListObjectsV2`, { op: 'list', tasks: 0 })),
        async () =>
          lc.engine.push(
            await measureListing(
              api,
              server,
              `r${r} engine listing`,
              generatorRequest(noMatch, tagging('never'), `gen-empty-${r}`),
              inBucket,
            ),
          ),
      ]);
    }
  }

  // 8. Scenarios in files of their own: observers of a running job, report downloads.
  const ctx: BenchContext = {
    api,
    server,
    objects: OBJECTS,
    rounds: ROUNDS,
    bare,
    log,
    onCleanup: (fn) => cleanups.push(fn),
    manifest: async (name, n, of) => {
      etags[name] = await manifest(name, n, of);
    },
    request,
    measureBare: (label, run) => measureBare(bare, label, run),
    measureEngine: (label, req, tasks, onCreated) =>
      measureEngine(api, server, label, req, tasks, undefined, onCreated),
    alternate,
  };
  const scenarioOut: string[] = [];
  if (OPS.has('observers')) scenarioOut.push(...(await observersScenario(ctx)));
  if (OPS.has('report-download'))
    scenarioOut.push(
      ...(await reportDownloadScenario(ctx, { rows: REPORT_ROWS, resultStringBytes: REPORT_ROW_BYTES })),
    );

  // 9. Report
  const benchSecs = (performance.now() - t0Bench) / 1000;
  const out: string[] = [];
  out.push('');
  out.push(`s3batch benchmark — ${new Date().toISOString()}`);
  out.push(`machine:     ${machine}`);
  out.push(`S3 server:   ${s3Desc}`);
  out.push(
    `workload:    ${OBJECTS} objects of ${BODY.length} B, concurrency ${CONCURRENCY} (engine: --job-concurrency ${CONCURRENCY} --max-concurrent-tasks ${CONCURRENCY}; bare: ${CONCURRENCY} workers), ${ROUNDS} round(s) per operation, bare/engine alternating`,
  );
  if (results.length > 0) {
    out.push('');
    out.push(
      'Throughput (mean over rounds; engine = tasks ÷ Active→Completing; wall = New→Complete incl. prepare + report)',
    );
    const thrRows: string[][] = [];
    for (const r of results) {
      const bareTps = mean(r.bare.map((m) => m.tps));
      const engTps = mean(r.engine.map((m) => m.tps));
      thrRows.push([
        r.name === 'PutObjectCopy' ? 'PutObjectCopy vs Head+Copy loop' : r.name,
        String(OBJECTS),
        bareTps.toFixed(0),
        engTps.toFixed(0),
        (engTps / bareTps).toFixed(2),
        secs(mean(r.engine.map((m) => m.wallMs))),
        `${mean(r.engine.map((m) => m.prepareMs)).toFixed(0)} ms`,
        `${mean(r.engine.map((m) => m.reportMs)).toFixed(0)} ms`,
        (OBJECTS / (mean(r.engine.map((m) => m.wallMs)) / 1000) / bareTps).toFixed(2),
      ]);
      if (r.copyOnly.length > 0) {
        const coTps = mean(r.copyOnly.map((m) => m.tps));
        thrRows.push([
          '  vs CopyObject-only loop (like for like)',
          String(OBJECTS),
          coTps.toFixed(0),
          engTps.toFixed(0),
          (engTps / coTps).toFixed(2),
          '',
          '',
          '',
          '',
        ]);
      }
    }
    out.push(
      table(
        [
          'operation',
          'objects',
          'bare tasks/s',
          'engine tasks/s',
          'engine÷bare',
          'engine wall',
          'prepare',
          'report',
          'wall-based ratio',
        ],
        thrRows,
      ),
    );
    out.push('');
    out.push(
      'Cost per task (mean over rounds; CPU = utime+stime from /proc of the process, over the loop / over the whole job)',
    );
    const costRows: string[][] = [];
    for (const r of results) {
      const bc = mean(r.bare.map((m) => m.cpuMsPerTask));
      const ec = mean(r.engine.map((m) => m.cpuMsPerTask));
      costRows.push([
        r.name,
        bc.toFixed(3),
        ec.toFixed(3),
        (ec / bc).toFixed(2),
        s3Pids.length ? mean(r.bare.map((m) => m.s3CpuMsPerTask)).toFixed(3) : 'n/a',
        s3Pids.length ? mean(r.engine.map((m) => m.s3CpuMsPerTask)).toFixed(3) : 'n/a',
        mib(Math.max(...r.engine.map((m) => m.peakRssKiB))),
      ]);
      if (r.copyOnly.length > 0) {
        costRows.push([
          '  CopyObject-only loop',
          mean(r.copyOnly.map((m) => m.cpuMsPerTask)).toFixed(3),
          '',
          '',
          s3Pids.length ? mean(r.copyOnly.map((m) => m.s3CpuMsPerTask)).toFixed(3) : 'n/a',
          '',
          '',
        ]);
      }
    }
    out.push(
      table(
        [
          'operation',
          'CPU ms/task bare',
          'engine',
          'engine÷bare',
          'S3 server CPU ms/task bare',
          'engine',
          'server peak RSS',
        ],
        costRows,
      ),
    );
    if (s3Pids.length > 0) {
      // On a small machine client and S3 server share the cores: throughput ≈ cores ÷ (client + server
      // CPU per task). If both sides saturate the same number of cores, the ratio follows from CPU alone.
      out.push('');
      out.push(
        'CPU-bound? cores busy = tasks/s × (client + S3 server CPU per task); if ≈ equal, engine÷bare ≈ the CPU ratio',
      );
      const cpuRows: string[][] = [];
      for (const r of results) {
        const bareTotal = mean(r.bare.map((m) => m.cpuMsPerTask + m.s3CpuMsPerTask));
        const engTotal = mean(r.engine.map((m) => m.cpuMsPerTask + m.s3CpuMsPerTask));
        const bareTps = mean(r.bare.map((m) => m.tps));
        const engTps = mean(r.engine.map((m) => m.tps));
        cpuRows.push([
          r.name,
          `${bareTotal.toFixed(2)} ms`,
          ((bareTps * bareTotal) / 1000).toFixed(2),
          `${engTotal.toFixed(2)} ms`,
          ((engTps * engTotal) / 1000).toFixed(2),
          (bareTotal / engTotal).toFixed(2),
          (engTps / bareTps).toFixed(2),
        ]);
      }
      out.push(
        table(
          [
            'operation',
            'bare CPU/task',
            'cores',
            'engine CPU/task',
            'cores',
            'CPU ratio bare÷engine',
            'measured engine÷bare',
          ],
          cpuRows,
        ),
      );
    }
    out.push('');
    out.push('Runs');
    const runRows: string[][] = [];
    for (const r of results) {
      for (const m of [...r.bare, ...r.copyOnly])
        runRows.push([m.label, m.tps.toFixed(0), '', m.cpuMsPerTask.toFixed(3), '', String(m.failed)]);
      for (const m of r.engine)
        runRows.push([
          m.label,
          m.tps.toFixed(0),
          secs(m.wallMs),
          m.cpuMsPerTask.toFixed(3),
          mib(m.peakRssKiB),
          String(m.failed),
        ]);
    }
    out.push(table(['run', 'tasks/s', 'wall', 'CPU ms/task', 'peak RSS', 'failed'], runRows));
  }
  if (large) {
    const { m, idleRssKiB, at10, at100 } = large;
    out.push('');
    out.push(
      `Large job: S3PutObjectTagging, ${LARGE_ROWS} rows (the ${OBJECTS} keys × ${(LARGE_ROWS / OBJECTS).toFixed(0)}), server RSS`,
    );
    const at = (x: typeof at10): [string, string] =>
      x ? [`${mib(x.rssKiB)} (at ${x.pct.toFixed(0)} %)`, mib(x.peakKiB)] : ['not sampled', ''];
    out.push(
      table(
        ['', 'RSS', 'peak so far'],
        [
          ['idle before the job', mib(idleRssKiB), ''],
          ['~10 %', ...at(at10)],
          ['~100 %', ...at(at100)],
          ['after Complete', mib(m.endRssKiB), mib(m.peakRssKiB)],
        ],
      ),
    );
    out.push(
      `engine ${m.tps.toFixed(0)} tasks/s (Active ${secs(m.activeMs)}), wall ${secs(m.wallMs)} (prepare ${m.prepareMs} ms, report ${m.reportMs} ms), CPU ${m.cpuMsPerTask.toFixed(3)} ms/task, ${m.failed} failed`,
    );
  }
  if (scenarios.length > 0) {
    out.push('');
    out.push(
      'Operation kinds and manifests (mean over rounds; engine = tasks ÷ Active→Completing unless the rate column says otherwise;',
    );
    out.push('baseline = loop wall time; CPU = client process per object: bare worker / engine server)');
    const rows: string[][] = [];
    for (const sc of scenarios) {
      const engTps = mean(sc.engine.map((m) => m.tps));
      const engCpu = mean(sc.engine.map((m) => m.cpuMsPerTask));
      for (const [i, b] of sc.baselines.entries()) {
        const bTps = mean(b.runs.map((m) => m.tps));
        rows.push([
          i === 0 ? sc.name : '',
          i === 0 ? String(sc.objects) : '',
          i === 0 ? (sc.rate ?? 'Active') : '',
          b.name,
          bTps.toFixed(0),
          i === 0 ? engTps.toFixed(0) : '',
          (engTps / bTps).toFixed(2),
          `${mean(b.runs.map((m) => m.cpuMsPerTask)).toFixed(3)} / ${engCpu.toFixed(3)}`,
          i === 0 ? mib(Math.max(...sc.engine.map((m) => m.peakRssKiB))) : '',
        ]);
      }
    }
    out.push(
      table(
        [
          'scenario',
          'objects',
          'engine rate over',
          'baseline',
          'baseline obj/s',
          'engine obj/s',
          'engine÷baseline',
          'CPU ms/obj base / engine',
          'server peak RSS',
        ],
        rows,
      ),
    );
    const failures = scenarios
      .flatMap((sc) => [...sc.engine, ...sc.baselines.flatMap((b) => b.runs)])
      .filter((m) => m.failed > 0);
    for (const m of failures) out.push(`  ${m.label}: ${m.failed} of ${m.tasks} FAILED`);
    out.push('');
    out.push('Runs (operation kinds and manifests)');
    out.push(
      table(
        ['run', 'obj/s', 'CPU ms/obj', 'peak RSS', 'failed'],
        scenarios.flatMap((sc) => [
          ...sc.baselines.flatMap((b) =>
            b.runs.map((m) => [
              m.label,
              m.tps.toFixed(0),
              m.cpuMsPerTask.toFixed(3),
              'peakRssKiB' in m ? mib((m as EngineRun).peakRssKiB) : '',
              String(m.failed),
            ]),
          ),
          ...sc.engine.map((m) => [
            m.label,
            m.tps.toFixed(0),
            m.cpuMsPerTask.toFixed(3),
            mib(m.peakRssKiB),
            String(m.failed),
          ]),
        ]),
      ),
    );
  }
  out.push(...scenarioOut);
  out.push('');
  out.push(`bench wall time ${benchSecs.toFixed(0)} s`);
  console.log(out.join('\n'));
}

/**
 * The processes of the Ceph cluster whose radosgw listens on `port`: that radosgw and the ceph-osd /
 * ceph-mon started with the same `-c <ceph.conf>`. Empty when not found (no S3 CPU figures then).
 */
function cephPidsServing(port: number): number[] {
  const cmdline = (pid: number): string[] => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      return [];
    }
  };
  const rgw = pidsWithCmdline('radosgw').find(
    (pid) => path.basename(cmdline(pid)[0] ?? '') === 'radosgw' && listensOn(pid, port),
  );
  if (rgw === undefined) return [];
  const args = cmdline(rgw);
  const conf = args[args.indexOf('-c') + 1];
  if (!args.includes('-c') || conf === undefined) return [rgw];
  return pidsWithCmdline(conf).filter((pid) => {
    const a = cmdline(pid);
    return ['radosgw', 'ceph-osd', 'ceph-mon'].includes(path.basename(a[0] ?? '')) && a[a.indexOf('-c') + 1] === conf;
  });
}

/** Empties and deletes buckets (on a shared S3 server, what the bench wrote must not stay). */
async function removeBuckets(s3: S3Client, buckets: readonly string[]): Promise<void> {
  for (const bucket of buckets) {
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000, ContinuationToken: token }));
      const objects = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (objects.length > 0)
        await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  }
}

/** `<cmd> <args>` stdout, or undefined. */
function commandOutput(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
  } catch {
    return undefined;
  }
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
