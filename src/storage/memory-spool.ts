/**
 * In-memory ResultSpool for unit tests. Same contract as the file spool: open() starts a chunk
 * afresh (with `resume`, keeps rows appended with their ordinal, unless one was appended without),
 * rows are readable in append order, abort() and discard() drop the chunk, and reading a chunk that
 * was never opened fails (as a missing file does). Memory is durable at once.
 */
import { FailureTally } from '../domain/failure-groups.ts';
import { TaskStatus } from '../domain/task.ts';
import type { TaskResult } from '../domain/task.ts';
import type { DurableRows, ResultSpool, SpoolWriter } from './result-spool.ts';

interface ChunkRows {
  readonly succeeded: TaskResult[];
  readonly failed: TaskResult[];
  /** Ordinals of the rows, in append order; undefined once a row came without one. */
  ordinals: number[] | undefined;
}

function durableRows(rows: ChunkRows): DurableRows | undefined {
  if (rows.ordinals === undefined) return undefined;
  let bytes: number | undefined;
  for (const r of [...rows.succeeded, ...rows.failed]) if (r.bytes !== undefined) bytes = (bytes ?? 0) + r.bytes;
  const counts = { ordinals: new Set(rows.ordinals), succeeded: rows.succeeded.length, failed: rows.failed.length };
  const tally = new FailureTally();
  for (const r of rows.failed) tally.addResult(r);
  const withFailures = tally.size === 0 ? counts : { ...counts, failures: tally.groupsNow() };
  return bytes === undefined ? withFailures : { ...withFailures, bytes };
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
    open(jobId, chunkIndex, options) {
      let chunks = jobs.get(jobId);
      if (chunks === undefined) {
        chunks = new Map();
        jobs.set(jobId, chunks);
      }
      const earlier = options?.resume === true ? chunks.get(chunkIndex) : undefined;
      const resumed = earlier === undefined ? undefined : durableRows(earlier);
      const rows: ChunkRows =
        resumed === undefined || earlier === undefined ? { succeeded: [], failed: [], ordinals: [] } : earlier;
      chunks.set(chunkIndex, rows);
      openWriters++;
      let ended = false;
      const end = (): void => {
        if (ended) throw new Error('Spool writer is already closed');
        ended = true;
        openWriters--;
      };
      const writer: SpoolWriter = {
        resumed,
        append(result, ordinal) {
          if (ended) throw new Error('Spool writer is already closed');
          (result.status === TaskStatus.Failed ? rows.failed : rows.succeeded).push(result);
          if (ordinal === undefined) rows.ordinals = undefined;
          else rows.ordinals?.push(ordinal);
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

    durable(jobId, chunkIndex) {
      const rows = jobs.get(jobId)?.get(chunkIndex);
      return Promise.resolve(rows === undefined ? undefined : durableRows(rows));
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
