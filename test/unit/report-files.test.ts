/**
 * ReportFiles (service/report-files.ts) over a report the real report writer wrote into the
 * in-memory object store (two rows per file, so a job has several failed files): listing, opening
 * a file by base name only, the failed rows concatenated file after file and opened one at a time,
 * why a job has no report, and storage failures as ReportUnavailable.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isS3BatchError } from '../../src/domain/errors.ts';
import type { JobRecord } from '../../src/domain/job.ts';
import type { CreateJobRequest } from '../../src/domain/job-spec.ts';
import type { TaskResult } from '../../src/domain/task.ts';
import { writeReport } from '../../src/reports/report-writer.ts';
import { ReportFiles } from '../../src/service/report-files.ts';
import { MemoryObjectStore } from '../../src/storage/memory-object-store.ts';
import { createMemorySpool } from '../../src/storage/memory-spool.ts';
import { ObjectStoreError, type ObjectStore } from '../../src/storage/object-store.ts';

const ACCOUNT = '111122223333';
const JOB = 'a1b2c3d4-0000-4000-8000-000000000001';
const ROLE = 'arn:aws:iam::111122223333:role/batch';

function row(key: string, ok: boolean): TaskResult {
  return ok
    ? {
        bucket: 'src',
        rawKey: key,
        versionId: '',
        status: 'succeeded',
        httpStatus: 200,
        errorCode: '',
        message: 'Successful',
      }
    : {
        bucket: 'src',
        rawKey: key,
        versionId: '',
        status: 'failed',
        httpStatus: 404,
        errorCode: 'NoSuchKey',
        message: `No such key ${key}`,
      };
}

function record(
  overrides: Partial<JobRecord> & { report?: JobRecord['report']; reportEnabled?: boolean } = {},
): JobRecord {
  const { reportEnabled = true, ...rest } = overrides;
  const request = {
    Operation: { S3PutObjectTagging: { TagSet: [] } },
    Report: reportEnabled
      ? {
          Enabled: true,
          Bucket: 'arn:aws:s3:::reports',
          Format: 'Report_CSV_20180820',
          Prefix: 'pre',
          ReportScope: 'AllTasks',
        }
      : { Enabled: false },
    Priority: 1,
    RoleArn: ROLE,
  } as CreateJobRequest;
  return {
    id: JOB,
    accountId: ACCOUNT,
    creationTime: '2026-01-01T00:00:00.000Z',
    priority: 1,
    request,
    clientRequestToken: 't',
    requestHash: 'h',
    tags: [],
    failureReasons: [],
    progress: { total: 7, succeeded: 3, failed: 4 },
    chunks: { watermark: 1, done: [] },
    status: 'Complete',
    activeMs: 0,
    ...rest,
  };
}

/** A report of 3 succeeded and 5 failed rows in files of 2 rows, written by writeReport. */
async function written(store: MemoryObjectStore): Promise<JobRecord['report']> {
  store.createBucket('reports');
  const spool = createMemorySpool();
  const w = await spool.open(JOB, 0);
  for (const [i, ok] of [true, false, true, false, false, true, false, false].entries()) w.append(row(`k${i}`, ok));
  await w.close();
  return writeReport({
    jobId: JOB,
    report: { bucketName: 'reports', prefix: 'pre', scope: 'AllTasks' },
    chunkIndices: [0],
    spool,
    store,
    now: () => new Date('2026-01-02T00:00:00.000Z'),
    maxRowsPerFile: 2,
  });
}

function filesFor(job: JobRecord, store: ObjectStore): ReportFiles {
  return new ReportFiles({
    getJob: (account, id) => {
      if (account !== job.accountId || id !== job.id) throw new Error('unexpected lookup');
      return job;
    },
    objectsFor: (roleArn) => {
      expect(roleArn).toBe(ROLE);
      return store;
    },
  });
}

async function text(body: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const b of body) parts.push(Buffer.from(b));
  return Buffer.concat(parts).toString('utf8');
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isS3BatchError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('ReportFiles', () => {
  it('lists the report files by base name with their keys, statuses, rows and MD5s', async () => {
    const store = new MemoryObjectStore({ readChunkSize: 7 });
    const report = await written(store);
    const listing = filesFor(record({ report }), store).list(ACCOUNT, JOB);
    expect(listing.report).toMatchObject({
      bucket: 'reports',
      prefix: 'pre',
      manifestKey: `pre/job-${JOB}/manifest.json`,
      writtenAt: '2026-01-02T00:00:00.000Z',
    });
    expect(listing.report!.files.map((f) => [f.taskStatus, f.rows])).toEqual([
      ['succeeded', 2],
      ['succeeded', 1],
      ['failed', 2],
      ['failed', 2],
      ['failed', 1],
    ]);
    for (const f of listing.report!.files) {
      expect(f.name).toMatch(/^[0-9a-f]{40}\.csv$/);
      expect(f.key).toBe(`pre/job-${JOB}/results/${f.name}`);
    }
    expect(filesFor(record(), store).list(ACCOUNT, JOB).report).toBeNull();
  });

  it('streams a file named by its base name, and manifest.json, byte for byte with their sizes', async () => {
    const store = new MemoryObjectStore({ readChunkSize: 7 });
    const report = await written(store);
    const files = filesFor(record({ report }), store);
    for (const f of report!.files) {
      const name = f.key.slice(f.key.lastIndexOf('/') + 1);
      const dl = await files.open(ACCOUNT, JOB, name);
      expect(dl).toMatchObject({
        name,
        contentType: 'text/csv; charset=utf-8',
        size: store.getBytes('reports', f.key).length,
      });
      expect(await text(dl.body)).toBe(store.getText('reports', f.key));
    }
    const manifest = await files.open(ACCOUNT, JOB, 'manifest.json');
    expect(manifest.contentType).toBe('application/json');
    expect(JSON.parse(await text(manifest.body))).toMatchObject({ Format: 'Report_CSV_20180820' });
  });

  it('refuses every name that is not one of the job own files (no key is built from a name)', async () => {
    const store = new MemoryObjectStore();
    const report = await written(store);
    store.createBucket('src');
    await store.put({ bucket: 'reports', key: 'secret.csv' }, 'other data');
    const files = filesFor(record({ report }), store);
    const first = report!.files[0]!.key;
    for (const name of [
      '../secret.csv',
      '../../secret.csv',
      'secret.csv',
      '..',
      '.',
      '',
      first,
      `results/${first.slice(first.lastIndexOf('/') + 1)}`,
      '%2e%2e%2fsecret.csv',
      'MANIFEST.JSON',
    ]) {
      const err = await codeOf(files.open(ACCOUNT, JOB, name));
      expect(err.code, name).toBe('ReportNotFound');
      expect(err.message).toContain('manifest.json');
    }
    expect(store.opens).toHaveLength(0);
  });

  it('concatenates the failed files in order, opening each only when the previous one was read', async () => {
    const store = new MemoryObjectStore({ readChunkSize: 5 });
    const report = await written(store);
    const failedKeys = report!.files.filter((f) => f.taskStatus === 'failed').map((f) => f.key);
    expect(failedKeys).toHaveLength(3);
    const dl = await filesFor(record({ report }), store).openFailed(ACCOUNT, JOB);
    expect(dl).toMatchObject({
      name: `job-${JOB}-failed.csv`,
      contentType: 'text/csv; charset=utf-8',
      size: undefined,
    });
    expect(store.opens.map((o) => o.ref.key)).toEqual([failedKeys[0]]);
    const body = await text(dl.body);
    expect(store.opens.map((o) => o.ref.key)).toEqual(failedKeys);
    expect(body).toBe(failedKeys.map((k) => store.getText('reports', k)).join(''));
    expect(
      body
        .split('\r\n')
        .filter(Boolean)
        .map((l) => l.split(',')[1]),
    ).toEqual(['k1', 'k3', 'k4', 'k6', 'k7']);
  });

  it('answers an empty body of size 0 when no task failed', async () => {
    const store = new MemoryObjectStore();
    store.createBucket('reports');
    const spool = createMemorySpool();
    const w = await spool.open(JOB, 0);
    w.append(row('a', true));
    await w.close();
    const report = await writeReport({
      jobId: JOB,
      report: { bucketName: 'reports', scope: 'AllTasks' },
      chunkIndices: [0],
      spool,
      store,
      now: () => new Date(),
    });
    const dl = await filesFor(record({ report }), store).openFailed(ACCOUNT, JOB);
    expect(dl.size).toBe(0);
    expect(await text(dl.body)).toBe('');
  });

  it('says why a job has no report: its status, reports off, a write failure, no task ran', async () => {
    const store = new MemoryObjectStore();
    const cases: [Partial<JobRecord> & { reportEnabled?: boolean }, RegExp][] = [
      [
        { status: 'Active' },
        /is Active: its completion report is written when the job ends \(Complete, Failed or Cancelled\)/,
      ],
      [{ status: 'Suspended' }, /is Suspended/],
      [{ reportEnabled: false }, /reports are off for it/],
      [
        {
          failureReasons: [
            {
              FailureCode: 'ReportWriteFailed',
              FailureReason: 'The job report could not be written to your report bucket: AccessDenied',
            },
          ],
        },
        /could not be written: .*AccessDenied/,
      ],
      [{ status: 'Failed', progress: { total: 0, succeeded: 0, failed: 0 } }, /ended Failed before any task ran/],
    ];
    for (const [overrides, message] of cases) {
      const files = filesFor(record(overrides), store);
      for (const p of [files.open(ACCOUNT, JOB, 'manifest.json'), files.openFailed(ACCOUNT, JOB)]) {
        const err = await codeOf(p);
        expect(err.code).toBe('ReportNotFound');
        expect(err.message).toMatch(message);
      }
    }
  });

  it('turns a storage failure into ReportUnavailable carrying the store code', async () => {
    const store = new MemoryObjectStore();
    const report = await written(store);
    const name = 'manifest.json';
    store.setAccess('reports', { read: false });
    let err = await codeOf(filesFor(record({ report }), store).open(ACCOUNT, JOB, name));
    expect(err.code).toBe('ReportUnavailable');
    expect(err.message).toContain('AccessDenied');
    store.setAccess('reports', { read: true });
    store.delete('reports', report!.manifestKey);
    err = await codeOf(filesFor(record({ report }), store).open(ACCOUNT, JOB, name));
    expect(err).toMatchObject({ code: 'ReportUnavailable' });
    expect(err.message).toContain('NoSuchKey');
    const gone = new ReportFiles({
      getJob: () => record({ report }),
      objectsFor: () => {
        throw new ObjectStoreError(0, 'ECONNREFUSED', 'connect ECONNREFUSED');
      },
    });
    expect((await codeOf(gone.openFailed(ACCOUNT, JOB))).message).toContain('ECONNREFUSED');
  });

  it('cancel() closes the storage stream of a download nobody reads to its end', async () => {
    const store = new MemoryObjectStore();
    const report = await written(store);
    // A Node stream body, as the S3 SDK gives (the memory store serves an async generator).
    const streams: Readable[] = [];
    const streaming: ObjectStore = {
      ...store,
      put: store.put.bind(store),
      open: async (ref) => {
        const opened = await store.open(ref);
        const body = Readable.from(opened.body);
        streams.push(body);
        return { ...opened, body };
      },
    };
    const files = filesFor(record({ report }), streaming);
    const one = await files.open(ACCOUNT, JOB, 'manifest.json');
    one.cancel();
    const failed = await files.openFailed(ACCOUNT, JOB);
    failed.cancel();
    expect(streams).toHaveLength(2);
    expect(streams.every((s) => s.destroyed)).toBe(true);
    // Cancelled before it was read: the next failed files are never opened.
    expect(await text(failed.body)).toBe('');
    expect(streams).toHaveLength(2);
  });
});
