// The output of the operation-kind and manifest scenarios (delete.ts, checksum.ts, lambda-invoke.ts,
// generator.ts): one table of engine ÷ baseline ratios over all of them, then every run.
import type { Comparison, EngineRun } from './context.ts';
import { mean } from './format.ts';
import { mib } from './proc.ts';
import { table } from './table.ts';

export function comparisonTables(comparisons: readonly Comparison[]): string[] {
  if (comparisons.length === 0) return [];
  const out: string[] = [];
  out.push('');
  out.push(
    'Operation kinds and manifests (mean over rounds; engine = tasks ÷ Active→Completing unless the rate column says otherwise;',
  );
  out.push('baseline = loop wall time; CPU = client process per object: bare worker / engine server)');
  const rows: string[][] = [];
  for (const sc of comparisons) {
    const engTps = mean(sc.engine.map((m) => m.tps));
    const engCpu = mean(sc.engine.map((m) => m.cpuMsPerTask));
    for (const [i, b] of sc.baselines.entries()) {
      const bTps = mean(b.runs.map((m) => m.tps));
      rows.push([
        i === 0 ? sc.name : '',
        i === 0 ? String(sc.objects) : '',
        i === 0 ? (sc.rate ?? 'Active') : '',
        b.name,
        bTps.toFixed(0),
        i === 0 ? engTps.toFixed(0) : '',
        (engTps / bTps).toFixed(2),
        `${mean(b.runs.map((m) => m.cpuMsPerTask)).toFixed(3)} / ${engCpu.toFixed(3)}`,
        i === 0 ? mib(Math.max(...sc.engine.map((m) => m.peakRssKiB))) : '',
      ]);
    }
  }
  out.push(
    table(
      [
        'scenario',
        'objects',
        'engine rate over',
        'baseline',
        'baseline obj/s',
        'engine obj/s',
        'engine÷baseline',
        'CPU ms/obj base / engine',
        'server peak RSS',
      ],
      rows,
    ),
  );
  const failures = comparisons
    .flatMap((sc) => [...sc.engine, ...sc.baselines.flatMap((b) => b.runs)])
    .filter((m) => m.failed > 0);
  for (const m of failures) out.push(`  ${m.label}: ${m.failed} of ${m.tasks} FAILED`);
  out.push('');
  out.push('Runs (operation kinds and manifests)');
  out.push(
    table(
      ['run', 'obj/s', 'CPU ms/obj', 'peak RSS', 'failed'],
      comparisons.flatMap((sc) => [
        ...sc.baselines.flatMap((b) =>
          b.runs.map((m) => [
            m.label,
            m.tps.toFixed(0),
            m.cpuMsPerTask.toFixed(3),
            'peakRssKiB' in m ? mib((m as EngineRun).peakRssKiB) : '',
            String(m.failed),
          ]),
        ),
        ...sc.engine.map((m) => [
          m.label,
          m.tps.toFixed(0),
          m.cpuMsPerTask.toFixed(3),
          mib(m.peakRssKiB),
          String(m.failed),
        ]),
      ]),
    ),
  );
  return out;
}
