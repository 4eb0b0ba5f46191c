/**
 * The job store on lowdb, in two files (docs/job-lifecycle.md#job-store):
 *
 * - `jobs.json`, the live file, a lowdb JSONFile (written atomically: a temp file renamed over it):
 *   the live jobs (not ended), the idempotency tokens the archive does not answer, and `seq`, the
 *   last archive sequence number it saw. It stays small however many jobs ended.
 * - `jobs.archive.jsonl`, the ended jobs (job-archive.ts): a job that ends is appended there once and
 *   leaves the live file; a later change (tags) appends a new line, retention a tombstone.
 *
 * Only the live jobs are kept as records in memory; an ended job is a small index entry (job-index.ts)
 * and the place of its line, read back by `get` with one positional read. So a write costs the live
 * jobs plus the lines of what changed, never the history, and opening reads the headers of the
 * archive's lines, never its records.
 *
 * Saves are coalesced: a burst of saves becomes one write `batchMs` later (per state change or
 * finished chunk, never per task). A write appends the ended jobs' lines (fsynced when jobs leave
 * the live file in it), then writes the live file. A crash between the two leaves a job in both
 * files: opening keeps the copy with the higher seq. A version-1 `jobs.json` of an older s3batch
 * (every job in it) opens the same way: its ended jobs are moved to the archive, archive first.
 */
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { S3BatchError } from '../domain/errors.ts';
import type { JobRecord } from '../domain/job.ts';
import { isTerminal } from '../domain/job-status.ts';
import { archivedJob, JobArchive, putLine, tombstoneLine, type ArchivedJob } from './job-archive.ts';
import { indexedJob } from './job-index.ts';
import type { IdempotencyEntry } from './job-store.ts';
import { emptyStoreData, MemoryJobStore, tokenKey, type JobStoreData } from './memory-job-store.ts';

/** The live file: a version-1 store, plus the last archive seq it saw (absent: an older s3batch wrote it). */
type LiveData = JobStoreData & { seq?: number };

export interface LowdbJobStoreOptions {
  readonly batchMs?: number;
  readonly onWriteError?: (err: unknown) => void;
  /** Told what opening repaired (a torn archive tail cut off, jobs moved to the archive). */
  readonly onOpen?: (message: string) => void;
  /** The archive is compacted when its dead bytes exceed both this and its current bytes (default 8 MiB). */
  readonly compactMinBytes?: number;
}

/** The archive next to the live file: jobs.json → jobs.archive.jsonl. */
export function archivePathOf(file: string): string {
  return join(dirname(file), `${basename(file).replace(/\.json$/, '')}.archive.jsonl`);
}

const RECENT_READS = 1024;

export class LowdbJobStore extends MemoryJobStore {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** Error of the last write when it failed (cleared by the next write that succeeds); flush() throws it. */
  private writeError: unknown = undefined;
  private closed = false;
  /** Number of file writes so far (observable by tests: batching keeps it small). */
  writes = 0;
  /** Compactions of the archive so far (observable by tests). */
  compactions = 0;
  /** The last sequence number given to an archive line. */
  private seq: number;
  /** Archived jobs whose line is written, by id (the archive's map, kept up to date). */
  private readonly archived: Map<string, ArchivedJob>;
  /** Ended jobs saved and not written yet: their latest record. */
  private readonly pending = new Map<string, JobRecord>();
  /** Archived jobs removed: their tombstones are due. */
  private readonly removed = new Set<string>();
  /** Archived jobs saved live again: their tombstones are due once the live file holds them. */
  private readonly movedOut = new Set<string>();
  /** Idempotency tokens the archive answers (their entries left the live file): token key → job id. */
  private readonly archivedTokens = new Map<string, string>();
  /** The live file needs writing. */
  private liveDirty = false;
  /**
   * The archived records read last (at most RECENT_READS, oldest dropped first): a listing followed
   * by a look at each job (the web page's search, a client's ListJobs then DescribeJob) reads each once.
   */
  private readonly recent = new Map<string, JobRecord>();

  private constructor(
    private readonly db: Low<LiveData>,
    private readonly archive: JobArchive,
    private readonly batchMs: number,
    private readonly onWriteError: ((err: unknown) => void) | undefined,
    private readonly compactMinBytes: number,
  ) {
    super(db.data);
    const liveSeq = db.data.seq ?? 0;
    this.seq = Math.max(liveSeq, archive.maxSeq);
    this.archived = archive.jobs;
    for (const [id, job] of [...this.archived]) {
      if (this.data.jobs[id]) {
        if (job.seq > liveSeq) {
          // The job ended and the live file was not rewritten after: the archive's copy is the newer.
          delete this.data.jobs[id];
          this.liveDirty = true;
        } else {
          // The live file was written after this line (the job was saved live again): the live copy wins.
          this.archived.delete(id);
          this.archive.dead += job.length;
          this.movedOut.add(id);
          continue;
        }
      }
      this.index.set(job);
      if (job.token !== undefined) this.archivedTokens.set(tokenKey(job.accountId, job.token), id);
    }
    // A token both files hold (a crash before the live file was rewritten): the archive answers it.
    for (const [key, entry] of Object.entries(this.data.tokens)) {
      const holder = this.archivedTokens.get(key);
      if (holder !== undefined && holder === entry.jobId && this.sameToken(entry, this.get(holder))) {
        delete this.data.tokens[key];
        this.liveDirty = true;
      }
    }
  }

  static async open(file: string, options: LowdbJobStoreOptions = {}): Promise<LowdbJobStore> {
    await mkdir(dirname(file), { recursive: true });
    const db = new Low<LiveData>(new JSONFile<LiveData>(file), emptyStoreData());
    try {
      await db.read();
    } catch (err) {
      throw new S3BatchError(
        'InvalidConfiguration',
        `The job store ${file} cannot be read (not valid JSON?): ${(err as Error).message}`,
        { cause: err },
      );
    }
    const data = db.data as Partial<LiveData> | null;
    // `typeof null` and arrays are 'object' too: a store with "jobs": null would open and then crash list().
    const isRecord = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
    if (
      !isRecord(data) ||
      data?.version !== 1 ||
      !isRecord(data.jobs) ||
      !isRecord(data.tokens) ||
      (data.seq !== undefined && !(Number.isSafeInteger(data.seq) && data.seq >= 0))
    ) {
      throw new S3BatchError('InvalidConfiguration', `The job store ${file} is not an s3batch store (version 1)`);
    }
    const archivePath = archivePathOf(file);
    await JobArchive.removeTemp(archivePath);
    const archive = JobArchive.open(archivePath);
    const store = new LowdbJobStore(
      db,
      archive,
      options.batchMs ?? 50,
      options.onWriteError,
      options.compactMinBytes ?? 8 * 1024 * 1024,
    );
    if (archive.tornBytes > 0)
      options.onOpen?.(`the job archive ${archivePath}: cut off a torn last line (${archive.tornBytes} bytes)`);
    const moved = store.moveEndedJobs();
    if (moved > 0) options.onOpen?.(`the job store ${file}: moved ${moved} ended job(s) to ${archivePath}`);
    const upgraded = store.rewriteOldHeaders();
    if (upgraded > 0)
      options.onOpen?.(
        `the job archive ${archivePath}: rewrote ${upgraded} line(s) with the search fields in their header`,
      );
    if (store.liveDirty || store.pending.size > 0 || store.movedOut.size > 0) {
      // Settled now (a migration, a crash between two writes), before anything is served.
      await store.writeNow();
      if (store.writeError !== undefined) {
        archive.close();
        throw store.writeError;
      }
    }
    return store;
  }

  /** Ended jobs in the live file (a version-1 store of an older s3batch): to the archive. */
  private moveEndedJobs(): number {
    let moved = 0;
    for (const job of Object.values(this.data.jobs)) {
      if (!isTerminal(job.status)) continue;
      delete this.data.jobs[job.id];
      this.movedOut.delete(job.id);
      this.pending.set(job.id, job);
      this.liveDirty = true;
      moved++;
    }
    return moved;
  }

  /**
   * Archived jobs whose line's header predates the search fields (priority, description, tags): their
   * line is written anew, so that the next open reads headers only (the old lines become dead).
   */
  private rewriteOldHeaders(): number {
    let n = 0;
    for (const id of this.archive.oldHeaders) {
      const job = this.archived.has(id) && !this.pending.has(id) ? this.get(id) : undefined;
      if (!job) continue;
      this.pending.set(id, job);
      n++;
    }
    this.archive.oldHeaders.clear();
    this.recent.clear();
    return n;
  }

  override get(id: string): JobRecord | undefined {
    const live = this.data.jobs[id];
    if (live) return live;
    const pending = this.pending.get(id);
    if (pending) return pending;
    const known = this.recent.get(id);
    if (known) return known;
    const archived = this.archived.get(id);
    if (!archived) return undefined;
    const job = this.archive.read(archived);
    if (this.recent.size >= RECENT_READS) this.recent.delete(this.recent.keys().next().value!);
    this.recent.set(id, job);
    return job;
  }

  override list(): readonly JobRecord[] {
    const out: JobRecord[] = [...Object.values(this.data.jobs), ...this.pending.values()];
    for (const [id, job] of this.archived) if (!this.pending.has(id)) out.push(this.archive.read(job));
    return out;
  }

  override save(job: JobRecord): void {
    const { id } = job;
    this.recent.delete(id);
    if (!isTerminal(job.status)) {
      if (!this.data.jobs[id]) this.leaveArchive(id);
      this.data.jobs[id] = job;
      this.liveDirty = true;
    } else {
      if (this.data.jobs[id]) {
        delete this.data.jobs[id];
        this.liveDirty = true;
      }
      // Archived again before the tombstone of its earlier line was written: the new line supersedes it.
      this.movedOut.delete(id);
      this.pending.set(id, job);
    }
    this.index.set(indexedJob(job));
    this.changed();
  }

  override remove(id: string): void {
    const job = this.get(id);
    if (!job) return;
    this.recent.delete(id);
    if (this.data.jobs[id]) {
      delete this.data.jobs[id];
      this.liveDirty = true;
    } else {
      this.pending.delete(id);
      this.dropArchived(id, this.removed);
      // A job that ended during a write may be in the live file written then.
      this.liveDirty = true;
    }
    const key = tokenKey(job.accountId, job.clientRequestToken);
    if (this.data.tokens[key]) {
      delete this.data.tokens[key];
      this.liveDirty = true;
    }
    const holder = this.archivedTokens.get(key);
    if (holder !== undefined) {
      this.archivedTokens.delete(key);
      // Another archived job's line still names this token: rewritten without it.
      const other = holder !== id ? this.get(holder) : undefined;
      if (other) this.pending.set(holder, other);
    }
    this.index.delete(id);
    this.changed();
  }

  override findToken(accountId: string, token: string): IdempotencyEntry | undefined {
    const key = tokenKey(accountId, token);
    const live = this.data.tokens[key];
    if (live) return live;
    const holder = this.archivedTokens.get(key);
    const job = holder === undefined ? undefined : this.get(holder);
    return job ? { accountId, token, requestHash: job.requestHash, jobId: job.id } : undefined;
  }

  override saveToken(entry: IdempotencyEntry): void {
    this.liveDirty = true;
    super.saveToken(entry);
  }

  /**
   * An ended job's token entry, when it is exactly what its record tells, leaves the live file for
   * the archive (when the job's line is written: the live file is written after it).
   */
  private claimToken(job: JobRecord): void {
    const key = tokenKey(job.accountId, job.clientRequestToken);
    const entry = this.data.tokens[key];
    if (entry && entry.jobId === job.id && this.sameToken(entry, job)) {
      delete this.data.tokens[key];
      this.liveDirty = true;
      this.archivedTokens.set(key, job.id);
    }
  }

  private sameToken(entry: IdempotencyEntry, job: JobRecord | undefined): boolean {
    return (
      job !== undefined &&
      entry.accountId === job.accountId &&
      entry.token === job.clientRequestToken &&
      entry.requestHash === job.requestHash
    );
  }

  /** An archived (or pending) job saved live again: out of the archive, its token back to the live file. */
  private leaveArchive(id: string): void {
    const old = this.pending.get(id) ?? (this.archived.has(id) ? this.get(id) : undefined);
    if (!old) return;
    this.pending.delete(id);
    this.dropArchived(id, this.movedOut);
    const key = tokenKey(old.accountId, old.clientRequestToken);
    if (this.archivedTokens.get(key) === id) {
      this.archivedTokens.delete(key);
      this.data.tokens[key] ??= {
        accountId: old.accountId,
        token: old.clientRequestToken,
        requestHash: old.requestHash,
        jobId: id,
      };
    }
  }

  /** Forgets a written line of the job; its tombstone goes into `due`. */
  private dropArchived(id: string, due: Set<string>): void {
    const line = this.archived.get(id);
    if (!line) return;
    this.archived.delete(id);
    this.archive.dead += line.length;
    due.add(id);
  }

  protected override changed(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.writeNow();
    }, this.batchMs);
  }

  private writeNow(): Promise<void> {
    // Writes are serialised; each one writes what changed since the last. The chain never
    // rejects: a rejected `writing` would be unhandled (timer writes are not awaited) and would
    // skip every later write. The error is kept for flush() instead.
    this.writing = this.writing.then(async () => {
      this.writes++;
      try {
        await this.writeBatch();
        this.writeError = undefined;
      } catch (err) {
        // Reported once per failure streak (a full disk would otherwise log at every batch).
        if (this.writeError === undefined) this.onWriteError?.(err);
        this.writeError = err;
        return;
      }
      await this.compactIfWorthIt();
    });
    return this.writing;
  }

  private async writeBatch(): Promise<void> {
    // 1. The archive: tombstones of removed jobs, then the lines of the ended jobs saved since.
    const removed = [...this.removed];
    this.removed.clear();
    const puts = [...this.pending];
    if (removed.length > 0 || puts.length > 0) {
      const lines = removed.map((id) => tombstoneLine(++this.seq, id));
      const heads = puts.map(([id, job]) => {
        this.claimToken(job);
        const seq = ++this.seq;
        const token = this.archivedTokens.get(tokenKey(job.accountId, job.clientRequestToken)) === id;
        lines.push(putLine(seq, job, token ? job.clientRequestToken : undefined));
        return { seq, token: token ? job.clientRequestToken : undefined };
      });
      let offsets: number[];
      try {
        offsets = await this.archive.append(lines);
        // Jobs leave the live file below: their lines must be on disk first.
        if (this.liveDirty) await this.archive.sync();
      } catch (err) {
        for (const id of removed) this.removed.add(id);
        throw err;
      }
      this.archive.dead += removed.reduce((n, _id, i) => n + Buffer.byteLength(lines[i]!), 0);
      puts.forEach(([id, job], i) => {
        const at = removed.length + i;
        const line = archivedJob(heads[i]!.seq, job, heads[i]!.token, offsets[at]!, Buffer.byteLength(lines[at]!));
        if (this.pending.has(id)) {
          // Written (or superseded by a newer save, written next time): reads use the line from now on.
          const before = this.archived.get(id);
          if (before) this.archive.dead += before.length;
          this.archived.set(id, line);
          if (this.pending.get(id) === job) this.pending.delete(id);
        } else {
          // Removed, or saved live again, while this line was being written: it needs its tombstone.
          this.archive.dead += line.length;
          (this.data.jobs[id] ? this.movedOut : this.removed).add(id);
        }
      });
    }
    // 2. The live file (lowdb), when a live job or a token changed or a job left it. Serialised
    // now, with what changed while the archive was written: jobs that ended meanwhile have no line
    // yet, so they stay in this live file (ended; moved by the next write, or by the next open).
    let outs: string[];
    if (this.liveDirty) {
      this.liveDirty = false;
      outs = [...this.movedOut];
      this.movedOut.clear();
      const unwritten = [...this.pending].filter(([id]) => !this.archived.has(id));
      const jobs = unwritten.length > 0 ? { ...this.data.jobs, ...Object.fromEntries(unwritten) } : this.data.jobs;
      this.db.data = { version: 1, seq: this.seq, jobs, tokens: this.data.tokens };
      try {
        await this.db.write();
      } catch (err) {
        this.liveDirty = true;
        for (const id of outs) this.movedOut.add(id);
        throw err;
      } finally {
        this.db.data = this.data;
      }
    } else {
      outs = [...this.movedOut];
      this.movedOut.clear();
    }
    // 3. Tombstones of the jobs saved live again: after a live file that holds them.
    if (outs.length > 0) {
      const ids = outs;
      const lines = ids.map((id) => tombstoneLine(++this.seq, id));
      try {
        await this.archive.append(lines);
      } catch (err) {
        for (const id of ids) this.movedOut.add(id);
        throw err;
      }
      this.archive.dead += lines.reduce((n, line) => n + Buffer.byteLength(line), 0);
    }
  }

  /** Compacts the archive once most of it is dead (a failure is reported, the old archive stays). */
  private async compactIfWorthIt(): Promise<void> {
    const { dead, liveBytes } = this.archive;
    if (dead < this.compactMinBytes || dead < liveBytes) return;
    await this.compact();
  }

  /** Rewrites the archive with only its current lines (runs in the write chain; for tests, callable). */
  compactNow(): Promise<void> {
    this.writing = this.writing.then(() => this.compact());
    return this.writing;
  }

  private async compact(): Promise<void> {
    try {
      await this.archive.compact([...this.archived.values()]);
      this.compactions++;
    } catch (err) {
      this.onWriteError?.(err);
    }
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
    this.archive.close();
  }
}
