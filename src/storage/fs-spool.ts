/**
 * ResultSpool on the local file system: one JSON-lines file per (job, chunk, status),
 * `<dir>/<jobId>/chunk-<index>.s.ndjson` (succeeded) and `chunk-<index>.f.ndjson` (failed).
 * A line is `[ordinal, bucket, rawKey, versionId, httpStatus, errorCode, message]`, with the
 * result's `bytes` as an eighth element when it has them (spool-lines.ts); the status is the file's.
 * Spools written before ordinals existed have lines without the ordinal (six elements): they are
 * still read, but a chunk holding such a line is not resumable (it is redone from its start).
 *
 * Writing: append() only buffers. A sink writes its buffer once it holds FLUSH_CHARS, with at
 * most one write in flight per file; rows appended meanwhile go out together in the next write,
 * so a slow disk gets fewer, larger writes rather than a queue of small ones. Every
 * `syncIntervalMs` (250 ms) after an append, the writer writes what it buffered and fsyncs both
 * files (and, the first time, the directory entries it created): the rows of a running chunk are
 * durable in batches, never with one fsync per task. A write or sync error is kept and rethrown by
 * close(); rows appended after it are dropped (the chunk will be redone). close() writes the rest,
 * fsyncs both files and the directory entries.
 *
 * Reading streams the file and splits lines itself, so that a last line without its `\n` (a write
 * torn by a crash) can be recognised and skipped. Any other unreadable line is corruption. Opening
 * with `resume` scans both files: it cuts a torn last line off and appends after the rest; a file
 * with a line that is corrupt, has no ordinal or repeats one is started afresh instead.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rm, truncate } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { S3BatchError } from '../domain/errors.ts';
import { TaskStatus } from '../domain/task.ts';
import type { TaskResult } from '../domain/task.ts';
import { FLUSH_CHARS, fsyncDir, isErrno } from './fs-writes.ts';
import type { DurableRows, ResultSpool, SpoolWriter } from './result-spool.ts';
import { completeLines, decodeSpoolLine, DurableTally, encodeSpoolLine } from './spool-lines.ts';

/** Buffered characters above which ready() makes the caller wait for the disk. */
const HIGH_WATER_CHARS = 16 * FLUSH_CHARS;
/** How long a row may wait in memory or in the page cache before it is fsynced. */
export const SYNC_INTERVAL_MS = 250;
const SAFE_JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const CHUNK_FILE = /^chunk-(\d+)\.[sf]\.ndjson$/;

export interface FsSpoolOptions {
  /** The batch interval of the durable writes (default SYNC_INTERVAL_MS). */
  readonly syncIntervalMs?: number | undefined;
}

export function createFsSpool(dir: string, options: FsSpoolOptions = {}): ResultSpool {
  const syncMs = options.syncIntervalMs ?? SYNC_INTERVAL_MS;
  const jobDir = (jobId: string): string => {
    if (!SAFE_JOB_ID.test(jobId)) {
      throw new S3BatchError(
        'InternalServiceException',
        `Job id ${JSON.stringify(jobId)} is not usable as a spool directory name`,
      );
    }
    return join(dir, jobId);
  };
  const filePath = (jobId: string, chunkIndex: number, status: TaskStatus): string => {
    if (!Number.isSafeInteger(chunkIndex) || chunkIndex < 0) {
      throw new S3BatchError('InternalServiceException', `Invalid chunk index ${chunkIndex}`);
    }
    return join(jobDir(jobId), `chunk-${chunkIndex}.${status === TaskStatus.Failed ? 'f' : 's'}.ndjson`);
  };
  const chunkPaths = (jobId: string, chunkIndex: number): [string, string] => [
    filePath(jobId, chunkIndex, TaskStatus.Succeeded),
    filePath(jobId, chunkIndex, TaskStatus.Failed),
  ];

  return {
    async open(jobId, chunkIndex, openOptions) {
      const [sPath, fPath] = chunkPaths(jobId, chunkIndex);
      const job = jobDir(jobId);
      // mkdir returns the first directory it created: then the parent's entry needs an fsync too.
      const created = await mkdir(job, { recursive: true });
      const syncDirs = created === undefined ? [job] : [job, dir];
      let flags = 'w';
      let resumed: DurableRows | undefined;
      if (openOptions?.resume === true) {
        const scan = await scanChunk(sPath, fPath);
        if (scan !== undefined) {
          // A torn last line is cut off, so the next row starts on a line of its own.
          await Promise.all([cutTo(sPath, scan.lengths[0]), cutTo(fPath, scan.lengths[1])]);
          flags = 'a';
          resumed = scan.rows;
        }
      }
      const sHandle = await open(sPath, flags);
      let fHandle: FileHandle;
      try {
        fHandle = await open(fPath, flags);
      } catch (err) {
        await sHandle.close();
        throw err;
      }
      return new FsSpoolWriter(new FileSink(sHandle, sPath), new FileSink(fHandle, fPath), syncDirs, syncMs, resumed);
    },

    async durable(jobId, chunkIndex) {
      const [sPath, fPath] = chunkPaths(jobId, chunkIndex);
      return (await scanChunk(sPath, fPath))?.rows;
    },

    read(jobId, chunkIndex, status) {
      const path = filePath(jobId, chunkIndex, status);
      return readResults(path, status);
    },

    async chunks(jobId) {
      let names: string[];
      try {
        names = await readdir(jobDir(jobId));
      } catch (err) {
        if (isErrno(err, 'ENOENT')) return [];
        throw err;
      }
      const indices = new Set<number>();
      for (const name of names) {
        const m = CHUNK_FILE.exec(name);
        if (m?.[1] !== undefined) indices.add(Number(m[1]));
      }
      return [...indices].sort((a, b) => a - b);
    },

    async discard(jobId, chunkIndex) {
      await Promise.all(chunkPaths(jobId, chunkIndex).map((p) => rm(p, { force: true })));
    },

    async removeJob(jobId) {
      await rm(jobDir(jobId), { recursive: true, force: true });
    },
  };
}

class FsSpoolWriter implements SpoolWriter {
  private ended = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The batch sync in progress. */
  private syncing: Promise<void> | undefined;
  private dirsSynced = false;
  private failure: { readonly error: unknown } | undefined;

  constructor(
    private readonly succeededSink: FileSink,
    private readonly failedSink: FileSink,
    private readonly syncDirs: readonly string[],
    private readonly syncMs: number,
    readonly resumed: DurableRows | undefined,
  ) {}

  append(result: TaskResult, ordinal?: number): void {
    if (this.ended) throw new Error('Spool writer is already closed');
    const line = encodeSpoolLine(result, ordinal);
    (result.status === TaskStatus.Failed ? this.failedSink : this.succeededSink).push(line);
    if (this.timer === undefined && this.syncing === undefined) this.scheduleSync();
  }

  ready(): Promise<void> | undefined {
    if (this.succeededSink.backlog < HIGH_WATER_CHARS && this.failedSink.backlog < HIGH_WATER_CHARS) return undefined;
    return Promise.all([this.succeededSink.belowHighWater(), this.failedSink.belowHighWater()]).then(() => undefined);
  }

  async close(): Promise<void> {
    if (this.ended) throw new Error('Spool writer is already closed');
    this.ended = true;
    this.cancelSync();
    await this.syncing;
    const outcomes = await Promise.allSettled([this.succeededSink.close(), this.failedSink.close()]);
    for (const o of outcomes) if (o.status === 'rejected') throw o.reason;
    if (this.failure !== undefined) throw this.failure.error;
    if (!this.dirsSynced) for (const d of this.syncDirs) await fsyncDir(d, 'strict');
  }

  async abort(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.cancelSync();
    await this.syncing;
    await Promise.allSettled([this.succeededSink.abort(), this.failedSink.abort()]);
    await Promise.all([this.succeededSink.path, this.failedSink.path].map((p) => rm(p, { force: true })));
  }

  private scheduleSync(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.syncing = this.syncBoth().finally(() => {
        this.syncing = undefined;
        // Rows appended while the sync ran wait for the next one.
        if (!this.ended && (this.succeededSink.unsynced || this.failedSink.unsynced)) this.scheduleSync();
      });
    }, this.syncMs);
    // A pending batch never keeps the process alive; close() writes it anyway.
    this.timer.unref?.();
  }

  private cancelSync(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Writes both buffers and fsyncs both files: the rows appended so far are durable. */
  private async syncBoth(): Promise<void> {
    await Promise.all([this.succeededSink.sync(), this.failedSink.sync()]);
    if (this.dirsSynced || this.failure !== undefined) return;
    try {
      for (const d of this.syncDirs) await fsyncDir(d, 'strict');
      this.dirsSynced = true;
    } catch (error) {
      this.failure = { error };
    }
  }
}

/** One open spool file. Invariant: at most one write in flight (`writing`); writes keep order. */
class FileSink {
  private pending: string[] = [];
  private pendingChars = 0;
  private writing: Promise<void> | undefined;
  private failure: { readonly error: unknown } | undefined;
  /** Bytes were written since the last fsync. */
  private dirty = false;

  constructor(
    private readonly handle: FileHandle,
    readonly path: string,
  ) {}

  /** Rows are buffered or written and not yet fsynced (and the sink has not failed). */
  get unsynced(): boolean {
    return this.failure === undefined && (this.pendingChars > 0 || this.dirty || this.writing !== undefined);
  }

  /** Writes the buffer and fsyncs; an error is kept for close(), as a write error is. */
  async sync(): Promise<void> {
    await this.drain();
    if (this.pendingChars > 0 && this.failure === undefined) {
      this.startWrite();
      await this.drain();
    }
    if (this.failure !== undefined || !this.dirty) return;
    this.dirty = false;
    try {
      await this.handle.sync();
    } catch (error) {
      this.failure ??= { error };
    }
  }

  /** Characters buffered and not yet handed to a write. */
  get backlog(): number {
    return this.pendingChars;
  }

  /** Resolves once the backlog is below the high-water mark (or the sink failed: nothing is kept then). */
  async belowHighWater(): Promise<void> {
    while (this.pendingChars >= HIGH_WATER_CHARS && this.writing !== undefined) await this.writing;
  }

  push(line: string): void {
    if (this.failure !== undefined) return;
    this.pending.push(line);
    this.pendingChars += line.length;
    if (this.pendingChars >= FLUSH_CHARS && this.writing === undefined) this.startWrite();
  }

  async close(): Promise<void> {
    try {
      await this.drain();
      if (this.pendingChars > 0) {
        this.startWrite();
        await this.drain();
      }
      if (this.failure !== undefined) throw this.failure.error;
      await this.handle.sync();
    } finally {
      await this.handle.close();
    }
  }

  async abort(): Promise<void> {
    this.failure ??= { error: new Error('aborted') };
    this.pending = [];
    this.pendingChars = 0;
    try {
      await this.drain();
    } finally {
      await this.handle.close();
    }
  }

  private startWrite(): void {
    const data = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    this.pendingChars = 0;
    this.writing = writeAll(this.handle, data).then(
      () => {
        this.writing = undefined;
        this.dirty = true;
        if (this.failure === undefined && this.pendingChars >= FLUSH_CHARS) this.startWrite();
      },
      (error: unknown) => {
        this.writing = undefined;
        this.failure ??= { error };
        this.pending = [];
        this.pendingChars = 0;
      },
    );
  }

  /** Waits until no write is in flight (a finished write may have started the next one). */
  private async drain(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
  }
}

async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}

async function* readResults(path: string, status: TaskStatus): AsyncGenerator<TaskResult> {
  let lineNo = 0;
  for await (const { text } of completeLines(createReadStream(path))) {
    lineNo++;
    const row = decodeSpoolLine(text, status);
    if (row === undefined) {
      throw new S3BatchError('InternalServiceException', `Result spool ${path} is corrupt at line ${lineNo}`);
    }
    yield row.result;
  }
}

/** A chunk's resumable rows and the length of each file without its torn tail (s, f). */
interface ChunkScan {
  readonly rows: DurableRows;
  readonly lengths: readonly [number, number];
}

/**
 * Reads both files of a chunk for a resume; undefined when neither exists or the chunk is not
 * resumable (a line without an ordinal, a corrupt line, an ordinal seen twice).
 */
async function scanChunk(sPath: string, fPath: string): Promise<ChunkScan | undefined> {
  const tally = new DurableTally();
  const lengths: [number, number] = [0, 0];
  let found = false;
  for (const [i, path, status] of [
    [0, sPath, TaskStatus.Succeeded],
    [1, fPath, TaskStatus.Failed],
  ] as const) {
    try {
      for await (const { text, end } of completeLines(createReadStream(path))) {
        const row = decodeSpoolLine(text, status);
        if (row === undefined || !tally.add(row)) return undefined;
        lengths[i] = end;
      }
      found = true;
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
  }
  if (!found) return undefined;
  return { rows: tally.rows(), lengths };
}

/** Truncates a file to `length` bytes if it is longer (a missing file is left missing). */
async function cutTo(path: string, length: number): Promise<void> {
  try {
    await truncate(path, length);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
}
