/**
 * The job store port. One process owns the store. `save` is cheap and batched: the
 * implementation coalesces saves into one atomic write (never a write per task); `flush`
 * waits until everything saved so far is durable.
 */
import type { JobRecord } from '../domain/job.ts';

export interface IdempotencyEntry {
  readonly accountId: string;
  readonly token: string;
  readonly requestHash: string;
  readonly jobId: string;
}

export interface JobStore {
  get(id: string): JobRecord | undefined;
  list(): readonly JobRecord[];
  save(job: JobRecord): void;
  remove(id: string): void;
  findToken(accountId: string, token: string): IdempotencyEntry | undefined;
  saveToken(entry: IdempotencyEntry): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}
