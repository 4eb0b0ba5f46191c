/**
 * S3 Inventory report manifests (docs/manifests.md#inventory-report) on the in-memory object store: manifest.json
 * parsed and validated, gzip CSV data files streamed with their MD5 checked, columns found by name, keys
 * decoded; and the local task list they are written to (chunks, resume, re-reading a chunk).
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Chunk } from '../../src/domain/chunk.ts';
import {
  inventoryLayout,
  parseInventoryManifest,
  prepareInventoryManifest,
} from '../../src/manifest/inventory-manifest.ts';
import {
  followLocalChunks,
  LocalManifestWriter,
  readLocalChunk,
  readLocalTotals,
} from '../../src/manifest/local-manifest.ts';
import { createMemoryLocalManifestFiles, type LocalManifestFiles } from '../../src/storage/local-manifest-files.ts';
import { MemoryObjectStore } from '../../src/storage/memory-object-store.ts';

const SCHEMA = 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass';

interface Row {
  bucket: string;
  key: string;
  version?: string;
  size?: number;
}

/** An inventory CSV row as AWS writes it: every field quoted, the key URL-encoded. */
const csvRow = (r: Row): string =>
  `${[
    r.bucket,
    encodeURIComponent(r.key).replace(/%2F/g, '/'),
    r.version ?? '',
    'true',
    'false',
    String(r.size ?? 1),
    '2024-01-01T00:00:00.000Z',
    'abc',
    'STANDARD',
  ]
    .map((v) => `"${v}"`)
    .join(',')}\n`;

const md5 = (b: Uint8Array | string): string => createHash('md5').update(b).digest('hex');

/** Uploads data files and manifest.json to the `inv` bucket; returns manifest.json's ETag. */
async function putInventory(
  store: MemoryObjectStore,
  files: Row[][],
  over: { schema?: string; fileFormat?: string; corruptMd5?: boolean; dataKeyPrefix?: string } = {},
): Promise<string> {
  const entries = [];
  for (const [i, rows] of files.entries()) {
    const gz = gzipSync(rows.map(csvRow).join(''));
    const key = `${over.dataKeyPrefix ?? 'src/cfg/data'}/file-${i}.csv.gz`;
    await store.put({ bucket: 'inv', key }, gz);
    entries.push({
      key,
      size: gz.length,
      MD5checksum: over.corruptMd5 && i === files.length - 1 ? md5('other') : md5(gz),
    });
  }
  const manifest = {
    sourceBucket: 'src',
    destinationBucket: 'arn:aws:s3:::inv',
    version: '2016-11-30',
    creationTimestamp: '1514944800000',
    fileFormat: over.fileFormat ?? 'CSV',
    fileSchema: over.schema ?? SCHEMA,
    files: entries,
  };
  return (await store.put({ bucket: 'inv', key: 'src/cfg/2024-01-01T00-00Z/manifest.json' }, JSON.stringify(manifest)))
    .etag;
}

function world(): { store: MemoryObjectStore; files: LocalManifestFiles } {
  const store = new MemoryObjectStore({ readChunkSize: 7 }); // odd buffer boundaries
  store.createBucket('inv');
  return { store, files: createMemoryLocalManifestFiles() };
}

const LOCATION = (etag: string) => ({
  ObjectArn: 'arn:aws:s3:::inv/src/cfg/2024-01-01T00-00Z/manifest.json',
  ETag: etag,
});

async function prepare(
  store: MemoryObjectStore,
  files: LocalManifestFiles,
  etag: string,
  chunkSize = 3,
  maxTasks = 1000,
) {
  return prepareInventoryManifest({
    store,
    location: LOCATION(etag),
    openWriter: (fields) => LocalManifestWriter.open(files, { fields, chunkSize, resume: false }),
    maxTasks,
  });
}

async function allChunks(files: LocalManifestFiles): Promise<Chunk[]> {
  const out: Chunk[] = [];
  const signal = new AbortController().signal;
  for await (const c of followLocalChunks(files, { signal, ticket: () => 0, waitForChange: async () => {} }))
    out.push(c);
  return out;
}

async function entriesOf(
  files: LocalManifestFiles,
  fields: ('Bucket' | 'Key' | 'VersionId')[],
): Promise<{ key: string; rawKey: string; versionId?: string | undefined }[]> {
  const out = [];
  for (const chunk of await allChunks(files)) {
    for await (const e of readLocalChunk(files, fields, chunk))
      out.push({ key: e.key, rawKey: e.rawKey, versionId: e.versionId });
  }
  return out;
}

const KEYS = ['a.txt', 'with space.txt', 'plus+sign', 'unicode/日本語.txt', 'quote"comma,.txt', 'nested/a/b'];

describe('inventory manifests', () => {
  it('reads every data file into the task list: keys decoded, raw keys kept, versions and sizes taken by column name', async () => {
    const { store, files } = world();
    const rows = KEYS.map((key, i) => ({ bucket: 'src', key, version: `v${i}`, size: 10 * (i + 1) }));
    const etag = await putInventory(store, [rows.slice(0, 4), rows.slice(4)]);
    const { writer } = await prepare(store, files, etag);
    expect(writer.state).toMatchObject({ found: 6, listed: 6, bytes: 210, chunks: 2, complete: true });
    const entries = await entriesOf(files, ['Bucket', 'Key', 'VersionId']);
    expect(entries.map((e) => e.key)).toEqual(KEYS);
    expect(entries.map((e) => e.versionId)).toEqual(KEYS.map((_, i) => `v${i}`));
    expect(entries[1]!.rawKey).toBe('with%20space.txt');
    expect(await readLocalTotals(files)).toMatchObject({ found: 6, complete: true });
  });

  it('finds columns by name in any order, without VersionId', async () => {
    const { store, files } = world();
    // Bucket and Key swapped, extra columns: the rows are written to match.
    const gz = gzipSync('"1","a%2Fb","src"\n"2","c","src"\n');
    await store.put({ bucket: 'inv', key: 'd/0.csv.gz' }, gz);
    const manifest = {
      fileFormat: 'CSV',
      fileSchema: 'Size, Key, Bucket',
      files: [{ key: 'd/0.csv.gz', size: gz.length, MD5checksum: md5(gz) }],
    };
    const { etag } = await store.put(
      { bucket: 'inv', key: 'src/cfg/2024-01-01T00-00Z/manifest.json' },
      JSON.stringify(manifest),
    );
    const { writer } = await prepare(store, files, etag);
    expect(writer.fields).toEqual(['Bucket', 'Key']);
    expect((await entriesOf(files, ['Bucket', 'Key'])).map((e) => e.key)).toEqual(['a/b', 'c']);
    expect(writer.state.bytes).toBe(3);
  });

  it('fails with ManifestChecksumMismatch when a data file does not match its MD5', async () => {
    const { store, files } = world();
    const etag = await putInventory(store, [[{ bucket: 'src', key: 'a' }], [{ bucket: 'src', key: 'b' }]], {
      corruptMd5: true,
    });
    await expect(prepare(store, files, etag)).rejects.toMatchObject({
      code: 'ManifestChecksumMismatch',
      message: expect.stringContaining('file-1.csv.gz'),
    });
  });

  it.each(['ORC', 'Parquet'])(
    'refuses a %s inventory with InvalidManifestContent naming the format',
    async (format) => {
      const { store, files } = world();
      const etag = await putInventory(store, [[{ bucket: 'src', key: 'a' }]], { fileFormat: format });
      await expect(prepare(store, files, etag)).rejects.toMatchObject({
        code: 'InvalidManifestContent',
        message: expect.stringContaining(format),
      });
    },
  );

  it('refuses a schema without Bucket or Key, naming the missing columns', async () => {
    expect(() => inventoryLayout(['Bucket', 'Size'])).toThrow(/Required fields are missing in the schema: Key/);
    const { store, files } = world();
    const etag = await putInventory(store, [[{ bucket: 'src', key: 'a' }]], {
      schema: 'Bucket, Name, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass',
    });
    await expect(prepare(store, files, etag)).rejects.toMatchObject({
      code: 'InvalidManifestContent',
      message: expect.stringContaining('Key'),
    });
  });

  it.each([
    ['not JSON', '{'],
    ['no files', JSON.stringify({ fileFormat: 'CSV', fileSchema: 'Bucket, Key', files: [] })],
    [
      'a file without MD5',
      JSON.stringify({ fileFormat: 'CSV', fileSchema: 'Bucket, Key', files: [{ key: 'k', size: 1 }] }),
    ],
    ['no fileSchema', JSON.stringify({ fileFormat: 'CSV', files: [{ key: 'k', size: 1, MD5checksum: md5('x') }] })],
  ])('refuses manifest.json with %s', (_name, text) => {
    expect(() => parseInventoryManifest(text)).toThrow(expect.objectContaining({ code: 'InvalidManifestContent' }));
  });

  it('fails on a wrong ETag, a missing data file, a row with the wrong column count, and a non-gzip file', async () => {
    const { store, files } = world();
    const etag = await putInventory(store, [[{ bucket: 'src', key: 'a' }]]);
    await expect(prepare(store, files, 'ffffffffffffffffffffffffffffffff')).rejects.toMatchObject({
      code: 'ManifestETagMismatch',
    });
    store.delete('inv', 'src/cfg/data/file-0.csv.gz');
    await expect(prepare(store, files, etag)).rejects.toMatchObject({
      code: 'ManifestNotFound',
      message: expect.stringContaining('file-0.csv.gz'),
    });

    const short = gzipSync('"src","a"\n');
    await store.put({ bucket: 'inv', key: 'src/cfg/data/file-0.csv.gz' }, short);
    const m1 = {
      fileFormat: 'CSV',
      fileSchema: SCHEMA,
      files: [{ key: 'src/cfg/data/file-0.csv.gz', size: short.length, MD5checksum: md5(short) }],
    };
    const e1 = (await store.put({ bucket: 'inv', key: 'src/cfg/2024-01-01T00-00Z/manifest.json' }, JSON.stringify(m1)))
      .etag;
    await expect(prepare(store, files, e1)).rejects.toMatchObject({
      code: 'InvalidManifestContent',
      message: expect.stringContaining('expected 9 columns'),
    });

    const plain = new TextEncoder().encode('"src","a"\n');
    await store.put({ bucket: 'inv', key: 'src/cfg/data/file-0.csv.gz' }, plain);
    const m2 = {
      fileFormat: 'CSV',
      fileSchema: 'Bucket, Key',
      files: [{ key: 'src/cfg/data/file-0.csv.gz', size: plain.length, MD5checksum: md5(plain) }],
    };
    const e2 = (await store.put({ bucket: 'inv', key: 'src/cfg/2024-01-01T00-00Z/manifest.json' }, JSON.stringify(m2)))
      .etag;
    await expect(prepare(store, files, e2)).rejects.toMatchObject({
      code: 'InvalidManifestContent',
      message: expect.stringContaining('gzip'),
    });
  });

  it('enforces the task limit (ManifestTooLarge) and one bucket for copy jobs', async () => {
    const { store, files } = world();
    const etag = await putInventory(store, [KEYS.map((key) => ({ bucket: 'src', key }))]);
    await expect(prepare(store, files, etag, 3, 5)).rejects.toMatchObject({
      code: 'ManifestTooLarge',
      message: expect.stringMatching(/more than 5 objects.*S3BATCH_MAX_TASKS_PER_JOB/),
    });
    const etag2 = await putInventory(store, [
      [
        { bucket: 'src', key: 'a' },
        { bucket: 'other', key: 'b' },
      ],
    ]);
    await expect(
      prepareInventoryManifest({
        store,
        location: LOCATION(etag2),
        openWriter: (fields) => LocalManifestWriter.open(files, { fields, chunkSize: 3, resume: false }),
        maxTasks: 100,
        sameBucket: true,
      }),
    ).rejects.toMatchObject({ code: 'InvalidManifestContent', message: expect.stringContaining('one bucket') });
  });
});

describe('local task list', () => {
  it('resumes after its last complete chunk: a torn index line and rows past it are cut off', async () => {
    const files = createMemoryLocalManifestFiles();
    const w = await LocalManifestWriter.open(files, { fields: ['Bucket', 'Key'], chunkSize: 2, resume: true });
    for (const k of ['a', 'b', 'c', 'd', 'e']) await w.add({ bucket: 'src', rawKey: k }, 1, k);
    // crash: rows of a chunk written, its index line torn
    await files.rows.append(new TextEncoder().encode('src,f\n'));
    await files.index.append(new TextEncoder().encode('c 2 13 17 6 2'));
    const resumed = await LocalManifestWriter.open(files, { fields: ['Bucket', 'Key'], chunkSize: 2, resume: true });
    expect(resumed.state).toMatchObject({ chunks: 2, found: 4, cursor: 'd', complete: false });
    for (const k of ['e', 'f', 'g']) await resumed.add({ bucket: 'src', rawKey: k }, 1, k);
    await resumed.complete();
    expect((await entriesOf(files, ['Bucket', 'Key'])).map((e) => e.key)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect((await allChunks(files)).map((c) => c.count)).toEqual([2, 2, 2, 1]);
  });

  it('keeps a big chunk consistent when its rows are appended in several pieces', async () => {
    const files = createMemoryLocalManifestFiles();
    const w = await LocalManifestWriter.open(files, { fields: ['Bucket', 'Key'], chunkSize: 5000, resume: false });
    const keys = Array.from(
      { length: 7000 },
      (_, i) => `some/longer/prefix/to/fill/the/buffer/${String(i).padStart(6, '0')}`,
    );
    for (const k of keys) await w.add({ bucket: 'src', rawKey: k }, 1, k);
    await w.complete();
    expect((await allChunks(files)).map((c) => c.count)).toEqual([5000, 2000]);
    expect((await entriesOf(files, ['Bucket', 'Key'])).map((e) => e.key)).toEqual(keys);
  });

  it('starts afresh when resuming a list written with other fields', async () => {
    const files = createMemoryLocalManifestFiles();
    const w = await LocalManifestWriter.open(files, {
      fields: ['Bucket', 'Key', 'VersionId'],
      chunkSize: 1,
      resume: false,
    });
    await w.add({ bucket: 'src', rawKey: 'a', versionId: 'v' }, 1);
    const other = await LocalManifestWriter.open(files, { fields: ['Bucket', 'Key'], chunkSize: 1, resume: true });
    expect(other.state.chunks).toBe(0);
  });

  it('follows a growing list and ends at its end mark', async () => {
    const files = createMemoryLocalManifestFiles();
    const w = await LocalManifestWriter.open(files, { fields: ['Bucket', 'Key'], chunkSize: 1, resume: false });
    let version = 0;
    let wake: (() => void) | undefined;
    const seen: number[] = [];
    const follower = (async () => {
      const signal = new AbortController().signal;
      const opts = {
        signal,
        ticket: () => version,
        waitForChange: (t: number) => (t !== version ? Promise.resolve() : new Promise<void>((r) => (wake = r))),
      };
      for await (const c of followLocalChunks(files, opts)) seen.push(c.index);
    })();
    const grow = async (op: () => Promise<unknown>): Promise<void> => {
      await op();
      version++;
      wake?.();
    };
    await grow(() => w.add({ bucket: 'src', rawKey: 'a' }, 1));
    await grow(() => w.add({ bucket: 'src', rawKey: 'b' }, 1));
    await grow(() => w.complete());
    await follower;
    expect(seen).toEqual([0, 1]);
  });
});
