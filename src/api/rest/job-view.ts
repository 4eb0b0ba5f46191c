/**
 * The JSON API's view of one job: what `GET /api/v1/jobs/:id` answers and what the SSE stream
 * sends as its `job` and `end` events (one builder, so both always agree), plus the small
 * `discovery` part the stream's `progress` events repeat.
 */
import type { JobRecord } from '../../domain/job.ts';
import { dryRunSummary } from '../../operations/dry-run.ts';
import type { BatchService, JobDescriptor } from '../../service/batch-service.ts';
import { isTerminal } from '../../domain/job-status.ts';
import { pausedBy } from '../../domain/user-pause.ts';
import { failureGroupsView } from './failures-view.ts';
import { progressExtras } from './progress-view.ts';

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
    // Who holds a Pausing/Paused job ("user" | "priority", else null), and the user's pause while
    // it is set (also before the job runs: it then waits Paused) — docs/job-lifecycle.md#user-pause.
    PausedBy: pausedBy(record),
    UserPause:
      record.userPause && !isTerminal(record.status)
        ? { Reason: record.userPause.reason ?? null, PausedAt: record.userPause.at }
        : null,
    // Failed tasks grouped by error code, live while the job runs, final once it ended (s3batch extension).
    FailuresByCode: failureGroupsView(progress.failures),
    // Retry failed (s3batch extension): the job this one retries, and the retries of this one.
    RetryOf: record.retryOf ?? null,
    Retries: record.retries ?? [],
    // The live or recent job this one repeated at CreateJob (docs/job-lifecycle.md#duplicate-jobs); null: none.
    DuplicateOf: record.duplicateOf ?? null,
    // s3batch extensions: the percent (an estimate while listing) and bytes processed (progress-view.ts).
    ...progressExtras(record, progress, Job.ProgressSummary?.Timers?.ElapsedTimeInActiveSeconds ?? 0),
  };
}
