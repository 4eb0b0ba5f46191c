// Benchmark scenario `checksum`: S3ComputeObjectChecksum CRC32 and SHA256 (FULL_OBJECT) on objects
// of --checksum-kib (once per size when it lists several), against a bare loop of GetObject with the body streamed into zlib.crc32 /
// createHash('sha256') (what the engine's digester uses for those two), same concurrency.
import { putObjects } from '../test/helpers/s3-servers.ts';
import type { BenchContext, Comparison } from './context.ts';
import { secs } from './format.ts';

export async function checksumScenario(
  ctx: BenchContext,
  options: { readonly objects: number; readonly kib: number },
): Promise<Comparison[]> {
  const { rounds } = ctx;
  const { objects, kib } = options;
  const sumKeys = Array.from({ length: objects }, (_, i) => `checksum/${kib}k/obj-${String(i).padStart(7, '0')}`);
  const t1 = performance.now();
  await putObjects(ctx.s3, ctx.buckets.src, sumKeys, Buffer.alloc(kib * 1024, 'c'), Math.min(ctx.concurrency, 16));
  ctx.log(`uploaded ${objects} objects of ${kib} KiB in ${secs(performance.now() - t1)}`);
  await ctx.manifest(`checksum-${kib}k`, objects, sumKeys);
  const w = Math.min(ctx.warmup, Math.ceil(objects / 10));
  if (w > 0) {
    await ctx.manifest(`checksum-${kib}k-warmup`, w, sumKeys);
    for (const algorithm of ['CRC32', 'SHA256'] as const) {
      await ctx.measureBare(`warm-up bare ${algorithm}`, { op: 'checksum', tasks: w, keys: sumKeys, algorithm });
      await ctx.measureEngine(
        `warm-up engine ${algorithm}`,
        ctx.request(`checksum-${kib}k-warmup`, { S3ComputeObjectChecksum: { ChecksumAlgorithm: algorithm } }, 'warmup'),
        w,
      );
    }
  }
  const comparisons: Comparison[] = [];
  for (const algorithm of ['CRC32', 'SHA256'] as const) {
    const sc: Comparison = {
      name: `S3ComputeObjectChecksum ${algorithm} (${kib} KiB)`,
      objects,
      engine: [],
      baselines: [{ name: `GetObject + ${algorithm === 'CRC32' ? 'zlib.crc32' : 'sha256'} loop`, runs: [] }],
    };
    comparisons.push(sc);
    ctx.log(`S3ComputeObjectChecksum ${algorithm}, ${objects} × ${kib} KiB, ${rounds} round(s)`);
    const op = { S3ComputeObjectChecksum: { ChecksumAlgorithm: algorithm, ChecksumType: 'FULL_OBJECT' } };
    for (let r = 1; r <= rounds; r++) {
      await ctx.alternate(r, [
        async () =>
          sc.baselines[0]!.runs.push(
            await ctx.measureBare(`r${r} bare ${algorithm}`, {
              op: 'checksum',
              tasks: objects,
              keys: sumKeys,
              algorithm,
            }),
          ),
        async () =>
          sc.engine.push(
            await ctx.measureEngine(
              `r${r} engine ${algorithm}`,
              ctx.request(`checksum-${kib}k`, op, `checksum-${kib}k-${algorithm}-${r}`),
              objects,
            ),
          ),
      ]);
    }
  }
  return comparisons;
}
