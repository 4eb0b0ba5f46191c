/**
 * The only writer of job records (the engine's and the service's writes alike): every update goes
 * through here, and every status change goes through `setStatus`, i.e. through the transition
 * table, with one `job:status` event and one history entry per change.
 */
import { S3BatchError } from '../domain/errors.ts';
import { appendHistory, type JobRecord } from '../domain/job.ts';
import { transition, type JobStatus } from '../domain/job-status.ts';
import type { S3Tag } from '../domain/job-spec.ts';
import type { FingerprintMatch, JobSummary } from '../storage/job-index.ts';
import type { IdempotencyEntry, JobStore } from '../storage/job-store.ts';
import type { EngineEvents } from './events.ts';
import { jobLog, type Log } from './job-log.ts';

export class JobRecords {
  constructor(
    private readonly store: JobStore,
    private readonly events: EngineEvents,
    private readonly now: () => Date,
    private readonly log: Log,
  ) {}

  get(jobId: string): JobRecord | undefined {
    return this.store.get(jobId);
  }

  /** An account's jobs, newest first, after a ListJobs cursor, in `statuses` when given (the store's index). */
  accountJobs(
    accountId: string,
    after?: Pick<JobRecord, 'creationTime' | 'id'>,
    statuses?: Iterable<JobStatus>,
  ): Iterable<JobRecord> {
    return this.store.accountJobs(accountId, after, statuses);
  }

  /** An account's jobs' summaries, newest first, in `statuses` when given (the store's index, no record read). */
  accountSummaries(accountId: string, statuses?: Iterable<JobStatus>): Iterable<JobSummary> {
    return this.store.accountSummaries(accountId, statuses);
  }

  /** The jobs in one of these statuses (the store's index). */
  withStatus(statuses: Iterable<JobStatus>): JobRecord[] {
    return this.store.withStatus(statuses);
  }

  /** The ended jobs that ended before `ms`, the earliest first (the store's index: retention). */
  endedBefore(ms: number): JobRecord[] {
    return this.store.endedBefore(ms);
  }

  /** The jobs with this duplicate fingerprint (the store's index). */
  withFingerprint(fingerprint: string): FingerprintMatch[] {
    return this.store.withFingerprint(fingerprint);
  }

  /** Number of jobs per status (the store's index). */
  statusCounts(): ReadonlyMap<JobStatus, number> {
    return this.store.statusCounts();
  }

  /** The job's logger (its lines carry jobId and accountId; only jobId once the record is gone). */
  logFor(jobId: string): Log {
    const job = this.store.get(jobId);
    return job ? jobLog(this.log, job) : this.log.child({ jobId });
  }

  mustGet(jobId: string): JobRecord {
    const job = this.store.get(jobId);
    if (!job) throw new S3BatchError('NotFoundException', `The specified job does not exist: ${jobId}`);
    return job;
  }

  /** The idempotency entry of an account's ClientRequestToken, if it was used. */
  findToken(accountId: string, token: string): IdempotencyEntry | undefined {
    return this.store.findToken(accountId, token);
  }

  /** Stores a new job (status New) and its idempotency entry (CreateJob). */
  create(job: JobRecord, token: IdempotencyEntry): void {
    this.store.save(job);
    this.store.saveToken(token);
  }

  /** The reason the user gave with UpdateJobStatus. */
  setStatusUpdateReason(jobId: string, reason: string): JobRecord {
    return this.update(jobId, (job) => ({ ...job, statusUpdateReason: reason }));
  }

  /** Replaces the job's tags (PutJobTagging, DeleteJobTagging). */
  setTags(jobId: string, tags: readonly S3Tag[]): JobRecord {
    return this.update(jobId, (job) => ({ ...job, tags }));
  }

  update(jobId: string, fn: (job: JobRecord) => JobRecord): JobRecord {
    const job = fn(this.mustGet(jobId));
    this.store.save(job);
    return job;
  }

  setStatus(jobId: string, to: JobStatus, patch: (job: JobRecord) => JobRecord = (j) => j): JobRecord {
    const before = this.mustGet(jobId);
    const at = this.now();
    const moved = transition(before, to, at);
    const after = patch({ ...moved, history: appendHistory(before.history, { status: to, at: at.toISOString() }) });
    this.store.save(after);
    jobLog(this.log, after).info({ from: before.status, to }, `job ${jobId}: ${before.status} → ${to}`);
    this.events.emit('job:status', {
      jobId,
      accountId: after.accountId,
      from: before.status,
      to,
      at: at.toISOString(),
    });
    return after;
  }

  /** Deletes the record and its idempotency token: from now on the job does not exist (`job:removed`). */
  remove(jobId: string): void {
    const job = this.store.get(jobId);
    this.store.remove(jobId);
    if (job) this.events.emit('job:removed', { jobId, accountId: job.accountId });
  }

  addFailureReason(jobId: string, code: string, reason: string): void {
    this.update(jobId, (job) => ({
      ...job,
      failureReasons: [...job.failureReasons, { FailureCode: code.slice(0, 64), FailureReason: truncate(reason, 256) }],
    }));
  }

  flush(): Promise<void> {
    return this.store.flush();
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
