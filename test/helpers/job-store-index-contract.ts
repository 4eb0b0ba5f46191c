/**
 * The job store's contract on its indexes (storage/job-index.ts through JobStore): the per-account
 * list in ListJobs' order, the per-status sets, kept in step by save and remove. Shared by the
 * memory store's unit test (test/unit/job-store-index.test.ts) and the Redis store's integration
 * test (test/integration/redis-job-store.test.ts): each is checked against the brute-force answer
 * over list().
 */
import { expect, it } from 'vitest';
import { newestFirst, type JobRecord } from '../../src/domain/job.ts';
import { JobStatus } from '../../src/domain/job-status.ts';
import type { JobStore } from '../../src/storage/job-store.ts';
import { storedJob } from './job-records.ts';

export const A = '111122223333';
export const B = '444455556666';

export function job(id: string, patch: Partial<JobRecord> = {}): JobRecord {
  return storedJob(id, { accountId: A, status: JobStatus.Complete, ...patch });
}

/** Seconds after a fixed start, as an ISO time (few distinct values: ties by creation time happen). */
export const at = (s: number): string => new Date(Date.UTC(2025, 0, 1, 0, 0, s)).toISOString();

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const STATUSES = [JobStatus.New, JobStatus.Active, JobStatus.Paused, JobStatus.Complete, JobStatus.Failed];

/** What the indexes must answer, computed from every job. */
export function bruteAccount(store: JobStore, accountId: string, after?: JobRecord): string[] {
  return store
    .list()
    .filter((j) => j.accountId === accountId && (after === undefined || newestFirst(j, after) > 0))
    .sort(newestFirst)
    .map((j) => j.id);
}
function bruteCounts(store: JobStore): Map<string, number> {
  const counts = new Map<string, number>();
  for (const j of store.list()) counts.set(j.status, (counts.get(j.status) ?? 0) + 1);
  return counts;
}
export function expectIndexesMatch(store: JobStore): void {
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

/** The contract's tests, each on a new empty store from `makeStore` (call inside a describe). */
export function jobStoreIndexContract(makeStore: () => JobStore | Promise<JobStore>): void {
  it('lists an account newest first, ties by id, and never another account', async () => {
    const store = await makeStore();
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

  it('starts after a cursor, exclusive, whether or not the cursor is a stored job', async () => {
    const store = await makeStore();
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

  it('follows saves (status moves, updates in place) and removals', async () => {
    const store = await makeStore();
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

  it('agrees with the brute-force answer over random saves and removals', async () => {
    const random = prng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const store = await makeStore();
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
}
