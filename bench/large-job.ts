// Benchmark scenario `large`: does the server's memory grow with a job's size? One S3PutObjectTagging
// job over --large-rows rows (the --objects keys repeated, so every task succeeds: rows of missing
// keys would fail and trip the 50 % failure threshold), with the server's RSS sampled idle, at ~10 %
// and ~100 % of its progress, and after Complete.
import type { BenchContext } from './context.ts';
import { secs } from './format.ts';
import { memory, mib } from './proc.ts';
import { table } from './table.ts';
import { tagging } from './tagging-copy.ts';

interface Sample {
  readonly pct: number;
  readonly rssKiB: number;
  readonly peakKiB: number;
}

/** Runs the large job over `rows` rows; returns its RSS table and summary line. */
export async function largeJobScenario(ctx: BenchContext, rows: number): Promise<string[]> {
  await ctx.manifest('large', rows);
  ctx.log(`large S3PutObjectTagging job: ${rows} rows (the ${ctx.objects} keys repeated)`);
  const idleRssKiB = memory(ctx.server.pid).rssKiB;
  let at10: Sample | undefined;
  let at100: Sample | undefined;
  const m = await ctx.measureEngine(
    'large engine tagging',
    ctx.request('large', tagging('large'), 'large'),
    rows,
    undefined,
    (view, rss) => {
      const p = view.Job.ProgressSummary;
      const total = p.TotalNumberOfTasks || rows;
      const pct = (100 * (p.NumberOfTasksSucceeded + p.NumberOfTasksFailed)) / total;
      if (at10 === undefined && pct >= 10) at10 = { pct, ...rss.sample() };
      if (at100 === undefined && (pct >= 99.5 || view.Job.Status === 'Completing' || view.Job.Status === 'Complete'))
        at100 = { pct, ...rss.sample() };
    },
  );

  const out: string[] = [];
  out.push('');
  out.push(
    `Large job: S3PutObjectTagging, ${rows} rows (the ${ctx.objects} keys × ${(rows / ctx.objects).toFixed(0)}), server RSS`,
  );
  const at = (x: Sample | undefined): [string, string] =>
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
  return out;
}
