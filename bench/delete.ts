// Benchmark scenario `delete`: an S3DeleteObject job (the engine batches concurrent tasks into
// DeleteObjects) against a bare loop of single DeleteObject calls and a bare loop of 1,000-key
// DeleteObjects requests. The objects are re-created, untimed, before each side.
import { putObjects } from '../test/helpers/s3-servers.ts';
import type { BenchContext, Comparison } from './context.ts';

export async function deleteScenario(ctx: BenchContext, objects: number): Promise<Comparison[]> {
  const { rounds } = ctx;
  // No '/' in these keys: s3rver removes a key's emptied "directory" after a delete, and concurrent
  // deletes of a folder's last keys race on it (InternalError, ENOENT), which only the engine retries.
  const delKeys = Array.from({ length: objects }, (_, i) => `delete-obj-${String(i).padStart(7, '0')}`);
  await ctx.manifest('delete', objects, delKeys);
  const sc: Comparison = {
    name: 'S3DeleteObject',
    objects,
    engine: [],
    baselines: [
      { name: 'DeleteObject loop (1 key/request)', runs: [] },
      { name: 'DeleteObjects loop (1,000 keys/request)', runs: [] },
    ],
  };
  ctx.log(
    `S3DeleteObject, ${objects} objects, ${rounds} round(s); the objects are re-created (not timed) before each run`,
  );
  const recreate = (): Promise<void> => putObjects(ctx.s3, ctx.buckets.src, delKeys, ctx.body, ctx.concurrency);
  const w = Math.min(ctx.warmup, objects);
  if (w > 0) {
    await ctx.manifest('delete-warmup', w, delKeys);
    await recreate();
    await ctx.measureEngine('warm-up engine delete', ctx.request('delete-warmup', { S3DeleteObject: {} }, 'warmup'), w);
    await ctx.measureBare('warm-up bare DeleteObject', { op: 'delete', tasks: w, keys: delKeys.slice(w, 2 * w) });
    await ctx.measureBare('warm-up bare DeleteObjects', {
      op: 'delete-batch',
      tasks: w,
      keys: delKeys.slice(2 * w, 3 * w),
    });
  }
  for (let r = 1; r <= rounds; r++) {
    await ctx.alternate(r, [
      async () => {
        await recreate();
        sc.engine.push(
          await ctx.measureEngine(
            `r${r} engine delete`,
            ctx.request('delete', { S3DeleteObject: {} }, `delete-${r}`),
            objects,
          ),
        );
      },
      async () => {
        await recreate();
        sc.baselines[0]!.runs.push(
          await ctx.measureBare(`r${r} bare DeleteObject`, { op: 'delete', tasks: objects, keys: delKeys }),
        );
      },
      async () => {
        await recreate();
        sc.baselines[1]!.runs.push(
          await ctx.measureBare(`r${r} bare DeleteObjects`, { op: 'delete-batch', tasks: objects, keys: delKeys }),
        );
      },
    ]);
  }
  return [sc];
}
