/**
 * The chunk index port: where a job's chunks (domain/chunk.ts), cut from its manifest while
 * preparing (manifest/chunk-index.ts), are kept for the runner. It streams both ways: the index of
 * a 20-billion-row manifest is never held in memory. The fs implementation is fs-chunk-index.ts;
 * the in-memory one below serves tests and small jobs.
 */
import type { Chunk } from '../domain/chunk.ts';

/** Where a job's chunk index lives. */
export interface ChunkIndexFile {
  /** Replaces the index with `chunks`, atomically: readers see the old index or the whole new one. */
  write(chunks: AsyncIterable<Chunk>): Promise<{ count: number }>;
  /** The chunks in index order, starting at `fromIndex` (default 0). */
  read(fromIndex?: number): AsyncIterable<Chunk>;
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
