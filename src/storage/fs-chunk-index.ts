/**
 * ChunkIndexFile on the local file system: one line per chunk, `index start end firstLine count`.
 *
 * write() streams the chunks into a temporary file next to the target, fsyncs it, renames it over
 * the target and fsyncs the directory, so a crash leaves either the old index or the complete new
 * one. If the chunk stream throws (a manifest error in the middle of preparing), the temporary
 * file is removed and the error rethrown; the old index, if any, is untouched.
 *
 * read() streams the file line by line and checks that indices run 0, 1, 2, … without a gap.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Chunk } from '../domain/chunk.ts';
import type { ChunkIndexFile } from './chunk-index-file.ts';
import { FLUSH_CHARS, fsyncDir } from './fs-writes.ts';

/** One line per chunk: `index start end firstLine count`. */
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
        let buffer = '';
        for await (const chunk of chunks) {
          if (chunk.index !== count) throw new Error(`Chunk index out of order: got ${chunk.index}, expected ${count}`);
          buffer += formatChunkLine(chunk);
          count++;
          if (buffer.length >= FLUSH_CHARS) {
            await handle.write(buffer);
            buffer = '';
          }
        }
        if (buffer !== '') await handle.write(buffer);
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
    },
  };
}
