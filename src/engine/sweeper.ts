/**
 * The engine's housekeeping, apart from the lifecycle it keeps (as pg-boss keeps its timers and
 * retention in boss.ts, apart from manager.ts):
 *
 * - Suspended timeout: a job that waited in Suspended longer than the timeout
 *   (docs/job-lifecycle.md#suspended-timeout: 30 days) fails with ConfirmationTimeout.
 * - Retention: a job that ended (Complete, Cancelled, Failed) longer than the retention ago
 *   (docs/job-lifecycle.md#job-retention: 90 days) is deleted: its record, its idempotency token and any
 *   files left.
 *
 * Both run at start and then on an unref'd interval, so the timer never keeps the process alive.
 */
import { DAY_MS } from '../domain/job-lifetime.ts';
import { JobStatus } from '../domain/job-status.ts';
import { jobLog, type Log } from './job-log.ts';
import type { JobRecords } from './job-records.ts';

/** How often Suspended jobs are checked against the timeout and ended jobs against the retention. */
const SWEEP_INTERVAL_MS = 60_000;

export interface SweeperDeps {
  readonly records: JobRecords;
  readonly now: () => Date;
  readonly log: Log;
  readonly suspendedTimeoutMs: number;
  readonly jobRetentionMs: number;
  /** True while the job's runner has not ended yet: its record stays until it has. */
  isRunning(jobId: string): boolean;
  /** Removes the job's files (spools, chunk index, local task list). */
  cleanup(jobId: string): Promise<void>;
}

export class Sweeper {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: SweeperDeps) {}

  /** Sweeps now, then every interval until stop(). */
  start(): void {
    this.sweep();
    // A retention shorter than the interval (a testing aid) is swept at half its length, at least every second.
    const interval = Math.min(SWEEP_INTERVAL_MS, Math.max(1000, Math.floor(this.deps.jobRetentionMs / 2)));
    this.timer = setInterval(() => this.sweep(), interval);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  sweep(): void {
    this.sweepSuspended();
    this.sweepExpired();
  }

  /** Fails every job that waited in Suspended longer than the timeout. */
  sweepSuspended(): void {
    const { records, suspendedTimeoutMs: limit } = this.deps;
    const now = this.deps.now().getTime();
    for (const job of records.withStatus([JobStatus.Suspended])) {
      if (job.suspendedDate === undefined) continue;
      if (now - Date.parse(job.suspendedDate) <= limit) continue;
      const days = Math.round(limit / DAY_MS);
      records.addFailureReason(
        job.id,
        'ConfirmationTimeout',
        `The job was not confirmed within ${days > 0 ? `${days} days` : `${limit} ms`} of being suspended`,
      );
      records.setStatus(job.id, JobStatus.Failed);
      this.deps
        .cleanup(job.id)
        .catch((err: unknown) =>
          jobLog(this.deps.log, job).warn(
            {},
            `job ${job.id}: files of a timed-out job not removed: ${(err as Error).message}`,
          ),
        );
    }
  }

  /** Deletes every job that ended longer than the retention ago. Returns how many. */
  sweepExpired(): number {
    const { records, jobRetentionMs: retention } = this.deps;
    const now = this.deps.now().getTime();
    // The store's end-time index: the jobs that ended before the cutoff, never the others.
    const expired = records.endedBefore(now - retention).filter((job) => !this.deps.isRunning(job.id));
    for (const job of expired) {
      records.remove(job.id);
      this.deps
        .cleanup(job.id)
        .catch((err: unknown) =>
          jobLog(this.deps.log, job).warn(
            {},
            `job ${job.id}: files of an expired job not removed: ${(err as Error).message}`,
          ),
        );
    }
    if (expired.length > 0) {
      const days = retention / DAY_MS;
      const age = days >= 1 ? `${Math.round(days * 10) / 10} days` : `${Math.round(retention / 1000)} s`;
      this.deps.log.info(
        { removed: expired.length },
        `retention: removed ${expired.length} job record(s) that ended more than ${age} ago`,
      );
    }
    return expired.length;
  }
}
