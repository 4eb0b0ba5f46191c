import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TaskResult, TaskStatus } from '../../src/domain/task.ts';
import { formatReportRow, resultFileName } from '../../src/reports/report-format.ts';
import { writeReport } from '../../src/reports/report-writer.ts';
import type { WriteReportArgs } from '../../src/reports/report-writer.ts';
import { ObjectStoreError } from '../../src/storage/object-store.ts';
import { createMemorySpool } from '../../src/storage/memory-spool.ts';
import type { MemorySpool } from '../../src/storage/memory-spool.ts';
import { createFakeObjectStore } from '../helpers/fake-object-store.ts';
import type { FakeObjectStore } from '../helpers/fake-object-store.ts';

const JOB = 'f8fb9d89-a3aa-461d-bddc-ea6a1b131955';
const NOW = new Date('2019-04-05T17:48:39.725Z');

function ok(key: string): TaskResult {
  return {
    bucket: 'src-logs',
    rawKey: key,
    versionId: '',
    status: 'succeeded',
    httpStatus: 200,
    errorCode: '',
    message: 'Successful',
  };
}
function ko(key: string, message = 'The specified key does not exist.'): TaskResult {
  return {
    bucket: 'src-logs',
    rawKey: key,
    versionId: '',
    status: 'failed',
    httpStatus: 404,
    errorCode: 'NoSuchKey',
    message,
  };
}

/** Spools the given chunks: chunk index → its results. */
async function spoolOf(chunks: Record<number, readonly TaskResult[]>): Promise<MemorySpool> {
  const spool = createMemorySpool();
  for (const [index, rows] of Object.entries(chunks)) {
    const writer = await spool.open(JOB, Number(index));
    for (const r of rows) writer.append(r);
    await writer.close();
  }
  return spool;
}

function run(
  spool: MemorySpool,
  store: FakeObjectStore,
  overrides: Partial<WriteReportArgs> & { scope?: 'AllTasks' | 'FailedTasksOnly'; prefix?: string } = {},
): ReturnType<typeof writeReport> {
  const { scope = 'AllTasks', prefix, ...rest } = overrides;
  return writeReport({
    jobId: JOB,
    report: { bucketName: 'my-job-reports', prefix, scope },
    chunkIndices: [0, 1],
    spool,
    store,
    now: () => NOW,
    ...rest,
  });
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const resultKey = (status: TaskStatus, part: number, base = `job-${JOB}`): string =>
  `${base}/results/${resultFileName(JOB, status, part)}.csv`;

interface ManifestJson {
  Format: string;
  ReportCreationDate: string;
  Results: { TaskExecutionStatus: string; Bucket: string; MD5Checksum: string; Key: string }[];
  ReportSchema: string;
}

describe('writeReport', () => {
  it('writes succeeded then failed files and a manifest whose MD5s match the bytes', async () => {
    const spool = await spoolOf({
      0: [ok('a%20b'), ko('gone'), ok('c')],
      1: [ko('x,y', 'Lambda returned function error: {"errorMessage":"boom"}'), ok('d')],
    });
    const store = createFakeObjectStore();
    const outcome = await run(spool, store);

    const succeededKey = resultKey('succeeded', 0);
    const failedKey = resultKey('failed', 0);
    const manifestKey = `job-${JOB}/manifest.json`;
    expect(store.puts.map((p) => p.key)).toEqual([succeededKey, failedKey, manifestKey]);

    expect(store.text('my-job-reports', succeededKey)).toBe(
      'src-logs,a%20b,,succeeded,200,,Successful\r\nsrc-logs,c,,succeeded,200,,Successful\r\nsrc-logs,d,,succeeded,200,,Successful\r\n',
    );
    expect(store.text('my-job-reports', failedKey)).toBe(
      'src-logs,gone,,failed,404,NoSuchKey,The specified key does not exist.\r\n' +
        'src-logs,"x,y",,failed,404,NoSuchKey,"Lambda returned function error: {""errorMessage"":""boom""}"\r\n',
    );
    expect(store.get('my-job-reports', succeededKey)?.contentType).toBe('text/csv');
    expect(store.get('my-job-reports', manifestKey)?.contentType).toBe('application/json');

    const manifest = JSON.parse(store.text('my-job-reports', manifestKey)) as ManifestJson;
    expect(manifest).toEqual({
      Format: 'Report_CSV_20180820',
      ReportCreationDate: '2019-04-05T17:48:39.725Z',
      Results: [
        {
          TaskExecutionStatus: 'succeeded',
          Bucket: 'my-job-reports',
          MD5Checksum: expect.any(String),
          Key: succeededKey,
        },
        { TaskExecutionStatus: 'failed', Bucket: 'my-job-reports', MD5Checksum: expect.any(String), Key: failedKey },
      ],
      ReportSchema: 'Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage',
    });
    for (const entry of manifest.Results) {
      const stored = store.get('my-job-reports', entry.Key);
      expect(stored).toBeDefined();
      expect(entry.MD5Checksum).toBe(md5(stored?.body ?? Buffer.alloc(0)));
    }

    expect(outcome).toEqual({
      writtenAt: '2019-04-05T17:48:39.725Z',
      bucket: 'my-job-reports',
      manifestKey,
      files: [
        { key: succeededKey, taskStatus: 'succeeded', md5: manifest.Results[0]?.MD5Checksum, rows: 3 },
        { key: failedKey, taskStatus: 'failed', md5: manifest.Results[1]?.MD5Checksum, rows: 2 },
      ],
    });
  });

  it('writes only failed files with FailedTasksOnly', async () => {
    const spool = await spoolOf({ 0: [ok('a'), ko('b')], 1: [ok('c'), ko('d')] });
    const store = createFakeObjectStore();
    const outcome = await run(spool, store, { scope: 'FailedTasksOnly' });
    expect(outcome.files.map((f) => [f.taskStatus, f.rows])).toEqual([['failed', 2]]);
    expect(store.puts.map((p) => p.key)).toEqual([resultKey('failed', 0), `job-${JOB}/manifest.json`]);
    const manifest = JSON.parse(store.text('my-job-reports', outcome.manifestKey)) as ManifestJson;
    expect(manifest.Results.map((r) => r.TaskExecutionStatus)).toEqual(['failed']);
  });

  it('writes Results: [] and no result file when FailedTasksOnly and nothing failed', async () => {
    const spool = await spoolOf({ 0: [ok('a')], 1: [ok('b')] });
    const store = createFakeObjectStore();
    const outcome = await run(spool, store, { scope: 'FailedTasksOnly' });
    expect(outcome.files).toEqual([]);
    expect(store.puts.map((p) => p.key)).toEqual([`job-${JOB}/manifest.json`]);
    expect((JSON.parse(store.text('my-job-reports', outcome.manifestKey)) as ManifestJson).Results).toEqual([]);
  });

  it('writes no file for a status without rows', async () => {
    const spool = await spoolOf({ 0: [ok('a')], 1: [ok('b')] });
    const store = createFakeObjectStore();
    const outcome = await run(spool, store);
    expect(outcome.files.map((f) => f.taskStatus)).toEqual(['succeeded']);
    expect(store.puts).toHaveLength(2);
  });

  it('rotates files every maxRowsPerFile rows, without an empty last part', async () => {
    const seven = Array.from({ length: 7 }, (_, i) => ok(`k${i}`));
    const store = createFakeObjectStore();
    const outcome = await run(await spoolOf({ 0: seven.slice(0, 4), 1: seven.slice(4) }), store, { maxRowsPerFile: 3 });
    expect(outcome.files.map((f) => [f.key, f.rows])).toEqual([
      [resultKey('succeeded', 0), 3],
      [resultKey('succeeded', 1), 3],
      [resultKey('succeeded', 2), 1],
    ]);
    const all = outcome.files.map((f) => store.text('my-job-reports', f.key)).join('');
    expect(all).toBe(seven.map(formatReportRow).join(''));
    for (const f of outcome.files) expect(f.md5).toBe(md5(store.get('my-job-reports', f.key)?.body ?? Buffer.alloc(0)));

    const six = await run(await spoolOf({ 0: seven.slice(0, 6) }), createFakeObjectStore(), {
      maxRowsPerFile: 3,
      chunkIndices: [0],
    });
    expect(six.files.map((f) => f.rows)).toEqual([3, 3]);
  });

  it('reads chunks in ascending order whatever order they are given in', async () => {
    const spool = await spoolOf({ 0: [ok('a')], 1: [ok('b')], 2: [ok('c')] });
    const store = createFakeObjectStore();
    const outcome = await run(spool, store, { chunkIndices: [2, 0, 1] });
    expect(store.text('my-job-reports', outcome.files[0]?.key ?? '')).toBe(
      ['a', 'b', 'c'].map((k) => formatReportRow(ok(k))).join(''),
    );
  });

  it('places keys under the prefix without a double slash', async () => {
    const store = createFakeObjectStore();
    const outcome = await run(await spoolOf({ 0: [ko('a')], 1: [] }), store, { prefix: 'reports/' });
    expect(outcome.manifestKey).toBe(`reports/job-${JOB}/manifest.json`);
    expect(outcome.files[0]?.key).toBe(resultKey('failed', 0, `reports/job-${JOB}`));
    expect(store.puts.every((p) => !p.key.includes('//'))).toBe(true);
  });

  it('streams a large file to the store in many chunks', async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => ok(`some/longer/prefix/object-${i}.bin`));
    const store = createFakeObjectStore();
    const outcome = await run(await spoolOf({ 0: rows }), store, { chunkIndices: [0] });
    const stored = store.get('my-job-reports', outcome.files[0]?.key ?? '');
    expect(outcome.files[0]?.rows).toBe(20_000);
    expect(stored?.chunks).toBeGreaterThan(5);
    expect(stored?.body.length).toBe(rows.reduce((n, r) => n + formatReportRow(r).length, 0));
    expect(outcome.files[0]?.md5).toBe(md5(stored?.body ?? Buffer.alloc(0)));
  });

  it('propagates a store error', async () => {
    const store = createFakeObjectStore();
    store.failPut((key) => key.endsWith('manifest.json'), new ObjectStoreError(403, 'AccessDenied', 'Access Denied'));
    await expect(run(await spoolOf({ 0: [ok('a')], 1: [] }), store)).rejects.toMatchObject({
      name: 'ObjectStoreError',
      code: 'AccessDenied',
    });
  });

  it('propagates a spool error (a chunk without a spool)', async () => {
    await expect(run(await spoolOf({ 0: [ok('a')] }), createFakeObjectStore())).rejects.toThrow(/chunk 1/);
  });

  it('stops when the signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const store = createFakeObjectStore();
    await expect(
      run(await spoolOf({ 0: [ok('a')], 1: [] }), store, { signal: controller.signal }),
    ).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(store.puts).toEqual([]);
  });

  it('rejects a maxRowsPerFile below 1', async () => {
    await expect(run(await spoolOf({ 0: [], 1: [] }), createFakeObjectStore(), { maxRowsPerFile: 0 })).rejects.toThrow(
      RangeError,
    );
  });
});
