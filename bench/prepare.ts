// Benchmark scenario `prepare`: how fast the engine prepares a CSV manifest (one GetObject streamed
// through the row splitter, every row checked, the chunk index written), and whether its memory grows
// with the manifest. For each --prepare-rows size, a manifest of that many rows (the --objects keys
// repeated) is put in the source bucket; then, --rounds times in alternating order:
//   - engine: an S3PutObjectTagging job with ConfirmationRequired, so it stops in Suspended once
//     prepared (no task runs); rows/s = rows ÷ (Preparing → Suspended) from StatusHistory, the server's
//     CPU and peak RSS (VmHWM reset at the start) over the job; then the job is cancelled;
//   - floor: the bare worker GETs the manifest and counts its line ends (reading the bytes and finding
//     the rows, nothing else);
//   - csv-parse: the bare worker GETs it through csv-parse with `info` (info.bytes gives the row end
//     offsets a chunk index needs): the library the hand-written splitter is measured against.
import type { JobView } from '../test/helpers/json-api.ts';
import type { BenchContext, Measured } from './context.ts';
import { mean } from './format.ts';
import { cpuMs, memory, mib, RssWatch } from './proc.ts';
import { table } from './table.ts';
import { tagging } from './tagging-copy.ts';

interface EnginePrepare {
  readonly tps: number;
  readonly ms: number;
  readonly cpuMsPer1k: number;
  readonly idleRssKiB: number;
  readonly peakRssKiB: number;
}

const fmtRate = (n: number): string => `${(n / 1e6).toFixed(2)} M`;

async function prepareOnce(ctx: BenchContext, name: string, rows: number): Promise<EnginePrepare> {
  const pid = ctx.server.pid;
  const idleRssKiB = memory(pid).rssKiB;
  const rss = new RssWatch(pid);
  const cpu0 = cpuMs(pid);
  let view: JobView;
  let jobId: string;
  try {
    const request = { ...ctx.request(name, tagging(name), name), ConfirmationRequired: true };
    jobId = (await ctx.api.createJob(request)).JobId;
    for (;;) {
      view = await ctx.api.describe(jobId);
      if (['Suspended', 'Failed', 'Cancelled', 'Complete'].includes(view.Job.Status)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    rss.stop();
  }
  const cpu = cpuMs(pid) - cpu0;
  const total = view.Job.ProgressSummary.TotalNumberOfTasks;
  if (view.Job.Status !== 'Suspended' || total !== rows) {
    throw new Error(
      `prepare ${name}: job ${jobId} ended ${view.Job.Status} with ${total} tasks: ${JSON.stringify(view.Job.FailureReasons)}`,
    );
  }
  const at = (status: string): number => Date.parse(view.StatusHistory.find((e) => e.status === status)!.at);
  const ms = at('Suspended') - at('Preparing');
  await ctx.api.updateStatus(jobId, 'Cancelled');
  await ctx.api.waitFor(jobId, 'Cancelled');
  const m: EnginePrepare = {
    tps: rows / (ms / 1000),
    ms,
    cpuMsPer1k: (cpu / rows) * 1000,
    idleRssKiB,
    peakRssKiB: rss.sample().peakKiB,
  };
  ctx.log(
    `  engine prepare ${rows} rows  ${fmtRate(m.tps)} rows/s  ${ms} ms  CPU ${m.cpuMsPer1k.toFixed(1)} ms/1k rows  RSS idle ${mib(idleRssKiB)}, peak ${mib(m.peakRssKiB)}`,
  );
  return m;
}

/** Runs the scenario for each manifest size; returns its tables. */
export async function prepareScenario(ctx: BenchContext, sizes: readonly number[]): Promise<string[]> {
  const out: string[] = [''];
  out.push(
    'Preparing a CSV manifest (rows/s; engine = rows ÷ Preparing → Suspended; floor = GetObject + counting line ends; csv-parse = GetObject + csv-parse with info)',
  );
  const summary: string[][] = [];
  const runs: string[][] = [];
  for (const rows of sizes) {
    const name = `prepare-${rows}`;
    await ctx.manifest(name, rows);
    ctx.log(`prepare: a ${rows}-row CSV manifest`);
    const engine: EnginePrepare[] = [];
    const floor: Measured[] = [];
    const csv: Measured[] = [];
    const manifest = { bucket: ctx.buckets.src, keys: [`manifests/${name}.csv`], tasks: rows };
    for (let round = 1; round <= ctx.rounds; round++) {
      await ctx.alternate(round, [
        async () => engine.push(await prepareOnce(ctx, name, rows)),
        async () => floor.push(await ctx.measureBare(`floor ${rows}`, { op: 'manifest-lines', ...manifest })),
        async () => csv.push(await ctx.measureBare(`csv-parse ${rows}`, { op: 'manifest-csv-parse', ...manifest })),
      ]);
    }
    for (const m of [...floor, ...csv]) {
      if (m.tasks !== rows) throw new Error(`${m.label}: found ${m.tasks} rows, expected ${rows}`);
    }
    const e = mean(engine.map((m) => m.tps));
    const f = mean(floor.map((m) => m.tps));
    const c = mean(csv.map((m) => m.tps));
    summary.push([
      String(rows),
      fmtRate(e),
      fmtRate(f),
      fmtRate(c),
      (e / f).toFixed(2),
      (e / c).toFixed(2),
      mean(engine.map((m) => m.cpuMsPer1k)).toFixed(1),
      mean(floor.map((m) => m.cpuMsPerTask * 1000)).toFixed(1),
      mean(csv.map((m) => m.cpuMsPerTask * 1000)).toFixed(1),
      mib(Math.max(...engine.map((m) => m.idleRssKiB))),
      mib(Math.max(...engine.map((m) => m.peakRssKiB))),
    ]);
    engine.forEach((m, i) => {
      runs.push([
        String(rows),
        String(i + 1),
        fmtRate(m.tps),
        fmtRate(floor[i]!.tps),
        fmtRate(csv[i]!.tps),
        mib(m.peakRssKiB),
      ]);
    });
  }
  out.push(
    table(
      [
        'rows',
        'engine rows/s',
        'floor rows/s',
        'csv-parse rows/s',
        'engine÷floor',
        'engine÷csv-parse',
        'engine CPU ms/1k rows',
        'floor CPU',
        'csv-parse CPU',
        'server RSS idle',
        'server peak RSS',
      ],
      summary,
    ),
  );
  out.push('');
  out.push(table(['rows', 'round', 'engine', 'floor', 'csv-parse', 'server peak RSS'], runs));
  return out;
}
