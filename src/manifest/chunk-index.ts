/**
 * Cutting a manifest's row stream into chunks (the unit of work). It streams: the rows of a
 * 20-billion-row manifest are never held in memory. The chunks go to a ChunkIndexFile
 * (storage/chunk-index-file.ts).
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
    return this.addRange(row.startOffset, row.endOffset, row.entry.line);
  }

  /** add() for a row given by its byte range [start, end) and line. */
  addRange(start: number, end: number, line: number): Chunk | undefined {
    const open = (this.open ??= { start, end, firstLine: line, count: 0 });
    open.count++;
    open.end = end;
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
