/**
 * In-memory JobStore, for unit tests and as the base of the lowdb store. Besides the records by id
 * (and the idempotency tokens by account and token) it keeps two indexes, rebuilt when the store
 * opens and kept in step by `save` and `remove`, so that no request has to read every job:
 * - per account, the jobs' (creationTime, id) in ListJobs' order (`accountJobs`);
 * - per status, the job ids (`withStatus`, `statusCounts`: the scheduler and /metrics).
 */
import { newestFirst, type JobRecord } from '../domain/job.ts';
import type { JobStatus } from '../domain/job-status.ts';
import type { IdempotencyEntry, JobStore } from './job-store.ts';

export interface JobStoreData {
  version: 1;
  jobs: Record<string, JobRecord>;
  tokens: Record<string, IdempotencyEntry>;
}

export function emptyStoreData(): JobStoreData {
  return { version: 1, jobs: {}, tokens: {} };
}

const tokenKey = (accountId: string, token: string): string => `${accountId}\u0000${token}`;

type OrderKey = Pick<JobRecord, 'creationTime' | 'id'>;

/**
 * The account index's order: the reverse of ListJobs' (oldest first), so that a new job, the
 * newest, is appended at the end; ListJobs walks the array backwards.
 */
const oldestFirst = (a: OrderKey, b: OrderKey): number => newestFirst(b, a);

/** First index of `keys` (sorted oldestFirst) whose key is not before `k`. */
function lowerBound(keys: readonly OrderKey[], k: OrderKey): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (oldestFirst(keys[mid]!, k) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MemoryJobStore implements JobStore {
  private readonly byAccount = new Map<string, OrderKey[]>();
  private readonly byStatus = new Map<JobStatus, Set<string>>();

  constructor(protected readonly data: JobStoreData = emptyStoreData()) {
    for (const job of Object.values(data.jobs)) {
      this.keysOf(job.accountId).push({ creationTime: job.creationTime, id: job.id });
      this.statusSet(job.status).add(job.id);
    }
    for (const keys of this.byAccount.values()) keys.sort(oldestFirst);
  }

  get(id: string): JobRecord | undefined {
    return this.data.jobs[id];
  }

  list(): readonly JobRecord[] {
    return Object.values(this.data.jobs);
  }

  *accountJobs(accountId: string, after?: OrderKey): Generator<JobRecord> {
    const keys = this.byAccount.get(accountId);
    if (!keys) return;
    // Newest first = backwards; after a cursor: from the last key before it (in oldest-first order).
    for (let i = (after === undefined ? keys.length : lowerBound(keys, after)) - 1; i >= 0; i--) {
      const job = this.data.jobs[keys[i]!.id];
      if (job) yield job;
    }
  }

  withStatus(statuses: Iterable<JobStatus>): JobRecord[] {
    const out: JobRecord[] = [];
    for (const status of new Set(statuses)) {
      for (const id of this.byStatus.get(status) ?? []) {
        const job = this.data.jobs[id];
        if (job) out.push(job);
      }
    }
    return out;
  }

  statusCounts(): ReadonlyMap<JobStatus, number> {
    const counts = new Map<JobStatus, number>();
    for (const [status, ids] of this.byStatus) if (ids.size > 0) counts.set(status, ids.size);
    return counts;
  }

  save(job: JobRecord): void {
    const before = this.data.jobs[job.id];
    this.data.jobs[job.id] = job;
    if (!before || before.accountId !== job.accountId || before.creationTime !== job.creationTime) {
      if (before) this.unindexOrder(before);
      const keys = this.keysOf(job.accountId);
      const key = { creationTime: job.creationTime, id: job.id };
      const last = keys[keys.length - 1];
      // The common case, a new job newer than every other one: appended.
      if (last === undefined || oldestFirst(last, key) < 0) keys.push(key);
      else keys.splice(lowerBound(keys, key), 0, key);
    }
    if (before?.status !== job.status) {
      if (before) this.byStatus.get(before.status)?.delete(job.id);
      this.statusSet(job.status).add(job.id);
    }
    this.changed();
  }

  remove(id: string): void {
    const job = this.data.jobs[id];
    if (!job) return;
    delete this.data.jobs[id];
    delete this.data.tokens[tokenKey(job.accountId, job.clientRequestToken)];
    this.unindexOrder(job);
    this.byStatus.get(job.status)?.delete(id);
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

  private keysOf(accountId: string): OrderKey[] {
    let keys = this.byAccount.get(accountId);
    if (!keys) {
      keys = [];
      this.byAccount.set(accountId, keys);
    }
    return keys;
  }

  private statusSet(status: JobStatus): Set<string> {
    let ids = this.byStatus.get(status);
    if (!ids) {
      ids = new Set();
      this.byStatus.set(status, ids);
    }
    return ids;
  }

  private unindexOrder(job: JobRecord): void {
    const keys = this.byAccount.get(job.accountId);
    if (!keys) return;
    const i = lowerBound(keys, job);
    if (keys[i]?.id === job.id) keys.splice(i, 1);
    if (keys.length === 0) this.byAccount.delete(job.accountId);
  }
}
