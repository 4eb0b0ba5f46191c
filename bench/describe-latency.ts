// Benchmark scenario `describe-latency` (issue 12's target): DescribeJob through the S3 Control API
// (the real AWS SDK S3ControlClient, as a user's script sends it) at a steady --describe-rate per
// second while a tagging job runs at full speed, against the same sampling with the server idle, in
// the same run. The requests are sent on a fixed schedule (open loop: a slow answer does not delay
// the next request), so a stalled event loop shows as latency, not as fewer samples.
//
// The loaded side samples from the moment the job is Active for --describe-seconds, or until the job
// leaves Active (then the window is cut short and the output says so): the job must be big enough to
// last the window (--describe-tasks, default 30,000: the --objects keys repeated). The idle side
// describes the same job after it completed, for the same window. Idle and loaded alternate.
import { DescribeJobCommand } from '@aws-sdk/client-s3-control';
import { TEST_API_KEY } from '../test/helpers/server-process.ts';
import { hostPrefixClient } from '../test/helpers/s3control.ts';
import type { BenchContext } from './context.ts';
import { eventLoopDelay, fmtMs, percentile, ratio } from './latency.ts';
import { table } from './table.ts';
import { tagging } from './tagging-copy.ts';

export interface DescribeLatencyOptions {
  /** DescribeJob requests per second. */
  readonly rate: number;
  /** Sampling window, seconds. */
  readonly seconds: number;
  /** Tasks of the tagging job. */
  readonly tasks: number;
}

interface Window {
  readonly loaded: boolean;
  readonly round: number;
  readonly latencies: number[];
  readonly errors: string[];
  /** How long it sampled (shorter than asked when the job left Active first). */
  readonly ms: number;
  /** Loaded: the job's tasks/s over its Active phase. */
  readonly jobTps?: number;
  /** The server's event-loop delay over the window (its /metrics: prom-client's monitorEventLoopDelay), ms. */
  readonly loop?: { readonly p99: number; readonly max: number };
}

export async function describeLatencyScenario(ctx: BenchContext, opts: DescribeLatencyOptions): Promise<string[]> {
  const { api, rounds } = ctx;
  const client = hostPrefixClient(ctx.server.url, TEST_API_KEY);
  ctx.onCleanup(() => client.destroy());
  await ctx.manifest('describe-latency', opts.tasks);
  const request = (r: number): Record<string, unknown> =>
    ctx.request('describe-latency', tagging(`describe-${r}`), `describe-latency-${r}`);
  ctx.log(
    `describe-latency: S3 Control DescribeJob at ${opts.rate}/s for ${opts.seconds} s, idle vs while a ${opts.tasks}-task tagging job runs; ${rounds} round(s), alternating`,
  );

  /** Sends DescribeJob of `jobId` every 1/rate s until `until()` or the window ends; waits for the answers. */
  const sample = async (
    jobId: string,
    loaded: boolean,
    round: number,
    until: () => boolean,
    onStatus: (status: string | undefined) => void = () => {},
  ): Promise<Window> => {
    const latencies: number[] = [];
    const errors: string[] = [];
    const inFlight: Promise<void>[] = [];
    await eventLoopDelay(ctx.server.url); // resets the server's histogram: the next scrape covers this window
    const interval = 1000 / opts.rate;
    const t0 = performance.now();
    const end = t0 + opts.seconds * 1000;
    for (let i = 0; ; i++) {
      const due = t0 + i * interval;
      if (due >= end || until()) break;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const s = performance.now();
      inFlight.push(
        client.send(new DescribeJobCommand({ AccountId: TEST_API_KEY.accountId, JobId: jobId })).then(
          (out) => {
            latencies.push(performance.now() - s);
            onStatus(out.Job?.Status);
          },
          (err: Error) => void errors.push(err.name || err.message),
        ),
      );
    }
    const ms = Math.min(performance.now(), end) - t0;
    await Promise.all(inFlight);
    const loop = await eventLoopDelay(ctx.server.url);
    return { loaded, round, latencies, errors, ms, ...(loop ? { loop } : {}) };
  };

  const windows: Window[] = [];
  let lastJob: string | undefined;
  const idle = async (round: number): Promise<void> => {
    // Describe a finished job: the one of the loaded side when it ran, else a fresh small one.
    if (lastJob === undefined) {
      await ctx.manifest('describe-small', Math.min(100, opts.tasks));
      lastJob = (await api.createJob(ctx.request('describe-small', tagging('describe-idle'), 'describe-idle'))).JobId;
      await api.waitFor(lastJob, ['Complete', 'Failed', 'Cancelled'], 120_000, 50);
    }
    const w = await sample(lastJob, false, round, () => false);
    windows.push(w);
    log(w);
  };
  const loaded = async (round: number): Promise<void> => {
    const { JobId } = await api.createJob(request(round));
    lastJob = JobId;
    await api.waitFor(JobId, ['Active', 'Complete', 'Failed', 'Cancelled'], 300_000, 20);
    // The sampled answers tell when the job leaves Active (no other request is sent meanwhile).
    let active = true;
    const w = await sample(
      JobId,
      true,
      round,
      () => !active,
      (status) => {
        if (status !== 'Active') active = false;
      },
    );
    const v = await api.waitFor(JobId, ['Complete', 'Failed', 'Cancelled'], 600_000, 100);
    const p = v.Job.ProgressSummary;
    if (v.Job.Status !== 'Complete' || p.NumberOfTasksSucceeded !== opts.tasks)
      throw new Error(`describe-latency: job ${JobId} ended ${v.Job.Status} ${JSON.stringify(p)}`);
    const at = (s: string): number => Date.parse(v.StatusHistory.find((e) => e.status === s)?.at ?? '');
    const jobTps = opts.tasks / ((at('Completing') - at('Active')) / 1000);
    const full = { ...w, jobTps };
    windows.push(full);
    log(full);
  };
  const log = (w: Window): void =>
    ctx.log(
      `  r${w.round} ${w.loaded ? 'loaded' : 'idle  '}  ${w.latencies.length} DescribeJob in ${(w.ms / 1000).toFixed(1)} s: p50 ${fmtMs(percentile(w.latencies, 50))} ms, p99 ${fmtMs(percentile(w.latencies, 99))} ms, max ${fmtMs(Math.max(...w.latencies))} ms, ${w.errors.length} errors; server event-loop delay p99 ${fmtMs(w.loop?.p99 ?? Number.NaN)} ms, max ${fmtMs(w.loop?.max ?? Number.NaN)} ms${w.jobTps !== undefined ? `; job ${w.jobTps.toFixed(0)} tasks/s` : ''}`,
    );

  for (let r = 1; r <= rounds; r++) await ctx.alternate(r, [() => idle(r), () => loaded(r)]);

  const side = (isLoaded: boolean): Window[] => windows.filter((w) => w.loaded === isLoaded);
  const row = (name: string, ws: Window[]): string[] => {
    const l = ws.flatMap((w) => w.latencies);
    return [
      name,
      String(l.length),
      ws.map((w) => (w.ms / 1000).toFixed(1)).join(' + '),
      fmtMs(percentile(l, 50)),
      fmtMs(percentile(l, 95)),
      fmtMs(percentile(l, 99)),
      fmtMs(l.length > 0 ? Math.max(...l) : Number.NaN),
      String(ws.reduce((n, w) => n + w.errors.length, 0)),
      ws.map((w) => fmtMs(w.loop?.max ?? Number.NaN)).join(', '),
    ];
  };
  const idleL = side(false).flatMap((w) => w.latencies);
  const loadL = side(true).flatMap((w) => w.latencies);
  const cut = side(true).filter((w) => w.ms < opts.seconds * 1000 - 1000);
  const errors = windows.flatMap((w) => w.errors);
  return [
    '',
    `DescribeJob through the S3 Control API (AWS SDK S3ControlClient), ${opts.rate} req/s, ${opts.seconds} s windows, ${rounds} round(s) per side, pooled; latencies in ms`,
    table(
      ['side', 'requests', 'window s', 'p50', 'p95', 'p99', 'max', 'errors', 'server event-loop delay max per window'],
      [
        row('idle (a finished job)', side(false)),
        row(
          `while a ${opts.tasks}-task tagging job runs (${side(true)
            .map((w) => w.jobTps?.toFixed(0))
            .join(', ')} tasks/s)`,
          side(true),
        ),
      ],
    ),
    `loaded ÷ idle: p50 ${ratio(percentile(loadL, 50), percentile(idleL, 50))}, p99 ${ratio(percentile(loadL, 99), percentile(idleL, 99))}${cut.length > 0 ? `; ${cut.length} loaded window(s) cut short: the job left Active first (raise --describe-tasks)` : ''}${errors.length > 0 ? `; errors: ${[...new Set(errors)].slice(0, 5).join(', ')}` : ''}`,
  ];
}
