/**
 * The job store port. One process owns the store. `save` is cheap and batched: the
 * implementation coalesces saves into one atomic write (never a write per task); `flush`
 * waits until everything saved so far is durable.
 */
import type { JobRecord } from '../domain/job.ts';
import type { JobStatus } from '../domain/job-status.ts';

export interface IdempotencyEntry {
  readonly accountId: string;
  readonly token: string;
  readonly requestHash: string;
  readonly jobId: string;
}

export interface JobStore {
  get(id: string): JobRecord | undefined;
  /** Every job: O(all jobs). Request paths use the indexed reads below. */
  list(): readonly JobRecord[];
  /**
   * An account's jobs newest first (domain/job.ts `newestFirst`), from the first one after `after`
   * (exclusive; a position, not necessarily a stored job): O(log n) to start, then one step per job.
   */
  accountJobs(accountId: string, after?: Pick<JobRecord, 'creationTime' | 'id'>): Iterable<JobRecord>;
  /** The jobs whose status is one of `statuses`: O(those jobs). */
  withStatus(statuses: Iterable<JobStatus>): JobRecord[];
  /** Number of jobs per status (statuses with no job absent): O(statuses). */
  statusCounts(): ReadonlyMap<JobStatus, number>;
  save(job: JobRecord): void;
  remove(id: string): void;
  findToken(accountId: string, token: string): IdempotencyEntry | undefined;
  saveToken(entry: IdempotencyEntry): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}
