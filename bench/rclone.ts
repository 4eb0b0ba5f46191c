// Benchmark scenario `rclone` (issue 12's target): copying the --objects small objects between two
// buckets of the same S3 server, s3batch (CreateJob → Complete, S3PutObjectCopy with an AllTasks
// report, --job-concurrency as started) against `rclone copy --transfers C --checkers C` (Debian's
// rclone, the same remote on both sides, so it copies server-side: CopyObject, no byte goes through
// the client; its listing of the source and of the destination is part of its time). Both write the
// same keys into a destination bucket of their own, emptied (untimed) and checked empty before each
// run, and counted after it. The order alternates over the rounds. The figure is rclone's time ÷
// s3batch's: "× faster" (issue 12 asks for ≥ 1.3).
//
// s3batch's time is the client's: the CreateJob call until the poll that sees Complete (polls every
// --poll-ms), so like rclone's process wall time it includes everything, the report's write too.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createTestBucket } from '../test/helpers/s3-servers.ts';
import type { BenchContext, EngineMeasured } from './context.ts';
import { mean } from './format.ts';
import { cpuMs } from './proc.ts';
import { removeBuckets } from './s3-server.ts';
import { table } from './table.ts';

export interface RcloneOptions {
  readonly kind: 'ceph' | 's3rver';
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

interface RcloneRun {
  readonly ms: number;
  readonly cpuMs: number;
  readonly serverSideCopies: number;
  readonly stats: string;
}

/** Keys in the bucket (ListObjectsV2 pages). */
async function countObjects(ctx: BenchContext, bucket: string): Promise<number> {
  let n = 0;
  let token: string | undefined;
  do {
    const page = await ctx.s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    n += page.KeyCount ?? 0;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return n;
}

export async function rcloneScenario(ctx: BenchContext, opts: RcloneOptions): Promise<string[]> {
  const { objects, rounds, concurrency, buckets } = ctx;
  const dst = await createTestBucket(ctx.s3, 'bench-rclone');
  ctx.onCleanup(() => removeBuckets(ctx.s3, [dst]));
  // A config of our own (never the user's): one remote for both sides, so rclone copies server-side.
  const home = mkdtempSync(path.join(os.tmpdir(), 's3batch-bench-rclone-'));
  ctx.onCleanup(() => rmSync(home, { recursive: true, force: true }));
  const config = path.join(home, 'rclone.conf');
  writeFileSync(
    config,
    [
      '[bench]',
      'type = s3',
      `provider = ${opts.kind === 'ceph' ? 'Ceph' : 'Other'}`,
      `access_key_id = ${opts.accessKeyId}`,
      `secret_access_key = ${opts.secretAccessKey}`,
      `endpoint = ${opts.endpoint}`,
      `region = ${opts.region}`,
      'force_path_style = true',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const version = await new Promise<string>((resolve) => {
    const c = spawn('rclone', ['version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.on('error', () => resolve(''));
    c.on('close', () => resolve(out.split('\n')[0]?.trim() ?? ''));
  });
  if (!version) {
    ctx.log('rclone: no rclone on the PATH (apt-get install -y rclone): scenario skipped');
    return ['', 'rclone: skipped, rclone is not installed (apt-get install -y rclone)'];
  }
  ctx.log(
    `rclone: copy of ${objects} objects ${buckets.src}/objects → ${dst}/objects, s3batch (S3PutObjectCopy, AllTasks report, job concurrency ${concurrency}) vs ${version} copy --transfers ${concurrency} --checkers ${concurrency}; ${rounds} round(s), alternating`,
  );

  const emptyDestination = async (): Promise<void> => {
    for (;;) {
      const page = await ctx.s3.send(new ListObjectsV2Command({ Bucket: dst, MaxKeys: 1000 }));
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length === 0) break;
      await ctx.s3.send(new DeleteObjectsCommand({ Bucket: dst, Delete: { Objects: keys, Quiet: true } }));
    }
    const n = await countObjects(ctx, dst);
    if (n !== 0) throw new Error(`rclone: destination ${dst} holds ${n} objects before the run`);
  };
  const checkCopied = async (who: string): Promise<void> => {
    const n = await countObjects(ctx, dst);
    if (n !== objects) throw new Error(`rclone: after ${who}, ${dst} holds ${n} objects, not ${objects}`);
  };

  // Its config file only: no AWS_* variable (with AWS_CA_BUNDLE set, rclone 1.60's S3 backend fails to
  // start: "LoadCustomCABundleError: … unsupported transport"), no other RCLONE_* setting.
  const rcloneEnv: NodeJS.ProcessEnv = { RCLONE_CONFIG: config, HOME: home };
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('AWS_') && !k.startsWith('RCLONE_') && k !== 'HOME') rcloneEnv[k] = v;
  const runRclone = (): Promise<RcloneRun> => {
    const t0 = performance.now();
    const child = spawn(
      'rclone',
      [
        'copy',
        `bench:${buckets.src}/objects`,
        `bench:${dst}/objects`,
        '--transfers',
        String(concurrency),
        '--checkers',
        String(concurrency),
        '-v', // a line per object ("Copied (server-side copy)") and the totals at the end
      ],
      { env: rcloneEnv, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let cpu = 0;
    const sampler = setInterval(() => {
      const c = cpuMs(child.pid!);
      if (c > 0) cpu = c;
    }, 50);
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-1_000_000)));
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => {
        clearInterval(sampler);
        const ms = performance.now() - t0;
        if (code !== 0) return reject(new Error(`rclone exited ${code}:\n${out.slice(-4000)}`));
        const copies = out.match(/: Copied \(server-side copy\)/g)?.length ?? 0;
        const stats = out
          .split('\n')
          .filter((l) => /^(Transferred|Checks|Elapsed time|Errors):/.test(l.trim()))
          .map((l) => l.trim().replace(/\s+/g, ' '))
          .join('; ');
        resolve({ ms, cpuMs: cpu, serverSideCopies: copies, stats });
      });
    });
  };

  const s3batch: EngineMeasured[] = [];
  const rclone: RcloneRun[] = [];
  for (let r = 1; r <= rounds; r++) {
    await ctx.alternate(r, [
      async () => {
        await emptyDestination();
        const m = await ctx.measureEngine(
          `r${r} s3batch copy`,
          ctx.request(
            'all',
            { S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${dst}`, MetadataDirective: 'COPY' } },
            `rclone-s3batch-${r}`,
          ),
          objects,
        );
        await checkCopied('s3batch');
        s3batch.push(m);
      },
      async () => {
        await emptyDestination();
        const run = await runRclone();
        await checkCopied('rclone');
        if (run.serverSideCopies !== objects)
          throw new Error(
            `rclone: ${run.serverSideCopies} server-side copies, not ${objects} (did it copy through the client?): ${run.stats}`,
          );
        ctx.log(
          `  r${r} rclone copy             ${(run.ms / 1000).toFixed(2)} s  CPU ${(run.cpuMs / objects).toFixed(3)} ms/object  ${run.stats}`,
        );
        rclone.push(run);
      },
    ]);
  }
  const sMs = s3batch.map((m) => m.clientMs);
  const rMs = rclone.map((r) => r.ms);
  const fmt = (xs: number[]): string => xs.map((x) => (x / 1000).toFixed(2)).join(', ');
  return [
    '',
    `Copy of ${objects} × ${ctx.body.length} B between two buckets of the same S3 server, s3batch vs rclone (${version}), concurrency ${concurrency}, ${rounds} round(s), order alternating; the destination emptied before each run`,
    table(
      ['side', 'time, mean (s)', 'runs (s)', 'objects/s', 'client CPU ms/object'],
      [
        [
          's3batch: CreateJob → Complete seen (AllTasks report)',
          (mean(sMs) / 1000).toFixed(2),
          fmt(sMs),
          (objects / (mean(sMs) / 1000)).toFixed(0),
          mean(s3batch.map((m) => m.cpuMsPerTask)).toFixed(3),
        ],
        [
          `rclone copy --transfers ${concurrency} --checkers ${concurrency} (server-side)`,
          (mean(rMs) / 1000).toFixed(2),
          fmt(rMs),
          (objects / (mean(rMs) / 1000)).toFixed(0),
          mean(rclone.map((r) => r.cpuMs / objects)).toFixed(3),
        ],
      ],
    ),
    `rclone time ÷ s3batch time: ${(mean(rMs) / mean(sMs)).toFixed(2)} × faster (per round: ${rMs.map((r, i) => (r / sMs[i]!).toFixed(2)).join(', ')}); s3batch New → Complete from StatusHistory: ${fmt(s3batch.map((m) => m.wallMs))} s`,
  ];
}
