/**
 * The manifest of a retry (docs/job-lifecycle.md#retry-failed): the failed rows of a job's
 * completion report, optionally only those of some error codes, written as the rows of a CSV
 * manifest. Streams end to end: the report's result files are read one at a time, row by row
 * (csv-parse), and the manifest goes out in batches of about 64 KiB, so a report with millions of
 * failed rows costs a few batches of memory, whatever its size.
 */
import { parse } from 'csv-parse';
import { pipeline, Readable } from 'node:stream';
import { UNKNOWN_FAILURE_CODE } from '../domain/failure-groups.ts';
import { csvField } from '../reports/report-format.ts';

/** A failed row of a report: what a retry needs of it. */
export interface FailedRow {
  readonly bucket: string;
  /** URL-encoded, as the origin's manifest wrote it (the report keeps the manifest's encoding). */
  readonly rawKey: string;
  readonly versionId: string;
  readonly errorCode: string;
}

/** Opens one result file of the report (a GetObject body). */
export type OpenResultFile = () => Promise<AsyncIterable<Uint8Array>>;

/** The failed rows of the report's result files, in file order, one file open at a time. */
export async function* failedRows(files: Iterable<OpenResultFile>): AsyncGenerator<FailedRow> {
  for (const open of files) {
    const parser = parse({ relax_column_count: true });
    // pipeline destroys the parser with the body's error, so the loop below rejects with it.
    pipeline(Readable.from(await open()), parser, () => {});
    for await (const f of parser as AsyncIterable<string[]>) {
      // Report rows: Bucket, Key, VersionId, TaskStatus, HTTPStatusCode, ErrorCode, ResultMessage (docs/reports.md#result-rows).
      if (f[3] !== 'failed') continue;
      yield { bucket: f[0] ?? '', rawKey: f[1] ?? '', versionId: f[2] ?? '', errorCode: f[5] ?? '' };
    }
  }
}

/** Only the rows of these codes (`Unknown`: a row without a code); every row when `codes` is undefined. */
export async function* withCodes(
  rows: AsyncIterable<FailedRow>,
  codes: ReadonlySet<string> | undefined,
): AsyncGenerator<FailedRow> {
  for await (const r of rows) {
    if (codes === undefined || codes.has(r.errorCode === '' ? UNKNOWN_FAILURE_CODE : r.errorCode)) yield r;
  }
}

const BATCH_CHARS = 64 * 1024;

/**
 * The manifest's bytes: one `Bucket,Key[,VersionId]` line per row, in batches. `counted.rows` is
 * the number of rows written so far.
 */
export async function* manifestBody(
  rows: AsyncIterable<FailedRow>,
  withVersion: boolean,
  counted: { rows: number },
): AsyncGenerator<Uint8Array> {
  let batch = '';
  for await (const r of rows) {
    batch += `${csvField(r.bucket)},${csvField(r.rawKey)}${withVersion ? `,${csvField(r.versionId)}` : ''}\n`;
    counted.rows++;
    if (batch.length >= BATCH_CHARS) {
      yield Buffer.from(batch, 'utf8');
      batch = '';
    }
  }
  if (batch !== '') yield Buffer.from(batch, 'utf8');
}

/** The first row, and an iterable of every row (the first one again, then the rest). */
export async function peek<T>(rows: AsyncIterable<T>): Promise<{ first: T; all: AsyncIterable<T> } | undefined> {
  const it = rows[Symbol.asyncIterator]();
  const head = await it.next();
  if (head.done) {
    await it.return?.();
    return undefined;
  }
  return {
    first: head.value,
    all: (async function* () {
      yield head.value;
      for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
    })(),
  };
}
