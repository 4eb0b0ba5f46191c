/**
 * The job store on lowdb: one JSON file, written atomically (lowdb's JSONFile writes a temp file
 * and renames it). Saves are coalesced: a burst of saves becomes one write `batchMs` later, so
 * the file is written per state change or finished chunk, never per task.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { S3BatchError } from '../domain/errors.ts';
import { emptyStoreData, MemoryJobStore, type JobStoreData } from './memory-job-store.ts';

export class LowdbJobStore extends MemoryJobStore {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** Error of the last write when it failed (cleared by the next write that succeeds); flush() throws it. */
  private writeError: unknown = undefined;
  private closed = false;
  /** Number of file writes so far (observable by tests: batching keeps it small). */
  writes = 0;

  private constructor(
    private readonly db: Low<JobStoreData>,
    private readonly batchMs: number,
    private readonly onWriteError: ((err: unknown) => void) | undefined,
  ) {
    super(db.data);
  }

  static async open(
    file: string,
    options: { batchMs?: number; onWriteError?: (err: unknown) => void } = {},
  ): Promise<LowdbJobStore> {
    await mkdir(dirname(file), { recursive: true });
    const db = new Low<JobStoreData>(new JSONFile<JobStoreData>(file), emptyStoreData());
    try {
      await db.read();
    } catch (err) {
      throw new S3BatchError(
        'InvalidConfiguration',
        `The job store ${file} cannot be read (not valid JSON?): ${(err as Error).message}`,
        { cause: err },
      );
    }
    const data = db.data as Partial<JobStoreData> | null;
    // `typeof null` and arrays are 'object' too: a store with "jobs": null would open and then crash list().
    const isRecord = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
    if (!isRecord(data) || data?.version !== 1 || !isRecord(data.jobs) || !isRecord(data.tokens)) {
      throw new S3BatchError('InvalidConfiguration', `The job store ${file} is not an s3batch store (version 1)`);
    }
    return new LowdbJobStore(db, options.batchMs ?? 50, options.onWriteError);
  }

  protected override changed(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.writeNow();
    }, this.batchMs);
  }

  private writeNow(): Promise<void> {
    // Writes are serialised; each one writes the latest state of everything. The chain never
    // rejects: a rejected `writing` would be unhandled (timer writes are not awaited) and would
    // skip every later write. The error is kept for flush() instead.
    this.writing = this.writing.then(async () => {
      this.writes++;
      try {
        await this.db.write();
        this.writeError = undefined;
      } catch (err) {
        // Reported once per failure streak (a full disk would otherwise log at every batch).
        if (this.writeError === undefined) this.onWriteError?.(err);
        this.writeError = err;
      }
    });
    return this.writing;
  }

  override async flush(): Promise<void> {
    // A pending batch, or a last write that failed: write the latest state now.
    if (this.timer || this.writeError !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      await this.writeNow();
    }
    await this.writing;
    if (this.writeError !== undefined) throw this.writeError;
  }

  override async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }
}
