/**
 * The job store's indexes (memory-job-store.ts), which keep requests from reading every job: the
 * per-account list in ListJobs' order, the per-status sets (scheduler, /metrics), kept in step by
 * save and remove and rebuilt when a store opens (lowdb, on a real file). Each is checked against
 * the brute-force answer over list(), and ListJobs' pages through the service against the same.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { newestFirst, type JobRecord } from '../../src/domain/job.ts';
import { JobStatus } from '../../src/domain/job-status.ts';
import { LowdbJobStore } from '../../src/storage/lowdb-job-store.ts';
import { MemoryJobStore } from '../../src/storage/memory-job-store.ts';
import { MemoryObjectStore } from '../../src/storage/memory-object-store.ts';
import { newTestEngine, stopTestEngines } from '../helpers/engine-harness.ts';
import { storedJob } from '../helpers/job-records.ts';

const A = '111122223333';
const B = '444455556666';

function job(id: string, patch: Partial<JobRecord> = {}): JobRecord {
  return storedJob(id, { accountId: A, status: JobStatus.Complete, ...patch });
}

/** Seconds after a fixed start, as an ISO time (few distinct values: ties by creation time happen). */
const at = (s: number): string => new Date(Date.UTC(2025, 0, 1, 0, 0, s)).toISOString();

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STATUSES = [JobStatus.New, JobStatus.Active, JobStatus.Paused, JobStatus.Complete, JobStatus.Failed];

/** What the indexes must answer, computed from every job. */
function bruteAccount(store: MemoryJobStore, accountId: string, after?: JobRecord): string[] {
  return store
    .list()
    .filter((j) => j.accountId === accountId && (after === undefined || newestFirst(j, after) > 0))
    .sort(newestFirst)
    .map((j) => j.id);
}
function bruteCounts(store: MemoryJobStore): Map<string, number> {
  const counts = new Map<string, number>();
  for (const j of store.list()) counts.set(j.status, (counts.get(j.status) ?? 0) + 1);
  return counts;
}
function expectIndexesMatch(store: MemoryJobStore): void {
  for (const account of [A, B])
    expect([...store.accountJobs(account)].map((j) => j.id)).toEqual(bruteAccount(store, account));
  expect(new Map(store.statusCounts())).toEqual(bruteCounts(store));
  for (const s of STATUSES) {
    expect(
      store
        .withStatus([s])
        .map((j) => j.id)
        .sort(),
    ).toEqual(
      store
        .list()
        .filter((j) => j.status === s)
        .map((j) => j.id)
        .sort(),
    );
  }
}

describe('job store indexes', () => {
  it('lists an account newest first, ties by id, and never another account', () => {
    const store = new MemoryJobStore();
    store.save(job('b', { creationTime: at(2) }));
    store.save(job('a', { creationTime: at(2) }));
    store.save(job('c', { creationTime: at(1) }));
    store.save(job('d', { creationTime: at(3) }));
    store.save(job('x', { creationTime: at(5), accountId: B }));
    store.save(job('e', { creationTime: at(0) })); // older than every other: inserted, not appended
    expect([...store.accountJobs(A)].map((j) => j.id)).toEqual(['d', 'a', 'b', 'c', 'e']);
    expect([...store.accountJobs(B)].map((j) => j.id)).toEqual(['x']);
    expect([...store.accountJobs('999999999999')]).toEqual([]);
  });

  it('starts after a cursor, exclusive, whether or not the cursor is a stored job', () => {
    const store = new MemoryJobStore();
    for (const [id, s] of [
      ['a', 1],
      ['b', 2],
      ['c', 2],
      ['d', 3],
    ] as const)
      store.save(job(id, { creationTime: at(s) }));
    const ids = (after: { creationTime: string; id: string }): string[] =>
      [...store.accountJobs(A, after)].map((j) => j.id);
    expect(ids({ creationTime: at(3), id: 'd' })).toEqual(['b', 'c', 'a']);
    expect(ids({ creationTime: at(2), id: 'b' })).toEqual(['c', 'a']);
    expect(ids({ creationTime: at(2), id: 'bb' })).toEqual(['c', 'a']); // between b and c
    expect(ids({ creationTime: at(9), id: 'z' })).toEqual(['d', 'b', 'c', 'a']);
    expect(ids({ creationTime: at(0), id: 'a' })).toEqual([]);
  });

  it('follows saves (status moves, updates in place) and removals', () => {
    const store = new MemoryJobStore();
    store.save(job('a', { status: JobStatus.New, creationTime: at(1) }));
    store.save(job('b', { status: JobStatus.New, creationTime: at(2) }));
    expect(store.statusCounts()).toEqual(new Map([[JobStatus.New, 2]]));
    store.save({ ...store.get('a')!, status: JobStatus.Active });
    expect(store.withStatus([JobStatus.Active]).map((j) => j.id)).toEqual(['a']);
    expect(
      store
        .withStatus([JobStatus.New, JobStatus.Active, JobStatus.New])
        .map((j) => j.id)
        .sort(),
    ).toEqual(['a', 'b']);
    expect(store.statusCounts()).toEqual(
      new Map([
        [JobStatus.New, 1],
        [JobStatus.Active, 1],
      ]),
    );
    // The record the index hands out is the latest one saved.
    store.save({ ...store.get('b')!, priority: 99 });
    expect([...store.accountJobs(A)].map((j) => [j.id, j.priority])).toEqual([
      ['b', 99],
      ['a', 10],
    ]);
    store.saveToken({ accountId: A, token: 'token-a', requestHash: 'hash-a', jobId: 'a' });
    store.remove('a');
    store.remove('a'); // unknown: nothing happens
    expect(store.findToken(A, 'token-a')).toBeUndefined();
    expect([...store.accountJobs(A)].map((j) => j.id)).toEqual(['b']);
    expect(store.statusCounts()).toEqual(new Map([[JobStatus.New, 1]]));
    expect(store.withStatus([JobStatus.Active])).toEqual([]);
  });

  it('agrees with the brute-force answer over random saves and removals', () => {
    const random = prng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const store = new MemoryJobStore();
    const ids: string[] = [];
    for (let step = 0; step < 600; step++) {
      const r = random();
      if (r < 0.45 || ids.length === 0) {
        const id = `job-${step}`;
        ids.push(id);
        store.save(
          job(id, { accountId: pick([A, B]), creationTime: at(Math.floor(random() * 40)), status: pick(STATUSES) }),
        );
      } else if (r < 0.85) {
        const current = store.get(pick(ids));
        if (current) store.save({ ...current, status: pick(STATUSES) });
      } else {
        store.remove(pick(ids));
      }
      if (step % 50 === 0) expectIndexesMatch(store);
    }
    expectIndexesMatch(store);
    const all = store.list().filter((j) => j.accountId === A);
    for (const cursor of all.slice(0, 20))
      expect([...store.accountJobs(A, cursor)].map((j) => j.id)).toEqual(bruteAccount(store, A, cursor));
  });

  it('builds its indexes from the data it opens (lowdb, after a reopen)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 's3batch-index-'));
    try {
      const file = join(dir, 'jobs.json');
      const first = await LowdbJobStore.open(file, { batchMs: 1 });
      first.save(job('a', { creationTime: at(1), status: JobStatus.Active }));
      first.save(job('b', { creationTime: at(2) }));
      first.save(job('x', { creationTime: at(3), accountId: B }));
      await first.close();
      const again = await LowdbJobStore.open(file);
      expect([...again.accountJobs(A)].map((j) => j.id)).toEqual(['b', 'a']);
      expect([...again.accountJobs(B)].map((j) => j.id)).toEqual(['x']);
      expect(again.statusCounts()).toEqual(
        new Map([
          [JobStatus.Active, 1],
          [JobStatus.Complete, 2],
        ]),
      );
      expectIndexesMatch(again);
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('ListJobs through the service, on the index', () => {
  afterEach(() => stopTestEngines());

  it('pages every account and status filter like the sort of every job did', () => {
    const random = prng(11);
    const store = new MemoryJobStore();
    for (let i = 0; i < 150; i++) {
      store.save(
        job(`job-${String(i).padStart(3, '0')}`, {
          accountId: random() < 0.7 ? A : B,
          creationTime: at(Math.floor(random() * 30)),
          status: STATUSES[Math.floor(random() * STATUSES.length)]!,
        }),
      );
    }
    const { service } = newTestEngine({
      store,
      objects: new MemoryObjectStore(),
      handler: { execute: async () => ({ status: 'succeeded', resultCode: '200', resultString: '' }) } as never,
    });
    for (const account of [A, B]) {
      for (const jobStatuses of [[], [JobStatus.Complete], [JobStatus.Active, JobStatus.Failed]] as JobStatus[][]) {
        const want = store
          .list()
          .filter((j) => j.accountId === account && (jobStatuses.length === 0 || jobStatuses.includes(j.status)))
          .sort(newestFirst)
          .map((j) => j.id);
        for (const maxResults of [1, 7, 1000]) {
          const got: string[] = [];
          let nextToken: string | undefined;
          let pages = 0;
          do {
            const page = service.listJobs(account, { jobStatuses, maxResults, ...(nextToken ? { nextToken } : {}) });
            expect(page.Jobs.length).toBeLessThanOrEqual(maxResults);
            got.push(...page.Jobs.map((j) => j.JobId));
            nextToken = page.NextToken;
            pages++;
          } while (nextToken !== undefined);
          expect(got).toEqual(want);
          // A NextToken only when another job follows: as many pages as needed, no empty last page.
          expect(pages).toBe(Math.max(1, Math.ceil(want.length / maxResults)));
        }
      }
    }
  });
});
