/**
 * Cutting a manifest's row stream into chunks (the unit of work), and the port that persists the
 * chunk index. Both stream: neither the rows nor the index of a 20-billion-row manifest is ever
 * held in memory. The fs implementation is storage/fs-chunk-index.ts.
 *
 * A chunk spans from its first row's first byte to just past its last row's line terminator;
 * empty lines between chunks belong to none, so re-reading [start, end) with the chunk's
 * firstLine yields exactly its rows with the right line numbers.
 */
import type { Chunk } from '../domain/chunk.ts';
import type { ManifestRow } from './csv-manifest.ts';

/** Groups consecutive rows into chunks of `chunkSize` rows (the last one may be shorter). */
export async function* chunkRows(rows: AsyncIterable<ManifestRow>, chunkSize: number): AsyncGenerator<Chunk> {
  const cutter = new ChunkCutter(chunkSize);
  for await (const row of rows) {
    const chunk = cutter.add(row);
    if (chunk !== undefined) yield chunk;
  }
  const last = cutter.finish();
  if (last !== undefined) yield last;
}

/** The synchronous core of chunkRows, for loops that handle rows in batches. */
export class ChunkCutter {
  private index = 0;
  private open: { start: number; end: number; firstLine: number; count: number } | undefined;

  constructor(private readonly chunkSize: number) {
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new RangeError(`Invalid chunk size ${chunkSize}`);
  }

  /** Adds the next row; returns the chunk it completes, if any. */
  add(row: ManifestRow): Chunk | undefined {
    const open = (this.open ??= { start: row.startOffset, end: row.endOffset, firstLine: row.entry.line, count: 0 });
    open.count++;
    open.end = row.endOffset;
    if (open.count < this.chunkSize) return undefined;
    this.open = undefined;
    return { index: this.index++, ...open };
  }

  /** The last, partial chunk, if rows are left over. */
  finish(): Chunk | undefined {
    const open = this.open;
    this.open = undefined;
    return open === undefined ? undefined : { index: this.index++, ...open };
  }
}

/** Where a job's chunk index lives. */
export interface ChunkIndexFile {
  /** Replaces the index with `chunks`, atomically: readers see the old index or the whole new one. */
  write(chunks: AsyncIterable<Chunk>): Promise<{ count: number }>;
  /** The chunks in index order, starting at `fromIndex` (default 0). */
  read(fromIndex?: number): AsyncIterable<Chunk>;
}

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

/** An in-memory ChunkIndexFile for tests and small jobs. */
export function createMemoryChunkIndex(): ChunkIndexFile & { readonly chunks: readonly Chunk[] } {
  let stored: Chunk[] = [];
  return {
    get chunks() {
      return stored;
    },
    async write(chunks) {
      const next: Chunk[] = [];
      for await (const chunk of chunks) next.push(chunk);
      stored = next;
      return { count: next.length };
    },
    async *read(fromIndex = 0) {
      yield* stored.slice(fromIndex);
    },
  };
}
