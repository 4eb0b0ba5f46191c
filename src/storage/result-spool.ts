/**
 * Per-task results are spooled to files, never to the job store. Each chunk of a job has one
 * spool per task status; a chunk's spool is complete once the chunk is marked done in the store.
 * An unfinished chunk's spool is discarded and the chunk redone, so every task is reported once.
 */
import type { TaskResult, TaskStatus } from '../domain/task.ts';

export interface SpoolWriter {
  append(result: TaskResult): void;
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

export interface ResultSpool {
  /** Starts the chunk's spool afresh (anything left from an earlier attempt is discarded). */
  open(jobId: string, chunkIndex: number): Promise<SpoolWriter>;
  /** Results of one chunk with the given status, in the order they were appended. */
  read(jobId: string, chunkIndex: number, status: TaskStatus): AsyncIterable<TaskResult>;
  /** Chunk indices that have a spool (complete or not), ascending. */
  chunks(jobId: string): Promise<number[]>;
  discard(jobId: string, chunkIndex: number): Promise<void>;
  removeJob(jobId: string): Promise<void>;
}
