/**
 * Writes a job's completion report (docs/reports.md#completion-report) from its result spools: result CSV files, then
 * manifest.json. Everything streams: rows are pulled from the spool, formatted into ~64 KiB
 * batches and handed to the object store as they are produced, with the MD5 computed on the way,
 * so memory stays constant however many rows there are.
 *
 * Succeeded rows go first, then failed ones (FailedTasksOnly skips succeeded), each status over
 * the chunks in ascending order, in files of at most maxRowsPerFile rows. A status without rows
 * gets no file. Store and spool errors propagate: the caller records ReportWriteFailed.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import type { ReportOutcome } from '../domain/job.ts';
import { TaskStatus } from '../domain/task.ts';
import type { TaskResult } from '../domain/task.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { ResultSpool } from '../storage/result-spool.ts';
import { buildReportManifest, formatReportRow, reportKeys, resultFileKey } from './report-format.ts';

export const DEFAULT_MAX_ROWS_PER_FILE = 1_000_000;
/** Formatted characters per chunk handed to the store. */
const BATCH_CHARS = 64 * 1024;

export interface ReportTarget {
  /** The report bucket's name (not its ARN). */
  readonly bucketName: string;
  readonly prefix?: string | undefined;
  readonly scope: 'AllTasks' | 'FailedTasksOnly';
}

export interface WriteReportArgs {
  readonly jobId: string;
  readonly report: ReportTarget;
  /** Chunks whose spools are complete; read in ascending order. */
  readonly chunkIndices: readonly number[];
  readonly spool: ResultSpool;
  readonly store: ObjectStore;
  readonly now: () => Date;
  readonly maxRowsPerFile?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

type ReportFile = ReportOutcome['files'][number];

export async function writeReport(args: WriteReportArgs): Promise<ReportOutcome> {
  const { jobId, report, spool, store, signal } = args;
  const maxRows = args.maxRowsPerFile ?? DEFAULT_MAX_ROWS_PER_FILE;
  if (!Number.isSafeInteger(maxRows) || maxRows < 1) {
    throw new RangeError(`maxRowsPerFile must be a positive integer, got ${maxRows}`);
  }
  const chunks = [...args.chunkIndices].sort((a, b) => a - b);
  const keys = reportKeys(report.prefix, jobId);
  const statuses = report.scope === 'FailedTasksOnly' ? [TaskStatus.Failed] : [TaskStatus.Succeeded, TaskStatus.Failed];
  const bucket = report.bucketName;
  const files: ReportFile[] = [];

  for (const status of statuses) {
    const source = new RowSource(spoolRows(spool, jobId, chunks, status));
    try {
      // Peek before each file, so that no empty file is written (nor an empty last part).
      for (let part = 0; await source.hasNext(); part++) {
        signal?.throwIfAborted();
        const key = resultFileKey(keys, jobId, status, part);
        const body = new ResultFileBody(source, maxRows, signal);
        await store.put({ bucket, key }, body.chunks(), { contentType: 'text/csv', signal });
        if (!body.complete) throw new Error(`The object store did not read the whole body of ${key}`);
        files.push({ key, taskStatus: status, md5: body.md5(), rows: body.rows });
      }
    } finally {
      await source.close();
    }
  }

  signal?.throwIfAborted();
  const createdAt = args.now();
  const manifest = buildReportManifest({ bucket, createdAt, files });
  await store.put({ bucket, key: keys.manifestKey }, manifest, { contentType: 'application/json', signal });
  return { writtenAt: createdAt.toISOString(), bucket, manifestKey: keys.manifestKey, files };
}

async function* spoolRows(
  spool: ResultSpool,
  jobId: string,
  chunks: readonly number[],
  status: TaskStatus,
): AsyncGenerator<TaskResult> {
  for (const index of chunks) yield* spool.read(jobId, index, status);
}

/** An async iterator with one row of look-ahead, shared by the consecutive files of a status. */
class RowSource {
  private head: TaskResult | undefined;
  private done = false;

  constructor(private readonly rows: AsyncGenerator<TaskResult>) {}

  async hasNext(): Promise<boolean> {
    if (this.head !== undefined) return true;
    if (this.done) return false;
    const next = await this.rows.next();
    if (next.done === true) {
      this.done = true;
      return false;
    }
    this.head = next.value;
    return true;
  }

  async next(): Promise<TaskResult | undefined> {
    if (!(await this.hasNext())) return undefined;
    const row = this.head;
    this.head = undefined;
    return row;
  }

  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.rows.return(undefined);
  }
}

/** The bytes of one result file: up to maxRows rows taken from the source, hashed as they go. */
class ResultFileBody {
  rows = 0;
  /** True once the store has read to the end. */
  complete = false;
  private readonly hash: Hash = createHash('md5');

  constructor(
    private readonly source: RowSource,
    private readonly maxRows: number,
    private readonly signal: AbortSignal | undefined,
  ) {}

  async *chunks(): AsyncGenerator<Uint8Array> {
    let batch = '';
    while (this.rows < this.maxRows) {
      const row = await this.source.next();
      if (row === undefined) break;
      batch += formatReportRow(row);
      this.rows++;
      if (batch.length >= BATCH_CHARS) {
        yield this.emit(batch);
        batch = '';
      }
    }
    if (batch.length > 0) yield this.emit(batch);
    this.complete = true;
  }

  md5(): string {
    return this.hash.digest('hex');
  }

  private emit(batch: string): Uint8Array {
    this.signal?.throwIfAborted();
    const bytes = Buffer.from(batch, 'utf8');
    this.hash.update(bytes);
    return bytes;
  }
}
