/**
 * What crosses Redis between the engine (the leader `s3batch serve`) and `s3batch worker`
 * processes in the scale-out mode (`--redis`): the BullMQ queue of chunks, the progress stream and
 * the control channel. Plain JSON data, versioned by `v`. docs/deployment.md#redis-keys lists the keys.
 *
 *   engine ──(BullMQ job per chunk: ChunkJobData)──────────────▶ worker
 *   engine ◀──(BullMQ completion: ChunkJobResult)─────────────── worker
 *   engine ◀──(XADD <prefix>progress: ProgressEntry, every ~100 ms)─ worker
 *   engine ──(PUBLISH <prefix>control: ControlMessage)──────────▶ every worker
 *
 * A chunk's BullMQ job id is `chunkJobId(jobId, chunk)`: adding it again while it exists is a no-op
 * (BullMQ ignores a duplicate id), so a new leader re-adds a running job's chunks without doubling
 * any. Its results go to the job's part file in S3 (storage/s3-part-spool.ts), whose name is fixed
 * per chunk: a redo overwrites it.
 */
import type { Chunk } from '../../domain/chunk.ts';
import { ERROR_TABLE, isS3BatchError, S3BatchError, type ErrorCode } from '../../domain/errors.ts';
import type { ChunkCounts, JobSpec, LiveCounts } from '../placement.ts';

export const PROTOCOL_VERSION = 1;

/** Default prefix of every s3batch key in Redis (`--redis-prefix`). */
export const DEFAULT_REDIS_PREFIX = 's3batch:';

/** The BullMQ queue that holds the chunks of every job. */
export const CHUNK_QUEUE = 'chunks';

/** Where an s3batch deployment keeps its keys in one Redis database. */
export interface RedisNames {
  /** BullMQ's `prefix` option (the prefix without its trailing colon): keys `<bull>:chunks:…`. */
  readonly bull: string;
  /** Stream of ProgressEntry (field `d`), trimmed to about PROGRESS_STREAM_MAX entries. */
  readonly progress: string;
  /** Pub/sub channel of ControlMessage. */
  readonly control: string;
  /** `stopKey(jobId)`: the newest stop generation of a job, for workers that missed the message. */
  stopKey(jobId: string): string;
  /** Hash: worker name → JSON WorkerInfo, refreshed every WORKER_HEARTBEAT_MS. */
  readonly workers: string;
  /** rate-limiter-flexible's key prefix of the per-job request rate. */
  readonly rate: string;
}

export function redisNames(prefix = DEFAULT_REDIS_PREFIX): RedisNames {
  return {
    bull: prefix.replace(/:$/, ''),
    progress: `${prefix}progress`,
    control: `${prefix}control`,
    stopKey: (jobId) => `${prefix}stop:${jobId}`,
    workers: `${prefix}workers`,
    rate: `${prefix}rate`,
  };
}

export const PROGRESS_STREAM_MAX = 10_000;
export const WORKER_HEARTBEAT_MS = 2_000;

/**
 * BullMQ worker settings: a killed worker's chunk is found stalled and runs again elsewhere within
 * LOCK_DURATION_MS + STALLED_INTERVAL_MS (≤ 30 s, issue 14); a chunk may stall any number of times.
 */
export const LOCK_DURATION_MS = 10_000;
export const STALLED_INTERVAL_MS = 5_000;
export const MAX_STALLED_COUNT = 1_000_000;

/** The BullMQ job id of a job's chunk (BullMQ forbids `:` in custom ids). */
export function chunkJobId(jobId: string, chunk: number): string {
  return `${jobId}.${chunk}`;
}

/**
 * BullMQ's priority (1 runs first, at most 2^21) for an s3batch priority (higher runs first):
 * priorities above 2^21 − 2 share the first place.
 */
export const BULL_MAX_PRIORITY = 2_097_152;
export function bullPriority(priority: number): number {
  return BULL_MAX_PRIORITY - Math.min(Math.max(0, Math.trunc(priority)), BULL_MAX_PRIORITY - 1);
}

/** A chunk to run: the data of its BullMQ job. */
export interface ChunkJobData {
  readonly v: typeof PROTOCOL_VERSION;
  readonly spec: JobSpec;
  readonly chunk: Chunk;
  /** At most this many of the chunk's tasks at once (the engine's share of the job's slots). */
  readonly loops: number;
  /** The job's requests per second over all workers (rate-limiter-flexible in Redis); none: unlimited. */
  readonly rate?: number | undefined;
  /** Keep the rows the chunk's part file already holds, and run only the others. */
  readonly resume: boolean;
  /** The job's stop generation when the chunk was sent: a stop with a higher one ends it. */
  readonly gen: number;
}

/** What a worker hands back when a chunk's job ends (its part file is in S3 by then). */
export interface ChunkJobResult {
  readonly v: typeof PROTOCOL_VERSION;
  /** Every row of the chunk that has a result, the rows kept by `resume` included. */
  readonly counts: ChunkCounts;
  /** False when a stop ended the chunk early: the chunk runs again later with `resume`. */
  readonly finished: boolean;
  readonly worker: string;
}

/** A worker's progress on one chunk since its last entry. */
export interface ProgressEntry {
  readonly v: typeof PROTOCOL_VERSION;
  readonly worker: string;
  readonly jobId: string;
  readonly chunk: number;
  readonly inFlight: number;
  /** The chunk's results so far (absolute, not a delta). */
  readonly live: LiveCounts;
  /** One letter per attempt since the last entry: `s` succeeded, `t` throttled, `f` failed (adaptive slow-down). */
  readonly attempts: string;
  /** Per finished task since the last entry (/metrics): succeeded (0/1), durationMs, attempts, throttledAttempts. */
  readonly tasks: readonly number[];
  /** Per finished task of `tasks`, the bytes it moved or read (-1: none); absent from older workers. */
  readonly taskBytes?: readonly number[] | undefined;
}

/**
 * A chunk that cannot run (its manifest unreadable, its task list missing) fails its BullMQ job:
 * BullMQ keeps only the error's message (`failedReason`), so an S3BatchError's code goes in front
 * of it, `<Code>: <message>`; chunkFailure() reads it back as the engine's failureOf() expects.
 */
export function chunkFailureReason(err: unknown): string {
  if (isS3BatchError(err)) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

export function chunkFailure(reason: string): Error {
  const m = /^([A-Za-z]+): ([\s\S]*)$/.exec(reason);
  if (m && Object.hasOwn(ERROR_TABLE, m[1]!)) return new S3BatchError(m[1] as ErrorCode, m[2]!);
  return new Error(reason);
}

export type ControlMessage =
  /** Start no new task of the job's chunks whose `gen` is lower; finish in-flight ones, hand back partial results. */
  | { readonly v: typeof PROTOCOL_VERSION; readonly t: 'stop'; readonly jobId: string; readonly gen: number }
  /** A running chunk's new task limit (adaptive slow-down, a lower priority share). */
  | {
      readonly v: typeof PROTOCOL_VERSION;
      readonly t: 'loops';
      readonly jobId: string;
      readonly chunk: number;
      readonly loops: number;
    }
  /** The job's new request rate over all workers (undefined: unlimited). */
  | {
      readonly v: typeof PROTOCOL_VERSION;
      readonly t: 'rate';
      readonly jobId: string;
      readonly rate?: number | undefined;
    };

/** A worker's entry in the `workers` hash. */
export interface WorkerInfo {
  readonly name: string;
  readonly concurrency: number;
  readonly startedAt: string;
  /** ms since the epoch of its last heartbeat. */
  readonly seen: number;
}
