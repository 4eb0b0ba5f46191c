// Benchmark scenario `generator`: a ManifestGenerator S3PutObjectTagging job (MatchAnyPrefix over
// --generator-objects keys) against the same job from a CSV manifest, both rated New → Completing;
// then the listing alone: a generator whose filter matches nothing (the job ends Failed,
// ManifestGenerationEmpty) against a bare ListObjectsV2 loop over the same bucket.
import { putObjects } from '../test/helpers/s3-servers.ts';
import type { BenchContext, Comparison, EngineMeasured } from './context.ts';
import { tagging } from './tagging-copy.ts';

export async function generatorScenario(ctx: BenchContext, objects: number): Promise<Comparison[]> {
  const { rounds } = ctx;
  const src = ctx.buckets.src;
  const genKeys = Array.from({ length: objects }, (_, i) => `generated/obj-${String(i).padStart(7, '0')}`);
  await putObjects(ctx.s3, src, genKeys, ctx.body, ctx.concurrency);
  await ctx.manifest('generator', objects, genKeys);
  const generatorRequest = (
    filter: Record<string, unknown>,
    operation: Record<string, unknown>,
    reportPrefix: string,
  ): Record<string, unknown> => {
    const rest = ctx.request('generator', operation, reportPrefix);
    delete rest.Manifest;
    return {
      ...rest,
      ManifestGenerator: {
        S3JobManifestGenerator: { SourceBucket: `arn:aws:s3:::${src}`, EnableManifestOutput: false, Filter: filter },
      },
    };
  };
  const prefixFilter = { KeyNameConstraint: { MatchAnyPrefix: ['generated/'] } };
  // Both sides are rated on New → Completing: the generator lists while its tasks run, and its
  // first chunk is listed in Preparing, so the Active phase alone would hide part of the listing.
  const untilCompleting = (m: EngineMeasured): EngineMeasured => ({ ...m, tps: m.tasks / (m.toCompletingMs / 1000) });
  const sc: Comparison = {
    name: 'ManifestGenerator tagging job',
    objects,
    engine: [],
    baselines: [{ name: 'the same job, CSV manifest (engine)', runs: [] }],
    rate: 'New → Completing',
  };
  ctx.log(
    `ManifestGenerator (MatchAnyPrefix generated/, ${objects} objects) vs CSV manifest, S3PutObjectTagging, ${rounds} round(s)`,
  );
  for (let r = 1; r <= rounds; r++) {
    const op = tagging(`generator-${r}`);
    await ctx.alternate(r, [
      async () =>
        sc.baselines[0]!.runs.push(
          untilCompleting(
            await ctx.measureEngine(`r${r} engine CSV tagging`, ctx.request('generator', op, `gen-csv-${r}`), objects),
          ),
        ),
      async () =>
        sc.engine.push(
          untilCompleting(
            await ctx.measureEngine(
              `r${r} engine generator tagging`,
              generatorRequest(prefixFilter, op, `gen-${r}`),
              objects,
            ),
          ),
        ),
    ]);
  }
  // The listing alone: a filter no object matches (a suffix none has, no prefix) lists the whole
  // source bucket (every object the bench put there, more pages than the prefix alone) and fails
  // the job with ManifestGenerationEmpty; Preparing → Failing is the listing. The bare loop lists
  // the same bucket; an untimed bare listing first counts it (and warms the path up).
  const inBucket = (await ctx.bare.request({ type: 'run', op: 'list', concurrency: 1, tasks: 0 })).tasks;
  const lc: Comparison = {
    name: 'ManifestGenerator listing alone',
    objects: inBucket,
    engine: [],
    baselines: [{ name: 'ListObjectsV2 loop (1,000/page)', runs: [] }],
    rate: 'Preparing → Failing',
  };
  const noMatch = { KeyNameConstraint: { MatchAnySuffix: ['.no-such-suffix'] } };
  for (let r = 1; r <= rounds; r++) {
    await ctx.alternate(r, [
      async () =>
        lc.baselines[0]!.runs.push(await ctx.measureBare(`r${r} bare ListObjectsV2`, { op: 'list', tasks: 0 })),
      async () =>
        lc.engine.push(
          await ctx.measureListing(
            `r${r} engine listing`,
            generatorRequest(noMatch, tagging('never'), `gen-empty-${r}`),
            inBucket,
          ),
        ),
    ]);
  }
  return [sc, lc];
}
