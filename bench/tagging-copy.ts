// Benchmark scenarios `tagging` and `copy`: S3PutObjectTagging and S3PutObjectCopy over the --objects
// keys, the engine against the bare AWS SDK loop making the same requests (bench/bare-worker.ts),
// bare and engine alternating over the rounds (ABBA: drift cancels out). Copy is also measured
// against a CopyObject-only loop, what the engine sends per task for a job tagged
// s3batch:count-copy-bytes=false (by default it HEADs the source first, to count bytes). Every copy run
// writes to a fresh prefix of the destination bucket. Also here: the warm-up that opens every run.
import type { BenchContext, EngineMeasured, Measured } from './context.ts';
import { mean, secs } from './format.ts';
import { mib } from './proc.ts';
import { table } from './table.ts';

/** The S3PutObjectTagging operation member, one `bench` tag. */
export const tagging = (value: string) => ({ S3PutObjectTagging: { TagSet: [{ Key: 'bench', Value: value }] } });

const copy = (dst: string, prefix: string) => ({
  S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${dst}`, TargetKeyPrefix: prefix, MetadataDirective: 'COPY' },
});

/** Warm-up, not reported: a --warmup tagging job and loop, and the same for copy when it runs. */
export async function warmUp(ctx: BenchContext, withCopy: boolean): Promise<void> {
  const { warmup } = ctx;
  if (warmup <= 0) return;
  ctx.log(`warm-up: ${warmup} tasks each`);
  await ctx.measureBare('warm-up bare tagging', {
    op: 'tagging',
    tasks: warmup,
    tagSet: [{ Key: 'bench', Value: 'warmup' }],
  });
  await ctx.measureEngine('warm-up engine tagging', ctx.request('warmup', tagging('warmup'), 'warmup'), warmup);
  if (withCopy) {
    await ctx.measureBare('warm-up bare copy', {
      op: 'copy',
      tasks: warmup,
      targetBucket: ctx.buckets.dst,
      targetPrefix: 'warmup-bare',
    });
    await ctx.measureEngine(
      'warm-up engine copy',
      ctx.request('warmup', copy(ctx.buckets.dst, 'warmup-engine'), 'warmup'),
      warmup,
    );
  }
}

interface OpResult {
  readonly name: string;
  readonly bare: Measured[];
  readonly engine: EngineMeasured[];
  readonly copyOnly: Measured[];
}

/** Runs the chosen operations; returns their tables (throughput, cost per task, CPU-bound check, runs). */
export async function taggingCopyScenario(
  ctx: BenchContext,
  ops: { readonly tagging: boolean; readonly copy: boolean },
): Promise<string[]> {
  const { objects, rounds } = ctx;
  const dst = ctx.buckets.dst;
  const results: OpResult[] = [];

  const tagRes: OpResult = { name: 'PutObjectTagging', bare: [], engine: [], copyOnly: [] };
  if (ops.tagging) {
    results.push(tagRes);
    ctx.log(`S3PutObjectTagging, ${objects} objects, ${rounds} round(s)`);
  }
  for (let r = 1; r <= (ops.tagging ? rounds : 0); r++) {
    const tagSet = [{ Key: 'bench', Value: `round-${r}` }];
    await ctx.alternate(r, [
      async () =>
        tagRes.bare.push(await ctx.measureBare(`r${r} bare tagging`, { op: 'tagging', tasks: objects, tagSet })),
      async () =>
        tagRes.engine.push(
          await ctx.measureEngine(
            `r${r} engine tagging`,
            ctx.request('all', tagging(`round-${r}`), `tagging-${r}`),
            objects,
          ),
        ),
    ]);
  }

  const copyRes: OpResult = { name: 'PutObjectCopy', bare: [], engine: [], copyOnly: [] };
  if (ops.copy) {
    results.push(copyRes);
    ctx.log(
      `S3PutObjectCopy (HeadObject + CopyObject), ${objects} objects, ${rounds} round(s); every run copies to a new prefix`,
    );
  }
  for (let r = 1; r <= (ops.copy ? rounds : 0); r++) {
    await ctx.alternate(r, [
      async () =>
        copyRes.bare.push(
          await ctx.measureBare(`r${r} bare head+copy`, {
            op: 'copy',
            tasks: objects,
            targetBucket: dst,
            targetPrefix: `bare-${r}`,
          }),
        ),
      async () =>
        copyRes.engine.push(
          await ctx.measureEngine(
            `r${r} engine copy`,
            ctx.request('all', copy(dst, `engine-${r}`), `copy-${r}`),
            objects,
          ),
        ),
    ]);
    copyRes.copyOnly.push(
      await ctx.measureBare(`r${r} bare copy-only`, {
        op: 'copy-only',
        tasks: objects,
        targetBucket: dst,
        targetPrefix: `bare-only-${r}`,
      }),
    );
  }
  return results.length > 0 ? tables(results, objects, ctx.s3Cpu) : [];
}

function tables(results: readonly OpResult[], objects: number, s3Cpu: boolean): string[] {
  const out: string[] = [];
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
      String(objects),
      bareTps.toFixed(0),
      engTps.toFixed(0),
      (engTps / bareTps).toFixed(2),
      secs(mean(r.engine.map((m) => m.wallMs))),
      `${mean(r.engine.map((m) => m.prepareMs)).toFixed(0)} ms`,
      `${mean(r.engine.map((m) => m.reportMs)).toFixed(0)} ms`,
      (objects / (mean(r.engine.map((m) => m.wallMs)) / 1000) / bareTps).toFixed(2),
    ]);
    if (r.copyOnly.length > 0) {
      const coTps = mean(r.copyOnly.map((m) => m.tps));
      thrRows.push([
        '  vs CopyObject-only loop (like for like)',
        String(objects),
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
      s3Cpu ? mean(r.bare.map((m) => m.s3CpuMsPerTask)).toFixed(3) : 'n/a',
      s3Cpu ? mean(r.engine.map((m) => m.s3CpuMsPerTask)).toFixed(3) : 'n/a',
      mib(Math.max(...r.engine.map((m) => m.peakRssKiB))),
    ]);
    if (r.copyOnly.length > 0) {
      costRows.push([
        '  CopyObject-only loop',
        mean(r.copyOnly.map((m) => m.cpuMsPerTask)).toFixed(3),
        '',
        '',
        s3Cpu ? mean(r.copyOnly.map((m) => m.s3CpuMsPerTask)).toFixed(3) : 'n/a',
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
  if (s3Cpu) {
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
  return out;
}
