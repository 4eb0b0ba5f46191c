/**
 * The messages between the engine's thread and a chunk worker (chunk-worker.ts), for any
 * transport that carries structured-clonable values: a worker thread's port today, a queue later.
 * `id` names one job's execution on one worker. Results travel in batches (one message per
 * ~100 ms or a few hundred tasks), never one message per task.
 */
import type { Chunk } from '../domain/chunk.ts';
import { ERROR_TABLE, type ErrorCode, isS3BatchError, S3BatchError } from '../domain/errors.ts';
import type { JobLimits } from '../engine/job-limits.ts';
import type { TaskOutcomeStats } from '../engine/task-executor.ts';
import type { ChunkCounts, JobSpec, LiveCounts } from './placement.ts';

export type ToWorker =
  /** Run the job's chunks that this worker will ask for, with `capacity` task slots. */
  | {
      readonly t: 'start';
      readonly id: number;
      readonly spec: JobSpec;
      readonly loops: number;
      readonly capacity: number;
      readonly epoch: number;
      readonly rate: number | undefined;
    }
  /** The answer to `need`: the next chunk, or null when there is none (the worker's runner ends). */
  | { readonly t: 'chunk'; readonly id: number; readonly chunk: Chunk | null }
  /** A new share of the job's slots; `epoch` comes back with the `idle` it causes. */
  | { readonly t: 'capacity'; readonly id: number; readonly capacity: number; readonly epoch: number }
  /** A new share of the job's requests per second (undefined: no rate limit). */
  | { readonly t: 'rate'; readonly id: number; readonly rate: number | undefined }
  /** No new tasks; in-flight tasks finish; then `ended`. */
  | { readonly t: 'stop'; readonly id: number };

/** What a batch of results tells the engine. */
export interface Progress {
  readonly inFlight: number;
  /** The last capacity change (`epoch`) the worker had applied when it sent this. */
  readonly capacityEpoch: number;
  /** The results of the worker's chunks not yet reported done (absolute, not a delta). */
  readonly live: LiveCounts;
  /** One letter per attempt, in order: `s` succeeded, `t` throttled, `f` other failure (adaptive slow-down). */
  readonly attempts: string;
  /** Per finished task (/metrics): succeeded (0/1), durationMs, attempts, throttledAttempts. */
  readonly tasks: readonly number[];
  /** Per finished task of `tasks`, the bytes it moved or read (-1: none); absent from older workers. */
  readonly taskBytes?: readonly number[] | undefined;
}

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: string | undefined;
}

/** Once, when a worker thread starts: its Linux thread id (`/proc/thread-self`), or none elsewhere. */
export interface ThreadHello {
  readonly t: 'thread';
  readonly tid: number | undefined;
}

export type FromWorker =
  /** The worker's runner wants its next chunk. */
  | { readonly t: 'need'; readonly id: number }
  | ({ readonly t: 'progress'; readonly id: number } & Progress)
  /** A chunk's spool is durable (the progress in the same message already leaves it out). */
  | ({ readonly t: 'chunk-done'; readonly id: number; readonly counts: ChunkCounts } & Progress)
  /** Nothing in flight with the capacity of `epoch` at 0 (or stopped). */
  | ({ readonly t: 'idle'; readonly id: number; readonly epoch: number } & Progress)
  | { readonly t: 'starved'; readonly id: number; readonly on: boolean }
  /** The worker's runner ended; `partial`: its chunks started but not finished. */
  | {
      readonly t: 'ended';
      readonly id: number;
      readonly partial: readonly ChunkCounts[];
      readonly error?: SerializedError | undefined;
    };

/**
 * Applies what a worker (a thread, or an `s3batch worker` process) sends about its attempts and
 * finished tasks: each attempt to the job's adaptive slow-down, each task to `onTaskDone` (/metrics).
 */
export function applyAttemptsAndTasks(
  limits: Pick<JobLimits, 'recordKind'>,
  onTaskDone: (stats: TaskOutcomeStats) => void,
  attempts: string,
  tasks: readonly number[],
  taskBytes?: readonly number[] | undefined,
): void {
  for (const kind of attempts) limits.recordKind(kind === 's' ? 'succeeded' : kind === 't' ? 'throttled' : 'failed');
  for (let i = 0; i + 3 < tasks.length; i += 4) {
    const bytes = taskBytes?.[i / 4];
    onTaskDone({
      succeeded: tasks[i] === 1,
      durationMs: tasks[i + 1]!,
      attempts: tasks[i + 2]!,
      throttledAttempts: tasks[i + 3]!,
      ...(bytes !== undefined && bytes >= 0 ? { bytes } : {}),
    });
  }
}

/** Appends a finished task to a batch's `tasks` and `taskBytes` (the worker side of applyAttemptsAndTasks). */
export function pushTaskStats(tasks: number[], taskBytes: number[], d: TaskOutcomeStats): void {
  tasks.push(d.succeeded ? 1 : 0, d.durationMs, d.attempts, d.throttledAttempts);
  taskBytes.push(d.bytes ?? -1);
}

export function serializeError(err: unknown): SerializedError {
  if (isS3BatchError(err)) return { name: err.name, message: err.message, code: err.code };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}

/** An error that failureOf() (engine/failure.ts) reads as the original: the same code and message. */
export function deserializeError(e: SerializedError): Error {
  if (e.code !== undefined && Object.hasOwn(ERROR_TABLE, e.code))
    return new S3BatchError(e.code as ErrorCode, e.message);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}
