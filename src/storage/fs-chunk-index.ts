/**
 * ChunkIndexFile on the local file system, seekable: a 16-byte header (`s3batch-chunks2\n`), then
 * one fixed-width record per chunk, its five fields (index, start, end, firstLine, count) as
 * little-endian float64 (exact for every safe integer), 40 bytes. read(k) seeks straight to
 * record k, so resuming the last chunk of a job with millions reads one record, not the index.
 *
 * Indexes written before (version 1: one text line per chunk, `index start end firstLine count`)
 * are still read, from their start: a job prepared by an older version resumes as it did.
 *
 * write() streams the chunks into a temporary file next to the target, fsyncs it, renames it over
 * the target and fsyncs the directory, so a crash leaves either the old index or the complete new
 * one. If the chunk stream throws (a manifest error in the middle of preparing), the temporary
 * file is removed and the error rethrown; the old index, if any, is untouched.
 *
 * read() checks that indices run 0, 1, 2, … without a gap (version 2: record k holds index k, and
 * the file holds whole records).
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Chunk } from '../domain/chunk.ts';
import type { ChunkIndexFile } from './chunk-index-file.ts';
import { FLUSH_CHARS, fsyncDir } from './fs-writes.ts';

/** The first bytes of a version-2 (fixed-width) index. */
export const CHUNK_INDEX_HEADER = Buffer.from('s3batch-chunks2\n', 'latin1');
/** Bytes per chunk record in a version-2 index. */
export const CHUNK_RECORD_BYTES = 40;
/** Records read at once. */
const READ_RECORDS = 1024;

/** A version-2 record of the chunk. */
export function encodeChunkRecord(chunk: Chunk, into: Buffer = Buffer.alloc(CHUNK_RECORD_BYTES), at = 0): Buffer {
  const fields = [chunk.index, chunk.start, chunk.end, chunk.firstLine, chunk.count];
  for (const [i, n] of fields.entries()) {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`Chunk field out of range: ${n}`);
    into.writeDoubleLE(n, at + i * 8);
  }
  return into;
}

/** Decodes the record at `at`; throws unless its fields are non-negative safe integers. */
export function decodeChunkRecord(buf: Buffer, at = 0): Chunk {
  const nums = [0, 1, 2, 3, 4].map((i) => buf.readDoubleLE(at + i * 8));
  if (!nums.every((n) => Number.isSafeInteger(n) && n >= 0))
    throw new Error(`Corrupt chunk index record: ${nums.join(' ')}`);
  const [index, start, end, firstLine, count] = nums as [number, number, number, number, number];
  return { index, start, end, firstLine, count };
}

/** One line per chunk in a version-1 index: `index start end firstLine count`. */
export function formatChunkLine(chunk: Chunk): string {
  return `${chunk.index} ${chunk.start} ${chunk.end} ${chunk.firstLine} ${chunk.count}\n`;
}

/** Parses a line written by formatChunkLine (without its newline); throws on anything else. */
export function parseChunkLine(line: string): Chunk {
  const parts = line.split(' ');
  const nums = parts.map(Number);
  if (nums.length !== 5 || !nums.every((n, i) => Number.isSafeInteger(n) && n >= 0 && parts[i] === String(n))) {
    throw new Error(`Corrupt chunk index line: ${JSON.stringify(line)}`);
  }
  const [index, start, end, firstLine, count] = nums as [number, number, number, number, number];
  return { index, start, end, firstLine, count };
}

export function createFsChunkIndex(path: string): ChunkIndexFile {
  return {
    async write(chunks) {
      const dir = dirname(path);
      await mkdir(dir, { recursive: true });
      const tmp = join(dir, `.${basename(path)}.${randomUUID()}.tmp`);
      const handle = await open(tmp, 'w');
      let count = 0;
      try {
        const buffer = Buffer.alloc(FLUSH_CHARS - (FLUSH_CHARS % CHUNK_RECORD_BYTES));
        CHUNK_INDEX_HEADER.copy(buffer);
        let used = CHUNK_INDEX_HEADER.length;
        for await (const chunk of chunks) {
          if (chunk.index !== count) throw new Error(`Chunk index out of order: got ${chunk.index}, expected ${count}`);
          if (used + CHUNK_RECORD_BYTES > buffer.length) {
            await writeAll(handle, buffer.subarray(0, used));
            used = 0;
          }
          encodeChunkRecord(chunk, buffer, used);
          used += CHUNK_RECORD_BYTES;
          count++;
        }
        if (used > 0) await writeAll(handle, buffer.subarray(0, used));
        await handle.sync();
        await handle.close();
      } catch (err) {
        await handle.close().catch(() => undefined);
        await rm(tmp, { force: true });
        throw err;
      }
      try {
        await rename(tmp, path);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
      await fsyncDir(dir, 'best-effort');
      return { count };
    },

    async *read(fromIndex = 0): AsyncGenerator<Chunk> {
      const handle = await open(path, 'r');
      try {
        const head = Buffer.alloc(CHUNK_INDEX_HEADER.length);
        const { bytesRead } = await handle.read(head, 0, head.length, 0);
        if (bytesRead === head.length && head.equals(CHUNK_INDEX_HEADER)) {
          yield* readRecords(handle, path, fromIndex);
          return;
        }
      } finally {
        await handle.close();
      }
      yield* readLines(path, fromIndex);
    },
  };
}

/** The records of a version-2 index from `fromIndex` on: one seek, then sequential reads. */
async function* readRecords(handle: FileHandle, path: string, fromIndex: number): AsyncGenerator<Chunk> {
  const { size } = await handle.stat();
  const body = size - CHUNK_INDEX_HEADER.length;
  if (body % CHUNK_RECORD_BYTES !== 0) throw new Error(`Corrupt chunk index ${path}: ${size} bytes is no whole record`);
  const count = body / CHUNK_RECORD_BYTES;
  const buf = Buffer.alloc(READ_RECORDS * CHUNK_RECORD_BYTES);
  for (let next = Math.max(0, fromIndex); next < count; ) {
    const n = Math.min(READ_RECORDS, count - next);
    const want = n * CHUNK_RECORD_BYTES;
    const at = CHUNK_INDEX_HEADER.length + next * CHUNK_RECORD_BYTES;
    let got = 0;
    while (got < want) {
      const { bytesRead } = await handle.read(buf, got, want - got, at + got);
      if (bytesRead === 0) throw new Error(`Corrupt chunk index ${path}: it ends inside record ${next}`);
      got += bytesRead;
    }
    for (let i = 0; i < n; i++, next++) {
      let chunk: Chunk;
      try {
        chunk = decodeChunkRecord(buf, i * CHUNK_RECORD_BYTES);
      } catch (err) {
        throw new Error(`Corrupt chunk index ${path}: ${(err as Error).message}`);
      }
      if (chunk.index !== next)
        throw new Error(`Corrupt chunk index ${path}: chunk ${chunk.index} where ${next} was expected`);
      yield chunk;
    }
  }
}

/** A version-1 (text) index, read from its start. */
async function* readLines(path: string, fromIndex: number): AsyncGenerator<Chunk> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let expected = 0;
  try {
    for await (const line of lines) {
      const chunk = parseChunkLine(line);
      if (chunk.index !== expected)
        throw new Error(`Corrupt chunk index ${path}: chunk ${chunk.index} where ${expected} was expected`);
      expected++;
      if (chunk.index >= fromIndex) yield chunk;
    }
  } finally {
    lines.close();
    stream.destroy();
  }
}

async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}
