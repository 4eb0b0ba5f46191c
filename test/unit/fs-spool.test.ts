import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskResult, TaskStatus } from '../../src/domain/task.ts';
import { formatReportRow } from '../../src/reports/report-format.ts';
import { writeReport } from '../../src/reports/report-writer.ts';
import { createFsSpool } from '../../src/storage/fs-spool.ts';
import { MemoryObjectStore } from '../../src/storage/memory-object-store.ts';
import { createMemorySpool } from '../../src/storage/memory-spool.ts';
import type { ResultSpool } from '../../src/storage/result-spool.ts';
import { S3PartSpool } from '../../src/storage/s3-part-spool.ts';
import { createFakeObjectStore } from '../helpers/fake-object-store.ts';

const JOB = 'f8fb9d89-a3aa-461d-bddc-ea6a1b131955';

let dir = '';
let keepDir = false;
beforeEach(async (ctx) => {
  dir = await mkdtemp(join(tmpdir(), 's3batch-spool-'));
  keepDir = false;
  // A failed test leaves its directory behind as evidence.
  ctx.onTestFailed(() => {
    keepDir = true;
    console.log(`spool directory kept: ${dir}`);
  });
});
afterEach(async () => {
  if (!keepDir) await rm(dir, { recursive: true, force: true });
});

function result(i: number, status: TaskStatus = 'succeeded', extra: Partial<TaskResult> = {}): TaskResult {
  return status === 'succeeded'
    ? {
        bucket: 'src',
        rawKey: `k/${i}`,
        versionId: '',
        status,
        httpStatus: 200,
        errorCode: '',
        message: 'Successful',
        ...extra,
      }
    : {
        bucket: 'src',
        rawKey: `k/${i}`,
        versionId: 'v1',
        status,
        httpStatus: 404,
        errorCode: 'NoSuchKey',
        message: `gone ${i}`,
        ...extra,
      };
}

async function collect(spool: ResultSpool, chunk: number, status: TaskStatus, jobId = JOB): Promise<TaskResult[]> {
  const out: TaskResult[] = [];
  for await (const r of spool.read(jobId, chunk, status)) out.push(r);
  return out;
}

const chunkFile = (chunk: number, status: TaskStatus): string =>
  join(dir, JOB, `chunk-${chunk}.${status === 'failed' ? 'f' : 's'}.ndjson`);

describe('createFsSpool', () => {
  it('keeps rows per status in append order across close and a fresh spool instance', async () => {
    const awkward = result(3, 'failed', {
      rawKey: 'a%20b/%E2%9C%93',
      message: 'line1\nline2, "quoted" \u2028 ünï \ud83d\ude00 \\ back',
      errorCode: 'PermanentFailure',
      httpStatus: 200,
    });
    const rows = [result(1), result(2, 'failed'), awkward, result(4), result(5, 'succeeded', { versionId: 'xyz' })];
    const writer = await createFsSpool(dir).open(JOB, 0);
    for (const r of rows) writer.append(r);
    await writer.close();

    const reopened = createFsSpool(dir);
    expect(await collect(reopened, 0, 'succeeded')).toEqual(rows.filter((r) => r.status === 'succeeded'));
    expect(await collect(reopened, 0, 'failed')).toEqual(rows.filter((r) => r.status === 'failed'));
    expect(await reopened.chunks(JOB)).toEqual([0]);
  });

  it('buffers appends instead of writing each one', async () => {
    const writer = await createFsSpool(dir).open(JOB, 0);
    for (let i = 0; i < 100; i++) writer.append(result(i));
    await new Promise((resolve) => setImmediate(resolve));
    expect((await stat(chunkFile(0, 'succeeded'))).size).toBe(0);
    await writer.close();
    expect((await stat(chunkFile(0, 'succeeded'))).size).toBeGreaterThan(0);
  });

  it('streams many rows through several batched writes', async () => {
    const spool = createFsSpool(dir);
    const writer = await spool.open(JOB, 7);
    const n = 50_000;
    for (let i = 0; i < n; i++) writer.append(result(i, i % 5 === 0 ? 'failed' : 'succeeded'));
    await writer.close();
    let count = 0;
    let outOfOrder = 0;
    let last = -1;
    for await (const r of spool.read(JOB, 7, 'succeeded')) {
      const i = Number(r.rawKey.slice(2));
      if (i <= last) outOfOrder++;
      last = i;
      count++;
    }
    expect(outOfOrder).toBe(0);
    expect(count).toBe(n - n / 5);
    expect((await collect(spool, 7, 'failed')).length).toBe(n / 5);
  });

  it('pushes back when rows arrive faster than the disk takes them, and keeps every row', async () => {
    const spool = createFsSpool(dir);
    const writer = await spool.open(JOB, 3);
    expect(writer.ready()).toBeUndefined(); // nothing buffered: no waiting
    // Appended in one synchronous burst, the rows pile up behind the one write in flight.
    const big = 'm'.repeat(1000);
    let i = 0;
    while (writer.ready() === undefined) writer.append(result(i++, 'succeeded', { message: big }));
    expect(i).toBeGreaterThan(500); // the high-water mark is ~1 Mi characters, far above one row
    await writer.ready();
    expect(writer.ready()).toBeUndefined(); // drained below the mark
    await writer.close();
    expect((await collect(spool, 3, 'succeeded')).length).toBe(i);
  });

  it('ignores a torn last line', async () => {
    const spool = createFsSpool(dir);
    const writer = await spool.open(JOB, 1);
    writer.append(result(1));
    writer.append(result(2));
    await writer.close();
    await appendFile(chunkFile(1, 'succeeded'), '["src","k/3","",200,"","Succ');
    expect((await collect(spool, 1, 'succeeded')).map((r) => r.rawKey)).toEqual(['k/1', 'k/2']);
  });

  it('fails on a corrupt complete line', async () => {
    const spool = createFsSpool(dir);
    const writer = await spool.open(JOB, 1);
    writer.append(result(1));
    await writer.close();
    await appendFile(chunkFile(1, 'succeeded'), '{"not":"a row"}\n');
    await expect(collect(spool, 1, 'succeeded')).rejects.toMatchObject({ code: 'InternalServiceException' });
  });

  it('starts a chunk afresh when it is opened again', async () => {
    const spool = createFsSpool(dir);
    const first = await spool.open(JOB, 2);
    first.append(result(1));
    first.append(result(2, 'failed'));
    await first.close();
    const second = await spool.open(JOB, 2);
    second.append(result(9));
    await second.close();
    expect((await collect(spool, 2, 'succeeded')).map((r) => r.rawKey)).toEqual(['k/9']);
    expect(await collect(spool, 2, 'failed')).toEqual([]);
  });

  it('resumes a chunk: keeps the rows spooled with their ordinal, whatever their order, and appends after them', async () => {
    const spool = createFsSpool(dir);
    const first = await spool.open(JOB, 4);
    for (const o of [0, 3, 1, 7]) first.append(result(o), o);
    first.append(result(5, 'failed'), 5);
    first.append(result(9, 'succeeded', { bytes: 10 }), 9);
    await first.close();
    const durable = await spool.durable(JOB, 4);
    expect(durable).toEqual({
      ordinals: new Set([0, 3, 1, 7, 5, 9]),
      succeeded: 5,
      failed: 1,
      bytes: 10,
      failures: [{ code: 'NoSuchKey', httpStatus: 404, count: 1, sampleKeys: ['k/5'] }],
    });

    const second = await spool.open(JOB, 4, { resume: true });
    expect(second.resumed).toEqual(durable);
    second.append(result(2), 2);
    second.append(result(6, 'failed'), 6);
    await second.close();
    expect((await collect(spool, 4, 'succeeded')).map((r) => r.rawKey)).toEqual([
      'k/0',
      'k/3',
      'k/1',
      'k/7',
      'k/9',
      'k/2',
    ]);
    expect((await collect(spool, 4, 'failed')).map((r) => r.rawKey)).toEqual(['k/5', 'k/6']);
    expect((await collect(spool, 4, 'succeeded'))[4]).toEqual(result(9, 'succeeded', { bytes: 10 }));
    expect((await spool.durable(JOB, 4))?.ordinals).toEqual(new Set([0, 1, 2, 3, 5, 6, 7, 9]));
  });

  it('resuming cuts a torn last line off and starts the next row on a line of its own', async () => {
    const spool = createFsSpool(dir);
    const first = await spool.open(JOB, 1);
    first.append(result(0), 0);
    first.append(result(1), 1);
    await first.close();
    await appendFile(chunkFile(1, 'succeeded'), '[2,"src","k/2","",200,"","Succ');
    expect((await spool.durable(JOB, 1))?.ordinals).toEqual(new Set([0, 1]));
    const second = await spool.open(JOB, 1, { resume: true });
    expect(second.resumed?.succeeded).toBe(2);
    second.append(result(2), 2);
    await second.close();
    expect((await collect(spool, 1, 'succeeded')).map((r) => r.rawKey)).toEqual(['k/0', 'k/1', 'k/2']);
    expect((await readFile(chunkFile(1, 'succeeded'), 'utf8')).split('\n')).toHaveLength(4);
  });

  it('does not resume a spool written without ordinals (an older version): the chunk starts afresh', async () => {
    const spool = createFsSpool(dir);
    // A spool line as versions before ordinals wrote it.
    await spool.open(JOB, 3).then((w) => w.close());
    await writeFile(chunkFile(3, 'succeeded'), '["src","k/1","",200,"","Successful"]\n');
    expect((await collect(spool, 3, 'succeeded')).map((r) => r.rawKey)).toEqual(['k/1']); // still readable
    expect(await spool.durable(JOB, 3)).toBeUndefined();
    const again = await spool.open(JOB, 3, { resume: true });
    expect(again.resumed).toBeUndefined();
    again.append(result(0), 0);
    await again.close();
    expect((await collect(spool, 3, 'succeeded')).map((r) => r.rawKey)).toEqual(['k/0']);
  });

  it('does not resume a spool with a corrupt line or an ordinal seen twice', async () => {
    const spool = createFsSpool(dir);
    await spool.open(JOB, 6).then((w) => w.close());
    await writeFile(chunkFile(6, 'succeeded'), '[0,"src","k/0","",200,"","Successful"]\n{"not":"a row"}\n');
    expect(await spool.durable(JOB, 6)).toBeUndefined();
    await writeFile(chunkFile(6, 'succeeded'), '[0,"src","k/0","",200,"","Successful"]\n');
    await writeFile(chunkFile(6, 'failed'), '[0,"src","k/0","",404,"NoSuchKey","gone"]\n');
    expect(await spool.durable(JOB, 6)).toBeUndefined();
    expect(await spool.durable(JOB, 99)).toBeUndefined(); // no spool at all
  });

  it('makes rows durable in batches while the chunk is open, without close()', async () => {
    const spool = createFsSpool(dir, { syncIntervalMs: 20 });
    const writer = await spool.open(JOB, 8);
    writer.append(result(0), 0);
    writer.append(result(1, 'failed'), 1);
    // Far below the size that triggers a write: only the batch timer writes these rows.
    while ((await spool.durable(JOB, 8))?.ordinals.size !== 2) await new Promise((r) => setTimeout(r, 5));
    writer.append(result(2), 2);
    while ((await spool.durable(JOB, 8))?.ordinals.size !== 3) await new Promise((r) => setTimeout(r, 5));
    await writer.close();
    expect((await spool.durable(JOB, 8))?.succeeded).toBe(2);
  });

  it('lists chunks in numeric order and deletes chunks and jobs', async () => {
    const spool = createFsSpool(dir);
    expect(await spool.chunks(JOB)).toEqual([]);
    for (const i of [10, 2, 1]) await (await spool.open(JOB, i)).close();
    await writeFile(join(dir, JOB, 'unrelated.txt'), 'x');
    expect(await spool.chunks(JOB)).toEqual([1, 2, 10]);

    await spool.discard(JOB, 2);
    expect(await spool.chunks(JOB)).toEqual([1, 10]);
    await spool.discard(JOB, 2); // idempotent

    await spool.removeJob(JOB);
    expect(await spool.chunks(JOB)).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
    await spool.removeJob(JOB);
  });

  it('abort removes the chunk files', async () => {
    const spool = createFsSpool(dir);
    const writer = await spool.open(JOB, 4);
    writer.append(result(1));
    await writer.abort();
    expect(await spool.chunks(JOB)).toEqual([]);
    expect(() => writer.append(result(2))).toThrow();
  });

  it('rejects reading a chunk that was never opened', async () => {
    await expect(collect(createFsSpool(dir), 3, 'failed')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses job ids that would escape the spool directory', async () => {
    const spool = createFsSpool(dir);
    await expect(spool.open('../evil', 0)).rejects.toMatchObject({ code: 'InternalServiceException' });
    await expect(spool.open('a/b', 0)).rejects.toMatchObject({ code: 'InternalServiceException' });
    await expect(spool.open(JOB, -1)).rejects.toMatchObject({ code: 'InternalServiceException' });
  });

  it('stops reading when the consumer stops', async () => {
    const spool = createFsSpool(dir);
    const writer = await spool.open(JOB, 0);
    for (let i = 0; i < 10_000; i++) writer.append(result(i));
    await writer.close();
    let seen = 0;
    for await (const _ of spool.read(JOB, 0, 'succeeded')) {
      if (++seen === 3) break;
    }
    expect(seen).toBe(3);
    await spool.removeJob(JOB);
  });

  it('feeds the report writer', async () => {
    const spool = createFsSpool(dir);
    const rows = [result(1), result(2, 'failed', { message: 'a "b", c' }), result(3)];
    const writer = await spool.open(JOB, 0);
    for (const r of rows) writer.append(r);
    await writer.close();
    const store = createFakeObjectStore();
    const outcome = await writeReport({
      jobId: JOB,
      report: { bucketName: 'reports', scope: 'AllTasks' },
      chunkIndices: await spool.chunks(JOB),
      spool,
      store,
      now: () => new Date(0),
    });
    expect(outcome.files.map((f) => store.text('reports', f.key))).toEqual([
      formatReportRow(rows[0] as TaskResult) + formatReportRow(rows[2] as TaskResult),
      formatReportRow(rows[1] as TaskResult),
    ]);
  });
});

/** The S3 part spool (scale-out mode) on an in-memory object store. */
function memoryPartSpool(): ResultSpool {
  const objects = new MemoryObjectStore();
  objects.createBucket('reports');
  return new S3PartSpool(() => ({ objects, bucket: 'reports', prefix: 'r' }));
}

// The in-memory spool used by unit tests, and the S3 part spool, must keep the same contract.
describe.each([
  ['fs', (): ResultSpool => createFsSpool(dir)],
  ['memory', (): ResultSpool => createMemorySpool()],
  ['s3 parts', memoryPartSpool],
])('ResultSpool contract (%s)', (_name, make) => {
  it('resumes a chunk from the rows appended with their ordinal', async () => {
    const spool = make();
    const w = await spool.open(JOB, 2, { resume: true });
    expect(w.resumed).toBeUndefined();
    w.append(result(4), 4);
    w.append(result(1, 'failed'), 1);
    await w.close();
    const again = await spool.open(JOB, 2, { resume: true });
    expect(again.resumed).toEqual({
      ordinals: new Set([4, 1]),
      succeeded: 1,
      failed: 1,
      failures: [{ code: 'NoSuchKey', httpStatus: 404, count: 1, sampleKeys: ['k/1'] }],
    });
    again.append(result(0), 0);
    await again.close();
    expect(await collect(spool, 2, 'succeeded')).toEqual([result(4), result(0)]);
    expect(await spool.durable(JOB, 2)).toEqual({
      ordinals: new Set([4, 1, 0]),
      succeeded: 2,
      failed: 1,
      failures: [{ code: 'NoSuchKey', httpStatus: 404, count: 1, sampleKeys: ['k/1'] }],
    });
    const legacy = await spool.open(JOB, 7);
    legacy.append(result(1));
    await legacy.close();
    expect(await spool.durable(JOB, 7)).toBeUndefined();
    const fresh = await spool.open(JOB, 7, { resume: true });
    expect(fresh.resumed).toBeUndefined();
    await fresh.close();
  });

  it('round-trips rows, reopens afresh, lists, aborts and discards', async () => {
    const spool = make();
    const w0 = await spool.open(JOB, 0);
    w0.append(result(1));
    w0.append(result(2, 'failed'));
    await w0.close();
    expect(await collect(spool, 0, 'succeeded')).toEqual([result(1)]);
    expect(await collect(spool, 0, 'failed')).toEqual([result(2, 'failed')]);

    const again = await spool.open(JOB, 0);
    await again.close();
    expect(await collect(spool, 0, 'succeeded')).toEqual([]);

    const w5 = await spool.open(JOB, 5);
    w5.append(result(3));
    await w5.abort();
    const w3 = await spool.open(JOB, 3);
    await w3.close();
    expect(await spool.chunks(JOB)).toEqual([0, 3]);
    await expect(collect(spool, 5, 'succeeded')).rejects.toThrow();

    await spool.discard(JOB, 0);
    expect(await spool.chunks(JOB)).toEqual([3]);
    await spool.removeJob(JOB);
    expect(await spool.chunks(JOB)).toEqual([]);
  });
});
