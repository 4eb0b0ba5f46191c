// Reaching the last chunk of an inventory or generator job's local task list (issue 13, part 3), in
// this process, on the local file system:
//
//   npm run bench:local-index -- [--chunks 10000,1000000] [--rounds 5]
//
// A list of --chunks chunks is written in the list's own format (header, one `c` line per chunk
// with running totals and a cursor, the end mark) with its offsets file, and a copy without the
// offsets file (a list written before it). Timed, median (fastest) of --rounds: the runner
// following the list from chunk n-1 (its watermark) to the first chunk it yields, and reading the
// totals a resumed listing starts from (readLocalTotals: the last chunk's line and the end mark).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { followLocalChunks, readLocalTotals } from '../src/manifest/local-manifest.ts';
import { createFsLocalManifestFiles } from '../src/storage/fs-local-manifest.ts';

const { values } = parseArgs({
  options: { chunks: { type: 'string', default: '10000,1000000' }, rounds: { type: 'string', default: '5' } },
});
const rounds = Number(values.rounds);
const load = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

/** Writes list `job` of n chunks of 1,000 rows; `offsets` false leaves out the offsets file. */
async function writeList(dir: string, job: string, n: number, offsets: boolean): Promise<void> {
  const header = 's3batch-local-manifest 1 Bucket,Key\n';
  const parts: string[] = [header];
  const offs = Buffer.alloc(n * 8);
  let at = Buffer.byteLength(header);
  for (let i = 0; i < n; i++) {
    const key = `prefix/some/longer/path/object-${String((i + 1) * 1000 - 1).padStart(10, '0')}`;
    const rows = (i + 1) * 1000;
    const line = `c ${i} ${1 + i * 40_000} ${1 + (i + 1) * 40_000} ${2 + i * 1000} 1000 ${rows} ${rows} ${rows * 4096} ${encodeURIComponent(key)}\n`;
    offs.writeDoubleLE(at, i * 8);
    at += Buffer.byteLength(line);
    parts.push(line);
  }
  const total = n * 1000;
  parts.push(`end ${total} ${total} ${total * 4096}\n`);
  await writeFile(path.join(dir, `${job}.lidx`), parts.join(''));
  await writeFile(path.join(dir, `${job}.rows`), '\n');
  if (offsets) await writeFile(path.join(dir, `${job}.loff`), offs);
}

async function time(fn: () => Promise<void>): Promise<string> {
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  out.sort((a, b) => a - b);
  const f = (ms: number): string => (ms < 10 ? ms.toFixed(2) : ms.toFixed(0));
  return `${f(out[Math.floor(out.length / 2)]!)} (${f(out[0]!)})`;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 's3batch-bench-lidx-'));
  console.log(`machine: ${os.availableParallelism()} CPUs, Node ${process.version}; load ${load()}`);
  console.log(`local task list: median (fastest) of ${rounds}, ms`);
  console.log('| chunks | follow from n-1: seek | scan | listing-resume totals: seek | scan |');
  console.log('|---|---|---|---|---|');
  try {
    for (const n of values.chunks.split(',').map(Number)) {
      await writeList(dir, `seek-${n}`, n, true);
      await writeList(dir, `scan-${n}`, n, false);
      const follow = (job: string) => async (): Promise<void> => {
        const ctl = new AbortController();
        const files = createFsLocalManifestFiles(dir, job);
        const opts = { signal: ctl.signal, from: n - 1, ticket: () => 0, waitForChange: async () => {} };
        for await (const c of followLocalChunks(files, opts)) {
          if (c.index !== n - 1) throw new Error(`chunk ${c.index} where ${n - 1} was expected`);
          ctl.abort();
        }
      };
      const totals = (job: string) => async (): Promise<void> => {
        const t = await readLocalTotals(createFsLocalManifestFiles(dir, job));
        if (t?.chunks !== n || !t.complete) throw new Error('wrong totals');
      };
      const cells = [
        await time(follow(`seek-${n}`)),
        await time(follow(`scan-${n}`)),
        await time(totals(`seek-${n}`)),
        await time(totals(`scan-${n}`)),
      ];
      console.log(`| ${n.toLocaleString('en')} | ${cells.join(' | ')} |`);
    }
    console.log(`load ${load()}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
