/**
 * Per-task results are spooled to files, never to the job store. Each chunk of a job has one
 * spool per task status; a chunk's spool is complete once the chunk is marked done in the store.
 *
 * A chunk that was cut short (a crash, a shutdown) resumes at task grain: each spooled row carries
 * its ordinal in the chunk (its position among the chunk's rows, from 0), the rows are made
 * durable in batches while the chunk runs, and reopening the chunk with `resume` keeps them and
 * tells which ordinals are done, so only the others run again. A spool without ordinals (written
 * by an older version) is not resumable: the chunk starts afresh, so every task is reported once.
 */
import type { FailureGroups } from '../domain/failure-groups.ts';
import type { TaskResult, TaskStatus } from '../domain/task.ts';

/** What a chunk's spool already holds durably: the ordinals it has and their counts. */
export interface DurableRows {
  readonly ordinals: ReadonlySet<number>;
  readonly succeeded: number;
  readonly failed: number;
  /** Sum of the rows' `bytes` (dry run), when any row had them. */
  readonly bytes?: number | undefined;
  /** The failed rows grouped by error code. */
  readonly failures?: FailureGroups | undefined;
}

export interface SpoolWriter {
  /** With `resume`: the rows the chunk's spool held when it was opened (they stay). */
  readonly resumed?: DurableRows | undefined;
  /** `ordinal`: the row's position in its chunk; without it the row cannot be resumed from. */
  append(result: TaskResult, ordinal?: number): void;
  /**
   * Backpressure: undefined while the writer keeps up; otherwise a promise that resolves once
   * the rows buffered in memory are below the writer's high-water mark. Callers that append
   * unboundedly (the job runner) wait on it, so a stalled disk slows tasks instead of growing memory.
   */
  ready(): Promise<void> | undefined;
  /** Flushes and fsyncs; after it resolves the rows survive a crash. */
  close(): Promise<void>;
  /** Closes without keeping anything. */
  abort(): Promise<void>;
}

export interface SpoolOpenOptions {
  /** Keep the durable rows of an earlier attempt and append after them (see `resumed`). */
  readonly resume?: boolean | undefined;
}

export interface ResultSpool {
  /**
   * Opens the chunk's spool. Without `resume` it starts afresh (anything left from an earlier
   * attempt is discarded); with it, resumable rows are kept and a torn last line is cut off.
   */
  open(jobId: string, chunkIndex: number, options?: SpoolOpenOptions): Promise<SpoolWriter>;
  /** The rows a resume of the chunk would keep; undefined when it has no spool or one that is not resumable. */
  durable(jobId: string, chunkIndex: number): Promise<DurableRows | undefined>;
  /** Results of one chunk with the given status, in the order they were appended. */
  read(jobId: string, chunkIndex: number, status: TaskStatus): AsyncIterable<TaskResult>;
  /** Chunk indices that have a spool (complete or not), ascending. */
  chunks(jobId: string): Promise<number[]>;
  discard(jobId: string, chunkIndex: number): Promise<void>;
  removeJob(jobId: string): Promise<void>;
}
