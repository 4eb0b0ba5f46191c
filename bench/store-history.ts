// Benchmark scenario `store-history` (issue 13, part 1): the server with a job store holding
// --history-jobs ended jobs (default 20,000, about 220 a day over the 90-day retention) against the
// same server on an empty store, in the same run. The history is cloned from a real record: a
// 10-row tagging job is run on a fresh server first and its stored record (about 1.5 KB) copied
// with new ids, tokens and times into a version-1 jobs.json, as s3batch before the archive wrote
// it; the first start on it migrates it (timed on its own, not a round). Then, per round and side
// (alternating), a fresh `s3batch serve` process on that data folder:
//   - start to serving: spawn → the "listening on" banner (Node's own start included, both sides);
//   - RSS once serving, and after the two jobs below;
//   - CreateJob → Complete of a 10-row tagging job, seen by polling DescribeJob every 10 ms: the
//     fresh server's first job (it loads the task path) and the next one (the figure compared);
//   - idle DescribeJob of that (ended) job through the S3 Control API (AWS SDK S3ControlClient) at
//     --history-rate per second for --history-seconds, open loop (a slow answer does not delay the
//     next request).
// docs/job-lifecycle.md#job-store describes the store's layout.
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { DescribeJobCommand } from '@aws-sdk/client-s3-control';
import { JsonApi } from '../test/helpers/json-api.ts';
import type { S3ServerInfo } from '../test/helpers/s3-servers.ts';
import { hostPrefixClient } from '../test/helpers/s3control.ts';
import { TEST_API_KEY, tempDataDir } from '../test/helpers/server-process.ts';
import type { BenchContext } from './context.ts';
import { startEngineServer, type EngineServer } from './engine-server.ts';
import { LowdbJobStore } from '../src/storage/lowdb-job-store.ts';
import { eventLoopDelay, fmtMs, percentile, ratio } from './latency.ts';
import { cpuMs, memory, mib } from './proc.ts';
import { table } from './table.ts';
import { tagging } from './tagging-copy.ts';

export interface StoreHistoryOptions {
  readonly s3: S3ServerInfo;
  /** Ended jobs in the history store. */
  readonly jobs: number;
  /** DescribeJob requests per second. */
  readonly rate: number;
  /** DescribeJob window, seconds. */
  readonly seconds: number;
}

interface Sample {
  readonly side: 'empty' | 'history';
  readonly round: number;
  readonly startMs: number;
  readonly rssStartKiB: number;
  /** The first job of the fresh server: loads and compiles the task path (a worker thread's start with threads). */
  readonly firstJobMs: number;
  /** The next job, on the warm server: the store's share of a job. */
  readonly jobMs: number;
  readonly rssAfterKiB: number;
  readonly latencies: number[];
  readonly errors: number;
  readonly loadavg: number;
  /** The server's CPU time (user + system, ms): to serving, over the job, per DescribeJob (steadier than wall time on a loaded box). */
  readonly cpuStartMs: number;
  readonly cpuJobMs: number;
  readonly cpuPerDescribeMs: number;
  /** The server's event-loop delay over the DescribeJob window (its /metrics), ms. */
  readonly loop: { readonly p99: number; readonly max: number } | undefined;
}

const ROWS = 10;

export async function storeHistoryScenario(ctx: BenchContext, opts: StoreHistoryOptions): Promise<string[]> {
  await ctx.manifest('store-history', ROWS);
  const request = (tag: string): Record<string, unknown> =>
    ctx.request('store-history', tagging(tag), `store-history-${tag}`);
  const dirs: string[] = [];
  const freshDir = (): string => {
    const d = tempDataDir('s3batch-bench-history-');
    dirs.push(d);
    return d;
  };
  ctx.onCleanup(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const start = async (dataDir: string): Promise<{ server: EngineServer; ms: number }> => {
    const t0 = performance.now();
    const server = await startEngineServer({ s3: opts.s3, dataDir, serveArgs: [] });
    const ms = performance.now() - t0;
    ctx.onCleanup(() => server.stop());
    return { server, ms };
  };
  const runJob = async (api: JsonApi, tag: string): Promise<{ jobId: string; ms: number }> => {
    const t0 = performance.now();
    const { JobId } = await api.createJob(request(tag));
    const v = await api.waitFor(JobId, ['Complete', 'Failed', 'Cancelled'], 60_000, 10);
    const ms = performance.now() - t0;
    if (v.Job.Status !== 'Complete') throw new Error(`store-history: job ${JobId} ended ${v.Job.Status}`);
    return { jobId: JobId, ms };
  };

  // 1. A real record: a 10-row tagging job on a fresh server, read back from its archive.
  const seedDir = freshDir();
  const seed = await start(seedDir);
  const seedJob = await runJob(new JsonApi(seed.server.url), 'seed');
  await seed.server.stop();
  const archiveLines = readFileSync(path.join(seedDir, 'jobs.archive.jsonl'), 'utf8').trim().split('\n');
  const record = (JSON.parse(archiveLines[archiveLines.length - 1]!) as { job: Record<string, unknown> }).job;
  if (record.id !== seedJob.jobId) throw new Error('store-history: the seed job is not the archive last line');
  const recordBytes = Buffer.byteLength(JSON.stringify(record));

  // 2. The history: a version-1 jobs.json of clones, ended over the last --history-jobs × 5 min.
  const historyDir = freshDir();
  const now = Date.now();
  const jobs: Record<string, unknown> = {};
  const tokens: Record<string, unknown> = {};
  for (let i = 0; i < opts.jobs; i++) {
    const id = randomUUID();
    const token = `history-${i}`;
    const created = new Date(now - (opts.jobs - i) * 300_000);
    const ended = new Date(created.getTime() + 1000).toISOString();
    const request = { ...(record.request as Record<string, unknown>), ClientRequestToken: token };
    const requestHash = `${String(record.requestHash).slice(0, 40)}${String(i).padStart(24, '0')}`;
    jobs[id] = {
      ...record,
      id,
      creationTime: created.toISOString(),
      request,
      clientRequestToken: token,
      requestHash,
      terminationDate: ended,
      history: (record.history as { status: string }[]).map((h, k) => ({
        status: h.status,
        at: new Date(created.getTime() + k * 100).toISOString(),
      })),
    };
    tokens[`${TEST_API_KEY.accountId}\u0000${token}`] = {
      accountId: TEST_API_KEY.accountId,
      token,
      requestHash,
      jobId: id,
    };
  }
  const v1 = JSON.stringify({ version: 1, jobs, tokens }, null, 2);
  writeFileSync(path.join(historyDir, 'jobs.json'), v1);
  ctx.log(
    `store-history: ${opts.jobs} ended jobs cloned from a real ${recordBytes}-byte record: a ${(v1.length / 1e6).toFixed(1)} MB version-1 jobs.json`,
  );
  const migration = await start(historyDir);
  const migrationRss = memory(migration.server.pid).rssKiB;
  await migration.server.stop();
  ctx.log(`  first start, migrating it: ${migration.ms.toFixed(0)} ms to serving, RSS ${mib(migrationRss)}`);
  // The store's own share of a start: opening it in this process (no server on it meanwhile).
  const opens: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const store = await LowdbJobStore.open(path.join(historyDir, 'jobs.json'));
    opens.push(performance.now() - t0);
    await store.close();
  }
  const openMs = percentile(opens, 50);
  ctx.log(`  opening the migrated store in this process: ${opens.map((ms) => ms.toFixed(0)).join(', ')} ms`);

  // 3. The rounds: empty and history alternately, a fresh process each.
  const samples: Sample[] = [];
  const measure = async (side: 'empty' | 'history', round: number): Promise<void> => {
    const { server, ms: startMs } = await start(side === 'empty' ? freshDir() : historyDir);
    const cpuStartMs = cpuMs(server.pid);
    const loadavg = os.loadavg()[0]!;
    await new Promise((r) => setTimeout(r, 500)); // what start-up left to do (the sweep, GC) settles
    const rssStartKiB = memory(server.pid).rssKiB;
    const api = new JsonApi(server.url);
    // The first job pays for loading the task path (and starting a worker thread); the second is what a
    // running server's job costs, which is where the store shows.
    const { ms: firstJobMs } = await runJob(api, `${side}-${round}-first`);
    const cpuBeforeJob = cpuMs(server.pid);
    const { jobId, ms: jobMs } = await runJob(api, `${side}-${round}`);
    const cpuJobMs = cpuMs(server.pid) - cpuBeforeJob;
    const rssAfterKiB = memory(server.pid).rssKiB;
    const client = hostPrefixClient(server.url, TEST_API_KEY);
    const latencies: number[] = [];
    let errors = 0;
    const inFlight: Promise<void>[] = [];
    const interval = 1000 / opts.rate;
    await eventLoopDelay(server.url); // resets the server's histogram: the next scrape covers the window
    const cpuBeforeDescribe = cpuMs(server.pid);
    const t0 = performance.now();
    for (let i = 0; i < opts.rate * opts.seconds; i++) {
      const wait = t0 + i * interval - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const s = performance.now();
      inFlight.push(
        client.send(new DescribeJobCommand({ AccountId: TEST_API_KEY.accountId, JobId: jobId })).then(
          () => void latencies.push(performance.now() - s),
          () => void errors++,
        ),
      );
    }
    await Promise.all(inFlight);
    const cpuPerDescribeMs = (cpuMs(server.pid) - cpuBeforeDescribe) / Math.max(1, latencies.length);
    const loop = await eventLoopDelay(server.url);
    client.destroy();
    await server.stop();
    const sample: Sample = {
      side,
      round,
      startMs,
      rssStartKiB,
      firstJobMs,
      jobMs,
      rssAfterKiB,
      latencies,
      errors,
      loadavg,
      loop,
      cpuStartMs,
      cpuJobMs,
      cpuPerDescribeMs,
    };
    samples.push(sample);
    ctx.log(
      `  r${round} ${side.padEnd(7)} start ${startMs.toFixed(0)} ms, RSS ${mib(rssStartKiB)} → ${mib(rssAfterKiB)}, first job ${firstJobMs.toFixed(0)} ms, next job ${jobMs.toFixed(0)} ms, DescribeJob p50 ${fmtMs(percentile(latencies, 50))} p99 ${fmtMs(percentile(latencies, 99))} ms (${errors} errors), server event-loop delay p99 ${fmtMs(loop?.p99 ?? Number.NaN)} max ${fmtMs(loop?.max ?? Number.NaN)} ms; server CPU to serving ${cpuStartMs} ms, job ${cpuJobMs} ms, per DescribeJob ${cpuPerDescribeMs.toFixed(2)} ms; load ${loadavg.toFixed(1)}`,
    );
  };
  ctx.log(
    `store-history: empty vs ${opts.jobs} ended jobs, ${ctx.rounds} round(s) alternating; DescribeJob at ${opts.rate}/s for ${opts.seconds} s`,
  );
  for (let r = 1; r <= ctx.rounds; r++)
    await ctx.alternate(r, [() => measure('empty', r), () => measure('history', r)]);

  const of = (side: string): Sample[] => samples.filter((s) => s.side === side);
  const median = (xs: number[]): number => percentile(xs, 50);
  const summary = (side: string) => {
    const ss = of(side);
    const l = ss.flatMap((s) => s.latencies);
    return {
      p50: percentile(l, 50),
      p99: percentile(l, 99),
      firstJob: median(ss.map((s) => s.firstJobMs)),
      job: median(ss.map((s) => s.jobMs)),
      rssStart: median(ss.map((s) => s.rssStartKiB)),
      rssAfter: median(ss.map((s) => s.rssAfterKiB)),
      start: median(ss.map((s) => s.startMs)),
      errors: ss.reduce((n, s) => n + s.errors, 0),
      loopMax: Math.max(...ss.map((s) => s.loop?.max ?? Number.NaN)),
      cpuStart: median(ss.map((s) => s.cpuStartMs)),
      cpuJob: median(ss.map((s) => s.cpuJobMs)),
      cpuDescribe: median(ss.map((s) => s.cpuPerDescribeMs)),
    };
  };
  const e = summary('empty');
  const h = summary('history');
  const row = (name: string, s: ReturnType<typeof summary>): string[] => [
    name,
    `${fmtMs(s.p50)} / ${fmtMs(s.p99)}`,
    `${s.job.toFixed(0)} ms (first ${s.firstJob.toFixed(0)} ms)`,
    `${mib(s.rssStart)} / ${mib(s.rssAfter)}`,
    `${s.start.toFixed(0)} ms`,
    fmtMs(s.loopMax),
    `${s.cpuStart.toFixed(0)} / ${s.cpuJob.toFixed(0)} / ${s.cpuDescribe.toFixed(2)}`,
    String(s.errors),
  ];
  return [
    '',
    `Job store with history: ${opts.jobs} ended jobs (cloned from a ${recordBytes}-byte record) vs an empty store, ${ctx.rounds} round(s), medians (DescribeJob percentiles pooled); load average ${samples.map((s) => s.loadavg.toFixed(1)).join(', ')}`,
    table(
      [
        'store',
        `idle DescribeJob p50 / p99 ms (${opts.rate}/s, ${opts.seconds} s)`,
        `CreateJob → Complete, ${ROWS} rows: next job (first job)`,
        'RSS at start / after the job',
        'start to serving',
        'event-loop delay max ms',
        'server CPU ms: to serving / job / per DescribeJob',
        'errors',
      ],
      [row('empty', e), row(`${opts.jobs} ended jobs`, h)],
    ),
    `history − empty: RSS at start ${mib(h.rssStart - e.rssStart)}, after the job ${mib(h.rssAfter - e.rssAfter)}; history ÷ empty: DescribeJob p99 ${ratio(h.p99, e.p99)}, job ${ratio(h.job, e.job)}, start ${ratio(h.start, e.start)}; server CPU history − empty: to serving ${(h.cpuStart - e.cpuStart).toFixed(0)} ms, job ${(h.cpuJob - e.cpuJob).toFixed(0)} ms, per DescribeJob ${(h.cpuDescribe - e.cpuDescribe).toFixed(2)} ms; first start on the version-1 file (migration) ${migration.ms.toFixed(0)} ms; opening the store alone ${openMs.toFixed(0)} ms`,
  ];
}
