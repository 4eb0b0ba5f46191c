/**
 * The manifest generator on in-memory parts: listing + filters into the local task list, the
 * max-objects cap, no match, listing failures, resume after an interruption, the generated
 * manifest read back as an inventory; and generator jobs in the engine — tasks run while the
 * listing is still going (observed through a listing the test holds), TotalNumberOfTasks grows,
 * cancel and restart mid-listing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { succeeded, type TaskEntry } from '../../src/domain/task.ts';
import type { Engine } from '../../src/engine/engine.ts';
import { generatorSettings, validateManifestGenerator } from '../../src/manifest/generator-spec.ts';
import { prepareInventoryManifest } from '../../src/manifest/inventory-manifest.ts';
import { followLocalChunks, LocalManifestWriter, readLocalChunk } from '../../src/manifest/local-manifest.ts';
import { createMemoryLocalManifestFiles, type LocalManifestFiles } from '../../src/storage/local-manifest-files.ts';
import { generateManifest, writeGeneratedManifest } from '../../src/manifest/manifest-generator.ts';
import type { OperationHandler } from '../../src/operations/operation.ts';
import type { BatchService } from '../../src/service/batch-service.ts';
import { MemoryJobStore } from '../../src/storage/memory-job-store.ts';
import { MemoryObjectStore } from '../../src/storage/memory-object-store.ts';
import { createMemorySpool } from '../../src/storage/memory-spool.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import {
  HeldListingStore,
  newTestEngine,
  stopTestEngines,
  taggingJobRequest,
  TEST_ACCOUNT,
  waitForStatus,
} from '../helpers/engine-harness.ts';

const ACCOUNT = TEST_ACCOUNT;

function settingsOf(filter?: Record<string, unknown>, over: Record<string, unknown> = {}) {
  const g = validateManifestGenerator(
    {
      S3JobManifestGenerator: {
        SourceBucket: 'arn:aws:s3:::src',
        EnableManifestOutput: false,
        ...(filter ? { Filter: filter } : {}),
        ...over,
      },
    },
    [],
  );
  return generatorSettings(g, []);
}

async function sourceStore(keys: string[]): Promise<MemoryObjectStore> {
  const store = new MemoryObjectStore();
  store.createBucket('src');
  store.createBucket('out');
  for (const k of keys) await store.put({ bucket: 'src', key: k }, `body of ${k}`);
  return store;
}

async function listed(files: LocalManifestFiles): Promise<string[]> {
  const out: string[] = [];
  const signal = new AbortController().signal;
  for await (const chunk of followLocalChunks(files, { signal, ticket: () => 0, waitForChange: async () => {} })) {
    for await (const e of readLocalChunk(files, ['Bucket', 'Key'], chunk)) out.push(e.key);
  }
  return out;
}

async function generate(store: ObjectStore, settings: ReturnType<typeof settingsOf>, chunkSize = 3) {
  const files = createMemoryLocalManifestFiles();
  const writer = await LocalManifestWriter.open(files, { fields: ['Bucket', 'Key'], chunkSize, resume: true });
  const totals = await generateManifest({ store, settings, writer, maxTasks: 1_000_000 });
  await writer.complete();
  return { files, writer, totals, keys: await listed(files) };
}

const KEYS = ['a/1.jpg', 'a/2.png', 'b/1.jpg', 'b/x/2.jpg', 'c/日本.jpg', 'c/plus+.txt', 'd/big.bin'];

describe('generateManifest', () => {
  it('writes the matching keys in key order, with discovery totals', async () => {
    const store = await sourceStore(KEYS);
    const { keys, totals } = await generate(store, settingsOf({ KeyNameConstraint: { MatchAnySuffix: ['.jpg'] } }));
    expect(keys).toEqual(['a/1.jpg', 'b/1.jpg', 'b/x/2.jpg', 'c/日本.jpg']);
    expect(totals).toMatchObject({ found: 4, listed: 7 });
    expect(totals.bytes).toBe(keys.reduce((n, k) => n + Buffer.byteLength(`body of ${k}`), 0));
  });

  it('lists only under the prefixes and keeps their key order', async () => {
    const store = await sourceStore(KEYS);
    const { keys, totals } = await generate(store, settingsOf({ KeyNameConstraint: { MatchAnyPrefix: ['c/', 'a/'] } }));
    expect(keys).toEqual(['a/1.jpg', 'a/2.png', 'c/plus+.txt', 'c/日本.jpg']);
    expect(totals.listed).toBe(4); // the listing itself was narrowed
  });

  it('applies storage class, size and time filters from the listing', async () => {
    const store = await sourceStore(KEYS);
    store.setListing('src', 'a/1.jpg', { storageClass: 'GLACIER', lastModified: new Date('2020-01-01T00:00:00Z') });
    store.setListing('src', 'b/1.jpg', { storageClass: 'GLACIER', lastModified: new Date('2023-01-01T00:00:00Z') });
    expect((await generate(store, settingsOf({ MatchAnyStorageClass: ['GLACIER'] }))).keys).toEqual([
      'a/1.jpg',
      'b/1.jpg',
    ]);
    expect(
      (await generate(store, settingsOf({ MatchAnyStorageClass: ['GLACIER'], CreatedAfter: '2021-01-01T00:00:00Z' })))
        .keys,
    ).toEqual(['b/1.jpg']);
    const sizeOf = (k: string): number => Buffer.byteLength(`body of ${k}`);
    const big = KEYS.filter((k) => sizeOf(k) > 16);
    expect((await generate(store, settingsOf({ ObjectSizeGreaterThanBytes: 16 }))).keys).toEqual([...big].sort());
  });

  it('stops at MaxObjects (a JSON member or the s3batch:generator-max-objects tag)', async () => {
    const store = await sourceStore(KEYS);
    expect((await generate(store, settingsOf({ MaxObjects: 3 }))).keys).toEqual(['a/1.jpg', 'a/2.png', 'b/1.jpg']);
    const tags = [{ Key: 's3batch:generator-max-objects', Value: '2' }];
    const s = generatorSettings(
      validateManifestGenerator(
        { S3JobManifestGenerator: { SourceBucket: 'arn:aws:s3:::src', EnableManifestOutput: false } },
        tags,
      ),
      tags,
    );
    expect((await generate(store, s)).keys).toEqual(['a/1.jpg', 'a/2.png']);
  });

  it('fails with ManifestGenerationEmpty when nothing matches, ManifestGenerationFailed when listing fails', async () => {
    const store = await sourceStore(KEYS);
    await expect(
      generate(store, settingsOf({ KeyNameConstraint: { MatchAnyPrefix: ['zzz/'] } })),
    ).rejects.toMatchObject({
      code: 'ManifestGenerationEmpty',
      message: 'Manifest generation found no keys matching the filter criteria',
    });
    store.setAccess('src', { read: false });
    await expect(generate(store, settingsOf())).rejects.toMatchObject({
      code: 'ManifestGenerationFailed',
      message: expect.stringContaining('forbidden'),
    });
    await expect(generate(store, settingsOf(undefined, { SourceBucket: 'arn:aws:s3:::nope' }))).rejects.toMatchObject({
      code: 'ManifestGenerationFailed',
    });
  });

  it('resumes an interrupted listing after its last written key: the same chunks as one uninterrupted run', async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `k/${String(i).padStart(3, '0')}`);
    const store = await sourceStore(keys);
    const settings = settingsOf({ KeyNameConstraint: { MatchAnyPrefix: ['k/'] } });
    const files = createMemoryLocalManifestFiles();
    const ctl = new AbortController();
    const first = await LocalManifestWriter.open(files, { fields: ['Bucket', 'Key'], chunkSize: 7, resume: true });
    await expect(
      generateManifest({
        store,
        settings,
        writer: first,
        maxTasks: 1000,
        signal: ctl.signal,
        onChunk: (c) => {
          if (c.index === 2) ctl.abort();
        },
      }),
    ).rejects.toThrow();
    // a key added while the job was down, before the cursor, is not picked up; one after it is
    await store.put({ bucket: 'src', key: 'k/000a' }, 'late');
    await store.put({ bucket: 'src', key: 'k/999' }, 'late');
    const second = await LocalManifestWriter.open(files, { fields: ['Bucket', 'Key'], chunkSize: 7, resume: true });
    expect(second.state).toMatchObject({ chunks: 3, found: 21, cursor: 'k/020' });
    await generateManifest({ store, settings, writer: second, maxTasks: 1000 });
    await second.complete();
    expect(await listed(files)).toEqual([...keys, 'k/999']);
  });

  it('lists every version for replication: oldest first within a key, no chunk cut inside a key, resumable after a key', async () => {
    const store = new MemoryObjectStore();
    store.createBucket('vsrc', { versioned: true });
    const put = async (key: string, body: string): Promise<string> =>
      (await store.put({ bucket: 'vsrc', key }, body)).versionId;
    const a = [await put('a', '1'), await put('a', '22'), await put('a', '333')];
    const b = [await put('b', '4444')];
    const c = [await put('c', '55555'), await put('c', '666666')];
    const settings = generatorSettings(
      validateManifestGenerator(
        { S3JobManifestGenerator: { SourceBucket: 'arn:aws:s3:::vsrc', EnableManifestOutput: false } },
        [],
      ),
      [],
    );
    const rowsOf = async (files: LocalManifestFiles): Promise<string[]> => {
      const out: string[] = [];
      const signal = new AbortController().signal;
      for await (const chunk of followLocalChunks(files, { signal, ticket: () => 0, waitForChange: async () => {} })) {
        for await (const e of readLocalChunk(files, ['Bucket', 'Key', 'VersionId'], chunk))
          out.push(`${e.key}@${e.versionId}`);
      }
      return out;
    };
    const expected = [...a.map((v) => `a@${v}`), ...b.map((v) => `b@${v}`), ...c.map((v) => `c@${v}`)];

    const files = createMemoryLocalManifestFiles();
    const ctl = new AbortController();
    const first = await LocalManifestWriter.open(files, {
      fields: ['Bucket', 'Key', 'VersionId'],
      chunkSize: 2,
      resume: true,
    });
    const counts: number[] = [];
    await expect(
      generateManifest({
        store,
        settings,
        writer: first,
        maxTasks: 100,
        versions: true,
        signal: ctl.signal,
        onChunk: (ch) => {
          counts.push(ch.count);
          ctl.abort();
        },
      }),
    ).rejects.toThrow();
    expect(counts).toEqual([3]); // the three versions of `a` stay in one chunk
    const second = await LocalManifestWriter.open(files, {
      fields: ['Bucket', 'Key', 'VersionId'],
      chunkSize: 2,
      resume: true,
    });
    expect(second.state.cursor).toBe('a');
    await generateManifest({ store, settings, writer: second, maxTasks: 100, versions: true });
    await second.complete();
    expect(await rowsOf(files)).toEqual(expected);

    // filters apply per version
    const bigOnes = generatorSettings(
      validateManifestGenerator(
        {
          S3JobManifestGenerator: {
            SourceBucket: 'arn:aws:s3:::vsrc',
            EnableManifestOutput: false,
            Filter: { ObjectSizeGreaterThanBytes: 2 },
          },
        },
        [],
      ),
      [],
    );
    const filtered = createMemoryLocalManifestFiles();
    const w = await LocalManifestWriter.open(filtered, {
      fields: ['Bucket', 'Key', 'VersionId'],
      chunkSize: 10,
      resume: false,
    });
    await generateManifest({ store, settings: bigOnes, writer: w, maxTasks: 100, versions: true });
    await w.complete();
    expect(await rowsOf(filtered)).toEqual([`a@${a[2]}`, `b@${b[0]}`, `c@${c[0]}`, `c@${c[1]}`]);
  });

  it('writes the generated manifest in the inventory format, readable as an S3InventoryReport_CSV_20161130 manifest', async () => {
    const store = await sourceStore(KEYS);
    const settings = settingsOf(undefined, {
      EnableManifestOutput: true,
      ManifestOutputLocation: {
        Bucket: 'arn:aws:s3:::out',
        ManifestPrefix: 'gen',
        ManifestFormat: 'S3InventoryReport_CSV_20211130',
      },
    });
    const { writer, keys } = await generate(store, settings, 2);
    const descriptor = await writeGeneratedManifest({
      store,
      jobId: 'j1',
      sourceBucket: 'src',
      output: settings.output!,
      writer,
      now: new Date(),
    });
    expect(descriptor).toEqual({
      Format: 'S3InventoryReport_CSV_20211130',
      Location: {
        ObjectArn: 'arn:aws:s3:::out/gen/job-j1/manifest.json',
        ETag: expect.stringMatching(/^[0-9a-f]{32}$/),
      },
    });
    const manifest = JSON.parse(store.getText('out', 'gen/job-j1/manifest.json')) as {
      fileSchema: string;
      files: { key: string }[];
    };
    expect(manifest.fileSchema).toBe('Bucket, Key');
    expect(store.keys('out', 'gen/job-j1/data/')).toEqual([manifest.files[0]!.key]);
    expect(store.getText('out', 'gen/job-j1/manifest.checksum')).toMatch(/^[0-9a-f]{32}$/);
    const back = createMemoryLocalManifestFiles();
    await prepareInventoryManifest({
      store,
      location: descriptor.Location,
      openWriter: (fields) => LocalManifestWriter.open(back, { fields, chunkSize: 3, resume: false }),
      maxTasks: 100,
    });
    expect(await listed(back)).toEqual(keys);
  });

  it('fails with ManifestTooLarge once more objects match than the job size cap allows, naming the cap and its setting', async () => {
    const store = await sourceStore(KEYS);
    const writer = await LocalManifestWriter.open(createMemoryLocalManifestFiles(), {
      fields: ['Bucket', 'Key'],
      chunkSize: 3,
      resume: true,
    });
    await expect(generateManifest({ store, settings: settingsOf(), writer, maxTasks: 5 })).rejects.toMatchObject({
      code: 'ManifestTooLarge',
      message: expect.stringMatching(/more than 5 objects.*S3BATCH_MAX_TASKS_PER_JOB/),
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Generator jobs in the engine

interface EngineWorld {
  objects: HeldListingStore;
  store: MemoryJobStore;
  spool: ReturnType<typeof createMemorySpool>;
  lists: Map<string, LocalManifestFiles>;
  calls: string[];
}

async function newWorld(keys: string[], pauseAfterPages = 1_000_000): Promise<EngineWorld> {
  const objects = new HeldListingStore(pauseAfterPages);
  objects.createBucket('src');
  objects.createBucket('reports');
  for (const k of keys) await objects.put({ bucket: 'src', key: k }, 'x');
  return { objects, store: new MemoryJobStore(), spool: createMemorySpool(), lists: new Map(), calls: [] };
}

afterEach(stopTestEngines);

function newEngine(world: EngineWorld, onTask?: (entry: TaskEntry) => void): { engine: Engine; service: BatchService } {
  const handler: OperationHandler<object> = {
    name: 'S3PutObjectTagging',
    parse: () => ({}),
    async attempt(_config, entry: TaskEntry) {
      world.calls.push(entry.key);
      onTask?.(entry);
      await new Promise((r) => setImmediate(r));
      return { result: succeeded(entry), retryable: false };
    },
  };
  return newTestEngine({
    store: world.store,
    objects: world.objects,
    spool: world.spool,
    handler,
    config: { maxConcurrentTasks: 4, jobConcurrency: 4 },
    deps: {
      localManifest: (id) => world.lists.get(id) ?? world.lists.set(id, createMemoryLocalManifestFiles()).get(id)!,
      removeLocalManifest: async (id) => void world.lists.delete(id),
    },
  });
}

function generatorJob(filter?: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return taggingJobRequest({
    ManifestGenerator: {
      S3JobManifestGenerator: {
        SourceBucket: 'arn:aws:s3:::src',
        EnableManifestOutput: false,
        ...(filter ? { Filter: filter } : {}),
      },
    },
    ...extra,
  });
}

/** Resolves once `predicate` holds, checked after every task result and status change. */
function until(engine: Engine, predicate: () => boolean): Promise<void> {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('condition not reached')), 10_000);
    const check = (): void => {
      if (!predicate()) return;
      clearTimeout(timer);
      engine.events.off('job:progress', check);
      engine.events.off('job:status', check);
      resolve();
    };
    engine.events.on('job:progress', check);
    engine.events.on('job:status', check);
  });
}

async function reportKeys(world: EngineWorld, jobId: string): Promise<string[]> {
  const manifest = JSON.parse(world.objects.getText('reports', `r/job-${jobId}/manifest.json`)) as {
    Results: { Key: string }[];
  };
  return manifest.Results.flatMap((r) => world.objects.getText('reports', r.Key).split('\r\n').filter(Boolean)).map(
    (row) => decodeURIComponent(row.split(',')[1]!),
  );
}

const many = (n: number): string[] => Array.from({ length: n }, (_, i) => `obj/${String(i).padStart(4, '0')}`);

describe('generator jobs in the engine', () => {
  it('runs tasks while the listing is still going; TotalNumberOfTasks grows; completion waits for the listing', async () => {
    const keys = many(60);
    const world = await newWorld(keys, 2); // the listing holds after 2 pages of 10
    const { engine, service } = newEngine(world);
    await engine.start();
    const { JobId } = service.createJob(ACCOUNT, generatorJob());
    await until(engine, () => service.describeJob(ACCOUNT, JobId).ProgressSummary.NumberOfTasksSucceeded >= 20);
    const mid = service.describeJob(ACCOUNT, JobId);
    expect(mid.Status).toBe('Active');
    expect(mid.ProgressSummary.TotalNumberOfTasks).toBe(20);
    expect(world.store.get(JobId)!.discovery).toMatchObject({ objectsFound: 20, listingComplete: false });
    expect(world.objects.pagesServed).toBe(2);
    world.objects.release();
    await waitForStatus(engine, world.store, JobId, 'Complete');
    const done = service.describeJob(ACCOUNT, JobId);
    expect(done.ProgressSummary).toMatchObject({
      TotalNumberOfTasks: 60,
      NumberOfTasksSucceeded: 60,
      NumberOfTasksFailed: 0,
    });
    expect(world.store.get(JobId)!.discovery).toMatchObject({
      objectsFound: 60,
      objectsListed: 60,
      listingComplete: true,
      totalBytes: 60,
    });
    expect((await reportKeys(world, JobId)).sort()).toEqual(keys);
    expect(done.ManifestGenerator).toBeDefined();
    expect(done.Manifest).toBeUndefined();
  });

  it('fails a job whose filter matches nothing with ManifestGenerationEmpty', async () => {
    const world = await newWorld(many(5));
    const { engine, service } = newEngine(world);
    await engine.start();
    const { JobId } = service.createJob(ACCOUNT, generatorJob({ KeyNameConstraint: { MatchAnySuffix: ['.none'] } }));
    await waitForStatus(engine, world.store, JobId, 'Failed');
    expect(service.describeJob(ACCOUNT, JobId).FailureReasons).toEqual([
      {
        FailureCode: 'ManifestGenerationEmpty',
        FailureReason: 'Manifest generation found no keys matching the filter criteria',
      },
    ]);
    expect(world.calls).toEqual([]);
    // The discovery metrics tell how far the listing got: all of it, nothing matched.
    expect(world.store.get(JobId)!.discovery).toMatchObject({
      objectsListed: 5,
      objectsFound: 0,
      listingComplete: true,
    });
  });

  it('with ConfirmationRequired waits Suspended (the listing may finish) and runs every task once confirmed', async () => {
    const world = await newWorld(many(25));
    const { engine, service } = newEngine(world);
    await engine.start();
    const { JobId } = service.createJob(ACCOUNT, generatorJob(undefined, { ConfirmationRequired: true }));
    await waitForStatus(engine, world.store, JobId, 'Suspended');
    await until(engine, () => world.store.get(JobId)?.discovery?.listingComplete === true);
    expect(world.calls).toEqual([]);
    expect(service.describeJob(ACCOUNT, JobId).ProgressSummary.TotalNumberOfTasks).toBe(25);
    service.updateJobStatus(ACCOUNT, JobId, 'Ready');
    await waitForStatus(engine, world.store, JobId, 'Complete');
    expect(world.calls.sort()).toEqual(many(25));
  });

  it('cancels a job while its listing is held: the listing stops, the job ends Cancelled', async () => {
    const world = await newWorld(many(40), 1);
    const { engine, service } = newEngine(world);
    await engine.start();
    const { JobId } = service.createJob(ACCOUNT, generatorJob());
    await until(engine, () => service.describeJob(ACCOUNT, JobId).ProgressSummary.NumberOfTasksSucceeded >= 10);
    service.updateJobStatus(ACCOUNT, JobId, 'Cancelled');
    await waitForStatus(engine, world.store, JobId, 'Cancelled');
    await engine.idle();
    expect(world.objects.pagesServed).toBe(1);
    expect(world.lists.has(JobId)).toBe(false);
  });

  it('a replication job gets every version of every object, with its version id', async () => {
    const world = await newWorld([]);
    world.objects.createBucket('vsrc', { versioned: true });
    const versions: string[] = [];
    for (const [key, n] of [
      ['x', 3],
      ['y', 2],
    ] as const) {
      for (let i = 0; i < n; i++)
        versions.push(`${key}@${(await world.objects.put({ bucket: 'vsrc', key }, `v${i}`)).versionId}`);
    }
    const seen: string[] = [];
    const { engine, service } = newEngine(world, (e) => seen.push(`${e.key}@${e.versionId}`));
    await engine.start();
    const req = generatorJob(undefined, { Operation: { S3ReplicateObject: {} } });
    (
      req.ManifestGenerator as { S3JobManifestGenerator: { SourceBucket: string } }
    ).S3JobManifestGenerator.SourceBucket = 'arn:aws:s3:::vsrc';
    const { JobId } = service.createJob(ACCOUNT, req);
    await waitForStatus(engine, world.store, JobId, 'Complete');
    expect(seen.sort()).toEqual(versions.sort());
  });

  it('resumes a listing interrupted by a restart: every object is processed and reported exactly once', async () => {
    const keys = many(50);
    const world = await newWorld(keys, 2);
    const first = newEngine(world);
    await first.engine.start();
    const { JobId } = first.service.createJob(ACCOUNT, generatorJob());
    await until(
      first.engine,
      () => first.service.describeJob(ACCOUNT, JobId).ProgressSummary.NumberOfTasksSucceeded >= 20,
    );
    await first.engine.stop();
    expect(world.store.get(JobId)!.discovery?.listingComplete).toBe(false);
    world.objects.release();
    const second = newEngine(world);
    await second.engine.start();
    await waitForStatus(second.engine, world.store, JobId, 'Complete');
    expect(second.service.describeJob(ACCOUNT, JobId).ProgressSummary).toMatchObject({
      TotalNumberOfTasks: 50,
      NumberOfTasksSucceeded: 50,
    });
    const reported = await reportKeys(world, JobId);
    expect(reported.sort()).toEqual(keys);
  });
});
