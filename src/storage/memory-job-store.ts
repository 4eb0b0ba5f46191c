/**
 * In-memory JobStore, for unit tests and as the base of the lowdb store. Besides the records by id
 * (and the idempotency tokens by account and token) it keeps the indexes of job-index.ts, rebuilt
 * when the store opens and kept in step by `save` and `remove`, so that no request has to read
 * every job:
 * - per account, the jobs' (creationTime, id) in ListJobs' order (`accountJobs`), with what the web
 *   query searches and sorts on (`accountSummaries`);
 * - per status, the job ids (`withStatus`, `statusCounts`: the scheduler and /metrics);
 * - the ended jobs by end time (`endedBefore`: retention).
 */
import type { JobRecord } from '../domain/job.ts';
import type { JobStatus } from '../domain/job-status.ts';
import { type FingerprintMatch, indexedJob, JobIndex, type JobSummary } from './job-index.ts';
import type { IdempotencyEntry, JobStore } from './job-store.ts';

export interface JobStoreData {
  version: 1;
  jobs: Record<string, JobRecord>;
  tokens: Record<string, IdempotencyEntry>;
}

export function emptyStoreData(): JobStoreData {
  return { version: 1, jobs: {}, tokens: {} };
}

export const tokenKey = (accountId: string, token: string): string => `${accountId}\u0000${token}`;

type OrderKey = Pick<JobRecord, 'creationTime' | 'id'>;

export class MemoryJobStore implements JobStore {
  protected readonly index = new JobIndex();

  constructor(protected readonly data: JobStoreData = emptyStoreData()) {
    for (const job of Object.values(data.jobs)) this.index.set(indexedJob(job));
  }

  get(id: string): JobRecord | undefined {
    return this.data.jobs[id];
  }

  list(): readonly JobRecord[] {
    return Object.values(this.data.jobs);
  }

  *accountJobs(accountId: string, after?: OrderKey, statuses?: Iterable<JobStatus>): Generator<JobRecord> {
    const wanted = statuses === undefined ? undefined : new Set(statuses);
    for (const id of this.index.accountIds(accountId, after, wanted?.size ? wanted : undefined)) {
      const job = this.get(id);
      if (job) yield job;
    }
  }

  accountSummaries(accountId: string, statuses?: Iterable<JobStatus>): Iterable<JobSummary> {
    const wanted = statuses === undefined ? undefined : new Set(statuses);
    return this.index.accountSummaries(accountId, wanted?.size ? wanted : undefined);
  }

  withStatus(statuses: Iterable<JobStatus>): JobRecord[] {
    return this.records(this.index.withStatus(statuses));
  }

  statusCounts(): ReadonlyMap<JobStatus, number> {
    return this.index.counts();
  }

  withFingerprint(fingerprint: string): FingerprintMatch[] {
    return this.index.withFingerprint(fingerprint);
  }

  endedBefore(ms: number): JobRecord[] {
    return this.records(this.index.endedBefore(ms));
  }

  save(job: JobRecord): void {
    this.data.jobs[job.id] = job;
    this.index.set(indexedJob(job));
    this.changed();
  }

  remove(id: string): void {
    const job = this.data.jobs[id];
    if (!job) return;
    delete this.data.jobs[id];
    delete this.data.tokens[tokenKey(job.accountId, job.clientRequestToken)];
    this.index.delete(id);
    this.changed();
  }

  findToken(accountId: string, token: string): IdempotencyEntry | undefined {
    return this.data.tokens[tokenKey(accountId, token)];
  }

  saveToken(entry: IdempotencyEntry): void {
    this.data.tokens[tokenKey(entry.accountId, entry.token)] = entry;
    this.changed();
  }

  /** Hook for persistent subclasses. */
  protected changed(): void {}

  async flush(): Promise<void> {}

  async close(): Promise<void> {}

  private records(ids: readonly string[]): JobRecord[] {
    const out: JobRecord[] = [];
    for (const id of ids) {
      const job = this.get(id);
      if (job) out.push(job);
    }
    return out;
  }
}
