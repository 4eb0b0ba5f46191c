/**
 * ResultSpool on the local file system: one JSON-lines file per (job, chunk, status),
 * `<dir>/<jobId>/chunk-<index>.s.ndjson` (succeeded) and `chunk-<index>.f.ndjson` (failed).
 * A line is `[bucket, rawKey, versionId, httpStatus, errorCode, message]`; the status is the file's.
 *
 * Writing: append() only buffers. A sink writes its buffer once it holds FLUSH_CHARS, with at
 * most one write in flight per file; rows appended meanwhile go out together in the next write,
 * so a slow disk gets fewer, larger writes rather than a queue of small ones. A write error is
 * kept and rethrown by close(); rows appended after it are dropped (the chunk will be redone).
 * close() writes the rest, fsyncs both files and the directory entries it created.
 *
 * Reading streams the file and splits lines itself, so that a last line without its `\n` (a write
 * torn by a crash) can be recognised and skipped. Any other unreadable line is corruption.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { S3BatchError } from '../domain/errors.ts';
import { TaskStatus } from '../domain/task.ts';
import type { TaskResult } from '../domain/task.ts';
import { FLUSH_CHARS, fsyncDir, isErrno } from './fs-writes.ts';
import type { ResultSpool, SpoolWriter } from './result-spool.ts';

/** Buffered characters above which ready() makes the caller wait for the disk. */
const HIGH_WATER_CHARS = 16 * FLUSH_CHARS;
const LF = 0x0a;
const SAFE_JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const CHUNK_FILE = /^chunk-(\d+)\.[sf]\.ndjson$/;

export function createFsSpool(dir: string): ResultSpool {
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
    async open(jobId, chunkIndex) {
      const [sPath, fPath] = chunkPaths(jobId, chunkIndex);
      const job = jobDir(jobId);
      // mkdir returns the first directory it created: then the parent's entry needs an fsync too.
      const created = await mkdir(job, { recursive: true });
      const syncDirs = created === undefined ? [job] : [job, dir];
      const sHandle = await open(sPath, 'w');
      let fHandle: FileHandle;
      try {
        fHandle = await open(fPath, 'w');
      } catch (err) {
        await sHandle.close();
        throw err;
      }
      return new FsSpoolWriter(new FileSink(sHandle, sPath), new FileSink(fHandle, fPath), syncDirs);
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

  constructor(
    private readonly succeededSink: FileSink,
    private readonly failedSink: FileSink,
    private readonly syncDirs: readonly string[],
  ) {}

  append(result: TaskResult): void {
    if (this.ended) throw new Error('Spool writer is already closed');
    const line = `${JSON.stringify([result.bucket, result.rawKey, result.versionId, result.httpStatus, result.errorCode, result.message])}\n`;
    (result.status === TaskStatus.Failed ? this.failedSink : this.succeededSink).push(line);
  }

  ready(): Promise<void> | undefined {
    if (this.succeededSink.backlog < HIGH_WATER_CHARS && this.failedSink.backlog < HIGH_WATER_CHARS) return undefined;
    return Promise.all([this.succeededSink.belowHighWater(), this.failedSink.belowHighWater()]).then(() => undefined);
  }

  async close(): Promise<void> {
    if (this.ended) throw new Error('Spool writer is already closed');
    this.ended = true;
    const outcomes = await Promise.allSettled([this.succeededSink.close(), this.failedSink.close()]);
    for (const o of outcomes) if (o.status === 'rejected') throw o.reason;
    for (const d of this.syncDirs) await fsyncDir(d, 'strict');
  }

  async abort(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await Promise.allSettled([this.succeededSink.abort(), this.failedSink.abort()]);
    await Promise.all([this.succeededSink.path, this.failedSink.path].map((p) => rm(p, { force: true })));
  }
}

/** One open spool file. Invariant: at most one write in flight (`writing`); writes keep order. */
class FileSink {
  private pending: string[] = [];
  private pendingChars = 0;
  private writing: Promise<void> | undefined;
  private failure: { readonly error: unknown } | undefined;

  constructor(
    private readonly handle: FileHandle,
    readonly path: string,
  ) {}

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
  for await (const line of completeLines(path)) {
    lineNo++;
    const result = decode(line, status);
    if (result === undefined) {
      throw new S3BatchError('InternalServiceException', `Result spool ${path} is corrupt at line ${lineNo}`);
    }
    yield result;
  }
}

/** Lines that end in `\n`; a final piece without it is a torn write and is not yielded. */
async function* completeLines(path: string): AsyncGenerator<string> {
  let carry: Buffer | undefined;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(LF); nl !== -1; nl = chunk.indexOf(LF, start)) {
      const piece = chunk.subarray(start, nl);
      const line = carry === undefined ? piece.toString('utf8') : Buffer.concat([carry, piece]).toString('utf8');
      carry = undefined;
      start = nl + 1;
      yield line;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      carry = carry === undefined ? rest : Buffer.concat([carry, rest]);
    }
  }
}

function decode(line: string, status: TaskStatus): TaskResult | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v) || v.length !== 6) return undefined;
  const [bucket, rawKey, versionId, httpStatus, errorCode, message] = v as unknown[];
  if (
    typeof bucket !== 'string' ||
    typeof rawKey !== 'string' ||
    typeof versionId !== 'string' ||
    typeof httpStatus !== 'number' ||
    typeof errorCode !== 'string' ||
    typeof message !== 'string'
  ) {
    return undefined;
  }
  return { bucket, rawKey, versionId, status, httpStatus, errorCode, message };
}
