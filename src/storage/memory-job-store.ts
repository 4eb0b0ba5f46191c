/** In-memory JobStore, for unit tests and as the base of the lowdb store. */
import type { JobRecord } from '../domain/job.ts';
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

export class MemoryJobStore implements JobStore {
  constructor(protected readonly data: JobStoreData = emptyStoreData()) {}

  get(id: string): JobRecord | undefined {
    return this.data.jobs[id];
  }

  list(): readonly JobRecord[] {
    return Object.values(this.data.jobs);
  }

  save(job: JobRecord): void {
    this.data.jobs[job.id] = job;
    this.changed();
  }

  remove(id: string): void {
    const job = this.data.jobs[id];
    if (!job) return;
    delete this.data.jobs[id];
    delete this.data.tokens[tokenKey(job.accountId, job.clientRequestToken)];
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
}
