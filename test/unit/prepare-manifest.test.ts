import { describe, expect, it } from 'vitest';
import { ManifestError } from '../../src/domain/errors.ts';
import type { ManifestField } from '../../src/domain/job-spec.ts';
import type { TaskEntry } from '../../src/domain/task.ts';
import { createMemoryChunkIndex } from '../../src/storage/chunk-index-file.ts';
import { readCsvManifest } from '../../src/manifest/csv-manifest.ts';
import { prepareCsvManifest, readChunk } from '../../src/manifest/prepare-manifest.ts';
import type { PrepareCsvManifestArgs } from '../../src/manifest/prepare-manifest.ts';
import { MemoryObjectStore } from '../../src/storage/memory-object-store.ts';

const BK: readonly ManifestField[] = ['Bucket', 'Key'];
const BKV: readonly ManifestField[] = ['Bucket', 'Key', 'VersionId'];
const ARN = 'arn:aws:s3:::manifests/jobs/manifest.csv';

/** A store holding `text` as the manifest; bodies are served in slices of `slice` bytes. */
async function setup(text: string | Uint8Array, slice = 5) {
  const store = new MemoryObjectStore({ readChunkSize: slice });
  store.createBucket('manifests');
  const { etag } = await store.put({ bucket: 'manifests', key: 'jobs/manifest.csv' }, text);
  const index = createMemoryChunkIndex();
  const args = (over: Partial<PrepareCsvManifestArgs> = {}): PrepareCsvManifestArgs => ({
    store,
    location: { ObjectArn: ARN, ETag: etag },
    fields: BK,
    chunkSize: 3,
    maxTasks: 1000,
    index,
    ...over,
  });
  return { store, etag, index, args };
}

async function manifestError(p: Promise<unknown>): Promise<ManifestError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    return err as ManifestError;
  }
  throw new Error('expected a ManifestError');
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function fullRead(text: string | Uint8Array, fields: readonly ManifestField[]): Promise<TaskEntry[]> {
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  async function* once(): AsyncGenerator<Uint8Array> {
    yield bytes;
  }
  return (await collect(readCsvManifest(once(), { fields }))).map((r) => r.entry);
}

// BOM, CRLF, blank lines, quoted fields (with a comma, a doubled quote and a line break),
// multibyte keys raw and percent-encoded, null and empty version ids, no trailing newline.
const TRICKY =
  '\ufeffsrc,%E6%97%A5%E6%9C%AC/a+b.txt,null\r\n' +
  '"src","quoted,comma",v2\r\n' +
  '\r\n' +
  'src,"say ""hi""",v3\r\n' +
  'src,"two\r\nlines",v4\n' +
  'src,ключ/файл,\r\n' +
  '\n\n' +
  'src,%F0%9F%98%80%2B1,v6\r\n' +
  '"src","é",v7\r\n' +
  'src,last%20one,v8';

describe('prepareCsvManifest', () => {
  it('counts the tasks, writes the chunk index and reports the manifest', async () => {
    const { args, index, etag } = await setup('b,k1\nb,k2\nb,k3\nb,k4\n');
    const progress: [number, number][] = [];
    const prepared = await prepareCsvManifest(args({ onProgress: (rows, bytes) => progress.push([rows, bytes]) }));
    expect(prepared).toEqual({ totalTasks: 4, chunkCount: 2, etag, bytes: 20, bucket: 'b' });
    expect(index.chunks).toEqual([
      { index: 0, start: 0, end: 15, firstLine: 1, count: 3 },
      { index: 1, start: 15, end: 20, firstLine: 4, count: 1 },
    ]);
    expect(progress.at(-1)).toEqual([4, 20]);
  });

  it.each([1, 3, 7, 100])('re-reads every chunk (size %i) to exactly the entries of a full read', async (chunkSize) => {
    for (const slice of [1, 4, 64]) {
      const { args, index, store } = await setup(TRICKY, slice);
      const prepared = await prepareCsvManifest(args({ fields: BKV, chunkSize }));
      const expected = await fullRead(TRICKY, BKV);
      expect(expected).toHaveLength(8);
      expect(prepared.totalTasks).toBe(8);
      expect(prepared.chunkCount).toBe(Math.ceil(8 / chunkSize));
      const reread: TaskEntry[] = [];
      for await (const chunk of index.read()) {
        const entries = await collect(
          readChunk({ store, location: args().location, etag: prepared.etag, fields: BKV, chunk }),
        );
        expect(entries).toHaveLength(chunk.count);
        reread.push(...entries);
      }
      expect(reread).toEqual(expected);
      // each chunk was a ranged read
      expect(store.opens.slice(1).every((o) => o.options?.range !== undefined)).toBe(true);
    }
  });

  it('re-reads chunks exactly for randomly generated manifests', async () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pick = <T>(items: readonly T[]): T => items[rand(items.length)]!;
    const keys = [
      'a',
      'dir/b+c',
      '%E6%97%A5%E6%9C%AC',
      'ключ',
      '"q""uote"',
      '"with,comma"',
      '"multi\nline"',
      'x%2By',
      'é%20z',
    ];
    const newlines = ['\n', '\r\n', '\r'];
    for (let round = 0; round < 20; round++) {
      let text = rand(2) === 0 ? '\ufeff' : '';
      const rows = 1 + rand(40);
      for (let i = 0; i < rows; i++) {
        if (rand(5) === 0) text += pick(newlines);
        text += `${pick(['src', '"src"'])},${pick(keys)},v${i}`;
        if (i < rows - 1 || rand(2) === 0) text += pick(newlines);
      }
      const chunkSize = 1 + rand(8);
      const { args, index, store } = await setup(text, 1 + rand(16));
      const prepared = await prepareCsvManifest(args({ fields: BKV, chunkSize }));
      expect(prepared.totalTasks).toBe(rows);
      const reread: TaskEntry[] = [];
      for await (const chunk of index.read()) {
        reread.push(
          ...(await collect(readChunk({ store, location: args().location, etag: prepared.etag, fields: BKV, chunk }))),
        );
      }
      expect(reread).toEqual(await fullRead(text, BKV));
    }
  });

  it('decodes the tricky manifest as the spec says', async () => {
    const entries = await fullRead(TRICKY, BKV);
    expect(entries.map((e) => [e.line, e.bucket, e.key, e.versionId])).toEqual([
      [1, 'src', '日本/a b.txt', 'null'],
      [2, 'src', 'quoted,comma', 'v2'],
      [4, 'src', 'say "hi"', 'v3'],
      [5, 'src', 'two\r\nlines', 'v4'],
      [7, 'src', 'ключ/файл', ''],
      [10, 'src', '😀+1', 'v6'],
      [11, 'src', 'é', 'v7'],
      [12, 'src', 'last one', 'v8'],
    ]);
    expect(entries[0]!.rawKey).toBe('%E6%97%A5%E6%9C%AC/a+b.txt');
  });

  it('accepts a quoted ETag', async () => {
    const { args, etag } = await setup('b,k\n');
    const prepared = await prepareCsvManifest(args({ location: { ObjectArn: ARN, ETag: `"${etag}"` } }));
    expect(prepared.etag).toBe(etag);
  });

  it('reads the manifest version named by ObjectVersionId', async () => {
    const store = new MemoryObjectStore();
    store.createBucket('manifests', { versioned: true });
    const ref = { bucket: 'manifests', key: 'jobs/manifest.csv' };
    const v1 = await store.put(ref, 'b,k1\nb,k2\n');
    await store.put(ref, 'b,k1\n');
    const index = createMemoryChunkIndex();
    const prepared = await prepareCsvManifest({
      store,
      location: { ObjectArn: ARN, ObjectVersionId: v1.versionId, ETag: v1.etag },
      fields: BK,
      chunkSize: 10,
      maxTasks: 10,
      index,
    });
    expect(prepared.totalTasks).toBe(2);
    const err = await manifestError(
      prepareCsvManifest({
        store,
        location: { ObjectArn: ARN, ObjectVersionId: 'nope', ETag: v1.etag },
        fields: BK,
        chunkSize: 10,
        maxTasks: 10,
        index,
      }),
    );
    expect(err.code).toBe('ManifestNotFound');
  });

  it('fails with ManifestETagMismatch when the ETag differs', async () => {
    const { args } = await setup('b,k\n');
    const err = await manifestError(
      prepareCsvManifest(args({ location: { ObjectArn: ARN, ETag: '60e460c9d1046e73f7dde5043ac3ae85' } })),
    );
    expect(err.code).toBe('ManifestETagMismatch');
    expect(err.message).toContain('60e460c9d1046e73f7dde5043ac3ae85');
  });

  it('fails with ManifestNotFound for a missing object or bucket', async () => {
    const { args, etag } = await setup('b,k\n');
    const noKey = await manifestError(
      prepareCsvManifest(args({ location: { ObjectArn: 'arn:aws:s3:::manifests/other.csv', ETag: etag } })),
    );
    expect(noKey.code).toBe('ManifestNotFound');
    const noBucket = await manifestError(
      prepareCsvManifest(args({ location: { ObjectArn: 'arn:aws:s3:::nobucket/m.csv', ETag: etag } })),
    );
    expect(noBucket.code).toBe('ManifestNotFound');
  });

  it('fails with ManifestAccessDenied when reading is forbidden', async () => {
    const { args, store } = await setup('b,k\n');
    store.setAccess('manifests', { read: false });
    const err = await manifestError(prepareCsvManifest(args()));
    expect(err.code).toBe('ManifestAccessDenied');
    expect(err.message).toBe('Reading the manifest is forbidden: AccessDenied');
  });

  it('fails on an empty manifest', async () => {
    for (const text of ['', '\n\r\n\n', '\ufeff']) {
      const { args } = await setup(text);
      const err = await manifestError(prepareCsvManifest(args()));
      expect(err.code).toBe('InvalidManifestContent');
      expect(err.line).toBeUndefined();
    }
  });

  it('fails with ManifestTooLarge past maxTasks, and accepts exactly maxTasks', async () => {
    const text = Array.from({ length: 10 }, (_, i) => `b,k${i}\n`).join('');
    const { args } = await setup(text);
    expect((await prepareCsvManifest(args({ maxTasks: 10 }))).totalTasks).toBe(10);
    const err = await manifestError(prepareCsvManifest(args({ maxTasks: 9 })));
    expect(err.code).toBe('ManifestTooLarge');
    // The message says what the limit is and which setting raises it.
    expect(err.message).toContain('more than 9 objects');
    expect(err.message).toContain('S3BATCH_MAX_TASKS_PER_JOB');
  });

  it('requires a single bucket when sameBucket is set, naming the line', async () => {
    const { args } = await setup('b1,k1\nb1,k2\n\nb2,k3\n');
    const err = await manifestError(prepareCsvManifest(args({ sameBucket: true })));
    expect(err).toMatchObject({ code: 'InvalidManifestContent', line: 4 });
    const prepared = await prepareCsvManifest(args());
    expect(prepared).toMatchObject({ totalTasks: 3, bucket: undefined });
  });

  it('reports content errors with their line and leaves the old index in place', async () => {
    const { args, index } = await setup('b,k1\nb,k2\nb,k3\nb,k4\nb,k%5\n');
    const err = await manifestError(prepareCsvManifest(args()));
    expect(err).toMatchObject({ code: 'InvalidManifestContent', line: 5 });
    expect(index.chunks).toEqual([]);
  });

  it('rejects Spec.Fields without Bucket or Key', async () => {
    const { args } = await setup('b,k\n');
    const err = await manifestError(prepareCsvManifest(args({ fields: ['Key'] })));
    expect(err.code).toBe('InvalidManifestContent');
  });

  it('rejects a malformed manifest ARN with InvalidRequest', async () => {
    const { args, etag } = await setup('b,k\n');
    await expect(
      prepareCsvManifest(args({ location: { ObjectArn: 'manifests/jobs/manifest.csv', ETag: etag } })),
    ).rejects.toMatchObject({
      code: 'InvalidRequest',
    });
  });

  it('stops when aborted', async () => {
    const { args } = await setup('b,k1\nb,k2\n');
    const controller = new AbortController();
    controller.abort(new Error('stopping'));
    await expect(prepareCsvManifest(args({ signal: controller.signal }))).rejects.toThrow('stopping');
  });

  it('streams a large generated manifest with constant memory (row count only)', async () => {
    const store = new MemoryObjectStore();
    store.createBucket('manifests');
    async function* generate(): AsyncGenerator<Uint8Array> {
      const enc = new TextEncoder();
      for (let i = 0; i < 200_000; i += 1000) {
        let text = '';
        for (let j = i; j < i + 1000; j++) text += `bucket,k%2F${j}\n`;
        yield enc.encode(text);
      }
    }
    const { etag } = await store.put({ bucket: 'manifests', key: 'jobs/manifest.csv' }, generate());
    const index = createMemoryChunkIndex();
    const prepared = await prepareCsvManifest({
      store,
      location: { ObjectArn: ARN, ETag: etag },
      fields: BK,
      chunkSize: 1000,
      maxTasks: 1e9,
      index,
    });
    expect(prepared).toMatchObject({ totalTasks: 200_000, chunkCount: 200, bucket: 'bucket' });
  });
});

describe('readChunk', () => {
  it('fails with ManifestETagMismatch when the manifest was replaced after preparing', async () => {
    const { args, index, store } = await setup('b,k1\nb,k2\n');
    const prepared = await prepareCsvManifest(args());
    await store.put({ bucket: 'manifests', key: 'jobs/manifest.csv' }, 'b,k1\nb,k2\nb,k3\n');
    const chunk = index.chunks[0]!;
    const err = await manifestError(
      collect(readChunk({ store, location: args().location, etag: prepared.etag, fields: BK, chunk })),
    );
    expect(err.code).toBe('ManifestETagMismatch');
  });

  it('fails with ManifestNotFound / ManifestAccessDenied like preparing does', async () => {
    const { args, index, store } = await setup('b,k1\nb,k2\n');
    const prepared = await prepareCsvManifest(args());
    const chunk = index.chunks[0]!;
    const read = () => collect(readChunk({ store, location: args().location, etag: prepared.etag, fields: BK, chunk }));
    store.setAccess('manifests', { read: false });
    expect((await manifestError(read())).code).toBe('ManifestAccessDenied');
    store.setAccess('manifests', { read: true });
    store.delete('manifests', 'jobs/manifest.csv');
    expect((await manifestError(read())).code).toBe('ManifestNotFound');
  });

  it('detects a chunk that does not hold the rows it should', async () => {
    const { args, index, store } = await setup('b,k1\nb,k2\nb,k3\nb,k4\n');
    const prepared = await prepareCsvManifest(args({ chunkSize: 2 }));
    const chunk = index.chunks[0]!;
    const read = (c: typeof chunk) =>
      collect(readChunk({ store, location: args().location, etag: prepared.etag, fields: BK, chunk: c }));
    expect(await read(chunk)).toHaveLength(2);
    for (const wrong of [
      { ...chunk, count: 3 },
      { ...chunk, count: 1 },
      { ...chunk, end: chunk.end + 3 },
      { ...chunk, end: 100 },
    ]) {
      expect((await manifestError(read(wrong))).code).toBe('InvalidManifestContent');
    }
  });
});
