/**
 * The job store port. One process owns the store. `save` is cheap and batched: the
 * implementation coalesces saves into one atomic write (never a write per task); `flush`
 * waits until everything saved so far is durable.
 */
import type { JobRecord } from '../domain/job.ts';
import type { JobStatus } from '../domain/job-status.ts';
import type { FingerprintMatch, JobSummary } from './job-index.ts';

export interface IdempotencyEntry {
  readonly accountId: string;
  readonly token: string;
  readonly requestHash: string;
  readonly jobId: string;
}

export interface JobStore {
  get(id: string): JobRecord | undefined;
  /** Every job: O(all jobs), and it may read every ended job from disk: for tests and tools, never a request. */
  list(): readonly JobRecord[];
  /**
   * An account's jobs newest first (domain/job.ts `newestFirst`), from the first one after `after`
   * (exclusive; a position, not necessarily a stored job), only those in `statuses` when given (the
   * index knows each job's status: skipped jobs are never read): O(log n) to start, then one step per job.
   */
  accountJobs(
    accountId: string,
    after?: Pick<JobRecord, 'creationTime' | 'id'>,
    statuses?: Iterable<JobStatus>,
  ): Iterable<JobRecord>;
  /**
   * An account's jobs' summaries (id, creation time, status, priority, description, tags) newest
   * first, only those in `statuses` when given: from the index, no record read (the web query).
   */
  accountSummaries(accountId: string, statuses?: Iterable<JobStatus>): Iterable<JobSummary>;
  /** The jobs whose status is one of `statuses`: O(those jobs). */
  withStatus(statuses: Iterable<JobStatus>): JobRecord[];
  /** Number of jobs per status (statuses with no job absent): O(statuses). */
  statusCounts(): ReadonlyMap<JobStatus, number>;
  /**
   * The ended jobs (Complete, Cancelled, Failed) that ended before `ms` (ms since the epoch), the
   * earliest first, by job-index.ts `endedMs`: O(those jobs). Retention's query.
   */
  endedBefore(ms: number): JobRecord[];
  /** The jobs with this duplicate fingerprint (storage/job-fingerprint.ts), from the index: O(those jobs). */
  withFingerprint(fingerprint: string): FingerprintMatch[];
  save(job: JobRecord): void;
  remove(id: string): void;
  findToken(accountId: string, token: string): IdempotencyEntry | undefined;
  saveToken(entry: IdempotencyEntry): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}
