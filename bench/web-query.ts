// Benchmark `web-query` (issue 13, part 1, the web page's search and sort): the server's time for
// GET /api/v1/jobs?search=&sort=&order= (api/rest/job-list-query.ts `queryJobs`, called in
// process on the real lowdb store and service, no HTTP) with a store of ended jobs, and the memory
// the store holds once open. Each side runs in its own process on the same data folder; `--root`
// picks the source tree whose code runs, so a baseline (a checkout of main, whose query reads
// every job's record) and this tree are measured in the same run:
//
//   node --import tsx bench/web-query.ts seed <dir> [jobs=20000]
//   node --expose-gc --import tsx bench/web-query.ts measure <root> <dir> [repeats=7]
//
// `seed` writes a version-1 jobs.json of ended jobs (each about 2.3 KB: a description, one or two
// tags, a history and failure reasons) and opens it once with this tree's store, which moves them to
// the archive. `measure` opens the store, reports RSS and heap after a GC, then times each query
// `repeats` times (median and max, ms). docs/job-lifecycle.md#job-store describes the store.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ACCOUNT = '111122223333';

async function seed(dir: string, count: number): Promise<void> {
  const { storedJob } = await import('../test/helpers/job-records.ts');
  const { LowdbJobStore } = await import('../src/storage/lowdb-job-store.ts');
  mkdirSync(dir, { recursive: true });
  const t0 = Date.now() - count * 300_000;
  const jobs: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const created = new Date(t0 + i * 300_000);
    const id = `${String(i).padStart(8, '0')}-7a1c-4e0f-9b2d-${String(i).padStart(12, '0')}`;
    const base = storedJob(id, {
      accountId: ACCOUNT,
      creationTime: created.toISOString(),
      priority: i % 10,
      status: i % 7 === 0 ? 'Failed' : 'Complete',
      terminationDate: new Date(created.getTime() + 60_000).toISOString(),
      history: ['New', 'Preparing', 'Ready', 'Active', 'Complete'].map((status, k) => ({
        status,
        at: new Date(created.getTime() + k * 10_000).toISOString(),
      })),
      failureReasons: Array.from({ length: 3 }, (_, k) => ({
        FailureCode: 'SomeTasksFailed',
        FailureReason: `task ${k} of the job failed: ${'x'.repeat(200)}`,
      })),
    } as never);
    jobs[id] = {
      ...base,
      request: { ...base.request, Description: `${i % 100 === 0 ? 'Needle' : 'Nightly'} tagging of logs ${i}` },
      tags: [
        { Key: 'team', Value: `team-${i % 13}` },
        ...(i % 2 === 0 ? [{ Key: 'cost-centre', Value: `cc-${i % 97}` }] : []),
      ],
    };
  }
  const file = path.join(dir, 'jobs.json');
  writeFileSync(file, JSON.stringify({ version: 1, jobs, tokens: {} }));
  const store = await LowdbJobStore.open(file);
  await store.close();
  console.log(`seeded ${count} ended jobs in ${dir}`);
}

const QUERIES: [string, Record<string, string>][] = [
  ['search=needle&sort=priority (200 matches, first page of 100)', { search: 'needle', sort: 'priority' }],
  ['sort=created (first page of 100)', { sort: 'created' }],
  ['search=no-such-text', { search: 'no-such-text' }],
  ['search=team-3&order=asc, page 3 of 100', { search: 'team-3', order: 'asc' }],
];

async function measure(root: string, dir: string, repeats: number): Promise<void> {
  const from = (rel: string): Promise<Record<string, unknown>> => import(pathToFileURL(path.join(root, rel)).href);
  const { LowdbJobStore } = (await from('src/storage/lowdb-job-store.ts')) as never as {
    LowdbJobStore: { open(file: string): Promise<{ close(): Promise<void> }> };
  };
  const { newTestEngine, stopTestEngines } = (await from('test/helpers/engine-harness.ts')) as never as {
    newTestEngine(parts: unknown): { service: unknown };
    stopTestEngines(): Promise<void>;
  };
  const { MemoryObjectStore } = (await from('src/storage/memory-object-store.ts')) as never as {
    MemoryObjectStore: new () => unknown;
  };
  const { parseJobListQuery, queryJobs } = (await from('src/api/rest/job-list-query.ts')) as never as {
    parseJobListQuery(q: unknown): unknown;
    queryJobs(s: unknown, a: string, q: unknown, p: unknown): { Jobs: unknown[] };
  };
  // A copy of the folder: opening may rewrite files, and both sides must see the same ones.
  const copy = path.join(os.tmpdir(), `s3batch-webquery-${process.pid}`);
  cpSync(dir, copy, { recursive: true });
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage();
  const store = await LowdbJobStore.open(path.join(copy, 'jobs.json'));
  const { service } = newTestEngine({
    store,
    objects: new MemoryObjectStore(),
    handler: { execute: async () => ({ status: 'succeeded' }) },
  });
  gc?.();
  const opened = process.memoryUsage();
  const mib = (n: number): string => (n / 1024 / 1024).toFixed(1);
  console.log(
    `${root}: store open: RSS ${mib(opened.rss)} MiB (+${mib(opened.rss - before.rss)}), heap ${mib(opened.heapUsed)} MiB (+${mib(opened.heapUsed - before.heapUsed)}); load ${os.loadavg()[0]!.toFixed(1)}`,
  );
  for (const [name, q] of QUERIES) {
    const page = name.includes('page 3') ? { jobStatuses: [], maxResults: 100, nextToken: '200' } : { jobStatuses: [] };
    const ms: number[] = [];
    let n = 0;
    for (let r = 0; r < repeats; r++) {
      const t = performance.now();
      n = queryJobs(service, ACCOUNT, parseJobListQuery(q), { ...page, maxResults: 100 }).Jobs.length;
      ms.push(performance.now() - t);
    }
    ms.sort((a, b) => a - b);
    console.log(
      `  ${name}: ${n} items, median ${ms[ms.length >> 1]!.toFixed(1)} ms, max ${ms[ms.length - 1]!.toFixed(1)} ms`,
    );
  }
  gc?.();
  console.log(`  after the queries: RSS ${mib(process.memoryUsage().rss)} MiB, load ${os.loadavg()[0]!.toFixed(1)}`);
  await stopTestEngines();
  await store.close();
}

const [mode, a, b, c] = process.argv.slice(2);
if (mode === 'seed' && a) await seed(a, Number(b ?? 20000));
else if (mode === 'measure' && a && b) await measure(path.resolve(a), b, Number(c ?? 7));
else {
  console.error('usage: web-query.ts seed <dir> [jobs] | measure <root> <dir> [repeats]');
  process.exit(2);
}
