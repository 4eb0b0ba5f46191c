/**
 * The S3 part spool's own rules on an in-memory object store (the same behaviour on Ceph RGW and
 * s3rver: test/integration/s3-part-spool.test.ts): part names, the line format, resume, corrupt
 * and torn parts, retries of transient errors, and where a job's parts are located.
 */
import { describe, expect, it } from 'vitest';
import type { CreateJobRequest } from '../../src/domain/job-spec.ts';
import type { TaskResult, TaskStatus } from '../../src/domain/task.ts';
import { locateByRequest, reportPartsTarget } from '../../src/engine/part-location.ts';
import { reportKeys } from '../../src/reports/report-format.ts';
import { MemoryObjectStore } from '../../src/storage/memory-object-store.ts';
import type { ObjectRef, OpenedObject, OpenOptions, PutOptions } from '../../src/storage/object-store.ts';
import { ObjectStoreError } from '../../src/storage/object-store.ts';
import type { ResultSpool } from '../../src/storage/result-spool.ts';
import { partKey, partsPrefix, S3PartSpool } from '../../src/storage/s3-part-spool.ts';

const JOB = '0b5a1c8e-7f7c-4a53-9d55-3c3f1f0e2a11';
const BUCKET = 'reports';
const noSleep = async (): Promise<void> => {};

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

async function collect(spool: ResultSpool, chunk: number, status: TaskStatus): Promise<TaskResult[]> {
  const out: TaskResult[] = [];
  for await (const r of spool.read(JOB, chunk, status)) out.push(r);
  return out;
}

function setup(prefix = 'rep/x', store = new MemoryObjectStore()) {
  store.createBucket(BUCKET);
  const spool = new S3PartSpool(() => ({ objects: store, bucket: BUCKET, prefix }), { sleep: noSleep });
  return { store, spool, key: (chunk: number) => partKey(prefix, JOB, chunk) };
}

describe('part names', () => {
  it('sit under the report layout of the job, zero-padded to 10 digits', () => {
    expect(partKey('rep/x', JOB, 3)).toBe(`rep/x/job-${JOB}/parts/0000000003.jsonl`);
    expect(partKey('rep/x//', JOB, 1234567890)).toBe(`rep/x/job-${JOB}/parts/1234567890.jsonl`);
    expect(partKey('', JOB, 0)).toBe(`job-${JOB}/parts/0000000000.jsonl`);
    expect(partKey(undefined, JOB, 12)).toBe(`job-${JOB}/parts/0000000012.jsonl`);
    for (const prefix of [undefined, '', 'a', 'a/', 'a/b//', 'x y/ü']) {
      expect(partsPrefix(prefix, JOB)).toBe(`${reportKeys(prefix, JOB).base}/parts/`);
    }
  });

  it('refuse job ids that would leave the job folder and bad chunk indices', () => {
    expect(() => partKey('p', '../evil', 0)).toThrow(/not usable/);
    expect(() => partKey('p', 'a/b', 0)).toThrow(/not usable/);
    expect(() => partKey('p', JOB, -1)).toThrow(/Invalid chunk index/);
    expect(() => partKey('p', JOB, 1.5)).toThrow(/Invalid chunk index/);
  });
});

describe('S3PartSpool', () => {
  it('writes nothing before close(), then the whole chunk in one PUT, one line per row with its status', async () => {
    const { store, spool, key } = setup();
    let puts = 0;
    const put = store.put.bind(store);
    store.put = (ref: ObjectRef, body: AsyncIterable<Uint8Array> | Uint8Array | string, options?: PutOptions) => {
      puts++;
      return put(ref, body, options);
    };
    const w = await spool.open(JOB, 3, { resume: true });
    expect(w.resumed).toBeUndefined();
    expect(w.ready()).toBeUndefined();
    w.append(result(0), 0);
    w.append(result(1, 'failed'), 1);
    w.append(result(2, 'succeeded', { bytes: 7 }), 2);
    expect(store.keys(BUCKET)).toEqual([]);
    await w.close();
    expect(puts).toBe(1);
    expect(store.keys(BUCKET)).toEqual([key(3)]);
    expect(store.getText(BUCKET, key(3))).toBe(
      's[0,"src","k/0","",200,"","Successful"]\n' +
        'f[1,"src","k/1","v1",404,"NoSuchKey","gone 1"]\n' +
        's[2,"src","k/2","",200,"","Successful",7]\n',
    );
    expect(await collect(spool, 3, 'succeeded')).toEqual([result(0), result(2, 'succeeded', { bytes: 7 })]);
    expect(await collect(spool, 3, 'failed')).toEqual([result(1, 'failed')]);
    await expect(w.close()).rejects.toThrow(/already closed/);
    expect(() => w.append(result(9))).toThrow(/already closed/);
  });

  it('reads a part without failed rows once: the failed pass of the report needs no request', async () => {
    const { store, spool } = setup();
    let gets = 0;
    const open = store.open.bind(store);
    store.open = (ref: ObjectRef, options?: OpenOptions) => {
      gets++;
      return open(ref, options);
    };
    const clean = await spool.open(JOB, 1);
    clean.append(result(0), 0);
    await clean.close();
    const mixed = await spool.open(JOB, 2);
    mixed.append(result(0), 0);
    mixed.append(result(1, 'failed'), 1);
    await mixed.close();
    gets = 0;
    expect(await collect(spool, 1, 'succeeded')).toEqual([result(0)]);
    expect(await collect(spool, 2, 'succeeded')).toEqual([result(0)]);
    expect(gets).toBe(2);
    expect(await collect(spool, 1, 'failed')).toEqual([]);
    expect(gets).toBe(2); // known to have no failed row
    expect(await collect(spool, 2, 'failed')).toEqual([result(1, 'failed')]);
    expect(gets).toBe(3);
    // A chunk written again is read again.
    const redo = await spool.open(JOB, 1);
    redo.append(result(5, 'failed'), 0);
    await redo.close();
    expect(await collect(spool, 1, 'failed')).toEqual([result(5, 'failed')]);
  });

  it('resumes from the part and writes the old rows and the new ones; a redo overwrites the one part', async () => {
    const { store, spool, key } = setup();
    const first = await spool.open(JOB, 1, { resume: true });
    first.append(result(4), 4);
    first.append(result(2, 'failed'), 2);
    await first.close();
    const again = await spool.open(JOB, 1, { resume: true });
    expect(again.resumed).toEqual({
      ordinals: new Set([4, 2]),
      succeeded: 1,
      failed: 1,
      failures: [{ code: 'NoSuchKey', httpStatus: 404, count: 1, sampleKeys: ['k/2'] }],
    });
    again.append(result(0, 'succeeded', { bytes: 3 }), 0);
    await again.close();
    expect(await spool.durable(JOB, 1)).toEqual({
      ordinals: new Set([4, 2, 0]),
      succeeded: 2,
      failed: 1,
      bytes: 3,
      failures: [{ code: 'NoSuchKey', httpStatus: 404, count: 1, sampleKeys: ['k/2'] }],
    });
    expect(await collect(spool, 1, 'succeeded')).toEqual([result(4), result(0, 'succeeded', { bytes: 3 })]);
    // A redo from the start: the same part, only the new rows.
    const redo = await spool.open(JOB, 1);
    redo.append(result(7), 7);
    await redo.close();
    expect(store.keys(BUCKET)).toEqual([key(1)]);
    expect(await collect(spool, 1, 'succeeded')).toEqual([result(7)]);
    expect(await collect(spool, 1, 'failed')).toEqual([]);
  });

  it('opening without resume discards the part at once', async () => {
    const { store, spool } = setup();
    const w = await spool.open(JOB, 2);
    w.append(result(1), 1);
    await w.close();
    const fresh = await spool.open(JOB, 2);
    expect(store.keys(BUCKET)).toEqual([]);
    expect(await spool.durable(JOB, 2)).toBeUndefined();
    await fresh.close();
    expect(await spool.durable(JOB, 2)).toEqual({ ordinals: new Set(), succeeded: 0, failed: 0 });
  });

  it('abort writes nothing and removes the part', async () => {
    const { store, spool } = setup();
    const w = await spool.open(JOB, 5, { resume: true });
    w.append(result(0), 0);
    await w.close();
    const resumed = await spool.open(JOB, 5, { resume: true });
    resumed.append(result(1), 1);
    await resumed.abort();
    await resumed.abort();
    expect(store.keys(BUCKET)).toEqual([]);
    await expect(collect(spool, 5, 'succeeded')).rejects.toMatchObject({ httpStatus: 404 });
  });

  it('a corrupt line: reading fails and names the part and line; the chunk is not resumable and starts afresh', async () => {
    const { store, spool, key } = setup();
    await store.put(
      { bucket: BUCKET, key: key(6) },
      's[0,"src","k/0","",200,"","Successful"]\nx[1,"src","k/1","",200,"","Successful"]\n',
    );
    await expect(collect(spool, 6, 'succeeded')).rejects.toThrow(
      `Result part s3://${BUCKET}/${key(6)} is corrupt at line 2`,
    );
    await expect(collect(spool, 6, 'succeeded')).rejects.toMatchObject({ code: 'InternalServiceException' });
    expect(await spool.durable(JOB, 6)).toBeUndefined();
    const w = await spool.open(JOB, 6, { resume: true });
    expect(w.resumed).toBeUndefined();
    w.append(result(1), 1);
    await w.close();
    expect(await collect(spool, 6, 'succeeded')).toEqual([result(1)]);
  });

  it('rows without ordinals or with one twice are read but not resumed', async () => {
    const { store, spool, key } = setup();
    await store.put({ bucket: BUCKET, key: key(0) }, 's["src","k/1","",200,"","Successful"]\n');
    expect(await collect(spool, 0, 'succeeded')).toEqual([result(1)]);
    expect(await spool.durable(JOB, 0)).toBeUndefined();
    await store.put(
      { bucket: BUCKET, key: key(1) },
      's[0,"src","k/0","",200,"","Successful"]\nf[0,"src","k/0","v1",404,"NoSuchKey","gone 0"]\n',
    );
    expect(await spool.durable(JOB, 1)).toBeUndefined();
  });

  it('a torn last line is skipped by reads and cut off by a resume, as the file spool does', async () => {
    const { store, spool, key } = setup();
    await store.put(
      { bucket: BUCKET, key: key(2) },
      's[0,"src","k/0","",200,"","Successful"]\ns[1,"src","k/1","",200,"","Succ',
    );
    expect(await collect(spool, 2, 'succeeded')).toEqual([result(0)]);
    expect((await spool.durable(JOB, 2))?.ordinals).toEqual(new Set([0]));
    const w = await spool.open(JOB, 2, { resume: true });
    w.append(result(1), 1);
    await w.close();
    expect(store.getText(BUCKET, key(2))).toBe(
      's[0,"src","k/0","",200,"","Successful"]\ns[1,"src","k/1","",200,"","Successful"]\n',
    );
  });

  it('lists its parts in numeric order, ignoring other keys, and removes them all (and only them)', async () => {
    const { store, spool, key } = setup();
    const other = 'c1d2e3f4-0000-4000-8000-000000000000';
    for (const i of [10, 2, 1]) await (await spool.open(JOB, i)).close();
    await store.put({ bucket: BUCKET, key: `rep/x/job-${JOB}/parts/notes.txt` }, 'x');
    await store.put({ bucket: BUCKET, key: `rep/x/job-${JOB}/manifest.json` }, '{}');
    await store.put({ bucket: BUCKET, key: partKey('rep/x', other, 0) }, '');
    expect(await spool.chunks(JOB)).toEqual([1, 2, 10]);
    await spool.discard(JOB, 2);
    await spool.discard(JOB, 2);
    expect(await spool.chunks(JOB)).toEqual([1, 10]);
    await spool.removeJob(JOB);
    expect(await spool.chunks(JOB)).toEqual([]);
    expect(store.keys(BUCKET)).toEqual([
      `rep/x/job-${JOB}/manifest.json`,
      `rep/x/job-${JOB}/parts/notes.txt`,
      partKey('rep/x', other, 0),
    ]);
    expect(key(0)).not.toBe(partKey('rep/x', other, 0));
  });

  it('keeps nothing for a job without a location (report disabled)', async () => {
    const store = new MemoryObjectStore();
    store.createBucket(BUCKET);
    const spool = new S3PartSpool(() => undefined);
    const w = await spool.open(JOB, 0);
    expect(w.ready()).toBeUndefined();
    w.append(result(0), 0);
    await w.close();
    await expect(w.close()).rejects.toThrow(/already closed/);
    const r = await spool.open(JOB, 0, { resume: true });
    expect(r.resumed).toBeUndefined();
    await r.abort();
    expect(await spool.durable(JOB, 0)).toBeUndefined();
    expect(await collect(spool, 0, 'succeeded')).toEqual([]);
    expect(await spool.chunks(JOB)).toEqual([]);
    await spool.discard(JOB, 0);
    await spool.removeJob(JOB);
    expect(store.keys(BUCKET)).toEqual([]);
  });

  it('remembers a location, so the parts of a job whose record is gone are still removed', async () => {
    const store = new MemoryObjectStore();
    store.createBucket(BUCKET);
    let known = true;
    let lookups = 0;
    const spool = new S3PartSpool(async () => {
      lookups++;
      if (!known) throw new Error('unknown job');
      return { objects: store, bucket: BUCKET, prefix: '' };
    });
    await (await spool.open(JOB, 0)).close();
    known = false;
    await spool.removeJob(JOB);
    expect(store.keys(BUCKET)).toEqual([]);
    expect(lookups).toBe(1);
    await expect(spool.chunks(JOB)).rejects.toThrow('unknown job'); // forgotten after removeJob
  });

  it('retries transient errors of PUT, GET, LIST and DELETE; a permanent one is thrown at once', async () => {
    const store = new FlakyStore();
    const { spool } = setup('p', store);
    store.failNext = 2;
    const w = await spool.open(JOB, 0, { resume: true }); // GET: 2 × 503, then 404 (no part)
    w.append(result(0), 0);
    store.failNext = 3;
    await w.close(); // PUT: 3 × 503, then done
    store.failNext = 2;
    expect(await collect(spool, 0, 'succeeded')).toEqual([result(0)]);
    store.failNext = 2;
    expect(await spool.chunks(JOB)).toEqual([0]);
    store.failNext = 2;
    await spool.removeJob(JOB);
    expect(store.failures).toBe(11);
    expect(store.keys(BUCKET)).toEqual([]);

    const w2 = await spool.open(JOB, 1);
    store.failNext = 4; // as many as the attempts
    await expect(w2.close()).rejects.toMatchObject({ httpStatus: 503, code: 'SlowDown' });
    store.setAccess(BUCKET, { write: false });
    const w3 = await spool.open(JOB, 1, { resume: true });
    const before = store.failures;
    await expect(w3.close()).rejects.toMatchObject({ httpStatus: 403 });
    expect(store.failures).toBe(before);
  });

  it('a read cut mid-body goes on where it stopped, with a ranged GET pinned to the ETag', async () => {
    const store = new FlakyStore({ readChunkSize: 100 });
    const { spool, key } = setup('p', store);
    const w = await spool.open(JOB, 0);
    for (let i = 0; i < 50; i++) w.append(result(i, i % 3 === 0 ? 'failed' : 'succeeded'), i);
    await w.close();
    store.cutBodyAfter = 3; // slices
    const rows = await collect(spool, 0, 'succeeded');
    expect(rows.map((r) => r.rawKey)).toEqual(
      Array.from({ length: 50 }, (_, i) => i)
        .filter((i) => i % 3 !== 0)
        .map((i) => `k/${i}`),
    );
    const ranged = store.opens.filter((o) => o.ref.key === key(0) && o.options?.range !== undefined);
    expect(ranged).toHaveLength(1);
    expect(ranged[0]?.options).toMatchObject({ range: { start: 300 }, ifMatch: expect.any(String) });
  });
});

describe('part locations', () => {
  const request = (report: CreateJobRequest['Report']): CreateJobRequest => ({
    Operation: { S3PutObjectTagging: { TagSet: [] } },
    Report: report,
    Priority: 1,
    RoleArn: 'arn:aws:iam::111122223333:role/r',
  });

  it("derive the report's bucket name and prefix, none when the report is disabled", () => {
    expect(reportPartsTarget({ Enabled: true, Bucket: 'arn:aws:s3:::rep', Prefix: 'a/b' })).toEqual({
      bucket: 'rep',
      prefix: 'a/b',
    });
    expect(reportPartsTarget({ Enabled: true, Bucket: 'arn:aws:s3:::rep' })).toEqual({ bucket: 'rep', prefix: '' });
    expect(reportPartsTarget({ Enabled: false, Bucket: 'arn:aws:s3:::rep', Prefix: 'a' })).toBeUndefined();
    expect(reportPartsTarget({ Enabled: false })).toBeUndefined();
    expect(() => reportPartsTarget({ Enabled: true, Bucket: 'rep' })).toThrow(/Invalid bucket ARN/);
  });

  it("locate a job's parts through its request and the role's object store; an unknown job is an error", async () => {
    const store = new MemoryObjectStore();
    const roles: string[] = [];
    const requests = new Map([
      ['a', request({ Enabled: true, Bucket: 'arn:aws:s3:::rep', Prefix: 'p' })],
      ['b', request({ Enabled: false })],
    ]);
    const locate = locateByRequest(
      (id) => requests.get(id),
      (role) => {
        roles.push(role);
        return store;
      },
    );
    expect(await locate('a')).toEqual({ objects: store, bucket: 'rep', prefix: 'p' });
    expect(roles).toEqual(['arn:aws:iam::111122223333:role/r']);
    expect(await locate('b')).toBeUndefined();
    await expect(locate('c')).rejects.toThrow('Job c is unknown: its result parts cannot be located');
  });
});

describe('MemoryObjectStore.deleteKeys', () => {
  it('deletes the keys given, ignores missing ones and refuses when writes are denied', async () => {
    const store = new MemoryObjectStore();
    store.createBucket('b');
    for (const k of ['a', 'b', 'c']) await store.put({ bucket: 'b', key: k }, k);
    await store.deleteKeys('b', ['a', 'c', 'missing']);
    expect(store.keys('b')).toEqual(['b']);
    store.setAccess('b', { write: false });
    await expect(store.deleteKeys('b', ['b'])).rejects.toMatchObject({ httpStatus: 403 });
    await expect(store.deleteKeys('nope', ['b'])).rejects.toMatchObject({ httpStatus: 404 });
  });
});

/**
 * A memory store that answers the next `failNext` calls with 503 SlowDown, and can cut a body
 * after some slices (what a reset connection does mid-GET): no real server fails on cue.
 */
class FlakyStore extends MemoryObjectStore {
  failNext = 0;
  failures = 0;
  cutBodyAfter: number | undefined;

  private fail(): void {
    if (this.failNext > 0) {
      this.failNext--;
      this.failures++;
      throw new ObjectStoreError(503, 'SlowDown', 'Please reduce your request rate.');
    }
  }

  override async open(ref: ObjectRef, options?: OpenOptions): Promise<OpenedObject> {
    this.fail();
    const opened = await super.open(ref, options);
    const cut = this.cutBodyAfter;
    if (cut === undefined) return opened;
    this.cutBodyAfter = undefined;
    return {
      ...opened,
      body: (async function* () {
        let n = 0;
        for await (const piece of opened.body) {
          if (n++ === cut) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
          yield piece;
        }
      })(),
    };
  }

  override async put(ref: ObjectRef, body: AsyncIterable<Uint8Array> | Uint8Array | string, options?: PutOptions) {
    this.fail();
    return super.put(ref, body, options);
  }

  override async *list(bucket: string, options = {}) {
    this.fail();
    yield* super.list(bucket, options);
  }

  override async deleteKeys(bucket: string, keys: readonly string[]): Promise<void> {
    this.fail();
    await super.deleteKeys(bucket, keys);
  }
}
