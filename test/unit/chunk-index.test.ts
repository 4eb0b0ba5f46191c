import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Chunk } from '../../src/domain/chunk.ts';
import { ChunkCutter, chunkRows } from '../../src/manifest/chunk-index.ts';
import { readCsvManifest } from '../../src/manifest/csv-manifest.ts';
import type { ManifestRow } from '../../src/manifest/csv-manifest.ts';
import { createMemoryChunkIndex } from '../../src/storage/chunk-index-file.ts';
import {
  CHUNK_INDEX_HEADER,
  CHUNK_RECORD_BYTES,
  createFsChunkIndex,
  formatChunkLine,
  parseChunkLine,
} from '../../src/storage/fs-chunk-index.ts';

const enc = new TextEncoder();

async function* bytes(text: string): AsyncGenerator<Uint8Array> {
  yield enc.encode(text);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function* from<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

function rowsOf(text: string): AsyncGenerator<ManifestRow> {
  return readCsvManifest(bytes(text), { fields: ['Bucket', 'Key'] });
}

// 7 rows; an empty line between rows 3 and 4; CRLF; the last row has no newline.
const MANIFEST = 'b,k1\r\nb,k2\r\nb,k3\r\n\r\nb,k4\r\nb,k5\r\nb,k6\r\nb,k7';

/** A version-2 index, built by hand: the header, then five little-endian float64 per chunk. */
function indexBytes(chunks: readonly Chunk[]): Buffer {
  const out = Buffer.alloc(16 + chunks.length * 40);
  out.write('s3batch-chunks2\n', 0, 'latin1');
  const view = new DataView(out.buffer, out.byteOffset, out.length);
  for (const [i, c] of chunks.entries()) {
    const fields = [c.index, c.start, c.end, c.firstLine, c.count];
    for (const [f, n] of fields.entries()) view.setFloat64(16 + i * 40 + f * 8, n, true);
  }
  return out;
}

describe('chunkRows', () => {
  it('cuts rows into chunks addressed by byte range and first line', async () => {
    const chunks = await collect(chunkRows(rowsOf(MANIFEST), 3));
    expect(chunks).toEqual([
      { index: 0, start: 0, end: 18, firstLine: 1, count: 3 },
      { index: 1, start: 20, end: 38, firstLine: 5, count: 3 },
      { index: 2, start: 38, end: 42, firstLine: 8, count: 1 },
    ]);
  });

  it.each([1, 3, 7, 100])('covers every row exactly once with chunk size %i', async (size) => {
    const rows = await collect(rowsOf(MANIFEST));
    const chunks = await collect(chunkRows(from(rows), size));
    expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, i) => i));
    expect(chunks.reduce((n, c) => n + c.count, 0)).toBe(rows.length);
    expect(chunks).toHaveLength(Math.ceil(rows.length / size));
    let r = 0;
    for (const chunk of chunks) {
      expect(chunk.start).toBe(rows[r]!.startOffset);
      expect(chunk.firstLine).toBe(rows[r]!.entry.line);
      r += chunk.count;
      expect(chunk.end).toBe(rows[r - 1]!.endOffset);
    }
  });

  it('yields no chunk for no rows', async () => {
    expect(await collect(chunkRows(rowsOf(''), 5))).toEqual([]);
  });

  it('refuses a chunk size that is not a positive integer', () => {
    for (const size of [0, -1, 1.5, Number.NaN]) expect(() => new ChunkCutter(size)).toThrow(RangeError);
  });
});

describe('chunk index lines', () => {
  it('round-trips a chunk', () => {
    const chunk: Chunk = { index: 12, start: 123456789012, end: 123456799999, firstLine: 4000001, count: 1000 };
    const line = formatChunkLine(chunk);
    expect(line).toBe('12 123456789012 123456799999 4000001 1000\n');
    expect(parseChunkLine(line.trimEnd())).toEqual(chunk);
  });

  it.each(['', '1 2 3 4', '1 2 3 4 5 6', '1 2 x 4 5', '1 2 -3 4 5', '1  2 3 4 5', '01 2 3 4 5', '1 2 3 4 5.5'])(
    'rejects the corrupt line %j',
    (line) => {
      expect(() => parseChunkLine(line)).toThrow(/Corrupt chunk index/);
    },
  );
});

describe('createMemoryChunkIndex', () => {
  it('keeps the old index when writing fails', async () => {
    const index = createMemoryChunkIndex();
    await index.write(chunkRows(rowsOf(MANIFEST), 2));
    async function* failing(): AsyncGenerator<Chunk> {
      yield { index: 0, start: 0, end: 1, firstLine: 1, count: 1 };
      throw new Error('boom');
    }
    await expect(index.write(failing())).rejects.toThrow('boom');
    expect(await collect(index.read())).toHaveLength(4);
    expect((await collect(index.read(3))).map((c) => c.index)).toEqual([3]);
  });
});

describe('createFsChunkIndex', () => {
  const dirs: string[] = [];
  afterEach(async (ctx) => {
    // keep the evidence when a test failed
    if (ctx.task.result?.state !== 'fail')
      await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 's3batch-chunk-index-'));
    dirs.push(dir);
    return dir;
  }

  it('writes one fixed-width record per chunk and reads them back, from any index', async () => {
    const dir = await tempDir();
    const path = join(dir, 'jobs', 'job-1', 'chunks.idx');
    const index = createFsChunkIndex(path);
    const expected = await collect(chunkRows(rowsOf(MANIFEST), 2));
    expect(await index.write(from(expected))).toEqual({ count: 4 });
    expect(await readFile(path)).toEqual(indexBytes(expected));
    expect(CHUNK_INDEX_HEADER.length + 4 * CHUNK_RECORD_BYTES).toBe(16 + 4 * 40);
    expect(await collect(index.read())).toEqual(expected);
    expect(await collect(index.read(2))).toEqual(expected.slice(2));
    expect(await collect(index.read(10))).toEqual([]);
    expect(await readdir(join(dir, 'jobs', 'job-1'))).toEqual(['chunks.idx']);
  });

  it('reads an index of the older text format (one line per chunk), from any index', async () => {
    const dir = await tempDir();
    const path = join(dir, 'old.idx');
    await writeFile(path, '0 0 12 1 2\n1 12 26 3 2\n2 26 38 6 2\n3 38 42 8 1\n');
    const expected = await collect(chunkRows(rowsOf(MANIFEST), 2));
    expect(await collect(createFsChunkIndex(path).read())).toEqual(expected);
    expect(await collect(createFsChunkIndex(path).read(3))).toEqual(expected.slice(3));
  });

  it('seeks: reading from chunk k does not read the records before it', async () => {
    const dir = await tempDir();
    const path = join(dir, 'seek.idx');
    const n = 5000;
    async function* many(): AsyncGenerator<Chunk> {
      for (let i = 0; i < n; i++) yield { index: i, start: i * 100, end: i * 100 + 100, firstLine: i + 1, count: 1 };
    }
    const index = createFsChunkIndex(path);
    await index.write(many());
    // Records 0..k-1 overwritten with garbage: a read from k never sees them.
    const k = 4321;
    const bytes = await readFile(path);
    bytes.fill(0xff, CHUNK_INDEX_HEADER.length, CHUNK_INDEX_HEADER.length + k * CHUNK_RECORD_BYTES);
    await writeFile(path, bytes);
    const tail = await collect(index.read(k));
    expect(tail).toHaveLength(n - k);
    expect(tail[0]).toEqual({ index: k, start: k * 100, end: k * 100 + 100, firstLine: k + 1, count: 1 });
    expect(await collect(index.read(n - 1))).toHaveLength(1);
    expect(await collect(index.read(n))).toEqual([]);
    await expect(collect(index.read(k - 1))).rejects.toThrow(/Corrupt chunk index/);
  });

  it('detects a version-2 index with a record out of place or cut short', async () => {
    const dir = await tempDir();
    const path = join(dir, 'bad.idx');
    const chunks = [
      { index: 0, start: 0, end: 5, firstLine: 1, count: 1 },
      { index: 2, start: 5, end: 10, firstLine: 2, count: 1 },
    ];
    await writeFile(path, indexBytes(chunks));
    await expect(collect(createFsChunkIndex(path).read())).rejects.toThrow(/Corrupt chunk index/);
    await writeFile(path, indexBytes(chunks.slice(0, 1)).subarray(0, 16 + 39));
    await expect(collect(createFsChunkIndex(path).read())).rejects.toThrow(/Corrupt chunk index/);
  });

  it('streams many chunks', async () => {
    const dir = await tempDir();
    const index = createFsChunkIndex(join(dir, 'big.idx'));
    const n = 50_000;
    async function* many(): AsyncGenerator<Chunk> {
      for (let i = 0; i < n; i++)
        yield { index: i, start: i * 100, end: i * 100 + 100, firstLine: i * 10 + 1, count: 10 };
    }
    expect(await index.write(many())).toEqual({ count: n });
    let count = 0;
    let last: Chunk | undefined;
    for await (const chunk of index.read()) {
      count++;
      last = chunk;
    }
    expect(count).toBe(n);
    expect(last).toEqual({ index: n - 1, start: (n - 1) * 100, end: n * 100, firstLine: (n - 1) * 10 + 1, count: 10 });
  });

  it('replaces the index atomically: a failed write leaves the old one and no temporary file', async () => {
    const dir = await tempDir();
    const path = join(dir, 'chunks.idx');
    const index = createFsChunkIndex(path);
    await index.write(chunkRows(rowsOf(MANIFEST), 7));
    const before = await readFile(path, 'utf8');
    async function* failing(): AsyncGenerator<Chunk> {
      for (let i = 0; i < 5000; i++) yield { index: i, start: i, end: i + 1, firstLine: i + 1, count: 1 };
      throw new Error('manifest broke');
    }
    await expect(index.write(failing())).rejects.toThrow('manifest broke');
    expect(await readFile(path, 'utf8')).toBe(before);
    expect(await readdir(dir)).toEqual(['chunks.idx']);
  });

  it('writes an empty index for no chunks', async () => {
    const dir = await tempDir();
    const index = createFsChunkIndex(join(dir, 'empty.idx'));
    expect(await index.write(from([]))).toEqual({ count: 0 });
    expect(await collect(index.read())).toEqual([]);
  });

  it('refuses chunks out of order, and detects a corrupt file', async () => {
    const dir = await tempDir();
    const path = join(dir, 'chunks.idx');
    const index = createFsChunkIndex(path);
    await expect(index.write(from([{ index: 1, start: 0, end: 1, firstLine: 1, count: 1 }]))).rejects.toThrow(
      /out of order/,
    );
    await writeFile(path, '0 0 5 1 1\n2 5 10 2 1\n');
    await expect(collect(index.read())).rejects.toThrow(/Corrupt chunk index/);
    await writeFile(path, '0 0 5 1 1\ngarbage\n');
    await expect(collect(index.read())).rejects.toThrow(/Corrupt chunk index/);
  });

  it('fails to read an index that was never written', async () => {
    const dir = await tempDir();
    await expect(collect(createFsChunkIndex(join(dir, 'missing.idx')).read())).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
