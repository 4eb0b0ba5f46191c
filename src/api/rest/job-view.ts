/**
 * The JSON API's view of one job: what `GET /api/v1/jobs/:id` answers and what the SSE stream
 * sends as its `job` and `end` events (one builder, so both always agree), plus the small
 * `discovery` part the stream's `progress` events repeat.
 */
import type { JobRecord } from '../../domain/job.ts';
import { dryRunSummary } from '../../operations/dry-run.ts';
import type { BatchService, JobDescriptor } from '../../service/batch-service.ts';

export interface DiscoveryView {
  ObjectsListed: number;
  ObjectsFound: number;
  /** Null when the manifest tells no object sizes (a CSV manifest); inventory reports and the generator count them. */
  TotalBytes: number | null;
  ListingComplete: boolean;
}

/** What preparing found so far (live while a generator lists); null before preparing started. */
export function discoveryView(record: Pick<JobRecord, 'discovery' | 'request'>): DiscoveryView | null {
  const d = record.discovery;
  if (!d) return null;
  const TotalBytes = record.request.Manifest?.Spec.Format === 'S3BatchOperations_CSV_20180820' ? null : d.totalBytes;
  return {
    ObjectsListed: d.objectsListed,
    ObjectsFound: d.objectsFound,
    TotalBytes,
    ListingComplete: d.listingComplete,
  };
}

/** The job view of an account's job (NotFoundException for another account's or an unknown job). */
export function jobView(
  service: BatchService,
  accountId: string,
  jobId: string,
): { Job: JobDescriptor } & Record<string, unknown> {
  const Job = service.describeJob(accountId, jobId);
  const record = service.getJob(accountId, jobId);
  // Dry-run jobs (s3batch:dry-run=true): what the job would act on — tasks, objects found, bytes.
  const progress = service.jobProgress(accountId, jobId);
  const DryRun = dryRunSummary(record.request, progress);
  const limits = service.jobLimits(accountId, jobId);
  // EffectiveConcurrency: what the job runs at now (below MaxConcurrentTasks while the storage throttles); null when not running.
  const Throttling = {
    MaxConcurrentTasks: limits.maxConcurrentTasks,
    MaxRequestsPerSecond: limits.maxRequestsPerSecond ?? null,
    EffectiveConcurrency: limits.running ? limits.effectiveConcurrency : null,
    ThrottledAttempts: limits.throttledAttempts,
  };
  const Discovery = discoveryView(record);
  return {
    Job,
    Tags: record.tags,
    StatusHistory: record.history ?? [],
    Report: record.report ?? null,
    PreparedManifest: record.prepared ?? null,
    ...(DryRun ? { DryRun } : {}),
    Throttling,
    Discovery,
    // Failed tasks grouped by error code, live while the job runs, final once it ended (s3batch extension).
    failuresByCode: progress.failures ?? [],
    // Retry failed (s3batch extension): the job this one retries, and the retries of this one.
    retryOf: record.retryOf ?? null,
    retries: record.retries ?? [],
  };
}
