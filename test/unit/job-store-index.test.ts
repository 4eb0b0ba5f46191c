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
import { newestFirst } from '../../src/domain/job.ts';
import { JobStatus } from '../../src/domain/job-status.ts';
import { LowdbJobStore } from '../../src/storage/lowdb-job-store.ts';
import { MemoryJobStore } from '../../src/storage/memory-job-store.ts';
import { MemoryObjectStore } from '../../src/storage/memory-object-store.ts';
import { newTestEngine, stopTestEngines } from '../helpers/engine-harness.ts';
import {
  A,
  B,
  expectIndexesMatch,
  job,
  jobStoreIndexContract,
  prng,
  STATUSES,
  at,
} from '../helpers/job-store-index-contract.ts';

describe('job store indexes', () => {
  jobStoreIndexContract(() => new MemoryJobStore());

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
