/**
 * The stored job record. Only job-level state lives here (never per-task results): the request
 * as submitted, the status fields, counters of finished chunks, and chunk completion marks.
 */
import type { StatusFields } from './job-status.ts';
import type { CreateJobRequest, FailureReason, S3Tag } from './job-spec.ts';
import type { Progress } from './progress.ts';
import type { UserPause } from './user-pause.ts';
import type { ThroughputHistory } from './throughput-history.ts';

export interface ChunkMarks {
  /** Every chunk with index < watermark is done. */
  readonly watermark: number;
  /** Done chunks at or above the watermark (bounded by the number of chunks in flight). */
  readonly done: readonly number[];
}

export interface PreparedManifest {
  readonly totalTasks: number;
  readonly chunkCount: number;
  /** The manifest object's ETag as read (quotes stripped). */
  readonly etag: string;
  readonly bytes: number;
}

/** Discovery metrics of preparing: objects scanned and matched (tasks), and their total size. */
export interface Discovery {
  readonly objectsListed: number;
  readonly objectsFound: number;
  /** Total size of the matched objects; 0 when the manifest does not tell sizes (CSV). */
  readonly totalBytes: number;
  /** Chunks of tasks written so far. */
  readonly chunkCount: number;
  /** True once the whole manifest was read or the listing ended. */
  readonly listingComplete: boolean;
}

export interface ReportOutcome {
  readonly writtenAt: string;
  readonly bucket: string;
  readonly manifestKey: string;
  readonly files: readonly { key: string; taskStatus: 'succeeded' | 'failed'; md5: string; rows: number }[];
}

export interface JobRecord extends StatusFields {
  readonly id: string;
  readonly accountId: string;
  readonly creationTime: string;
  readonly priority: number;
  /** The validated request, with ConfirmationRequired set to its effective value. */
  readonly request: CreateJobRequest;
  readonly clientRequestToken: string;
  /** Canonical hash of the request, for ClientRequestToken idempotency. */
  readonly requestHash: string;
  readonly tags: readonly S3Tag[];
  readonly statusUpdateReason?: string | undefined;
  readonly failureReasons: readonly FailureReason[];
  /** Counters of finished chunks (live counters of running chunks are added by the engine). */
  readonly progress: Progress;
  readonly prepared?: PreparedManifest | undefined;
  readonly chunks: ChunkMarks;
  readonly report?: ReportOutcome | undefined;
  /** What preparing found so far (inventory and generator jobs: updated live while listing). */
  readonly discovery?: Discovery | undefined;
  /** Where the manifest generator wrote its manifest (EnableManifestOutput), for DescribeJob. */
  readonly generatedManifest?:
    | { readonly Format: string; readonly Location: { readonly ObjectArn: string; readonly ETag: string } }
    | undefined;
  /** Every status the job entered, oldest first (bounded: see appendHistory). */
  readonly history?: readonly StatusChange[] | undefined;
  /** The duplicate fingerprint (storage/job-fingerprint.ts), set at CreateJob; absent in older records. */
  readonly fingerprint?: string | undefined;
  /** The live or recent job this one repeated when it was created (docs/job-lifecycle.md#duplicate-jobs). */
  readonly duplicateOf?: string | undefined;
  /** Task attempts the storage throttled (SlowDown, 429…) in the runs that ended so far. */
  readonly throttledAttempts?: number | undefined;
  /** The user's pause (domain/user-pause.ts): the scheduler gives the job no slots while it is set. */
  readonly userPause?: UserPause | undefined;
  /** Finished-task counters over the job's life, bounded (throughput-history.ts): the tasks/s chart. */
  readonly throughput?: ThroughputHistory | undefined;
  /** The job whose failed tasks this job retries (docs/job-lifecycle.md#retry-failed). */
  readonly retryOf?: string | undefined;
  /** The jobs made to retry this job's failed tasks, oldest first. */
  readonly retries?: readonly string[] | undefined;
}

export interface StatusChange {
  readonly status: string;
  readonly at: string;
}

export const MAX_HISTORY = 200;

/** Appends a status change, keeping the first entry and the most recent ones. */
export function appendHistory(history: readonly StatusChange[] | undefined, change: StatusChange): StatusChange[] {
  const next = [...(history ?? []), change];
  return next.length <= MAX_HISTORY ? next : [next[0]!, ...next.slice(next.length - MAX_HISTORY + 1)];
}

export function isChunkDone(marks: ChunkMarks, index: number): boolean {
  return index < marks.watermark || marks.done.includes(index);
}

/** Marks one chunk done and advances the watermark over every contiguous done chunk. */
export function markChunkDone(marks: ChunkMarks, index: number): ChunkMarks {
  if (isChunkDone(marks, index)) return marks;
  const done = new Set(marks.done);
  done.add(index);
  let watermark = marks.watermark;
  while (done.has(watermark)) {
    done.delete(watermark);
    watermark++;
  }
  return { watermark, done: [...done].sort((a, b) => a - b) };
}

export const NO_CHUNKS_DONE: ChunkMarks = Object.freeze({ watermark: 0, done: [] });

/** ListJobs' order: newest first (creation time descending), then job id ascending. A total order. */
export function newestFirst(
  a: Pick<JobRecord, 'creationTime' | 'id'>,
  b: Pick<JobRecord, 'creationTime' | 'id'>,
): number {
  return b.creationTime.localeCompare(a.creationTime) || a.id.localeCompare(b.id);
}
