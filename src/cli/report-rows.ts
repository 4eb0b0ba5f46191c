/**
 * Completion-report CSV rows as objects, for `s3batch report --failed --json`: streamed through
 * csv-parse (one row at a time, whatever the report's size) and written as one JSON array.
 *
 * The rows put the numeric HTTP status before the error code (docs/reports.md#result-rows), whatever the declared
 * schema's order says; the objects name each column.
 */
import { parse } from 'csv-parse';
import { Readable } from 'node:stream';

export interface ReportRow {
  readonly Bucket: string;
  /** URL-encoded, as the manifest listed it (the report keeps the manifest's encoding). */
  readonly Key: string;
  readonly VersionId: string;
  readonly TaskStatus: string;
  readonly ErrorCode: string;
  /** Null when the column is empty. */
  readonly HTTPStatusCode: number | null;
  readonly ResultMessage: string;
}

const COLUMNS = 7;

/** One row's fields (bucket, key, version, status, HTTP status, error code, message) as an object. */
export function reportRowOf(fields: readonly string[], line?: number): ReportRow {
  if (fields.length !== COLUMNS) {
    throw new Error(
      `Report row${line === undefined ? '' : ` ${line}`} has ${fields.length} columns, expected ${COLUMNS} (Bucket, Key, VersionId, TaskStatus, HTTPStatusCode, ErrorCode, ResultMessage)`,
    );
  }
  const [Bucket = '', Key = '', VersionId = '', TaskStatus = '', http = '', ErrorCode = '', ResultMessage = ''] =
    fields;
  const status = http.trim() === '' ? null : Number(http);
  return {
    Bucket,
    Key,
    VersionId,
    TaskStatus,
    ErrorCode,
    HTTPStatusCode: status !== null && Number.isInteger(status) ? status : null,
    ResultMessage,
  };
}

/** The rows of report CSV bytes (CRLF or LF, RFC 4180 quoting, no header), one at a time. */
export async function* reportRows(csv: AsyncIterable<Uint8Array | string>): AsyncGenerator<ReportRow> {
  const parser = Readable.from(csv, { objectMode: false }).pipe(parse({ relax_column_count: true, info: true }));
  for await (const record of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    yield reportRowOf(record.record, record.info.lines);
  }
}

/**
 * Writes `items` as one JSON array, an element per line, waiting for `write` to drain so a large
 * report never sits in memory. `write` returns false when the destination is full (a Node stream).
 */
export async function writeJsonArray(items: AsyncIterable<unknown>, out: NodeJS.WritableStream): Promise<void> {
  const write = (text: string): Promise<void> => writeDrained(out, text);
  let first = true;
  for await (const item of items) {
    await write(`${first ? '[\n' : ',\n'}${JSON.stringify(item)}`);
    first = false;
  }
  await write(first ? '[]\n' : '\n]\n');
}

/** Writes `chunk` to `out` and, when `out` is full (write returned false), waits for it to drain. */
export async function writeDrained(out: NodeJS.WritableStream, chunk: string | Uint8Array): Promise<void> {
  if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
}
