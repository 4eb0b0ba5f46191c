/**
 * The ended jobs' archive of the lowdb job store (lowdb-job-store.ts): an append-only file of JSON
 * lines next to the live file (`jobs.json` → `jobs.archive.jsonl`), docs/job-lifecycle.md#job-store.
 *
 *   {"s3batch":"job-archive","version":1}                       first line: what the file is
 *   {"seq":7,"id":…,"accountId":…,"creationTime":…,"status":"Complete","ended":<ms|null>,["token":…,]
 *    "priority":…,["description":…,]"tags":[…],"job":{…}}
 *   {"seq":9,"del":"<job id>"}                                   the job is no longer archived
 *
 * A job's latest line wins: a job changed after it ended (tags) gets a new line, a removed one a
 * tombstone. `seq` grows over the whole store (the live file records the last one it saw), which
 * tells which of two copies of a job is the newer after a crash between two files' writes.
 *
 * Opening reads the file once and keeps per job only its header and the place of its line: `read`
 * gets a record back with one positional read. The header comes first in each line so that
 * opening parses only it, never the records. The header carries what the indexes hold (job-index.ts),
 * the web query's priority, description and tags included; a line written before those were in
 * the header (no `priority`) is parsed whole when opening, and the store writes the job's line anew. A crash during an append leaves at most a line
 * without its newline at the end: opening cuts it off (a complete line that does not parse is
 * corruption, refused). `compact` rewrites the file with only the current lines when most of it
 * is dead (superseded or removed), atomically (temp file, fsync, rename, directory fsync).
 */
import {
  closeSync,
  fstatSync,
  fsync,
  fsyncSync,
  ftruncateSync,
  openSync,
  read,
  readSync,
  write,
  writeSync,
} from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { S3BatchError } from '../domain/errors.ts';
import type { JobRecord } from '../domain/job.ts';
import type { S3Tag } from '../domain/job-spec.ts';
import { isJobStatus, isTerminal } from '../domain/job-status.ts';
import { fsyncDir, isErrno } from './fs-writes.ts';
import { endedMs, indexedJob, type IndexedJob } from './job-index.ts';

const pwrite = promisify(write);
const pread = promisify(read);
const fsyncAsync = promisify(fsync);

export const ARCHIVE_MAGIC = '{"s3batch":"job-archive","version":1}\n';
/** Where a put line's header ends: `,"job":` cannot occur earlier (a string value escapes its quotes). */
const JOB_MARK = Buffer.from(',"job":');
const NEWLINE = 0x0a;
const CLOSE_BRACE = 0x7d;
/** Bytes read at a time when opening. */
const READ_CHUNK = 1024 * 1024;

/** An archived job: what the indexes need, and where its line is. */
export interface ArchivedJob extends IndexedJob {
  readonly seq: number;
  /** Mutable: compaction moves the line. */
  offset: number;
  readonly length: number;
  /** The ClientRequestToken the archive answers for this job (its idempotency entry left the live file). */
  readonly token: string | undefined;
}

/** The line that archives `job` at `seq`. */
export function putLine(seq: number, job: JobRecord, token: string | undefined): string {
  const ended = endedMs(job);
  return `${JSON.stringify({
    seq,
    id: job.id,
    accountId: job.accountId,
    creationTime: job.creationTime,
    status: job.status,
    ended: ended ?? null,
    ...(token !== undefined ? { token } : {}),
    priority: job.priority,
    ...(job.request.Description !== undefined ? { description: job.request.Description } : {}),
    // Fresh {Key, Value} objects: nothing else in the header (a key "job" would end it early).
    tags: job.tags.map(({ Key, Value }) => ({ Key, Value })),
    ...(job.fingerprint !== undefined ? { fp: job.fingerprint } : {}),
    job,
  })}\n`;
}

export function tombstoneLine(seq: number, id: string): string {
  return `${JSON.stringify({ seq, del: id })}\n`;
}

export function archivedJob(seq: number, job: JobRecord, token: string | undefined, offset: number, length: number) {
  return { ...indexedJob(job), seq, offset, length, token } satisfies ArchivedJob;
}

export class JobArchive {
  /** The archived jobs as opened (the store keeps them up to date from then on). */
  readonly jobs = new Map<string, ArchivedJob>();
  /** The highest seq in the file. */
  maxSeq = 0;
  /** Bytes of lines no longer current (superseded, removed, tombstones): what compaction would save. */
  dead = 0;
  /** Jobs whose line, when opened, had a header without the search fields (written before them): to rewrite. */
  readonly oldHeaders = new Set<string>();
  /** Bytes of a torn last line cut off when opening (0: none). */
  readonly tornBytes: number = 0;
  /** The file's length: where the next line goes. */
  private end = 0;
  private fd: number | undefined;
  /** A failed append may have left part of its lines: cut back to `end` before the next one. */
  private tailDirty = false;
  private closed = false;

  private constructor(readonly path: string) {}

  /** Opens the archive (a missing file is an empty archive, created at the first append). */
  static open(path: string): JobArchive {
    const archive = new JobArchive(path);
    let fd: number;
    try {
      fd = openSync(path, 'r+');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return archive;
      throw err;
    }
    try {
      (archive as { tornBytes: number }).tornBytes = archive.scan(fd);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    archive.fd = fd;
    return archive;
  }

  /** Reads every line's header; returns the bytes of a torn tail it cut off. */
  private scan(fd: number): number {
    const size = fstatSync(fd).size;
    let buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(size, 1)));
    let bufStart = 0; // file offset of buf[0]
    let filled = 0;
    let pos = 0;
    while (pos < size) {
      if (filled === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
      const n = readSync(fd, buf, filled, Math.min(buf.length - filled, size - pos), pos);
      if (n === 0) break;
      pos += n;
      filled += n;
      const view = buf.subarray(0, filled);
      let lineStart = 0;
      for (let nl = view.indexOf(NEWLINE, lineStart); nl !== -1; nl = view.indexOf(NEWLINE, lineStart)) {
        this.line(view, lineStart, nl, bufStart + lineStart);
        lineStart = nl + 1;
      }
      buf.copy(buf, 0, lineStart, filled);
      bufStart += lineStart;
      filled -= lineStart;
    }
    // bufStart is now the end of the last complete line; what follows is a torn append.
    this.end = bufStart;
    if (bufStart < size) ftruncateSync(fd, bufStart);
    if (this.end === 0) {
      // Nothing whole, not even the first line: an archive whose creation was cut short.
      writeSync(fd, ARCHIVE_MAGIC, 0);
      this.end = Buffer.byteLength(ARCHIVE_MAGIC);
    }
    return size - bufStart;
  }

  /** One complete line: buf[start, nl) at file offset `offset`. */
  private line(buf: Buffer, start: number, nl: number, offset: number): void {
    const length = nl - start + 1;
    const corrupt: (why: string) => never = (why) => {
      throw new S3BatchError(
        'InvalidConfiguration',
        `The job archive ${this.path} is corrupt at byte ${offset} (${why}); it is not an s3batch job archive (version 1)`,
      );
    };
    if (offset === 0) {
      if (buf.toString('utf8', start, nl + 1) !== ARCHIVE_MAGIC) corrupt('not an s3batch job archive');
      return;
    }
    if (buf[nl - 1] !== CLOSE_BRACE) corrupt('a line that is not a JSON object');
    const mark = buf.indexOf(JOB_MARK, start);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(
        mark !== -1 && mark < nl ? `${buf.toString('utf8', start, mark)}}` : buf.toString('utf8', start, nl),
      ) as Record<string, unknown>;
    } catch {
      corrupt('a line that is not JSON');
    }
    const seq = header.seq;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) corrupt('no seq');
    if (seq > this.maxSeq) this.maxSeq = seq;
    if (mark === -1 || mark >= nl) {
      if (typeof header.del !== 'string') corrupt('neither a job nor a tombstone');
      const gone = this.jobs.get(header.del);
      if (gone) this.dead += gone.length;
      this.jobs.delete(header.del);
      this.dead += length;
      return;
    }
    const { id, accountId, creationTime, status, ended, token, fp } = header;
    if (
      typeof id !== 'string' ||
      typeof accountId !== 'string' ||
      typeof creationTime !== 'string' ||
      !isJobStatus(status) ||
      !isTerminal(status) ||
      (ended !== null && typeof ended !== 'number') ||
      (token !== undefined && typeof token !== 'string')
    )
      corrupt('a job line without its header');
    let { priority, description, tags } = header;
    if (priority === undefined) {
      // A line written before the header carried the search fields: the record tells them.
      let job: JobRecord;
      try {
        job = (JSON.parse(buf.toString('utf8', start, nl)) as { job: JobRecord }).job;
      } catch {
        corrupt('a line that is not JSON');
      }
      priority = job?.priority;
      description = job?.request?.Description;
      tags = job?.tags;
      this.oldHeaders.add(id);
    } else this.oldHeaders.delete(id);
    if (
      typeof priority !== 'number' ||
      (description !== undefined && typeof description !== 'string') ||
      !Array.isArray(tags) ||
      !tags.every((t) => typeof t?.Key === 'string' && typeof t?.Value === 'string')
    )
      corrupt('a job line without its priority, description or tags');
    const before = this.jobs.get(id);
    if (before) this.dead += before.length;
    this.jobs.set(id, {
      id,
      accountId,
      creationTime,
      status,
      priority,
      description,
      tags: tags as S3Tag[],
      endedMs: ended ?? undefined,
      // Lines of an older s3batch carry no fingerprint: those jobs are not found as duplicates' originals.
      fingerprint: typeof fp === 'string' ? fp : undefined,
      seq,
      offset,
      length,
      token,
    });
  }

  /** The record of an archived job: one positional read (the file is opened again if closed). */
  read(job: Pick<ArchivedJob, 'offset' | 'length'>): JobRecord {
    const buf = Buffer.allocUnsafe(job.length);
    const fd = this.fd ?? openSync(this.path, 'r');
    try {
      const n = readSync(fd, buf, 0, job.length, job.offset);
      if (n !== job.length) throw new Error(`short read of the job archive ${this.path} at ${job.offset}`);
    } finally {
      if (fd !== this.fd) closeSync(fd);
    }
    return (JSON.parse(buf.toString('utf8')) as { job: JobRecord }).job;
  }

  /** Bytes of current lines. */
  get liveBytes(): number {
    return this.end - this.dead;
  }

  /**
   * Appends the lines in one write (creating the file first if needed); returns each line's
   * offset. A failure leaves `end` where it was: the next append cuts a partial write back off.
   */
  async append(lines: readonly string[]): Promise<number[]> {
    const fd = await this.handle();
    if (this.tailDirty) {
      ftruncateSync(fd, this.end);
      this.tailDirty = false;
    }
    const offsets: number[] = [];
    let at = this.end;
    const bufs = lines.map((line) => {
      const b = Buffer.from(line);
      offsets.push(at);
      at += b.length;
      return b;
    });
    const data = Buffer.concat(bufs);
    try {
      let done = 0;
      while (done < data.length) {
        done += (await pwrite(fd, data, done, data.length - done, this.end + done)).bytesWritten;
      }
    } catch (err) {
      this.tailDirty = true;
      throw err;
    }
    this.end = at;
    return offsets;
  }

  /** Makes the appended lines durable (before the live file drops the jobs they archive). */
  async sync(): Promise<void> {
    if (this.fd !== undefined) await fsyncAsync(this.fd);
  }

  /**
   * Rewrites the archive with only `current` (the store's archived jobs, copied line by line,
   * seq kept) and updates their offsets. Reads and appends keep working meanwhile on the old file
   * until the new one is renamed into place; the caller runs no append concurrently.
   */
  async compact(current: readonly ArchivedJob[]): Promise<void> {
    if (this.fd === undefined) return;
    const tmp = `${this.path}.tmp`;
    const out = await open(tmp, 'w');
    const moved: [ArchivedJob, number][] = [];
    let pos = 0;
    try {
      const parts: Buffer[] = [Buffer.from(ARCHIVE_MAGIC)];
      let partBytes = parts[0]!.length;
      const writeOut = async (): Promise<void> => {
        const data = Buffer.concat(parts);
        await out.write(data, 0, data.length, pos);
        pos += data.length;
        parts.length = 0;
        partBytes = 0;
      };
      const old = this.fd;
      let next = partBytes;
      for (const job of [...current].sort((a, b) => a.offset - b.offset)) {
        const b = Buffer.allocUnsafe(job.length);
        const { bytesRead } = await pread(old, b, 0, job.length, job.offset);
        if (bytesRead !== job.length) throw new Error(`short read of the job archive ${this.path} at ${job.offset}`);
        parts.push(b);
        partBytes += b.length;
        moved.push([job, next]);
        next += b.length;
        if (partBytes >= READ_CHUNK) await writeOut();
      }
      await writeOut();
      await out.sync();
    } catch (err) {
      await out.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw err;
    }
    await out.close();
    await rename(tmp, this.path);
    await fsyncDir(dirname(this.path), 'best-effort');
    // From here on the new file: swapped in one synchronous step, so a read sees old or new, whole.
    const fd = openSync(this.path, 'r+');
    closeSync(this.fd);
    this.fd = fd;
    for (const [job, offset] of moved) job.offset = offset;
    this.end = pos;
    this.dead = 0;
    this.tailDirty = false;
  }

  /** Removes a compaction's temp file left by a crash. */
  static async removeTemp(path: string): Promise<void> {
    await rm(`${path}.tmp`, { force: true });
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.closed = true;
  }

  private async handle(): Promise<number> {
    if (this.fd !== undefined) return this.fd;
    if (this.closed) throw new Error(`the job archive ${this.path} is closed`);
    // The first ended job: the file is created with its first line, and its directory entry made durable.
    const fd = openSync(this.path, 'w+');
    writeSync(fd, ARCHIVE_MAGIC, 0);
    fsyncSync(fd);
    this.fd = fd;
    this.end = Buffer.byteLength(ARCHIVE_MAGIC);
    await fsyncDir(dirname(this.path), 'best-effort');
    return fd;
  }
}
