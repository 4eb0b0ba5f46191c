// Benchmark scenario `lambda`: LambdaInvoke with an HTTP function, a node:http server in the bench
// process answering every invocation Succeeded (bench/function-server.ts), against a bare loop
// POSTing the same invocation JSON.
import type { BenchContext, Comparison } from './context.ts';
import { startFunctionServer } from './function-server.ts';

export async function lambdaScenario(ctx: BenchContext, tasks: number): Promise<Comparison[]> {
  const { rounds } = ctx;
  const fn = await startFunctionServer();
  ctx.onCleanup(() => fn.close());
  await ctx.manifest('lambda', tasks);
  const w = Math.min(ctx.warmup, tasks);
  if (w > 0) {
    await ctx.manifest('lambda-warmup', w);
    await ctx.measureBare('warm-up bare POST', { op: 'lambda', tasks: w, functionUrl: fn.url });
    await ctx.measureEngine(
      'warm-up engine LambdaInvoke',
      ctx.request('lambda-warmup', { LambdaInvoke: { FunctionArn: fn.url } }, 'warmup'),
      w,
    );
  }
  const sc: Comparison = {
    name: 'LambdaInvoke, HTTP function',
    objects: tasks,
    engine: [],
    baselines: [{ name: 'node:http POST loop, same JSON', runs: [] }],
  };
  ctx.log(
    `LambdaInvoke to ${fn.url} (a node:http server in the bench process answering Succeeded), ${tasks} tasks, ${rounds} round(s)`,
  );
  for (let r = 1; r <= rounds; r++) {
    await ctx.alternate(r, [
      async () =>
        sc.baselines[0]!.runs.push(
          await ctx.measureBare(`r${r} bare POST`, { op: 'lambda', tasks, functionUrl: fn.url }),
        ),
      async () =>
        sc.engine.push(
          await ctx.measureEngine(
            `r${r} engine LambdaInvoke`,
            ctx.request('lambda', { LambdaInvoke: { FunctionArn: fn.url } }, `lambda-${r}`),
            tasks,
          ),
        ),
    ]);
  }
  ctx.log(`  the function answered ${fn.calls()} calls`);
  return [sc];
}
