/**
 * A user's pause (docs/job-lifecycle.md#user-pause, an s3batch extension): a persistent flag on the
 * job record, distinct from the pauses priority makes. While it is set the scheduler gives the job
 * no slots: an Active job goes Pausing (its in-flight tasks finish, it starts none) and then Paused,
 * releasing its slots to other jobs; a Ready job goes Paused. A job paused before it runs (New,
 * Preparing, Suspended) keeps its flag: it prepares (and is confirmed) as usual, then waits Paused.
 * A resume clears the flag; the scheduler then gives the job slots by priority like any other job.
 * The flag is part of the record, so it survives a restart of the server.
 *
 * Pure: the rules only; the engine applies them (engine.ts pause/resume, scheduler.ts).
 */
import { S3BatchError } from './errors.ts';
import { characterCount } from './field-checks.ts';
import { JobStatus, type StatusFields } from './job-status.ts';

export interface UserPause {
  /** The reason the user gave, when any (also the job's StatusUpdateReason). */
  readonly reason?: string | undefined;
  /** ISO time of the pause. */
  readonly at: string;
}

/** Who holds a Pausing or Paused job: the user (its flag) or priority (the scheduler pre-empted it). */
export type PausedBy = 'user' | 'priority';

/** The statuses a user may pause a job in: every live one that is not already ending. */
export const PAUSABLE_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>([
  JobStatus.New,
  JobStatus.Preparing,
  JobStatus.Suspended,
  JobStatus.Ready,
  JobStatus.Active,
  JobStatus.Pausing,
  JobStatus.Paused,
]);

export const DEFAULT_PAUSE_REASON = 'Paused by the user';
export const DEFAULT_RESUME_REASON = 'Resumed by the user';

/** Throws JobStatusException when a job in `status` cannot be paused (it ends, or has ended). */
export function checkPausable(jobId: string, status: JobStatus): void {
  if (PAUSABLE_STATUSES.has(status)) return;
  throw new S3BatchError(
    'JobStatusException',
    `Job ${jobId} is in state ${status}; only a job that has not begun to end can be paused (${[...PAUSABLE_STATUSES].join(', ')})`,
  );
}

/** Throws JobStatusException unless the job holds a user's pause and can still run. */
export function checkResumable(
  jobId: string,
  job: StatusFields & { readonly userPause?: UserPause | undefined },
): void {
  if (job.userPause === undefined) {
    const byPriority = job.status === JobStatus.Pausing || job.status === JobStatus.Paused;
    throw new S3BatchError(
      'JobStatusException',
      byPriority
        ? `Job ${jobId} is ${job.status} by priority, not by a user; it resumes by itself when higher-priority jobs leave it slots`
        : `Job ${jobId} is in state ${job.status} and not paused; only a paused job can be resumed`,
    );
  }
  if (!PAUSABLE_STATUSES.has(job.status)) {
    throw new S3BatchError(
      'JobStatusException',
      `Job ${jobId} is in state ${job.status}; a job that ends cannot be resumed`,
    );
  }
}

/** Who paused a Pausing or Paused job; null in every other status. */
export function pausedBy(job: StatusFields & { readonly userPause?: UserPause | undefined }): PausedBy | null {
  if (job.status !== JobStatus.Pausing && job.status !== JobStatus.Paused) return null;
  return job.userPause !== undefined ? 'user' : 'priority';
}

/** The reason's limits: StatusUpdateReason's (1 to 256 characters). */
export function checkPauseReason(reason: unknown): string | undefined {
  if (reason === undefined || reason === null) return undefined;
  if (typeof reason !== 'string' || reason.length < 1 || characterCount(reason) > 256) {
    throw new S3BatchError('BadRequestException', 'The reason must be a string of 1 to 256 characters');
  }
  return reason;
}
