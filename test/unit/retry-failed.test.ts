/**
 * Retry failed (service/retry-failed.ts) on the engine's in-memory parts (the same runs on Ceph in
 * test/e2e/failures-retry.test.ts): the manifest written under the origin's report prefix holds
 * exactly the failed rows asked for, the new job is linked both ways and runs them, and each
 * refusal has its code — including a job whose groups are incomplete (it ran before they were
 * kept), where only the report can tell that no row matches.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isS3BatchError } from '../../src/domain/errors.ts';
import { failed, succeeded, type TaskEntry } from '../../src/domain/task.ts';
import type { OperationHandler } from '../../src/operations/operation.ts';
import { RetryFailed } from '../../src/service/retry-failed.ts';
import { MemoryJobStore } from '../../src/storage/memory-job-store.ts';
import { MemoryObjectStore } from '../../src/storage/memory-object-store.ts';
import {
  csvManifest,
  newTestEngine,
  stopTestEngines,
  taggingJobRequest,
  TEST_ACCOUNT,
  waitForStatus,
} from '../helpers/engine-harness.ts';

afterEach(stopTestEngines);

/** missing/ keys fail NoSuchKey, denied/ keys AccessDenied, others succeed. */
const handler: OperationHandler<object> = {
  name: 'S3PutObjectTagging',
  parse: () => ({}),
  async attempt(_config, entry: TaskEntry) {
    await new Promise((r) => setImmediate(r));
    if (entry.key.startsWith('missing/'))
      return { result: failed(entry, 404, 'NoSuchKey', 'The specified key does not exist.'), retryable: false };
    if (entry.key.startsWith('denied/'))
      return { result: failed(entry, 403, 'AccessDenied', 'Access Denied'), retryable: false };
    return { result: succeeded(entry), retryable: false };
  },
};

async function setup(keys: string[]) {
  const objects = new MemoryObjectStore();
  objects.createBucket('src');
  objects.createBucket('reports');
  const store = new MemoryJobStore();
  const { engine, service } = newTestEngine({ store, objects, handler });
  await engine.start();
  const body = keys.map((k) => `src,${encodeURIComponent(k)}\n`).join('');
  const { etag } = await objects.put({ bucket: 'src', key: 'm.csv' }, body);
  const { JobId } = service.createJob(TEST_ACCOUNT, taggingJobRequest({ Manifest: csvManifest('m.csv', etag) }));
  await waitForStatus(engine, store, JobId, 'Complete');
  const retries = new RetryFailed({ service, objectsFor: () => objects });
  return { engine, service, store, objects, retries, origin: JobId };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (isS3BatchError(err)) return err.code;
    throw err;
  }
}

const keys = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('RetryFailed', () => {
  it('writes the failed rows of the codes asked for under the report prefix and links the jobs', async () => {
    const w = await setup([...keys(7, 'ok/'), ...keys(15, 'missing/a b '), ...keys(4, 'denied/')]);
    const out = await w.retries.retry(TEST_ACCOUNT, w.origin, { codes: ['AccessDenied'] });
    expect(out.Tasks).toBe(4);
    const key = out.Manifest.ObjectArn.replace('arn:aws:s3:::reports/', '');
    expect(key).toMatch(new RegExp(`^r/job-${w.origin}/retries/[0-9a-f-]{36}\\.csv$`));
    expect(w.objects.getText('reports', key)).toBe(
      keys(4, 'denied/')
        .map((k) => `src,${encodeURIComponent(k)}\n`)
        .join(''),
    );
    const created = w.store.get(out.JobId)!;
    expect(created.retryOf).toBe(w.origin);
    expect(created.request.Manifest?.Location).toEqual({ ObjectArn: out.Manifest.ObjectArn, ETag: out.Manifest.ETag });
    expect(created.request.ConfirmationRequired).toBe(false);
    expect(w.store.get(w.origin)!.retries).toEqual([out.JobId]);
    await waitForStatus(w.engine, w.store, out.JobId, 'Complete');
    expect(w.store.get(out.JobId)!.progress.failures?.map((g) => [g.code, g.count])).toEqual([['AccessDenied', 4]]);

    const all = await w.retries.retry(TEST_ACCOUNT, w.origin);
    expect(all.Tasks).toBe(19);
    expect(w.store.get(w.origin)!.retries).toEqual([out.JobId, all.JobId]);
  });

  it('refuses a job not ended, without failures, and codes that match nothing', async () => {
    const w = await setup([...keys(3, 'ok/'), ...keys(2, 'missing/')]);
    expect(await codeOf(w.retries.retry(TEST_ACCOUNT, w.origin, { codes: ['SlowDown'] }))).toBe(
      'RetryCodesMatchNothing',
    );
    expect(await codeOf(w.retries.retry(TEST_ACCOUNT, 'nope'))).toBe('NotFoundException');
    // A job from before the groups were kept: the report says that no row matches.
    w.engine.records.update(w.origin, (j) => ({ ...j, progress: { ...j.progress, failures: undefined } }));
    expect(await codeOf(w.retries.retry(TEST_ACCOUNT, w.origin, { codes: ['SlowDown'] }))).toBe(
      'RetryCodesMatchNothing',
    );
    expect((await w.retries.retry(TEST_ACCOUNT, w.origin, { codes: ['NoSuchKey'] })).Tasks).toBe(2);

    const clean = await setup(keys(3, 'ok/'));
    expect(await codeOf(clean.retries.retry(TEST_ACCOUNT, clean.origin))).toBe('RetryNoFailedTasks');
    clean.engine.records.update(clean.origin, (j) => ({ ...j, status: 'Active' }));
    expect(await codeOf(clean.retries.retry(TEST_ACCOUNT, clean.origin))).toBe('RetryJobNotEnded');
  });
});
