/**
 * The S3 part spool (storage/s3-part-spool.ts) on REAL Ceph RGW and s3rver: one part object per
 * chunk under the job's report prefix, written in one PUT, read back for a resume, overwritten by a
 * redo, listed and removed page by page (more than 1,000 parts), nothing for a job without a
 * report, clear errors for corrupt parts and missing buckets, transient errors retried (a fault
 * proxy in front of Ceph). Then the engine on Ceph with this spool as its `spool` port: a real
 * tagging job, stopped mid-chunk and resumed by a second engine, gives an AWS-layout report with
 * every task once, and leaves no part behind.
 */
import {
  DeleteBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CreateJobRequest } from '../../src/domain/job-spec.ts';
import type { TaskResult, TaskStatus } from '../../src/domain/task.ts';
import { locateByRequest } from '../../src/engine/part-location.ts';
import type { OperationHandler } from '../../src/operations/operation.ts';
import { parseOperation } from '../../src/operations/index.ts';
import type { ChunkIndexFile } from '../../src/storage/chunk-index-file.ts';
import { MemoryJobStore } from '../../src/storage/memory-job-store.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import { createControlS3Client, createS3Client } from '../../src/storage/s3-clients.ts';
import { createS3ObjectStore } from '../../src/storage/s3-object-store.ts';
import { partKey, partsPrefix, S3PartSpool } from '../../src/storage/s3-part-spool.ts';
import { newTestEngine, stopTestEngines, TEST_ACCOUNT, waitForStatus } from '../helpers/engine-harness.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { requireCeph, requireServer, type S3ServerInfo } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, putObjects } from '../helpers/s3-servers.ts';

const JOB = '5e0c2f4a-9b1d-4c3e-8f7a-6d5b4a3c2b1a';
const fast = { retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 50 } };

function result(i: number, status: TaskStatus = 'succeeded'): TaskResult {
  return status === 'succeeded'
    ? { bucket: 'src', rawKey: `k/${i}`, versionId: '', status, httpStatus: 200, errorCode: '', message: 'Successful' }
    : {
        bucket: 'src',
        rawKey: `k/${i}`,
        versionId: 'v1',
        status,
        httpStatus: 404,
        errorCode: 'NoSuchKey',
        message: 'x',
      };
}

async function collect(spool: S3PartSpool, chunk: number, status: TaskStatus, jobId = JOB): Promise<TaskResult[]> {
  const out: TaskResult[] = [];
  for await (const r of spool.read(jobId, chunk, status)) out.push(r);
  return out;
}

async function keysUnder(client: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const res = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: token }),
    );
    for (const o of res.Contents ?? []) keys.push(o.Key ?? '');
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys;
}

async function textOf(client: S3Client, bucket: string, key: string): Promise<string> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return res.Body!.transformToString();
}

function controlStore(server: S3ServerInfo): ObjectStore {
  return createS3ObjectStore(createControlS3Client({ ...server, forcePathStyle: true }));
}

describe.each(['ceph', 's3rver'] as const)('S3 part spool on %s', (name) => {
  let server: S3ServerInfo;
  let admin: S3Client;
  let objects: ObjectStore;
  let bucket: string;

  beforeAll(async () => {
    server = requireServer(name);
    admin = makeS3Client(server);
    objects = controlStore(server);
    bucket = await createTestBucket(admin, 'parts');
  });

  const spoolAt = (prefix: string): S3PartSpool => new S3PartSpool(() => ({ objects, bucket, prefix }), fast);

  it('writes a chunk in one PUT at close, under the report prefix, and reads it back per status', async () => {
    let puts = 0;
    const counting: ObjectStore = {
      ...objects,
      open: objects.open.bind(objects),
      list: objects.list?.bind(objects),
      deleteKeys: objects.deleteKeys?.bind(objects),
      put: (ref, body, options) => {
        puts++;
        return objects.put(ref, body, options);
      },
    };
    const spool = new S3PartSpool(() => ({ objects: counting, bucket, prefix: 'w/' }), fast);
    const w = await spool.open(JOB, 3, { resume: true });
    expect(w.resumed).toBeUndefined();
    for (let i = 0; i < 30; i++) w.append(result(i, i % 4 === 0 ? 'failed' : 'succeeded'), i);
    expect(await keysUnder(admin, bucket, 'w/')).toEqual([]);
    await w.close();
    expect(puts).toBe(1);
    expect(await keysUnder(admin, bucket, 'w/')).toEqual([`w/job-${JOB}/parts/0000000003.jsonl`]);
    const text = await textOf(admin, bucket, `w/job-${JOB}/parts/0000000003.jsonl`);
    expect(text.split('\n')[0]).toBe('f[0,"src","k/0","v1",404,"NoSuchKey","x"]');
    expect(text.endsWith('\n')).toBe(true);
    const reader = spoolAt('w/'); // another instance (another machine) reads what this one wrote
    expect(await collect(reader, 3, 'succeeded')).toEqual(
      Array.from({ length: 30 }, (_, i) => i)
        .filter((i) => i % 4 !== 0)
        .map((i) => result(i)),
    );
    expect((await collect(reader, 3, 'failed')).map((r) => r.rawKey)).toEqual([
      'k/0',
      'k/4',
      'k/8',
      'k/12',
      'k/16',
      'k/20',
      'k/24',
      'k/28',
    ]);
    await reader.removeJob(JOB);
    expect(await keysUnder(admin, bucket, 'w/')).toEqual([]);
  });

  it('resumes from the part, keeps its rows, and a redo overwrites the one part', async () => {
    const spool = spoolAt('r');
    const first = await spool.open(JOB, 0, { resume: true });
    for (const o of [5, 1, 3]) first.append(result(o), o);
    first.append(result(2, 'failed'), 2);
    await first.close();
    const other = spoolAt('r');
    expect(await other.durable(JOB, 0)).toEqual({
      ordinals: new Set([5, 1, 3, 2]),
      succeeded: 3,
      failed: 1,
      failures: [{ code: 'NoSuchKey', httpStatus: 404, count: 1, sampleKeys: ['k/2'] }],
    });
    const again = await other.open(JOB, 0, { resume: true });
    expect(again.resumed?.ordinals).toEqual(new Set([5, 1, 3, 2]));
    again.append(result(0), 0);
    again.append(result(4, 'failed'), 4);
    await again.close();
    expect((await collect(spool, 0, 'succeeded')).map((r) => r.rawKey)).toEqual(['k/5', 'k/1', 'k/3', 'k/0']);
    expect((await collect(spool, 0, 'failed')).map((r) => r.rawKey)).toEqual(['k/2', 'k/4']);
    expect(await spool.durable(JOB, 0)).toEqual({
      ordinals: new Set([0, 1, 2, 3, 4, 5]),
      succeeded: 4,
      failed: 2,
      failures: [{ code: 'NoSuchKey', httpStatus: 404, count: 2, sampleKeys: ['k/2', 'k/4'] }],
    });

    // A second worker redoes the chunk from its start: still one part, with its rows only.
    const redo = await other.open(JOB, 0);
    redo.append(result(9), 9);
    await redo.close();
    expect(await keysUnder(admin, bucket, 'r/')).toEqual([partKey('r', JOB, 0)]);
    expect(await collect(spool, 0, 'succeeded')).toEqual([result(9)]);
    expect(await collect(spool, 0, 'failed')).toEqual([]);
    await spool.removeJob(JOB);
  });

  it('lists more than 1,000 parts in order and removes them all, and nothing else', async () => {
    const spool = spoolAt('many');
    const indices = Array.from({ length: 1003 }, (_, i) => i * 7);
    const other = '00000000-aaaa-4bbb-8ccc-000000000001';
    await putObjects(
      admin,
      bucket,
      indices.map((i) => partKey('many', JOB, i)),
      's[0,"src","k/0","",200,"","Successful"]\n',
    );
    const keep = [`many/job-${JOB}/manifest.json`, `many/job-${JOB}/parts/README`, partKey('many', other, 1)];
    await putObjects(admin, bucket, keep);
    expect(await spool.chunks(JOB)).toEqual(indices);
    await spool.discard(JOB, 7);
    expect((await spool.chunks(JOB)).slice(0, 3)).toEqual([0, 14, 21]);
    await spool.removeJob(JOB);
    expect(await spool.chunks(JOB)).toEqual([]);
    expect((await keysUnder(admin, bucket, 'many/')).sort()).toEqual([...keep].sort());
    await spool.removeJob(JOB); // nothing left: no error
  });

  it('the object store deletes more than 1,000 keys in batches; missing keys are no error', async () => {
    const keys = Array.from({ length: 2500 }, (_, i) => `del/${String(i).padStart(4, '0')}`);
    const present = [keys[0]!, keys[999]!, keys[1000]!, keys[2499]!];
    await putObjects(admin, bucket, [...present, 'del/keep']);
    await objects.deleteKeys?.(bucket, keys);
    expect(await keysUnder(admin, bucket, 'del/')).toEqual(['del/keep']);
  });

  it('keeps nothing for a job whose report is disabled', async () => {
    const request: CreateJobRequest = {
      Operation: { S3PutObjectTagging: { TagSet: [] } },
      Report: { Enabled: false },
      Priority: 1,
      RoleArn: 'arn:aws:iam::111122223333:role/r',
    };
    const spool = new S3PartSpool(
      locateByRequest(
        (id) => (id === JOB ? request : undefined),
        () => objects,
      ),
    );
    const before = await keysUnder(admin, bucket);
    const w = await spool.open(JOB, 0);
    w.append(result(1), 1);
    await w.close();
    const r = await spool.open(JOB, 0, { resume: true });
    expect(r.resumed).toBeUndefined();
    await r.close();
    expect(await spool.durable(JOB, 0)).toBeUndefined();
    expect(await collect(spool, 0, 'succeeded')).toEqual([]);
    expect(await spool.chunks(JOB)).toEqual([]);
    await spool.removeJob(JOB);
    expect(await keysUnder(admin, bucket)).toEqual(before);
  });

  it('a corrupt part: a clear error on read, not resumable; a torn last line is skipped', async () => {
    const spool = spoolAt('bad');
    const key = partKey('bad', JOB, 1);
    await admin.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: 's[0,"src","k/0","",200,"","Successful"]\nnot a row\n',
      }),
    );
    await expect(collect(spool, 1, 'succeeded')).rejects.toThrow(
      `Result part s3://${bucket}/${key} is corrupt at line 2`,
    );
    expect(await spool.durable(JOB, 1)).toBeUndefined();
    const fresh = await spool.open(JOB, 1, { resume: true });
    expect(fresh.resumed).toBeUndefined();
    fresh.append(result(1), 1);
    await fresh.close();
    expect(await collect(spool, 1, 'succeeded')).toEqual([result(1)]);

    await admin.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: 's[0,"src","k/0","",200,"","Successful"]\ns[1,"src","k/1","",200,"","Succ',
      }),
    );
    expect(await collect(spool, 1, 'succeeded')).toEqual([result(0)]);
    const resumed = await spool.open(JOB, 1, { resume: true });
    expect(resumed.resumed?.ordinals).toEqual(new Set([0]));
    resumed.append(result(1), 1);
    await resumed.close();
    expect(await textOf(admin, bucket, key)).toBe(
      's[0,"src","k/0","",200,"","Successful"]\ns[1,"src","k/1","",200,"","Successful"]\n',
    );
    await spool.removeJob(JOB);
  });

  it('a missing report bucket or part: clear errors (NoSuchBucket, NoSuchKey)', async () => {
    const gone = await createTestBucket(admin, 'parts-gone');
    const spool = new S3PartSpool(() => ({ objects, bucket: gone, prefix: '' }), fast);
    const w = await spool.open(JOB, 0, { resume: true }); // no part yet: nothing to resume
    w.append(result(0), 0);
    await admin.send(new DeleteBucketCommand({ Bucket: gone }));
    await expect(w.close()).rejects.toMatchObject({ httpStatus: 404, code: 'NoSuchBucket' });
    await expect(spool.open(JOB, 0)).rejects.toMatchObject({ code: 'NoSuchBucket' });
    await expect(spool.open(JOB, 0, { resume: true })).rejects.toMatchObject({ code: 'NoSuchBucket' });
    await expect(spool.chunks(JOB)).rejects.toMatchObject({ code: 'NoSuchBucket' });
    await expect(collect(spoolAt('none'), 0, 'succeeded')).rejects.toMatchObject({
      httpStatus: 404,
      code: 'NoSuchKey',
    });
  });
});

describe('S3 part spool behind a fault proxy on ceph', () => {
  it('retries transient errors of PUT, GET, LIST and DeleteObjects (SlowDown, reset connections)', async () => {
    const ceph = requireCeph();
    const admin = makeS3Client(ceph);
    const bucket = await createTestBucket(admin, 'parts-faults');
    const prefix = partsPrefix('f', JOB);
    const seen = { put: 0, get: 0, list: 0, del: 0 };
    // The first two requests of each kind fail: 503 SlowDown, then a reset connection.
    const proxy = await startFaultProxy(ceph.endpoint, (req) => {
      const url = req.url ?? '';
      const kind =
        req.method === 'PUT' && url.includes('/parts/')
          ? 'put'
          : req.method === 'GET' && url.includes('/parts/')
            ? 'get'
            : req.method === 'GET' && url.includes('list-type=2')
              ? 'list'
              : req.method === 'POST' && url.includes('delete')
                ? 'del'
                : undefined;
      if (kind === undefined) return undefined;
      const n = ++seen[kind];
      return n === 1 ? 'slowdown' : n === 2 ? 'reset' : undefined;
    });
    try {
      // One HTTP attempt per call (a task client): only the spool retries.
      const objects = createS3ObjectStore(createS3Client({ ...ceph, endpoint: proxy.endpoint, forcePathStyle: true }));
      const spool = new S3PartSpool(() => ({ objects, bucket, prefix: 'f' }), fast);
      const w = await spool.open(JOB, 0);
      w.append(result(0), 0);
      w.append(result(1, 'failed'), 1);
      await w.close();
      expect(await keysUnder(admin, bucket)).toEqual([`${prefix}0000000000.jsonl`]);
      expect(await collect(spool, 0, 'failed')).toEqual([result(1, 'failed')]);
      expect(await spool.chunks(JOB)).toEqual([0]);
      await spool.removeJob(JOB);
      expect(await keysUnder(admin, bucket)).toEqual([]);
      // open() deletes (3), close() puts (3), read() gets (3), chunks() lists (3); removeJob lists and deletes once.
      expect(seen).toEqual({ put: 3, get: 3, list: 4, del: 4 });
      expect(proxy.injected.slowdown).toBe(4);
      expect(proxy.injected.reset).toBe(4);
    } finally {
      await proxy.close();
    }
  });
});

describe('the engine with the S3 part spool on ceph', () => {
  let ceph: S3ServerInfo;
  let admin: S3Client;
  let objects: ObjectStore;
  let src: string;
  let reports: string;
  const present = Array.from({ length: 45 }, (_, i) => `obj/${String(i).padStart(2, '0')} ü+%.txt`);
  const missing = Array.from({ length: 5 }, (_, i) => `gone/${i}.txt`);

  beforeAll(async () => {
    ceph = requireCeph();
    admin = makeS3Client(ceph);
    objects = controlStore(ceph);
    src = await createTestBucket(admin, 'parts-src');
    reports = await createTestBucket(admin, 'parts-rep');
    await putObjects(admin, src, present);
  });
  afterEach(stopTestEngines);
  afterAll(() => admin.destroy());

  /** A CSV manifest of every key in src, the missing ones among the present ones; its ETag. */
  async function manifest(name: string): Promise<string> {
    const keys = [...present];
    for (const [i, k] of missing.entries()) keys.splice(3 + i * 11, 0, k);
    const rows = keys.map((k) => `${src},${encodeURIComponent(k).replace(/%2F/g, '/')}\n`);
    const res = await admin.send(new PutObjectCommand({ Bucket: src, Key: name, Body: rows.join('') }));
    return (res.ETag ?? '').replace(/"/g, '');
  }

  /** An engine on Ceph: real PutObjectTagging tasks (each call recorded), parts in the report bucket. */
  function engineOn(
    store: MemoryJobStore,
    indices: Map<string, ChunkIndexFile>,
    calls: string[],
    hold?: { after: number; gate: Promise<void> },
  ) {
    const spool = new S3PartSpool(
      locateByRequest(
        (id) => store.get(id)?.request,
        () => objects,
      ),
    );
    const operations = {
      s3: createS3Client({ ...ceph, forcePathStyle: true }),
      multipartCopyThresholdBytes: 5 * 1024 ** 3,
      multipartCopyPartBytes: 64 * 1024 ** 2,
    };
    const unused: OperationHandler<object> = {
      name: 'S3PutObjectTagging',
      parse: () => ({}),
      attempt: () => Promise.reject(new Error('not used')),
    };
    return newTestEngine({
      store,
      objects,
      handler: unused,
      spool,
      indices,
      config: { chunkSize: 10, maxConcurrentTasks: 4, jobConcurrency: 4 },
      deps: {
        profileFor: () => ({ objects, operations }),
        operations: (op) => {
          const real = parseOperation(op);
          return {
            ...real,
            handler: {
              ...real.handler,
              attempt: async (config, entry, ctx, signal) => {
                calls.push(entry.key);
                if (hold !== undefined && calls.length > hold.after) await hold.gate;
                return real.handler.attempt(config, entry, ctx, signal);
              },
            },
          };
        },
      },
    });
  }

  function jobRequest(etag: string, manifestKey: string, report: Record<string, unknown>): Record<string, unknown> {
    return {
      ConfirmationRequired: false,
      Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'parts', Value: 'yes' }] } },
      Report: report,
      Priority: 10,
      RoleArn: `arn:aws:iam::${TEST_ACCOUNT}:role/batch`,
      Manifest: {
        Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
        Location: { ObjectArn: `arn:aws:s3:::${src}/${manifestKey}`, ETag: etag },
      },
    };
  }

  /** The report's rows by status, read as AWS lays them out: manifest.json, then each results CSV. */
  async function reportOf(prefix: string, jobId: string): Promise<Record<string, string[]>> {
    const manifestKey = `${prefix}/job-${jobId}/manifest.json`;
    const m = JSON.parse(await textOf(admin, reports, manifestKey)) as {
      Format: string;
      Results: { TaskExecutionStatus: string; Bucket: string; Key: string; MD5Checksum: string }[];
    };
    expect(m.Format).toBe('Report_CSV_20180820');
    const rows: Record<string, string[]> = { succeeded: [], failed: [] };
    for (const r of m.Results) {
      expect(r.Bucket).toBe(reports);
      expect(r.Key).toMatch(new RegExp(`^${prefix}/job-${jobId}/results/[0-9a-f]{40}\\.csv$`));
      const text = await textOf(admin, reports, r.Key);
      for (const line of text.split('\r\n').filter(Boolean)) {
        expect(line.split(',')[3]).toBe(r.TaskExecutionStatus);
        rows[r.TaskExecutionStatus]?.push(line);
      }
    }
    return rows;
  }

  const keyOf = (line: string): string => decodeURIComponent(line.split(',')[1] ?? '');

  function expectExact(rows: Record<string, string[]>): void {
    expect(rows.succeeded?.map(keyOf).sort()).toEqual([...present].sort());
    expect(rows.failed?.map(keyOf).sort()).toEqual([...missing].sort());
    for (const line of rows.failed ?? []) expect(line).toContain(',failed,404,NoSuchKey,');
  }

  it('runs a tagging job: the report is exact, each task once, and the parts are gone', async () => {
    const store = new MemoryJobStore();
    const indices = new Map<string, ChunkIndexFile>();
    const calls: string[] = [];
    const { engine, service } = engineOn(store, indices, calls);
    await engine.start();
    const etag = await manifest('m1.csv');
    const { JobId } = service.createJob(
      TEST_ACCOUNT,
      jobRequest(etag, 'm1.csv', {
        Enabled: true,
        Bucket: `arn:aws:s3:::${reports}`,
        Prefix: 'rep/',
        ReportScope: 'AllTasks',
      }),
    );
    await waitForStatus(engine, store, JobId, 'Complete');
    expect([...calls].sort()).toEqual([...present, ...missing].sort());
    expectExact(await reportOf('rep', JobId));
    expect(await keysUnder(admin, reports, `rep/job-${JobId}/parts/`)).toEqual([]);
    const d = service.describeJob(TEST_ACCOUNT, JobId);
    expect(d.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 45, NumberOfTasksFailed: 5 });
  });

  it('a job stopped mid-chunk resumes from its parts on another engine: every task runs and is reported once', async () => {
    const store = new MemoryJobStore();
    const indices = new Map<string, ChunkIndexFile>();
    const calls: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = engineOn(store, indices, calls, { after: 23, gate });
    await first.engine.start();
    const etag = await manifest('m2.csv');
    const { JobId } = first.service.createJob(
      TEST_ACCOUNT,
      jobRequest(etag, 'm2.csv', {
        Enabled: true,
        Bucket: `arn:aws:s3:::${reports}`,
        Prefix: 'again',
        ReportScope: 'AllTasks',
      }),
    );
    while (calls.length <= 23) await new Promise((r) => setTimeout(r, 5));
    const stopping = first.engine.stop(); // no new task; the held ones finish and their chunks close partial
    release();
    await stopping;
    expect(store.get(JobId)?.status).toBe('Active');
    const ranFirst = calls.length;
    expect(ranFirst).toBeLessThan(50);
    // The parts of the unfinished chunks hold the tasks that ran in them.
    const done = store.get(JobId)!.chunks;
    const partsSpool = new S3PartSpool(() => ({ objects, bucket: reports, prefix: 'again' }));
    let durable = 0;
    for (const index of await partsSpool.chunks(JobId)) {
      const rows = await partsSpool.durable(JobId, index);
      expect(rows).toBeDefined();
      if (index >= done.watermark && !done.done.includes(index)) durable += rows?.ordinals.size ?? 0;
    }
    const doneChunks = done.watermark + done.done.length;
    expect(durable).toBe(ranFirst - doneChunks * 10);
    expect(durable).toBeGreaterThan(0); // the tasks of the chunk the stop cut short

    const second = engineOn(store, indices, calls);
    await second.engine.start();
    await waitForStatus(second.engine, store, JobId, 'Complete');
    expect([...calls].sort()).toEqual([...present, ...missing].sort()); // once each, over both engines
    expectExact(await reportOf('again', JobId));
    expect(await keysUnder(admin, reports, `again/job-${JobId}/parts/`)).toEqual([]);
  });

  it('a job whose report is disabled completes and writes nothing to the report bucket', async () => {
    const store = new MemoryJobStore();
    const indices = new Map<string, ChunkIndexFile>();
    const calls: string[] = [];
    const { engine, service } = engineOn(store, indices, calls);
    await engine.start();
    const etag = await manifest('m3.csv');
    const before = await keysUnder(admin, reports);
    const { JobId } = service.createJob(TEST_ACCOUNT, jobRequest(etag, 'm3.csv', { Enabled: false }));
    await waitForStatus(engine, store, JobId, 'Complete');
    expect(calls).toHaveLength(50);
    expect(service.describeJob(TEST_ACCOUNT, JobId).ProgressSummary).toMatchObject({
      NumberOfTasksSucceeded: 45,
      NumberOfTasksFailed: 5,
    });
    expect(await keysUnder(admin, reports)).toEqual(before);
  });
});
