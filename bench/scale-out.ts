// The scale-out mode (issue 14, docs/deployment.md) on a running Ceph RGW and a redis-server this
// bench starts, with `s3batch serve --redis` and `s3batch worker` as subprocesses:
//
//   npm run bench:scale-out -- [--ceph URL,KEY,SECRET] [--tasks 12000] [--workers 1,2,4] [--concurrency 16]
//                              [--delay-ms 20] [--rounds 2] [--dispatch-tasks 20000] [--kills 3]
//                              [--skip throughput,dispatch,kill,failover]
//
// 1. throughput: a LambdaInvoke job whose HTTP function (in this process) answers after --delay-ms,
//    run by W workers of --concurrency tasks each, for each W of --workers. The workload is
//    latency-bound, so 2 cores can show how tasks/s grows with workers. Printed: tasks/s, the ratio to
//    W × the one-worker figure of the same round (target ≥ 0.85), the ratio to the ideal
//    W × concurrency ÷ delay, and the CPU per task of serve, the workers and Redis (from /proc).
// 2. dispatch: the CPU a chunk costs, apart from its tasks: the same job (function answering at once)
//    with chunks of 1,000 rows and of 100 rows, one worker; the CPU of serve + worker + Redis of the
//    two runs differ only by the number of chunks, so ΔCPU ÷ Δchunks is the cost of one chunk
//    (target ≤ 5 ms per chunk of 1,000).
// 3. kill: 3 workers on a long job; one is SIGKILLed while it runs a chunk; timed until a progress
//    entry of that chunk comes from another worker (the progress stream in Redis) (target ≤ 30 s).
//    Repeated --kills times. The job's report is then checked: every task once.
// 4. failover: 2 serve instances; the leader is SIGKILLed mid-job; timed until the standby's /healthz
//    says it leads, and until the job makes progress again (target ≤ 10 s). The report is checked.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { redisNames, type ProgressEntry } from '../src/execution/bullmq/protocol.ts';
import { jobRequest, putManifest, readReport } from '../test/helpers/jobs.ts';
import { JsonApi } from '../test/helpers/json-api.ts';
import { startRedis, type TestRedis } from '../test/helpers/redis-server.ts';
import { createTestBucket, makeS3Client, type S3ServerInfo } from '../test/helpers/s3-servers.ts';
import { healthRole } from '../test/helpers/scale-out.ts';
import { startServerProcess, tempDataDir, type ServerProcess } from '../test/helpers/server-process.ts';
import { startWorkerProcess, type WorkerProcess } from '../test/helpers/worker-process.ts';
import { startFunctionServer } from './function-server.ts';
import { cpuMs, pidsWithCmdline } from './proc.ts';

const { values: opt } = parseArgs({
  options: {
    ceph: { type: 'string', default: process.env.S3BATCH_TEST_CEPH },
    tasks: { type: 'string', default: '12000' },
    workers: { type: 'string', default: '1,2,4' },
    concurrency: { type: 'string', default: '16' },
    'delay-ms': { type: 'string', default: '20' },
    rounds: { type: 'string', default: '2' },
    'dispatch-tasks': { type: 'string', default: '20000' },
    kills: { type: 'string', default: '3' },
    skip: { type: 'string', default: '' },
  },
});
const [endpoint, accessKeyId, secretAccessKey] = (opt.ceph ?? '').split(',');
if (!endpoint || !accessKeyId || !secretAccessKey) {
  console.error('--ceph URL,KEY,SECRET (or S3BATCH_TEST_CEPH) is required');
  process.exit(2);
}
const CEPH: S3ServerInfo = { name: 'ceph', endpoint, accessKeyId, secretAccessKey, region: 'us-east-1' };
const s3 = makeS3Client(CEPH);
const skip = new Set(opt.skip.split(',').filter(Boolean));
const TASKS = Number(opt.tasks);
const CONCURRENCY = Number(opt.concurrency);
const DELAY_MS = Number(opt['delay-ms']);

interface Deployment {
  redis: TestRedis;
  serves: ServerProcess[];
  workers: WorkerProcess[];
  api: JsonApi;
  close(): Promise<void>;
}

async function deploy(args: { serves?: number; workers: number; chunkSize?: number }): Promise<Deployment> {
  const redis = await startRedis();
  const serves: ServerProcess[] = [];
  for (let i = 0; i < (args.serves ?? 1); i++) {
    serves.push(
      await startServerProcess({
        s3: CEPH,
        dataDir: tempDataDir('s3batch-bench-so-'),
        args: [
          '--redis',
          redis.url,
          '--chunk-size',
          String(args.chunkSize ?? 1000),
          '--max-concurrent-tasks',
          '10000',
          '--job-concurrency',
          '10000',
        ],
      }),
    );
  }
  const workers = await Promise.all(
    Array.from({ length: args.workers }, (_, i) =>
      startWorkerProcess({
        redisUrl: redis.url,
        s3: CEPH,
        name: `w${i + 1}`,
        args: ['--concurrency', String(CONCURRENCY)],
      }),
    ),
  );
  return {
    redis,
    serves,
    workers,
    api: new JsonApi(serves[0]!.url),
    async close() {
      await Promise.all(workers.map((w) => w.kill('SIGKILL')));
      await Promise.all(serves.map((s) => s.kill('SIGKILL')));
      await redis.stop();
    },
  };
}

/** A manifest of `count` rows (LambdaInvoke needs no objects); its bucket holds the report. */
async function manifest(count: number): Promise<{ bucket: string; etag: string }> {
  const bucket = await createTestBucket(s3, 'bso');
  const { etag } = await putManifest(
    s3,
    bucket,
    'm.csv',
    Array.from({ length: count }, (_, i) => ({ bucket, key: `k/${i}` })),
  );
  return { bucket, etag };
}

function lambdaJob(m: { bucket: string; etag: string }, url: string, extra: Record<string, unknown> = {}) {
  return jobRequest({
    manifestBucket: m.bucket,
    manifestKey: 'm.csv',
    etag: m.etag,
    operation: { LambdaInvoke: { FunctionArn: url } },
    reportBucket: m.bucket,
    reportPrefix: 'rep',
    confirmationRequired: false,
    extra,
  });
}

/** Polls until the job ends; returns tasks/s between its first and its last finished task. */
async function timeJob(api: JsonApi, jobId: string, total: number): Promise<{ rate: number; status: string }> {
  let first: { t: number; n: number } | undefined;
  for (;;) {
    const v = await api.describe(jobId);
    const n = (v.Job.ProgressSummary?.NumberOfTasksSucceeded ?? 0) + (v.Job.ProgressSummary?.NumberOfTasksFailed ?? 0);
    const t = performance.now();
    if (first === undefined && n > 0) first = { t, n };
    if (['Complete', 'Failed', 'Cancelled'].includes(v.Job.Status)) {
      const f = first ?? { t, n: 0 };
      return { rate: ((total - f.n) / Math.max(1, t - f.t)) * 1000, status: v.Job.Status };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const pidOf = (p: { child: { pid?: number | undefined } }): number => p.child.pid ?? 0;
/** redis-server's pid: it names itself `redis-server 127.0.0.1:<port>` in its command line. */
function redisPid(redis: TestRedis): number | undefined {
  return pidsWithCmdline(`redis-server 127.0.0.1:${redis.port}`)[0];
}

async function throughput(): Promise<void> {
  const counts = opt.workers.split(',').map(Number);
  const fn = await startFunctionServer('ok', DELAY_MS);
  console.log(
    `\n## throughput: LambdaInvoke, function answering after ${DELAY_MS} ms, --concurrency ${CONCURRENCY}, ${TASKS} tasks`,
  );
  console.log(
    '| round | workers | tasks/s | ÷ (W × 1 worker) | ÷ ideal W×c÷delay | CPU ms/task serve | workers | redis |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (let round = 1; round <= Number(opt.rounds); round++) {
    let one: number | undefined;
    for (const w of counts) {
      const d = await deploy({ workers: w });
      try {
        const m = await manifest(TASKS);
        const rpid = redisPid(d.redis);
        const cpu0 = {
          serve: cpuMs(pidOf(d.serves[0]!)),
          workers: d.workers.reduce((a, x) => a + cpuMs(pidOf(x)), 0),
          redis: rpid ? cpuMs(rpid) : 0,
        };
        const { JobId } = await d.api.createJob(lambdaJob(m, fn.url));
        const { rate, status } = await timeJob(d.api, JobId, TASKS);
        const cpu = {
          serve: cpuMs(pidOf(d.serves[0]!)) - cpu0.serve,
          workers: d.workers.reduce((a, x) => a + cpuMs(pidOf(x)), 0) - cpu0.workers,
          redis: (rpid ? cpuMs(rpid) : 0) - cpu0.redis,
        };
        if (w === 1) one = rate;
        const scale = one ? (rate / (w * one)).toFixed(2) : '-';
        const ideal = (rate / ((w * CONCURRENCY * 1000) / DELAY_MS)).toFixed(2);
        console.log(
          `| ${round} | ${w} | ${rate.toFixed(0)}${status === 'Complete' ? '' : ` (${status})`} | ${scale} | ${ideal} | ${(cpu.serve / TASKS).toFixed(3)} | ${(cpu.workers / TASKS).toFixed(3)} | ${(cpu.redis / TASKS).toFixed(3)} |`,
        );
      } finally {
        await d.close();
      }
    }
  }
  await fn.close();
}

async function dispatch(): Promise<void> {
  const tasks = Number(opt['dispatch-tasks']);
  const fn = await startFunctionServer('ok', 0);
  console.log(`\n## dispatch: CPU per chunk, ${tasks} tasks, function answering at once, 1 worker`);
  console.log(
    '| round | chunk size | chunks | CPU ms serve | worker | redis | per chunk of 1,000: serve | worker | redis | all |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (let round = 1; round <= Number(opt.rounds); round++) {
    /** CPU ms of serve, the worker and Redis over one job. */
    const cpuFor = async (chunkSize: number, report: boolean): Promise<number[]> => {
      const d = await deploy({ workers: 1, chunkSize });
      try {
        const m = await manifest(tasks);
        const pids = [pidOf(d.serves[0]!), pidOf(d.workers[0]!), redisPid(d.redis) ?? 0];
        const before = pids.map((p) => (p ? cpuMs(p) : 0));
        const { JobId } = await d.api.createJob(lambdaJob(m, fn.url, report ? {} : { Report: { Enabled: false } }));
        await timeJob(d.api, JobId, tasks);
        return pids.map((p, i) => (p ? cpuMs(p) : 0) - before[i]!);
      } finally {
        await d.close();
      }
    };
    // With the report (each chunk writes, and the report reads, a part file in S3) and without it
    // (no part: the queue, the progress, the records and the manifest's ranged GET only).
    for (const report of [true, false]) {
      const big = await cpuFor(1000, report);
      const small = await cpuFor(100, report);
      const chunksBig = Math.ceil(tasks / 1000);
      const chunksSmall = Math.ceil(tasks / 100);
      const per = small.map((v, i) => (v - big[i]!) / (chunksSmall - chunksBig));
      const all = per.reduce((a, b) => a + b, 0);
      const ms = (v: number): string => v.toFixed(0);
      const what = report ? 'report' : 'no report';
      console.log(`| ${round} | 1000, ${what} | ${chunksBig} | ${big.map(ms).join(' | ')} | | | | |`);
      console.log(
        `| ${round} | 100, ${what} | ${chunksSmall} | ${small.map(ms).join(' | ')} | ${per.map((v) => v.toFixed(2)).join(' | ')} | ${all.toFixed(2)} ms |`,
      );
    }
  }
  await fn.close();
}

/** Reads the progress stream from `from` on; calls `on` per entry until it returns true. */
async function watchProgress(redis: Redis, stream: string, on: (e: ProgressEntry) => boolean): Promise<void> {
  let last = '$';
  for (;;) {
    const got = (await redis.xread('BLOCK', 1000, 'STREAMS', stream, last)) as [string, [string, string[]][]][] | null;
    for (const [, entries] of got ?? []) {
      for (const [id, fields] of entries) {
        last = id;
        const i = fields.indexOf('d');
        if (i >= 0 && on(JSON.parse(fields[i + 1]!) as ProgressEntry)) return;
      }
    }
  }
}

async function checkReport(bucket: string, jobId: string, total: number): Promise<string> {
  const report = await readReport(s3, bucket, 'rep', jobId);
  const keys = report.rows.map((r) => r[1]!);
  const unique = new Set(keys).size;
  return `report rows ${keys.length}, distinct ${unique}, expected ${total}: lost ${total - unique}, doubled ${keys.length - unique}`;
}

async function kill(): Promise<void> {
  const fn = await startFunctionServer('ok', DELAY_MS);
  const names = redisNames();
  console.log('\n## kill: a worker SIGKILLed while it runs a chunk → that chunk running on another worker');
  const d = await deploy({ workers: 3, chunkSize: 200 });
  const tasks = 4000;
  try {
    const m = await manifest(tasks);
    const { JobId } = await d.api.createJob(
      lambdaJob(m, fn.url, { Tags: [{ Key: 's3batch:max-requests-per-second', Value: '100' }] }),
    );
    const redis = new Redis(d.redis.url, { maxRetriesPerRequest: null });
    for (let k = 0; k < Number(opt.kills); k++) {
      const victim = d.workers[k % 3]!;
      let chunk: number | undefined;
      await watchProgress(redis, names.progress, (e) => {
        if (e.worker === victim.name && e.jobId === JobId && e.inFlight > 0) chunk = e.chunk;
        return chunk !== undefined;
      });
      await victim.kill('SIGKILL');
      const at = performance.now();
      await watchProgress(
        redis,
        names.progress,
        (e) => e.jobId === JobId && e.chunk === chunk && e.worker !== victim.name,
      );
      console.log(
        `kill ${k + 1}: chunk ${chunk} of ${victim.name} running on another worker after ${((performance.now() - at) / 1000).toFixed(1)} s`,
      );
      d.workers[k % 3] = await startWorkerProcess({
        redisUrl: d.redis.url,
        s3: CEPH,
        name: `w${(k % 3) + 1}-${k + 2}`,
        args: ['--concurrency', String(CONCURRENCY)],
      });
    }
    redis.disconnect();
    const { status } = await timeJob(d.api, JobId, tasks);
    console.log(`job ${status}; ${await checkReport(m.bucket, JobId, tasks)}`);
  } finally {
    await d.close();
    await fn.close();
  }
}

async function failover(): Promise<void> {
  const fn = await startFunctionServer('ok', DELAY_MS);
  console.log('\n## failover: the leading serve SIGKILLed mid-job, a standby running');
  const d = await deploy({ serves: 2, workers: 2, chunkSize: 200 });
  const tasks = 3000;
  try {
    const m = await manifest(tasks);
    const standby = new JsonApi(d.serves[1]!.url);
    const { JobId } = await standby.createJob(
      lambdaJob(m, fn.url, { Tags: [{ Key: 's3batch:max-requests-per-second', Value: '150' }] }),
    );
    for (;;) {
      const v = await standby.describe(JobId);
      if ((v.Job.ProgressSummary?.NumberOfTasksSucceeded ?? 0) > 300) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await d.serves[0]!.kill('SIGKILL');
    const at = performance.now();
    for (;;) {
      if ((await healthRole(d.serves[1]!.url)) === 'leader') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const leads = performance.now() - at;
    const before = (await standby.describe(JobId)).Job.ProgressSummary?.NumberOfTasksSucceeded ?? 0;
    for (;;) {
      const v = await standby.describe(JobId);
      if ((v.Job.ProgressSummary?.NumberOfTasksSucceeded ?? 0) > before) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const progresses = performance.now() - at;
    console.log(
      `standby leads after ${(leads / 1000).toFixed(1)} s; the job progresses again after ${(progresses / 1000).toFixed(1)} s`,
    );
    const { status } = await timeJob(standby, JobId, tasks);
    console.log(`job ${status}; ${await checkReport(m.bucket, JobId, tasks)}`);
  } finally {
    await d.close();
    await fn.close();
  }
}

console.log(
  `# scale-out bench, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
if (!skip.has('throughput')) await throughput();
if (!skip.has('dispatch')) await dispatch();
if (!skip.has('kill')) await kill();
if (!skip.has('failover')) await failover();
s3.destroy();
