// Benchmark scenario `observers`: what watching a job costs the engine. The same S3PutObjectTagging
// job over the --objects keys runs (a) with nobody watching and (b) with 20 SSE clients on the job's
// stream (GET /api/v1/jobs/:id/events), 5 on the account's (GET /api/v1/events), a /metrics scrape
// every 250 ms and `s3batch watch --json` as a subprocess polling DescribeJob; the bare AWS SDK
// tagging loop of the same run is the baseline of both. Bare, quiet and observed runs alternate
// (A B C, C B A, …). Also counted: the events every SSE client received (progress events must stay
// at most 4 per second per job), the bytes sent to the observers, and the scrapes' latency.
//
// The observers run in the bench process (and the CLI as a process of its own) on the same machine:
// on a small box their CPU competes with the server's and the S3 server's, as a real dashboard on the
// same host would.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { basicAuth } from '../test/helpers/json-api.ts';
import type { BenchContext, EngineMeasured, Measured } from './context.ts';
import { runCli } from './cli-run.ts';
import { mib } from './proc.ts';
import { maxPerSecond, observeSse, type SseObservation, type SseObserver } from './sse-observer.ts';
import { table } from './table.ts';

export interface ObserverCounts {
  readonly jobStreams: number;
  readonly accountStreams: number;
  readonly metricsEveryMs: number;
}

export const DEFAULT_OBSERVERS: ObserverCounts = { jobStreams: 20, accountStreams: 5, metricsEveryMs: 250 };
/** The event hub's promise: at most one progress event per job every 250 ms. */
const MAX_PROGRESS_PER_SECOND = 4;

interface ScrapeStats {
  scrapes: number;
  skipped: number;
  bytes: number;
  latenciesMs: number[];
  lastText: string;
}

interface WatchStats {
  readonly code: number | null;
  readonly lines: number;
  readonly bytes: number;
  /** utime + stime of the CLI process, last sampled before it exited. */
  readonly cpuMs: number;
  readonly types: Readonly<Record<string, number>>;
}

interface ObservedRun {
  readonly m: EngineMeasured;
  readonly job: SseObservation[];
  readonly account: SseObservation[];
  readonly scrape: ScrapeStats;
  readonly watch: WatchStats;
}

/** Starts `s3batch watch <job> --json` the way a user's shell would, with the key in S3BATCH_* variables. */
function startWatch(ctx: BenchContext, jobId: string, home: string): { done: Promise<WatchStats> } {
  const done = runCli(ctx, ['watch', jobId, '--json'], home, 50).then(({ code, cpuMs, stdout, stderr }) => {
    const lines = stdout.split('\n').filter((l) => l.trim() !== '');
    const types: Record<string, number> = {};
    for (const l of lines) {
      try {
        const t = String((JSON.parse(l) as { Type?: unknown }).Type);
        types[t] = (types[t] ?? 0) + 1;
      } catch {
        types['not JSON'] = (types['not JSON'] ?? 0) + 1;
      }
    }
    if (code !== 0) ctx.log(`  s3batch watch exited ${code}: ${stderr.trim().slice(-500)}`);
    return { code, lines: lines.length, bytes: Buffer.byteLength(stdout), cpuMs, types };
  });
  return { done };
}

/** Scrapes GET /metrics every `everyMs` (skipping a tick while the previous scrape is in flight). */
function startScraper(url: string, everyMs: number): { stop(): Promise<ScrapeStats> } {
  const stats: ScrapeStats = { scrapes: 0, skipped: 0, bytes: 0, latenciesMs: [], lastText: '' };
  let inFlight: Promise<void> | undefined;
  const tick = (): void => {
    if (inFlight) {
      stats.skipped++;
      return;
    }
    const t0 = performance.now();
    inFlight = fetch(`${url}/metrics`)
      .then(async (res) => {
        const text = await res.text();
        if (!res.ok) throw new Error(`GET /metrics → ${res.status}: ${text.slice(0, 200)}`);
        stats.scrapes++;
        stats.bytes += Buffer.byteLength(text);
        stats.latenciesMs.push(performance.now() - t0);
        stats.lastText = text;
      })
      .finally(() => (inFlight = undefined));
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await inFlight;
      return stats;
    },
  };
}

/** Waits for `p`, or gives up after `ms` (then `onTimeout` ends what it waits for). */
async function within<T>(p: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
  const first = await Promise.race([p, t]);
  clearTimeout(timer);
  if (first === 'timeout') onTimeout();
  return p;
}

async function observedRun(
  ctx: BenchContext,
  label: string,
  request: Record<string, unknown>,
  counts: ObserverCounts,
): Promise<ObservedRun> {
  const auth = { authorization: basicAuth(ctx.api.key!) };
  const home = mkdtempSync(path.join(os.tmpdir(), 's3batch-bench-watch-'));
  const account: SseObserver[] = Array.from({ length: counts.accountStreams }, () =>
    observeSse(`${ctx.server.url}/api/v1/events`, auth),
  );
  const scraper = startScraper(ctx.server.url, counts.metricsEveryMs);
  const job: SseObserver[] = [];
  let watch: { done: Promise<WatchStats> } | undefined;
  try {
    const m = await ctx.measureEngine(label, request, ctx.objects, (jobId) => {
      for (let i = 0; i < counts.jobStreams; i++)
        job.push(observeSse(`${ctx.server.url}/api/v1/jobs/${jobId}/events`, auth));
      watch = startWatch(ctx, jobId, home);
    });
    // The job streams end by themselves after `end`; watch exits within a poll (1 s) of Complete.
    const jobObs = await within(Promise.all(job.map((o) => o.done)), 15_000, () => {
      for (const o of job) o.close();
    });
    const watchStats = await watch!.done;
    const scrape = await scraper.stop();
    for (const o of account) o.close();
    const accountObs = await Promise.all(account.map((o) => o.done));
    return { m, job: jobObs, account: accountObs, scrape, watch: watchStats };
  } finally {
    await scraper.stop();
    for (const o of [...job, ...account]) o.close();
    rmSync(home, { recursive: true, force: true });
  }
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

export async function observersScenario(
  ctx: BenchContext,
  counts: ObserverCounts = DEFAULT_OBSERVERS,
): Promise<string[]> {
  const tagging = (value: string) => ({ S3PutObjectTagging: { TagSet: [{ Key: 'bench', Value: value }] } });
  const bare: Measured[] = [];
  const quiet: EngineMeasured[] = [];
  const observed: ObservedRun[] = [];
  ctx.log(
    `observers: S3PutObjectTagging, ${ctx.objects} objects, ${ctx.rounds} round(s): bare loop, engine with nobody watching, engine with ` +
      `${counts.jobStreams} job SSE + ${counts.accountStreams} account SSE clients, /metrics every ${counts.metricsEveryMs} ms and s3batch watch --json`,
  );
  for (let r = 1; r <= ctx.rounds; r++) {
    await ctx.alternate(r, [
      async () =>
        bare.push(
          await ctx.measureBare(`r${r} bare tagging`, {
            op: 'tagging',
            tasks: ctx.objects,
            tagSet: [{ Key: 'bench', Value: `obs-bare-${r}` }],
          }),
        ),
      async () =>
        quiet.push(
          await ctx.measureEngine(
            `r${r} engine, nobody watching`,
            ctx.request('all', tagging(`obs-quiet-${r}`), `observers-quiet-${r}`),
            ctx.objects,
          ),
        ),
      async () => {
        const o = await observedRun(
          ctx,
          `r${r} engine, observed`,
          ctx.request('all', tagging(`obs-watched-${r}`), `observers-watched-${r}`),
          counts,
        );
        observed.push(o);
        const prog = o.job.map((s) => s.progressAt.length);
        const first = o.job.map((s) => (s.firstEventAt ?? s.endedAt) - s.openedAt);
        ctx.log(
          `    ${o.job.length} job streams: ${Math.min(...prog)}–${Math.max(...prog)} progress events each, first event after ${Math.min(...first).toFixed(0)}–${Math.max(...first).toFixed(0)} ms; /metrics ${o.scrape.scrapes} scrapes; watch --json ${o.watch.lines} lines, exit ${o.watch.code}`,
        );
      },
    ]);
  }

  const bareTps = mean(bare.map((m) => m.tps));
  const quietTps = mean(quiet.map((m) => m.tps));
  const obsTps = mean(observed.map((o) => o.m.tps));
  const out: string[] = [];
  out.push('');
  out.push(
    `Observers: S3PutObjectTagging, ${ctx.objects} objects, mean over ${ctx.rounds} round(s); engine = tasks ÷ Active→Completing; observed = ${counts.jobStreams} job SSE + ` +
      `${counts.accountStreams} account SSE clients, GET /metrics every ${counts.metricsEveryMs} ms, s3batch watch --json (DescribeJob every 1 s)`,
  );
  const row = (name: string, tps: number, ms: readonly (Measured | EngineMeasured)[]): string[] => [
    name,
    tps.toFixed(0),
    (tps / bareTps).toFixed(2),
    name.startsWith('engine') ? (tps / quietTps).toFixed(2) : '',
    mean(ms.map((m) => m.cpuMsPerTask)).toFixed(3),
    ms.every((m) => 'peakRssKiB' in m) ? mib(Math.max(...ms.map((m) => (m as EngineMeasured).peakRssKiB))) : '',
    ms.every((m) => 'wallMs' in m) ? `${(mean(ms.map((m) => (m as EngineMeasured).wallMs)) / 1000).toFixed(2)} s` : '',
  ];
  out.push(
    table(
      [
        'run',
        'tasks/s',
        '÷ bare loop',
        '÷ nobody watching',
        'CPU ms/task (worker / server)',
        'server peak RSS',
        'engine wall',
      ],
      [
        row('bare AWS SDK tagging loop', bareTps, bare),
        row('engine, nobody watching (a)', quietTps, quiet),
        row(
          'engine, observed (b)',
          obsTps,
          observed.map((o) => o.m),
        ),
      ],
    ),
  );
  out.push(
    `(b) ÷ (a) = ${(obsTps / quietTps).toFixed(2)}   runs (a): ${quiet.map((m) => m.tps.toFixed(0)).join(', ')}   runs (b): ${observed.map((o) => o.m.tps.toFixed(0)).join(', ')}   bare: ${bare.map((m) => m.tps.toFixed(0)).join(', ')}`,
  );

  // What the observers received, over every observed run.
  const streamRows = (name: string, obs: readonly SseObservation[]): string[] => {
    const secs = obs.map((s) => (s.endedAt - s.openedAt) / 1000);
    const perSec = obs.map((s, i) => s.progressAt.length / secs[i]!);
    const all = obs.map((s) => Object.values(s.counts).reduce((a, b) => a + b, 0));
    const names = [...new Set(obs.flatMap((s) => Object.keys(s.counts)))].sort();
    const byName = names.map((n) => `${n} ${mean(obs.map((s) => s.counts[n] ?? 0)).toFixed(1)}`).join(', ');
    const bytes = obs.map((s) => s.bytes);
    const first = obs.map((s) => (s.firstEventAt ?? s.endedAt) - s.openedAt);
    return [
      name,
      `${obs.length / Math.max(1, observed.length)} × ${observed.length}`,
      `${mean(secs).toFixed(2)} s`,
      `${mean(first).toFixed(0)} / ${Math.max(...first).toFixed(0)} ms`,
      byName,
      `${mean(all.map((n, i) => n / secs[i]!)).toFixed(2)}`,
      `${mean(perSec).toFixed(2)} / ${Math.max(...perSec).toFixed(2)}`,
      String(Math.max(...obs.map((s) => maxPerSecond(s.progressAt)))),
      kib(mean(bytes)),
      kib(bytes.reduce((a, b) => a + b, 0) / Math.max(1, observed.length)),
    ];
  };
  const jobObs = observed.flatMap((o) => o.job);
  const accObs = observed.flatMap((o) => o.account);
  out.push('');
  out.push(
    'What the observers received (per client, mean over clients and runs; "max in 1 s" = most progress events that arrived within any 1 s)',
  );
  out.push(
    table(
      [
        'stream',
        'clients × runs',
        'open',
        'first event mean / max',
        'events per client',
        'events/s',
        'progress/s mean / max client',
        'max in 1 s',
        'bytes/client',
        'bytes/run, all clients',
      ],
      [
        ...(jobObs.length ? [streamRows('GET /api/v1/jobs/:id/events', jobObs)] : []),
        ...(accObs.length ? [streamRows('GET /api/v1/events (account)', accObs)] : []),
      ],
    ),
  );
  const worstRate = Math.max(
    0,
    ...[...jobObs, ...accObs].map((s) => s.progressAt.length / ((s.endedAt - s.openedAt) / 1000)),
  );
  const worstWindow = Math.max(0, ...[...jobObs, ...accObs].map((s) => maxPerSecond(s.progressAt)));
  const notEnded = jobObs.filter((s) => !s.endedByServer || s.status !== 200).length;
  out.push(
    `progress events per client per second: at most ${worstRate.toFixed(2)} over a stream's life (limit ${MAX_PROGRESS_PER_SECOND}: ${worstRate <= MAX_PROGRESS_PER_SECOND ? 'within' : 'EXCEEDED'}); ` +
      `most in any 1 s window ${worstWindow} (arrival times: events sent 250 ms apart can arrive bunched)` +
      (notEnded
        ? `; ${notEnded} job streams NOT ended by the server with 200`
        : '; every job stream was ended by the server after `end`'),
  );
  const scrapes = observed.map((o) => o.scrape);
  const lat = scrapes.flatMap((s) => s.latenciesMs).sort((a, b) => a - b);
  const watches = observed.map((o) => o.watch);
  const types = [...new Set(watches.flatMap((w) => Object.keys(w.types)))].sort();
  out.push(
    `GET /metrics: ${mean(scrapes.map((s) => s.scrapes)).toFixed(0)} scrapes per run (${mean(scrapes.map((s) => s.skipped)).toFixed(0)} ticks skipped while one was in flight), ` +
      `${kib(mean(scrapes.map((s) => s.bytes / Math.max(1, s.scrapes))))} each, latency median ${(lat[Math.floor(lat.length / 2)] ?? 0).toFixed(1)} ms, ` +
      `p95 ${(lat[Math.floor(lat.length * 0.95)] ?? 0).toFixed(1)} ms, max ${(lat[lat.length - 1] ?? 0).toFixed(1)} ms; ` +
      `s3batch_tasks_total in the last scrape: ${scrapes.every((s) => s.lastText.includes('s3batch_tasks_total{')) ? 'yes' : 'NO'}`,
  );
  out.push(
    `s3batch watch --json: exit ${[...new Set(watches.map((w) => w.code))].join('/')}, ${mean(watches.map((w) => w.lines)).toFixed(0)} lines per run ` +
      `(${types.map((t) => `${t} ${mean(watches.map((w) => w.types[t] ?? 0)).toFixed(1)}`).join(', ')}), ${kib(mean(watches.map((w) => w.bytes)))}, ` +
      `CLI CPU ${mean(watches.map((w) => w.cpuMs)).toFixed(0)} ms per run (process start included)`,
  );
  return out;
}
