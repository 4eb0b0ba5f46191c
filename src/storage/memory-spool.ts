/**
 * In-memory ResultSpool for unit tests. Same contract as the file spool: open() starts a chunk
 * afresh, rows are readable in append order, abort() and discard() drop the chunk, and reading a
 * chunk that was never opened fails (as a missing file does).
 */
import { TaskStatus } from '../domain/task.ts';
import type { TaskResult } from '../domain/task.ts';
import type { ResultSpool, SpoolWriter } from './result-spool.ts';

interface ChunkRows {
  readonly succeeded: TaskResult[];
  readonly failed: TaskResult[];
}

export interface MemorySpool extends ResultSpool {
  /** Writers opened and neither closed nor aborted: a test can assert none leaked. */
  openWriters(): number;
}

export function createMemorySpool(): MemorySpool {
  const jobs = new Map<string, Map<number, ChunkRows>>();
  let openWriters = 0;

  const chunkOf = (jobId: string, chunkIndex: number): ChunkRows => {
    const rows = jobs.get(jobId)?.get(chunkIndex);
    if (rows === undefined) throw new Error(`No spool for job ${jobId} chunk ${chunkIndex}`);
    return rows;
  };

  return {
    open(jobId, chunkIndex) {
      let chunks = jobs.get(jobId);
      if (chunks === undefined) {
        chunks = new Map();
        jobs.set(jobId, chunks);
      }
      const rows: ChunkRows = { succeeded: [], failed: [] };
      chunks.set(chunkIndex, rows);
      openWriters++;
      let ended = false;
      const end = (): void => {
        if (ended) throw new Error('Spool writer is already closed');
        ended = true;
        openWriters--;
      };
      const writer: SpoolWriter = {
        append(result) {
          if (ended) throw new Error('Spool writer is already closed');
          (result.status === TaskStatus.Failed ? rows.failed : rows.succeeded).push(result);
        },
        ready() {
          return undefined; // memory is the store itself: nothing to wait for
        },
        close() {
          end();
          return Promise.resolve();
        },
        abort() {
          if (ended) return Promise.resolve();
          end();
          // Only drop the chunk if a later open() has not replaced it.
          if (jobs.get(jobId)?.get(chunkIndex) === rows) jobs.get(jobId)?.delete(chunkIndex);
          return Promise.resolve();
        },
      };
      return Promise.resolve(writer);
    },

    async *read(jobId, chunkIndex, status) {
      const rows = chunkOf(jobId, chunkIndex);
      yield* status === TaskStatus.Failed ? rows.failed : rows.succeeded;
    },

    chunks(jobId) {
      return Promise.resolve([...(jobs.get(jobId)?.keys() ?? [])].sort((a, b) => a - b));
    },

    discard(jobId, chunkIndex) {
      jobs.get(jobId)?.delete(chunkIndex);
      return Promise.resolve();
    },

    removeJob(jobId) {
      jobs.delete(jobId);
      return Promise.resolve();
    },

    openWriters: () => openWriters,
  };
}
