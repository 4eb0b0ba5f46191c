/**
 * ResultSpool in S3, for the scale-out mode: the workers that run a job's chunks are on other
 * machines than the finalizer that writes its report, so each chunk's results go to one part
 * object under the job's report prefix (docs/reports.md#layout):
 *
 *   <prefix>/job-<jobId>/parts/<chunk index, 10 digits>.jsonl      (no prefix: job-<jobId>/parts/…)
 *
 * The name is fixed per chunk, so a redo of the chunk (a worker killed, a stop, a second worker
 * running it after a stall) overwrites the part: never two parts for one chunk. A part holds every
 * row of the chunk, both statuses, in append order; a line is the status's letter (`s`, `f`)
 * followed by the file spool's line (spool-lines.ts: the ordinal first). The finalizer reads the
 * parts (as it reads the file spool's files) and the engine's cleanup removes them (removeJob).
 *
 * Writing: a writer buffers its chunk's rows in memory — at most one chunk, the engine's chunk
 * size (`--chunk-size`) rows — and writes the part with one PUT in close(); nothing is durable
 * before: a chunk cut short by a crash is redone from its last closed part. abort() writes nothing
 * and removes the part (the file spool keeps nothing either). Opening with `resume` reads the part
 * back (one GET, at most one chunk) and keeps its rows: close() writes them and the new ones. A
 * part whose lines are corrupt, lack ordinals or repeat one is not resumable: the chunk starts
 * afresh, as the file spool's does. A last line without its `\n` (which a PUT cannot leave, but a
 * foreign writer could) is dropped, as the file spool drops a torn line.
 *
 * `locate(jobId)` says where a job's parts go: the report bucket and prefix and the object store of
 * the job's storage profile (engine/part-location.ts builds it from CreateJob requests). A job without a
 * report (Report.Enabled false) has no location: its spool keeps nothing (the counts travel with
 * the chunk's outcome), reads yield nothing and durable() is undefined. Locations are remembered
 * per job, so removeJob still finds the parts of a job whose record was just removed.
 *
 * Transient S3 errors (5xx, throttling, network) of each request are retried with backoff
 * (domain/backoff.ts), on top of the control client's own retries; a read cut mid-body continues
 * with a ranged GET pinned to the part's ETag.
 */
import { S3BatchError } from '../domain/errors.ts';
import { TaskStatus } from '../domain/task.ts';
import type { TaskResult } from '../domain/task.ts';
import { backoffDelay, type RetryPolicy, retryCall, type Sleep } from '../domain/backoff.ts';
import { ObjectStoreError, type ObjectRef, type ObjectStore } from './object-store.ts';
import type { DurableRows, ResultSpool, SpoolOpenOptions, SpoolWriter } from './result-spool.ts';
import { describeS3Error, isRetryable } from './s3-error-classification.ts';
import { completeLines, decodeSpoolLine, DurableTally, encodeSpoolLine } from './spool-lines.ts';

/** Where a job's parts go. */
export interface PartLocation {
  /** The object store of the job's storage profile. */
  readonly objects: ObjectStore;
  /** The report bucket's name (not its ARN). */
  readonly bucket: string;
  /** The report prefix as the request gave it ('' or undefined: none). */
  readonly prefix?: string | undefined;
}

/** The job's part location; undefined when the job keeps no parts (its report is disabled). */
export type PartLocator = (jobId: string) => PartLocation | undefined | Promise<PartLocation | undefined>;

export interface S3PartSpoolOptions {
  /** Retries of each S3 request on a transient error (default PART_RETRY). */
  readonly retry?: RetryPolicy | undefined;
  /** The backoff's clock (default: the real timer). */
  readonly sleep?: Sleep | undefined;
}

/** Default retries of a part's requests: 4 attempts, backoff up to 0.25 s, 0.5 s, 1 s. */
export const PART_RETRY: RetryPolicy = Object.freeze({ maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 4_000 });

const SAFE_JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const PART_SUFFIX = '.jsonl';
const PART_NAME = /^\d+\.jsonl$/;
const STATUS_TAG = { [TaskStatus.Succeeded]: 's', [TaskStatus.Failed]: 'f' } as const;
/** Locations remembered (the oldest are forgotten past this many jobs). */
const MAX_REMEMBERED_JOBS = 10_000;
const EMPTY = Buffer.alloc(0);

/** `<prefix>/job-<jobId>/parts/` (with the trailing slash): every part of the job is under it. */
export function partsPrefix(prefix: string | undefined, jobId: string): string {
  if (!SAFE_JOB_ID.test(jobId)) {
    throw new S3BatchError('InternalServiceException', `Job id ${JSON.stringify(jobId)} is not usable in a part name`);
  }
  // The report's `<prefix>/job-<id>` (reports/report-format.ts reportKeys): trailing slashes dropped.
  const trimmed = prefix?.replace(/\/+$/, '') ?? '';
  return trimmed === '' ? `job-${jobId}/parts/` : `${trimmed}/job-${jobId}/parts/`;
}

/** The key of a chunk's part: `<prefix>/job-<jobId>/parts/<chunk index, zero-padded to 10>.jsonl`. */
export function partKey(prefix: string | undefined, jobId: string, chunkIndex: number): string {
  if (!Number.isSafeInteger(chunkIndex) || chunkIndex < 0) {
    throw new S3BatchError('InternalServiceException', `Invalid chunk index ${chunkIndex}`);
  }
  return `${partsPrefix(prefix, jobId)}${String(chunkIndex).padStart(10, '0')}${PART_SUFFIX}`;
}

/** A part line: the status's letter and the spool line. */
function encodePartLine(result: TaskResult, ordinal?: number): string {
  return (
    STATUS_TAG[result.status === TaskStatus.Failed ? TaskStatus.Failed : TaskStatus.Succeeded] +
    encodeSpoolLine(result, ordinal)
  );
}

function decodePartLine(line: string): { result: TaskResult; ordinal?: number } | undefined {
  const tag = line[0];
  const status = tag === 's' ? TaskStatus.Succeeded : tag === 'f' ? TaskStatus.Failed : undefined;
  return status === undefined ? undefined : decodeSpoolLine(line.slice(1), status);
}

/** Whether a failed request is worth another attempt (5xx, throttling, network). */
function transient(err: unknown): boolean {
  if (err instanceof ObjectStoreError) return isRetryable(err.httpStatus, err.code);
  return describeS3Error(err).retryable;
}

function isMissing(err: unknown): boolean {
  return err instanceof ObjectStoreError && err.httpStatus === 404 && err.code !== 'NoSuchBucket';
}

interface Target {
  readonly objects: ObjectStore;
  readonly ref: ObjectRef;
}

/** What a part holds for a resume: its complete lines' bytes and their rows (undefined: not resumable). */
interface PartScan {
  readonly kept: Buffer;
  readonly rows: DurableRows | undefined;
}

export class S3PartSpool implements ResultSpool {
  private readonly located = new Map<string, PartLocation>();
  /**
   * Per job, per chunk, the status a part read whole had no row of: the report reads every part
   * once per status, and the second read of a part without failed rows (the usual case) needs no
   * request. One small entry per chunk of the jobs being reported; dropped with the job's parts.
   */
  private readonly without = new Map<string, Map<number, TaskStatus>>();
  private readonly policy: RetryPolicy;
  private readonly sleep: Sleep;

  constructor(
    private readonly locate: PartLocator,
    options: S3PartSpoolOptions = {},
  ) {
    this.policy = options.retry ?? PART_RETRY;
    this.sleep = options.sleep ?? timerSleep;
  }

  async open(jobId: string, chunkIndex: number, options?: SpoolOpenOptions): Promise<SpoolWriter> {
    this.without.get(jobId)?.delete(chunkIndex);
    const target = await this.target(jobId, chunkIndex);
    if (target === undefined) return new DroppingWriter();
    let scan: PartScan | undefined;
    if (options?.resume === true) scan = await this.scan(target);
    // Without resume (or with a part that cannot be resumed) the chunk starts afresh.
    else await this.retrying(() => deleteKey(target));
    const resumed = scan?.rows;
    return new PartWriter(
      (body) => this.retrying(() => target.objects.put(target.ref, body, { contentType: 'application/x-ndjson' })),
      () => this.retrying(() => deleteKey(target)),
      resumed === undefined ? EMPTY : (scan?.kept ?? EMPTY),
      resumed,
    );
  }

  async durable(jobId: string, chunkIndex: number): Promise<DurableRows | undefined> {
    const target = await this.target(jobId, chunkIndex);
    return target === undefined ? undefined : (await this.scan(target))?.rows;
  }

  async *read(jobId: string, chunkIndex: number, status: TaskStatus): AsyncGenerator<TaskResult> {
    if (this.without.get(jobId)?.get(chunkIndex) === status) return;
    const target = await this.target(jobId, chunkIndex);
    if (target === undefined) return;
    let lineNo = 0;
    const other = status === TaskStatus.Succeeded ? TaskStatus.Failed : TaskStatus.Succeeded;
    let otherSeen = false;
    for await (const { text } of completeLines(this.body(target))) {
      lineNo++;
      const row = decodePartLine(text);
      if (row === undefined) {
        throw new S3BatchError(
          'InternalServiceException',
          `Result part s3://${target.ref.bucket}/${target.ref.key} is corrupt at line ${lineNo}`,
        );
      }
      if (row.result.status === status) yield row.result;
      else otherSeen = true;
    }
    let chunks = this.without.get(jobId);
    if (!chunks) this.without.set(jobId, (chunks = new Map()));
    if (otherSeen) chunks.delete(chunkIndex);
    else chunks.set(chunkIndex, other);
  }

  async chunks(jobId: string): Promise<number[]> {
    const where = await this.where(jobId);
    if (where === undefined) return [];
    const prefix = partsPrefix(where.prefix, jobId);
    return this.retrying(async () => {
      const indices: number[] = [];
      for await (const page of listOf(where)(where.bucket, { prefix })) {
        for (const o of page)
          if (isPartOf(prefix, o.key)) indices.push(Number(o.key.slice(prefix.length, -PART_SUFFIX.length)));
      }
      return indices.sort((a, b) => a - b);
    });
  }

  async discard(jobId: string, chunkIndex: number): Promise<void> {
    this.without.get(jobId)?.delete(chunkIndex);
    const target = await this.target(jobId, chunkIndex);
    if (target !== undefined) await this.retrying(() => deleteKey(target));
  }

  async removeJob(jobId: string): Promise<void> {
    this.without.delete(jobId);
    const where = await this.where(jobId);
    if (where === undefined) return;
    const prefix = partsPrefix(where.prefix, jobId);
    const deleteKeys = deleterOf(where.objects);
    // Page by page (≤ 1,000 keys a DeleteObjects), only the parts' names; a retry lists again what is left.
    await this.retrying(async () => {
      for await (const page of listOf(where)(where.bucket, { prefix })) {
        const keys = page.map((o) => o.key).filter((k) => isPartOf(prefix, k));
        if (keys.length > 0) await deleteKeys(where.bucket, keys);
      }
    });
    this.located.delete(jobId);
  }

  private retrying<T>(call: () => Promise<T>): Promise<T> {
    return retryCall(call, transient, this.policy, this.sleep);
  }

  private async where(jobId: string): Promise<PartLocation | undefined> {
    const known = this.located.get(jobId);
    if (known !== undefined) return known;
    const found = await this.locate(jobId);
    if (found !== undefined) {
      this.located.set(jobId, found);
      if (this.located.size > MAX_REMEMBERED_JOBS) {
        const oldest = this.located.keys().next().value;
        if (oldest !== undefined) this.located.delete(oldest);
      }
    }
    return found;
  }

  private async target(jobId: string, chunkIndex: number): Promise<Target | undefined> {
    const where = await this.where(jobId);
    if (where === undefined) return undefined;
    return { objects: where.objects, ref: { bucket: where.bucket, key: partKey(where.prefix, jobId, chunkIndex) } };
  }

  /** Reads a whole part (one chunk) for a resume; undefined when there is none. */
  private async scan(target: Target): Promise<PartScan | undefined> {
    let bytes: Buffer;
    try {
      bytes = await this.retrying(async () => {
        const opened = await target.objects.open(target.ref);
        const pieces: Uint8Array[] = [];
        for await (const piece of opened.body) pieces.push(piece);
        return Buffer.concat(pieces);
      });
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    const tally = new DurableTally();
    let end = 0;
    for await (const line of completeLines([bytes])) {
      const row = decodePartLine(line.text);
      if (row === undefined || !tally.add(row)) return { kept: EMPTY, rows: undefined };
      end = line.end;
    }
    // A torn last line is cut off, so the next row starts on a line of its own.
    return { kept: bytes.subarray(0, end), rows: tally.rows() };
  }

  /** The part's bytes as they arrive; a body cut by a transient error goes on with a ranged GET. */
  private async *body(target: Target): AsyncGenerator<Uint8Array> {
    let opened = await this.retrying(() => target.objects.open(target.ref));
    const { etag, size } = opened;
    let got = 0;
    for (let cuts = 1; ; cuts++) {
      try {
        for await (const piece of opened.body) {
          got += piece.length;
          yield piece;
        }
        return;
      } catch (err) {
        if (got >= size) return;
        if (!transient(err) || cuts >= this.policy.maxAttempts) throw err;
      }
      await this.sleep(backoffDelay(cuts, this.policy));
      opened = await this.retrying(() =>
        target.objects.open(target.ref, { ifMatch: etag, range: { start: got, end: size - 1 } }),
      );
    }
  }
}

/** A part's key (not any other key a user put under the parts folder). */
function isPartOf(prefix: string, key: string): boolean {
  return key.startsWith(prefix) && PART_NAME.test(key.slice(prefix.length));
}

const timerSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function listOf(where: PartLocation): NonNullable<ObjectStore['list']> {
  const list = where.objects.list;
  if (list === undefined) {
    throw new S3BatchError('InternalServiceException', `The object store of s3://${where.bucket} cannot list parts`);
  }
  return list.bind(where.objects);
}

function deleterOf(objects: ObjectStore): NonNullable<ObjectStore['deleteKeys']> {
  const deleteKeys = objects.deleteKeys;
  if (deleteKeys === undefined) {
    throw new S3BatchError('InternalServiceException', 'The object store of the report bucket cannot delete parts');
  }
  return deleteKeys.bind(objects);
}

function deleteKey(target: Target): Promise<void> {
  return deleterOf(target.objects)(target.ref.bucket, [target.ref.key]);
}

/** A chunk's writer: its rows in memory until close() writes the part. */
class PartWriter implements SpoolWriter {
  private readonly lines: string[] = [];
  private ended = false;

  constructor(
    /** Writes the part (one PUT). */
    private readonly write: (body: Buffer) => Promise<unknown>,
    /** Deletes the part. */
    private readonly remove: () => Promise<void>,
    /** The resumed rows' lines. */
    private readonly kept: Buffer,
    readonly resumed: DurableRows | undefined,
  ) {}

  append(result: TaskResult, ordinal?: number): void {
    if (this.ended) throw new Error('Spool writer is already closed');
    this.lines.push(encodePartLine(result, ordinal));
  }

  ready(): undefined {
    return undefined; // the rows wait in memory (one chunk at most) until close()
  }

  async close(): Promise<void> {
    if (this.ended) throw new Error('Spool writer is already closed');
    this.ended = true;
    const added = Buffer.from(this.lines.join(''), 'utf8');
    this.lines.length = 0;
    await this.write(this.kept.length === 0 ? added : Buffer.concat([this.kept, added]));
  }

  async abort(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.lines.length = 0;
    await this.remove();
  }
}

/** The writer of a job that keeps no parts (its report is disabled): rows are only counted by the caller. */
class DroppingWriter implements SpoolWriter {
  readonly resumed = undefined;
  private ended = false;

  append(): void {
    if (this.ended) throw new Error('Spool writer is already closed');
  }

  ready(): undefined {
    return undefined;
  }

  async close(): Promise<void> {
    if (this.ended) throw new Error('Spool writer is already closed');
    this.ended = true;
  }

  async abort(): Promise<void> {
    this.ended = true;
  }
}
