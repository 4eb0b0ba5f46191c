/**
 * The s3batch extension members about progress that the job view (GET /api/v1/jobs/:id, the SSE
 * `job`/`end` events) and the SSE `progress` events carry next to AWS's ProgressSummary
 * (docs/job-lifecycle.md#percent-complete, #bytes-processed):
 *
 *   PercentComplete        { Percent, Estimated, EstimateBasis }: Estimated while an inventory or
 *                          generator job's listing goes on (the total still grows).
 *   BytesProcessed         bytes copied, replicated or read for a checksum; null for operations
 *                          that move no bytes, and in a dry run (DryRun.Bytes says what it would).
 *   AverageBytesPerSecond  BytesProcessed over the job's active time (the SSE `progress` event adds
 *                          BytesPerSecond, the rate over the last seconds).
 */
import { countsBytesProcessed, averageBytesPerSecond } from '../../domain/bytes-processed.ts';
import type { JobRecord } from '../../domain/job.ts';
import { parseJobExtensions } from '../../domain/job-extensions.ts';
import { isTerminal } from '../../domain/job-status.ts';
import type { Progress } from '../../domain/progress.ts';
import { percentComplete, type PercentComplete } from '../../domain/progress-estimate.ts';
import { usesLocalManifest } from '../../engine/prepare-local.ts';
import { operationOf } from '../../operations/index.ts';

export interface ProgressExtras {
  PercentComplete: PercentComplete;
  BytesProcessed: number | null;
  AverageBytesPerSecond: number | null;
}

/** The job's bytes processed, or null when its operation moves no bytes (or it is a dry run). */
export function bytesProcessedOf(record: JobRecord, progress: Progress): number | null {
  const tags = parseJobExtensions(record.request.Tags);
  return countsBytesProcessed(operationOf(record.request.Operation).name, tags) ? (progress.bytes ?? 0) : null;
}

/** The members for a record, its live progress (Engine.progressOf) and its seconds in Active so far. */
export function progressExtras(record: JobRecord, progress: Progress, activeSeconds: number): ProgressExtras {
  const listingOngoing =
    usesLocalManifest(record) && (record.discovery === undefined || !record.discovery.listingComplete);
  const BytesProcessed = bytesProcessedOf(record, progress);
  return {
    PercentComplete: percentComplete({
      status: record.status,
      total: progress.total,
      succeeded: progress.succeeded,
      failed: progress.failed,
      ended: isTerminal(record.status),
      listingOngoing,
    }),
    BytesProcessed,
    AverageBytesPerSecond: BytesProcessed === null ? null : averageBytesPerSecond(BytesProcessed, activeSeconds),
  };
}
