/**
 * The lowdb job store on a real file in a fresh temp dir per test: batched saves, durable flush,
 * atomic writes (the file is always whole JSON), refusal of files that are not an s3batch store,
 * tokens across reopen, and write failures surfacing from flush() (never as unhandled rejections).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isS3BatchError } from '../../src/domain/errors.ts';
import type { JobRecord } from '../../src/domain/job.ts';
import { JobStatus } from '../../src/domain/job-status.ts';
import { LowdbJobStore } from '../../src/storage/lowdb-job-store.ts';
import { storedJob } from '../helpers/job-records.ts';

const ACCOUNT = '111122223333';

let dir: string;
let file: string;
const open: LowdbJobStore[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3batch-lowdb-'));
  file = join(dir, 'jobs.json');
});

afterEach(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function openStore(options: { batchMs?: number } = {}): Promise<LowdbJobStore> {
  const store = await LowdbJobStore.open(file, options);
  open.push(store);
  return store;
}

function job(n: number, patch: Partial<JobRecord> = {}): JobRecord {
  const creationTime = new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString();
  return storedJob(
    `job-${String(n).padStart(5, '0')}`,
    { accountId: ACCOUNT, creationTime, priority: n, ...patch },
    String(n),
  );
}

async function readJson(): Promise<{
  version: number;
  jobs: Record<string, JobRecord>;
  tokens: Record<string, unknown>;
}> {
  return JSON.parse(await readFile(file, 'utf8')) as {
    version: number;
    jobs: Record<string, JobRecord>;
    tokens: Record<string, unknown>;
  };
}

async function openCode(): Promise<string> {
  try {
    await openStore();
  } catch (err) {
    if (isS3BatchError(err)) return err.code;
    throw err;
  }
  return 'opened';
}

/** Polls `predicate` (no fixed sleep); fails after `timeoutMs`. */
async function waitUntil(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('LowdbJobStore', () => {
  it('starts empty on a missing file and creates the directory', async () => {
    file = join(dir, 'nested', 'deeper', 'jobs.json');
    const store = await openStore();
    expect(store.list()).toEqual([]);
    store.save(job(1));
    await store.flush();
    expect((await readJson()).version).toBe(1);
  });

  it('batches a burst of 1,000 saves into a few writes', async () => {
    const store = await openStore();
    for (let i = 0; i < 1000; i++) store.save(job(i % 50, { priority: i }));
    await store.flush();
    expect(store.writes).toBeGreaterThanOrEqual(1);
    expect(store.writes).toBeLessThanOrEqual(3);
    const data = await readJson();
    expect(Object.keys(data.jobs)).toHaveLength(50);
    expect(data.jobs['job-00049']?.priority).toBe(999);
  });

  it('writes on its own after batchMs, without flush', async () => {
    const store = await openStore({ batchMs: 10 });
    store.save(job(1));
    expect(store.writes).toBe(0);
    await waitUntil('the batched write', async () => {
      try {
        return (await readJson()).jobs['job-00001'] !== undefined;
      } catch {
        return false;
      }
    });
    expect(store.writes).toBe(1);
  });

  it('flush makes every save durable: a reopened store sees them', async () => {
    const store = await openStore({ batchMs: 60_000 });
    for (let i = 0; i < 20; i++) store.save(job(i));
    store.save(
      job(3, {
        status: JobStatus.Failed,
        failureReasons: [{ FailureCode: 'ManifestNotFound', FailureReason: 'gone' }],
      }),
    );
    await store.flush();
    expect(store.writes).toBe(1);
    const again = await openStore();
    expect(again.list()).toHaveLength(20);
    expect(again.get('job-00003')).toEqual(
      job(3, {
        status: JobStatus.Failed,
        failureReasons: [{ FailureCode: 'ManifestNotFound', FailureReason: 'gone' }],
      }),
    );
  });

  it('flush with nothing saved writes nothing; close flushes and later saves are not written', async () => {
    const store = await openStore({ batchMs: 60_000 });
    await store.flush();
    expect(store.writes).toBe(0);
    store.save(job(1));
    await store.close();
    expect(store.writes).toBe(1);
    store.save(job(2));
    await store.flush();
    expect(store.writes).toBe(1);
    expect(Object.keys((await readJson()).jobs)).toEqual(['job-00001']);
  });

  it('keeps the file whole JSON through a burst: no .tmp left, reopening mid-burst never fails', async () => {
    const store = await openStore({ batchMs: 1 });
    let reopened = 0;
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 25; i++)
        store.save(job(round * 25 + i, { tags: [{ Key: 'padding', Value: 'x'.repeat(200) }] }));
      await new Promise((r) => setTimeout(r, 1));
      if (round % 4 === 3) {
        // A reader that opens the file while writes are in flight sees a whole, valid store.
        try {
          const reader = await LowdbJobStore.open(file);
          reopened++;
          expect(reader.list().length).toBeGreaterThan(0);
        } catch (err) {
          throw new Error(`reopening mid-burst failed: ${(err as Error).message}`);
        }
      }
    }
    await store.flush();
    expect(reopened).toBe(10);
    expect(store.writes).toBeGreaterThan(5); // the reads really raced writes
    const data = await readJson();
    expect(Object.keys(data.jobs)).toHaveLength(1000);
    expect((await readdir(dir)).sort()).toEqual(['jobs.json']);
  });

  it('keeps idempotency tokens across reopen; remove() drops the job and its token', async () => {
    const store = await openStore();
    store.save(job(1));
    store.saveToken({ accountId: ACCOUNT, token: 'token-1', requestHash: 'hash-1', jobId: 'job-00001' });
    store.save(job(2));
    store.saveToken({ accountId: ACCOUNT, token: 'token-2', requestHash: 'hash-2', jobId: 'job-00002' });
    await store.close();

    const again = await openStore();
    expect(again.findToken(ACCOUNT, 'token-1')).toEqual({
      accountId: ACCOUNT,
      token: 'token-1',
      requestHash: 'hash-1',
      jobId: 'job-00001',
    });
    // tokens are per account
    expect(again.findToken('999988887777', 'token-1')).toBeUndefined();

    again.remove('job-00001');
    again.remove('no-such-job'); // a no-op
    expect(again.get('job-00001')).toBeUndefined();
    expect(again.findToken(ACCOUNT, 'token-1')).toBeUndefined();
    expect(again.findToken(ACCOUNT, 'token-2')?.jobId).toBe('job-00002');
    await again.close();

    const third = await openStore();
    expect(third.list().map((j) => j.id)).toEqual(['job-00002']);
    expect(third.findToken(ACCOUNT, 'token-1')).toBeUndefined();
    expect(third.findToken(ACCOUNT, 'token-2')?.jobId).toBe('job-00002');
  });

  it.each([
    ['not JSON', '{"version": 1, "jobs": {'],
    ['an empty file', ''],
    ['a JSON array', '[]'],
    ['a JSON string', '"jobs"'],
    ['a foreign JSON object', '{"users": [{"name": "x"}]}'],
    ['another store version', '{"version": 2, "jobs": {}, "tokens": {}}'],
    ['a version-1 store without tokens', '{"version": 1, "jobs": {}}'],
    ['a version-1 store with null jobs', '{"version": 1, "jobs": null, "tokens": {}}'],
    ['a version-1 store with a jobs list', '{"version": 1, "jobs": [], "tokens": {}}'],
    ['a version-1 store with null tokens', '{"version": 1, "jobs": {}, "tokens": null}'],
  ])('refuses %s with InvalidConfiguration and leaves it untouched', async (_name, content) => {
    await writeFile(file, content);
    expect(await openCode()).toBe('InvalidConfiguration');
    expect(await readFile(file, 'utf8')).toBe(content);
  });

  it('a failed write surfaces from flush(), is not an unhandled rejection, and later writes still happen', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const store = await openStore({ batchMs: 1 });
      store.save(job(1));
      await store.flush();
      // The writer writes .jobs.json.tmp and renames it: a directory in its place makes writes fail.
      const tmp = join(dir, '.jobs.json.tmp');
      await mkdir(tmp);
      store.save(job(2));
      // the timer's own write fails in the background…
      await waitUntil('the failing background write', () => store.writes >= 2);
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
      // …and flush() reports it (it retries the write once, which fails again)
      await expect(store.flush()).rejects.toMatchObject({ code: 'EISDIR' });
      expect(Object.keys((await readJson()).jobs)).toEqual(['job-00001']);

      // Once writes work again, the next save or flush writes the latest state of everything.
      await rm(tmp, { recursive: true });
      store.save(job(3));
      await store.flush();
      expect(Object.keys((await readJson()).jobs).sort()).toEqual(['job-00001', 'job-00002', 'job-00003']);
      await store.close();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('flush retries a failed last write even without a new save', async () => {
    const store = await openStore({ batchMs: 60_000 });
    const tmp = join(dir, '.jobs.json.tmp');
    await mkdir(tmp);
    store.save(job(1));
    await expect(store.flush()).rejects.toMatchObject({ code: 'EISDIR' });
    await rm(tmp, { recursive: true });
    await store.flush();
    expect(Object.keys((await readJson()).jobs)).toEqual(['job-00001']);
  });
});
