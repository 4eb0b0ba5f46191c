/**
 * The line encoding of spooled task results, shared by the file spool (fs-spool.ts) and the S3
 * part spool (s3-part-spool.ts). A line is `[ordinal, bucket, rawKey, versionId, httpStatus,
 * errorCode, message]` + `\n`, with the result's `bytes` as an eighth element when it has them;
 * the status is not in it (the file's, or the part line's one-letter tag). Lines written before
 * ordinals existed have six elements, without the ordinal: they are read, but not resumable.
 */
import { FailureTally } from '../domain/failure-groups.ts';
import { TaskStatus } from '../domain/task.ts';
import type { TaskResult } from '../domain/task.ts';
import type { DurableRows } from './result-spool.ts';

const LF = 0x0a;

/** The line of a result (with its `\n`); without `ordinal` it cannot be resumed from. */
export function encodeSpoolLine(result: TaskResult, ordinal?: number): string {
  const fields = [result.bucket, result.rawKey, result.versionId, result.httpStatus, result.errorCode, result.message];
  const row =
    ordinal === undefined
      ? fields
      : result.bytes === undefined
        ? [ordinal, ...fields]
        : [ordinal, ...fields, result.bytes];
  return `${JSON.stringify(row)}\n`;
}

/** A spool line (without its `\n`): its result, and its ordinal unless the line predates ordinals. */
export function decodeSpoolLine(
  line: string,
  status: TaskStatus,
): { result: TaskResult; ordinal?: number } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v)) return undefined;
  let ordinal: number | undefined;
  let fields: unknown[];
  let bytes: unknown;
  if (v.length === 6) fields = v;
  else if (v.length === 7 || v.length === 8) {
    const o: unknown = v[0];
    if (typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0) return undefined;
    ordinal = o;
    fields = v.slice(1, 7);
    bytes = v[7];
    if (v.length === 8 && (typeof bytes !== 'number' || !Number.isFinite(bytes))) return undefined;
  } else return undefined;
  const [bucket, rawKey, versionId, httpStatus, errorCode, message] = fields;
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
  const result: TaskResult = { bucket, rawKey, versionId, status, httpStatus, errorCode, message };
  const withBytes = typeof bytes === 'number' ? { ...result, bytes } : result;
  return ordinal === undefined ? { result: withBytes } : { result: withBytes, ordinal };
}

/**
 * The lines of a byte stream that end in `\n`, each with the byte offset just past its `\n`; a
 * final piece without it is a torn write and is not yielded.
 */
export async function* completeLines(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<{ text: string; end: number }> {
  let carry: Buffer | undefined;
  let base = 0;
  for await (const bytes of source) {
    const chunk = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let start = 0;
    for (let nl = chunk.indexOf(LF); nl !== -1; nl = chunk.indexOf(LF, start)) {
      const piece = chunk.subarray(start, nl);
      const text = carry === undefined ? piece.toString('utf8') : Buffer.concat([carry, piece]).toString('utf8');
      carry = undefined;
      start = nl + 1;
      yield { text, end: base + start };
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      carry = carry === undefined ? rest : Buffer.concat([carry, rest]);
    }
    base += chunk.length;
  }
}

/** Counts the rows of a chunk for a resume: DurableRows, or false once a row makes it not resumable. */
export class DurableTally {
  private readonly ordinals = new Set<number>();
  private readonly counts = { succeeded: 0, failed: 0 };
  private bytes: number | undefined;
  private readonly failures = new FailureTally();

  /** Adds a decoded row; false when it has no ordinal or repeats one (the chunk is not resumable). */
  add(row: { result: TaskResult; ordinal?: number }): boolean {
    if (row.ordinal === undefined || this.ordinals.has(row.ordinal)) return false;
    this.ordinals.add(row.ordinal);
    this.counts[row.result.status === TaskStatus.Failed ? 'failed' : 'succeeded']++;
    if (row.result.status === TaskStatus.Failed) this.failures.addResult(row.result);
    if (row.result.bytes !== undefined) this.bytes = (this.bytes ?? 0) + row.result.bytes;
    return true;
  }

  rows(): DurableRows {
    const { ordinals, counts, bytes } = this;
    const rows = bytes === undefined ? { ordinals, ...counts } : { ordinals, ...counts, bytes };
    return this.failures.size === 0 ? rows : { ...rows, failures: this.failures.groupsNow() };
  }
}
