// How the benchmark measures a run: the forked bare AWS SDK worker (bench/bare-worker.ts) and the
// three measurements every scenario is built from: a bare loop, an engine job run to Complete, and a
// generator job's listing alone. CPU comes from /proc (utime + stime of the process and of the S3
// server's processes), engine timings from the job's StatusHistory.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { JobView, JsonApi } from '../test/helpers/json-api.ts';
import { REPO_ROOT } from '../test/helpers/s3-servers.ts';
import type { BareDone, BareInit, BareRun } from './bare-worker.ts';
import type { EngineMeasured, EngineRun, Measured } from './context.ts';
import type { EngineServer } from './engine-server.ts';
import { fmtTps, secs } from './format.ts';
import { cpuMs, cpuMsOf, mib, RssWatch, threadCpuMs, threadCpuSince } from './proc.ts';

/** What every measurement needs from the run. */
export interface MeasureEnv {
  /** --concurrency: the bare worker's loops. */
  readonly concurrency: number;
  /** --poll-ms: how often a job is described while it runs. */
  readonly pollMs: number;
  /** The S3 server's processes (empty: no S3 CPU figures). */
  readonly s3Pids: readonly number[];
  log(msg: string): void;
}

// ---------------------------------------------------------------------------------------------
// The bare baseline process

export class BareWorker {
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

  /** Forks the worker (with --cpu-prof into `cpuProfDir` when given) and sends it `init`. */
  static async start(init: BareInit, cpuProfDir?: string): Promise<BareWorker> {
    const child = fork(path.join(REPO_ROOT, 'bench', 'bare-worker.ts'), [], {
      cwd: REPO_ROOT,
      execArgv: ['--import', 'tsx', ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [])],
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

export async function measureBare(
  env: MeasureEnv,
  bare: BareWorker,
  label: string,
  run: Omit<BareRun, 'type' | 'concurrency'>,
): Promise<Measured> {
  const cpu0 = cpuMs(bare.pid);
  const s3cpu0 = cpuMsOf(env.s3Pids);
  const done = await bare.request({ type: 'run', concurrency: env.concurrency, ...run });
  const cpu = cpuMs(bare.pid) - cpu0;
  const s3cpu = cpuMsOf(env.s3Pids) - s3cpu0;
  if (done.failed > 0) env.log(`  ${label}: ${done.failed} of ${done.tasks} tasks FAILED, first: ${done.firstError}`);
  const m: Measured = {
    label,
    tasks: done.tasks,
    failed: done.failed,
    tps: done.tasks / (done.ms / 1000),
    cpuMsPerTask: cpu / done.tasks,
    s3CpuMsPerTask: s3cpu / done.tasks,
  };
  env.log(
    `  ${label.padEnd(26)} ${fmtTps(m.tps)} tasks/s  ${(done.ms / 1000).toFixed(2)} s  CPU ${m.cpuMsPerTask.toFixed(3)} ms/task (in-loop ${(done.cpuMs / done.tasks).toFixed(3)})  S3 CPU ${m.s3CpuMsPerTask.toFixed(3)} ms/task`,
  );
  return m;
}

function historyAt(view: JobView, status: string): number {
  const h = view.StatusHistory.find((e) => e.status === status);
  if (!h) throw new Error(`job ${view.Job.JobId}: no ${status} in StatusHistory ${JSON.stringify(view.StatusHistory)}`);
  return Date.parse(h.at);
}

export async function measureEngine(
  env: MeasureEnv,
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
  const threads0 = threadCpuMs(pid);
  const s3cpu0 = cpuMsOf(env.s3Pids);
  const t0 = performance.now();
  let view: JobView;
  try {
    const { JobId } = await api.createJob(request);
    onCreated?.(JobId);
    for (;;) {
      view = await api.describe(JobId);
      onPoll?.(view, rss);
      if (['Complete', 'Failed', 'Cancelled'].includes(view.Job.Status)) break;
      await new Promise((r) => setTimeout(r, env.pollMs));
    }
  } finally {
    rss.stop();
  }
  const clientMs = performance.now() - t0;
  const cpu = cpuMs(pid) - cpu0;
  const threads = threadCpuSince(pid, threads0);
  const s3cpu = cpuMsOf(env.s3Pids) - s3cpu0;
  const mem = rss.sample();
  const p = view.Job.ProgressSummary;
  if (view.Job.Status !== 'Complete' || p.TotalNumberOfTasks !== tasks) {
    throw new Error(
      `${label}: job ${view.Job.JobId} ended ${view.Job.Status} with ${JSON.stringify(p)}: ${JSON.stringify(view.Job.FailureReasons)}\nserver output:\n${server.output().slice(-4000)}`,
    );
  }
  if (p.NumberOfTasksFailed > 0) env.log(`  ${label}: ${p.NumberOfTasksFailed} of ${tasks} tasks FAILED`);
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
  env.log(
    `  ${label.padEnd(26)} ${fmtTps(m.tps)} tasks/s  active ${(m.activeMs / 1000).toFixed(2)} s, wall ${(m.wallMs / 1000).toFixed(2)} s (prepare ${m.prepareMs} ms, report ${m.reportMs} ms; seen by polling ${(m.clientMs / 1000).toFixed(2)} s)  CPU ${m.cpuMsPerTask.toFixed(3)} ms/task  S3 CPU ${m.s3CpuMsPerTask.toFixed(3)} ms/task  peak RSS ${mib(m.peakRssKiB)}  threads' CPU ${threads}`,
  );
  return m;
}

/**
 * A generator job whose filter matches nothing: its listing goes through every object under the
 * prefix, then the job fails with ManifestGenerationEmpty. Rate = objects listed ÷ (Preparing →
 * Failing), the listing alone (no task, no report).
 */
export async function measureListing(
  env: MeasureEnv,
  api: JsonApi,
  server: EngineServer,
  label: string,
  request: Record<string, unknown>,
  objects: number,
): Promise<EngineRun> {
  const rss = new RssWatch(server.pid);
  const cpu0 = cpuMs(server.pid);
  const s3cpu0 = cpuMsOf(env.s3Pids);
  let view: JobView & { Discovery?: { ObjectsListed: number } | null };
  try {
    const { JobId } = await api.createJob(request);
    for (;;) {
      view = await api.describe(JobId);
      if (['Complete', 'Failed', 'Cancelled'].includes(view.Job.Status)) break;
      await new Promise((r) => setTimeout(r, env.pollMs));
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
    s3CpuMsPerTask: (cpuMsOf(env.s3Pids) - s3cpu0) / listed,
    peakRssKiB: rss.sample().peakKiB,
  };
  env.log(
    `  ${label.padEnd(26)} ${fmtTps(m.tps)} objects/s  listing ${secs(ms)}  CPU ${m.cpuMsPerTask.toFixed(3)} ms/object  peak RSS ${mib(m.peakRssKiB)}`,
  );
  return m;
}
