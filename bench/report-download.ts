// Benchmark scenario `report-download`: a large completion report fetched three ways, in the same
// run from the same report bucket:
//   - bare:  GetObject of the report's objects (result CSV + manifest.json) streamed to disk, with the
//            engine's own createS3Client (bench/bare-worker.ts, get-to-disk): the baseline;
//   - HTTP:  the same files through the server, GET /api/v1/jobs/:id/report/files/:name with fetch,
//            streamed to disk from the same worker process (http-to-disk);
//   - CLI:   `s3batch report <job> --out DIR` as a subprocess (streamed, MD5-checked; its process
//            start is in its time, and a `s3batch describe-job` of the same job is timed as reference).
// Sides alternate over the rounds (A B C, C B A, …). The report comes from a LambdaInvoke job whose
// HTTP function (in the bench process) answers every task Succeeded with a long resultString: tasks
// cost next to nothing and none fails (a job of missing keys would trip the 50 % failure threshold),
// and each report row is ~--report-row-bytes long. Two or more report sizes show whether the
// server's memory during a download follows the report's size: its VmHWM is reset before each
// download and VmRSS sampled every 20 ms.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { basicAuth } from '../test/helpers/json-api.ts';
import type { BareDownload } from './bare-worker.ts';
import type { BenchContext } from './context.ts';
import { startFunctionServer } from './function-server.ts';
import { runCli } from './cli-run.ts';
import { cpuMs, memory, mib, RssWatch } from './proc.ts';
import { table } from './table.ts';

const MiB = 1024 * 1024;

export interface ReportDownloadOptions {
  /** Report sizes in rows (tasks of the job producing each report). */
  readonly rows: readonly number[];
  /** Length of the function's resultString, which ends up in every report row. */
  readonly resultStringBytes: number;
}

type Side = 'bare GetObject → disk' | 'GET …/report/files/:name → disk' | 's3batch report --out';
const SIDES: readonly Side[] = ['bare GetObject → disk', 'GET …/report/files/:name → disk', 's3batch report --out'];

interface Download {
  readonly side: Side;
  readonly bytes: number;
  readonly ms: number;
  readonly clientCpuMs: number;
  readonly serverCpuMs: number;
  readonly serverRssBeforeKiB: number;
  readonly serverPeakKiB: number;
}

interface SizeResult {
  readonly rows: number;
  readonly bytes: number;
  readonly files: number;
  readonly jobSecs: number;
  readonly runs: Download[];
  /** `s3batch describe-job` wall time and CPU: the CLI's process start + one request. */
  readonly cliReference: { ms: number; cpuMs: number };
}

/** Runs the CLI with the key in S3BATCH_* variables; resolves with its wall time and last-sampled CPU. */
async function runCliOk(
  ctx: BenchContext,
  args: readonly string[],
  home: string,
): Promise<{ ms: number; cpuMs: number; stdout: string }> {
  const run = await runCli(ctx, args, home, 20);
  if (run.code !== 0)
    throw new Error(`s3batch ${args.join(' ')} exited ${run.code}: ${run.stderr.trim().slice(-1000)}`);
  return run;
}

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
}

export async function reportDownloadScenario(ctx: BenchContext, options: ReportDownloadOptions): Promise<string[]> {
  const fn = await startFunctionServer('r'.repeat(options.resultStringBytes));
  ctx.onCleanup(() => fn.close());
  const home = mkdtempSync(path.join(os.tmpdir(), 's3batch-bench-report-'));
  ctx.onCleanup(() => rmSync(home, { recursive: true, force: true }));
  const results: SizeResult[] = [];

  for (const rows of options.rows) {
    const name = `report-${rows}`;
    await ctx.manifest(name, rows);
    ctx.log(
      `report-download: LambdaInvoke job of ${rows} tasks (resultString of ${options.resultStringBytes} B) to produce its report`,
    );
    let jobId = '';
    const job = await ctx.measureEngine(
      `report job, ${rows} rows`,
      ctx.request(name, { LambdaInvoke: { FunctionArn: fn.url } }, `report-dl-${rows}`),
      rows,
      (id) => (jobId = id),
    );
    const listing = await ctx.api.call<{
      Report: {
        Bucket: string;
        Manifest: { Key: string; Url: string };
        Files: { Name: string; Key: string; Rows: number; Url: string }[];
      } | null;
    }>('GET', `/jobs/${jobId}/report`);
    const report = listing.Report;
    if (!report) throw new Error(`report-download: job ${jobId} has no report`);
    const downloads: BareDownload[] = [
      ...report.Files.map((f) => ({
        name: f.Name,
        bucket: report.Bucket,
        key: f.Key,
        url: `${ctx.server.url}${f.Url}`,
      })),
      {
        name: 'manifest.json',
        bucket: report.Bucket,
        key: report.Manifest.Key,
        url: `${ctx.server.url}${report.Manifest.Url}`,
      },
    ];
    const listedRows = report.Files.reduce((s, f) => s + f.Rows, 0);
    if (listedRows !== rows) throw new Error(`report-download: the report lists ${listedRows} rows, expected ${rows}`);

    const runs: Download[] = [];
    let bytes = 0;
    const measure = async (side: Side, r: number): Promise<void> => {
      const outDir = mkdtempSync(path.join(home, 'out-'));
      const rssBefore = memory(ctx.server.pid).rssKiB;
      const rss = new RssWatch(ctx.server.pid);
      const server0 = cpuMs(ctx.server.pid);
      let d: Omit<Download, 'serverCpuMs' | 'serverRssBeforeKiB' | 'serverPeakKiB'>;
      try {
        if (side === 's3batch report --out') {
          const cli = await runCliOk(ctx, ['report', jobId, '--out', outDir], home);
          d = { side, bytes: dirBytes(outDir), ms: cli.ms, clientCpuMs: cli.cpuMs };
        } else {
          const cpu0 = cpuMs(ctx.bare.pid);
          const done = await ctx.bare.request({
            type: 'run',
            op: side === 'bare GetObject → disk' ? 'get-to-disk' : 'http-to-disk',
            concurrency: 1,
            tasks: downloads.length,
            downloads,
            outDir,
            headers: { authorization: basicAuth(ctx.api.key!) },
          });
          if (done.failed > 0) throw new Error(`${side}: ${done.firstError}`);
          d = { side, bytes: done.bytes ?? 0, ms: done.ms, clientCpuMs: cpuMs(ctx.bare.pid) - cpu0 };
        }
      } finally {
        rss.stop();
        rmSync(outDir, { recursive: true, force: true });
      }
      const run: Download = {
        ...d,
        serverCpuMs: cpuMs(ctx.server.pid) - server0,
        serverRssBeforeKiB: rssBefore,
        serverPeakKiB: rss.sample().peakKiB,
      };
      if (bytes === 0) bytes = run.bytes;
      else if (run.bytes !== bytes) throw new Error(`${side}: wrote ${run.bytes} bytes, the other sides ${bytes}`);
      runs.push(run);
      ctx.log(
        `  r${r} ${side.padEnd(32)} ${(run.bytes / MiB).toFixed(1)} MiB in ${(run.ms / 1000).toFixed(2)} s = ${(run.bytes / MiB / (run.ms / 1000)).toFixed(1)} MiB/s; ` +
          `client CPU ${run.clientCpuMs.toFixed(0)} ms, server CPU ${run.serverCpuMs.toFixed(0)} ms, RSS ${mib(run.serverRssBeforeKiB)} before, peak ${mib(run.serverPeakKiB)}`,
      );
    };
    for (let r = 1; r <= ctx.rounds; r++) {
      await ctx.alternate(
        r,
        SIDES.map((side) => () => measure(side, r)),
      );
    }
    const ref = await runCliOk(ctx, ['describe-job', jobId], home);
    results.push({
      rows,
      bytes,
      files: downloads.length,
      jobSecs: job.wallMs / 1000,
      runs,
      cliReference: { ms: ref.ms, cpuMs: ref.cpuMs },
    });
  }

  const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const out: string[] = [];
  out.push('');
  out.push(
    `Report download: completion reports of LambdaInvoke jobs (resultString ${options.resultStringBytes} B per row), one file after the other to disk; ` +
      `mean over ${ctx.rounds} round(s), sides alternating; MiB/s = bytes ÷ wall time of the side (the CLI's includes its process start)`,
  );
  const rowsOut: string[][] = [];
  for (const s of results) {
    const rate = (side: Side): number =>
      mean(s.runs.filter((d) => d.side === side).map((d) => d.bytes / MiB / (d.ms / 1000)));
    const bareRate = rate('bare GetObject → disk');
    for (const side of SIDES) {
      const ds = s.runs.filter((d) => d.side === side);
      rowsOut.push([
        side === SIDES[0]
          ? `${s.rows.toLocaleString('en-US')} rows, ${(s.bytes / MiB).toFixed(1)} MiB, ${s.files} files`
          : '',
        side,
        `${(mean(ds.map((d) => d.ms)) / 1000).toFixed(2)} s`,
        rate(side).toFixed(1),
        (rate(side) / bareRate).toFixed(2),
        (mean(ds.map((d) => d.clientCpuMs)) / (s.bytes / MiB)).toFixed(1),
        (mean(ds.map((d) => d.serverCpuMs)) / (s.bytes / MiB)).toFixed(1),
        mib(mean(ds.map((d) => d.serverRssBeforeKiB))),
        mib(Math.max(...ds.map((d) => d.serverPeakKiB))),
        side === 's3batch report --out'
          ? (s.bytes / MiB / Math.max(0.001, (mean(ds.map((d) => d.ms)) - s.cliReference.ms) / 1000)).toFixed(1)
          : '',
      ]);
    }
  }
  out.push(
    table(
      [
        'report',
        'side',
        'wall',
        'MiB/s',
        '÷ bare',
        'client CPU ms/MiB',
        'server CPU ms/MiB',
        'server RSS before',
        'server peak RSS',
        'CLI MiB/s less its start',
      ],
      rowsOut,
    ),
  );
  out.push(
    `server peak RSS while the report went through it (HTTP and CLI sides): ` +
      results
        .map(
          (s) =>
            `${s.rows.toLocaleString('en-US')} rows (${(s.bytes / MiB).toFixed(1)} MiB): ${mib(Math.max(...s.runs.filter((d) => d.side !== SIDES[0]).map((d) => d.serverPeakKiB)))}`,
        )
        .join('; '),
  );
  out.push(
    `CLI reference (s3batch describe-job: process start + one request): ` +
      results
        .map((s) => `${(s.cliReference.ms / 1000).toFixed(2)} s, CPU ${s.cliReference.cpuMs.toFixed(0)} ms`)
        .join('; ') +
      ` ("less its start" = bytes ÷ (CLI wall − describe-job wall), roughly the transfer alone); the jobs that wrote the reports ran ${results.map((s) => `${s.jobSecs.toFixed(1)} s`).join(', ')} (New → Complete)`,
  );
  return out;
}
