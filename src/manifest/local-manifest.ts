/**
 * The local task list of jobs whose manifest is not one CSV object: S3 Inventory reports (gzip
 * files, which cannot be read by byte range) and generated manifests (a bucket listing). While
 * preparing, their tasks are written once to a local rows file in the CSV-manifest format
 * (`Bucket,Key[,VersionId]`, URL-encoded keys as the source wrote them), cut into chunks exactly
 * like a CSV manifest, so the engine runs them unchanged: a chunk is a byte range of the rows
 * file, re-read and parsed by readCsvManifest.
 *
 * Both files are append-only, so a job can start on the first chunks while a listing still
 * appends more (followLocalChunks). The index file:
 *
 *   s3batch-local-manifest 1 Bucket,Key[,VersionId]          header
 *   c <index> <start> <end> <firstLine> <count> <found> <listed> <bytes> <cursor>   one per chunk
 *   end <found> <listed> <bytes>                              the list is complete
 *
 * `found`/`listed`/`bytes` are running totals at the end of the chunk (tasks, objects scanned,
 * bytes of the tasks' objects) and `cursor` the URL-encoded last key, so an interrupted listing
 * resumes after it with the same chunks (LocalManifestWriter.open with resume). Crash order: a
 * chunk's rows are appended and fsynced before its index line, and a torn last line or rows past
 * the last indexed chunk are cut off on resume.
 *
 * Index lines have variable length, so a third file makes the index seekable: the offsets file
 * holds, per chunk, where its `c` line starts in the index (8 bytes, float64 little-endian),
 * appended after the line is fsynced and itself fsynced only when the list completes. It is a
 * hint, never trusted: reaching chunk k (the runner resuming at its watermark, the listing
 * resuming after its last chunk) reads entry k — or the last entry, when the file is shorter —
 * and uses it only if the index has a complete line there, just after a newline, that is chunk
 * k's (or that entry's chunk); it then reads on from that line. Anything else (no offsets file:
 * a list written before it; a torn, short, long or stale one after a crash) falls back to
 * reading the index from its start. Resuming a listing cuts the offsets file to the entries it
 * checked and appends the missing ones before writing on.
 *
 * The rows file starts with an empty line, so no chunk starts at offset 0 and the CSV reader's
 * header-row check (meant for user manifests) never sees generated rows.
 */
import type { Chunk } from '../domain/chunk.ts';
import type { ManifestField } from '../domain/job-spec.ts';
import type { TaskEntry } from '../domain/task.ts';
import { FLUSH_CHARS } from '../storage/fs-writes.ts';
import type { AppendOnlyFile, LocalManifestFiles } from '../storage/local-manifest-files.ts';
import { readCsvManifest } from './csv-manifest.ts';

export interface LocalRow {
  readonly bucket: string;
  /** The key URL-encoded (decodeManifestValue gives the key back). */
  readonly rawKey: string;
  readonly versionId?: string | undefined;
}

export interface LocalManifestTotals {
  readonly chunks: number;
  /** Tasks written. */
  readonly found: number;
  /** Objects scanned (listed or read), matched or not. */
  readonly listed: number;
  /** Total size of the tasks' objects, when the source tells sizes. */
  readonly bytes: number;
  /** Last key of the last chunk (a listing resumes after it). */
  readonly cursor: string | undefined;
  readonly complete: boolean;
}

/** The totals of a list with no chunk yet. */
const NO_TOTALS: LocalManifestTotals = {
  chunks: 0,
  found: 0,
  listed: 0,
  bytes: 0,
  cursor: undefined,
  complete: false,
};

const HEADER = 's3batch-local-manifest 1';
/** Bytes per entry of the offsets file. */
const OFFSET_BYTES = 8;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Writes a job's local task list chunk by chunk; see the module comment. */
export class LocalManifestWriter {
  /** Rows of the open chunk not yet appended (at most about FLUSH_BYTES: memory does not grow with the chunk size). */
  private buffer: string[] = [];
  private bufferChars = 0;
  /** Rows of the open chunk (appended or buffered), their bytes appended so far, the cursor and object bytes. */
  private chunkRows = 0;
  private chunkWritten = 0;
  private pendingCursor: string | undefined;
  private pendingBytes = 0;
  /** End of the last complete chunk in the rows file. */
  private rowsEnd: number;
  /** End of the index (where the next chunk's line starts). */
  private indexEnd: number;
  private nextLine: number;
  private totals: {
    chunks: number;
    found: number;
    listed: number;
    bytes: number;
    cursor: string | undefined;
    complete: boolean;
  };

  private constructor(
    private readonly files: LocalManifestFiles,
    readonly fields: readonly ManifestField[],
    private readonly chunkSize: number,
    state: { rowsEnd: number; indexEnd: number; nextLine: number; totals: LocalManifestTotals },
  ) {
    this.rowsEnd = state.rowsEnd;
    this.indexEnd = state.indexEnd;
    this.nextLine = state.nextLine;
    this.totals = { ...state.totals };
  }

  /**
   * Opens the list. With `resume`, a list written earlier with the same fields continues where
   * its last complete chunk ended; otherwise (or when there is none) it starts empty.
   */
  static async open(
    files: LocalManifestFiles,
    options: { fields: readonly ManifestField[]; chunkSize: number; resume: boolean },
  ): Promise<LocalManifestWriter> {
    const { fields, chunkSize } = options;
    if (options.resume) {
      const state = await readIndexState(files, true);
      if (state !== undefined && state.fields.join(',') === fields.join(',')) {
        // Offsets first: an entry is never left pointing past the index it was checked against.
        await files.offsets.truncate(state.offsetsChecked * OFFSET_BYTES);
        await files.rows.truncate(state.rowsEnd);
        await files.index.truncate(state.indexEnd);
        if (state.offsetsMissing.length > 0) {
          await files.offsets.append(encodeOffsets(state.offsetsMissing));
          await files.offsets.sync();
        }
        return new LocalManifestWriter(files, fields, chunkSize, state);
      }
    }
    await files.offsets.truncate(0);
    await files.rows.truncate(0);
    await files.index.truncate(0);
    const header = enc.encode(`${HEADER} ${fields.join(',')}\n`);
    await files.rows.append(enc.encode('\n'));
    await files.index.append(header);
    await files.rows.sync();
    await files.index.sync();
    return new LocalManifestWriter(files, fields, chunkSize, {
      rowsEnd: 1,
      indexEnd: header.length,
      nextLine: 2,
      totals: NO_TOTALS,
    });
  }

  get state(): LocalManifestTotals {
    return { ...this.totals };
  }

  /** Rows added so far, written as chunks or not yet. */
  get rowCount(): number {
    return this.totals.found + this.chunkRows;
  }

  /** Counts objects scanned (matched or not), for the discovery metrics. */
  noteListed(n: number): void {
    this.totals.listed += n;
  }

  /**
   * Adds a task row; returns the chunk it completes (written durably), if any. With `mayCut`
   * false the chunk is not cut after this row even when full (versions of one key stay together,
   * so a resumed listing can start after a whole key).
   */
  async add(row: LocalRow, objectBytes: number, cursorKey?: string, mayCut = true): Promise<Chunk | undefined> {
    const cells = [row.bucket, row.rawKey, ...(this.fields.includes('VersionId') ? [row.versionId ?? ''] : [])];
    const line = `${cells.map(csvCell).join(',')}\n`;
    this.buffer.push(line);
    this.bufferChars += line.length;
    this.chunkRows++;
    this.pendingCursor = cursorKey;
    this.pendingBytes += objectBytes;
    if (this.chunkRows >= this.chunkSize && mayCut) return this.flush();
    if (this.bufferChars >= FLUSH_CHARS) await this.appendBuffer();
    return undefined;
  }

  /** Appends the buffered rows (not yet durable: a chunk is, once flush() wrote its index line). */
  private async appendBuffer(): Promise<void> {
    if (this.buffer.length === 0) return;
    const data = enc.encode(this.buffer.join(''));
    this.buffer = [];
    this.bufferChars = 0;
    await this.files.rows.append(data);
    this.chunkWritten += data.length;
  }

  /** Writes the rows added since the last chunk as a (short) chunk; undefined when there are none. */
  async flush(): Promise<Chunk | undefined> {
    if (this.chunkRows === 0) return undefined;
    await this.appendBuffer();
    const chunk: Chunk = {
      index: this.totals.chunks,
      start: this.rowsEnd,
      end: this.rowsEnd + this.chunkWritten,
      firstLine: this.nextLine,
      count: this.chunkRows,
    };
    await this.files.rows.sync();
    const t = this.totals;
    const found = t.found + chunk.count;
    const bytes = t.bytes + this.pendingBytes;
    const listed = Math.max(t.listed, found);
    const cursor = this.pendingCursor === undefined ? '-' : encodeURIComponent(this.pendingCursor);
    const line = `c ${chunk.index} ${chunk.start} ${chunk.end} ${chunk.firstLine} ${chunk.count} ${found} ${listed} ${bytes} ${cursor}\n`;
    const lineBytes = enc.encode(line);
    await this.files.index.append(lineBytes);
    await this.files.index.sync();
    // After the line is durable, never before: an entry only ever points at a written line.
    await this.files.offsets.append(encodeOffsets([this.indexEnd]));
    this.indexEnd += lineBytes.length;
    this.totals = {
      chunks: t.chunks + 1,
      found,
      listed,
      bytes,
      cursor: this.pendingCursor ?? t.cursor,
      complete: false,
    };
    this.rowsEnd = chunk.end;
    this.nextLine += chunk.count;
    this.chunkRows = 0;
    this.chunkWritten = 0;
    this.pendingBytes = 0;
    this.pendingCursor = undefined;
    return chunk;
  }

  /** Writes the last chunk, then the end mark: the list is complete. Returns the last chunk, if any. */
  async complete(): Promise<Chunk | undefined> {
    const last = await this.flush();
    const t = this.totals;
    const endLine = enc.encode(`end ${t.found} ${t.listed} ${t.bytes}\n`);
    await this.files.index.append(endLine);
    await this.files.index.sync();
    await this.files.offsets.sync();
    this.indexEnd += endLine.length;
    this.totals = { ...t, complete: true };
    return last;
  }

  /** The rows file from its first row to the end of the last chunk (for writing it out elsewhere). */
  rows(): AsyncIterable<Uint8Array> {
    return this.files.rows.read(1, this.rowsEnd);
  }
}

interface IndexState {
  readonly fields: ManifestField[];
  readonly rowsEnd: number;
  readonly indexEnd: number;
  readonly nextLine: number;
  readonly totals: LocalManifestTotals;
  /** Entries of the offsets file that stand (checked, or before the one checked). */
  readonly offsetsChecked: number;
  /** Line offsets of the chunks after those, which the offsets file lacks. */
  readonly offsetsMissing: number[];
}

/** The header's fields and where the header ends; undefined without a valid header. */
async function readHeader(index: AppendOnlyFile): Promise<{ fields: ManifestField[]; end: number } | undefined> {
  for await (const { line, end } of lines(index, 0)) {
    const m = /^s3batch-local-manifest 1 ([A-Za-z,]+)$/.exec(line);
    return m ? { fields: m[1]!.split(',') as ManifestField[], end } : undefined;
  }
  return undefined;
}

/**
 * What the index says, up to its last complete line; undefined without a valid header. With
 * `seek`, reading starts at the last chunk line the offsets file points to, if it checks out
 * (see the module comment), and gives its cursor (else the index is read from its start).
 */
async function readIndexState(files: LocalManifestFiles, seek: boolean): Promise<IndexState | undefined> {
  const header = await readHeader(files.index);
  if (header === undefined) return undefined;
  let state: IndexState = {
    fields: header.fields,
    rowsEnd: 1,
    indexEnd: header.end,
    nextLine: 2,
    totals: NO_TOTALS,
    offsetsChecked: 0,
    offsetsMissing: [],
  };
  const at = seek ? await seekChunkLine(files, Number.MAX_SAFE_INTEGER) : undefined;
  // A chunk written without a cursor takes the one before it: only a read from the start has it.
  if (at !== undefined && (at.parsed.cursor !== undefined || at.parsed.chunk.index === 0)) {
    const { chunk } = at.parsed;
    state = {
      ...state,
      rowsEnd: chunk.start,
      indexEnd: at.offset,
      nextLine: chunk.firstLine,
      totals: { ...NO_TOTALS, chunks: chunk.index },
      offsetsChecked: chunk.index,
    };
  }
  const missing: number[] = [];
  for await (const { line, end } of lines(files.index, state.indexEnd)) {
    const parsed = parseIndexLine(line);
    if (parsed === undefined) break; // a torn or foreign line: everything before it stands
    if (parsed.kind === 'end') {
      state = { ...state, indexEnd: end, totals: { ...state.totals, complete: true } };
      break;
    }
    const { chunk, found, listed, bytes, cursor } = parsed;
    if (chunk.index !== state.totals.chunks || chunk.start !== state.rowsEnd) break;
    if (chunk.index === state.offsetsChecked && at !== undefined && at.offset === state.indexEnd) {
      state = { ...state, offsetsChecked: chunk.index + 1 }; // the entry just checked
    } else {
      missing.push(state.indexEnd);
    }
    state = {
      ...state,
      rowsEnd: chunk.end,
      indexEnd: end,
      nextLine: chunk.firstLine + chunk.count,
      totals: { chunks: chunk.index + 1, found, listed, bytes, cursor: cursor ?? state.totals.cursor, complete: false },
    };
  }
  return { ...state, offsetsMissing: missing };
}

type ChunkLine = Extract<IndexLine, { kind: 'chunk' }>;

/**
 * The index line of chunk k, or of the last chunk before it the offsets file has an entry for,
 * when that entry checks out: it points just past a newline, at a complete line of that chunk.
 * Undefined otherwise (read the index from its start).
 */
async function seekChunkLine(
  files: LocalManifestFiles,
  k: number,
): Promise<{ offset: number; parsed: ChunkLine } | undefined> {
  const entries = Math.floor((await files.offsets.size()) / OFFSET_BYTES);
  if (entries === 0) return undefined;
  const j = Math.min(k, entries - 1);
  const raw = await readBytes(files.offsets, j * OFFSET_BYTES, (j + 1) * OFFSET_BYTES);
  if (raw.length !== OFFSET_BYTES) return undefined;
  const offset = new DataView(raw.buffer, raw.byteOffset, OFFSET_BYTES).getFloat64(0, true);
  if (!Number.isSafeInteger(offset) || offset < 1) return undefined;
  const before = await readBytes(files.index, offset - 1, offset);
  if (before.length !== 1 || before[0] !== 0x0a) return undefined;
  for await (const { line } of lines(files.index, offset)) {
    const parsed = parseIndexLine(line);
    return parsed?.kind === 'chunk' && parsed.chunk.index === j ? { offset, parsed } : undefined;
  }
  return undefined; // no complete line there
}

function encodeOffsets(offsets: readonly number[]): Uint8Array {
  const out = new Uint8Array(offsets.length * OFFSET_BYTES);
  const view = new DataView(out.buffer);
  for (const [i, n] of offsets.entries()) view.setFloat64(i * OFFSET_BYTES, n, true);
  return out;
}

async function readBytes(file: AppendOnlyFile, start: number, end: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const bytes of file.read(start, end)) parts.push(bytes);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

type IndexLine =
  | { kind: 'chunk'; chunk: Chunk; found: number; listed: number; bytes: number; cursor: string | undefined }
  | { kind: 'end'; found: number; listed: number; bytes: number };

function parseIndexLine(line: string): IndexLine | undefined {
  const parts = line.split(' ');
  const num = (s: string | undefined): number => (s !== undefined && /^\d+$/.test(s) ? Number(s) : Number.NaN);
  if (parts[0] === 'end' && parts.length === 4) {
    const [found, listed, bytes] = parts.slice(1).map(num) as [number, number, number];
    return [found, listed, bytes].every(Number.isSafeInteger) ? { kind: 'end', found, listed, bytes } : undefined;
  }
  if (parts[0] !== 'c' || parts.length !== 10) return undefined;
  const n = parts.slice(1, 9).map(num);
  if (!n.every(Number.isSafeInteger)) return undefined;
  const [index, start, end, firstLine, count, found, listed, bytes] = n as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  let cursor: string | undefined;
  try {
    cursor = parts[9] === '-' ? undefined : decodeURIComponent(parts[9]!);
  } catch {
    return undefined;
  }
  return { kind: 'chunk', chunk: { index, start, end, firstLine, count }, found, listed, bytes, cursor };
}

/** Complete lines (without "\n") of the file from byte `from`, with the offset just past each. */
async function* lines(file: AppendOnlyFile, from: number): AsyncGenerator<{ line: string; end: number }> {
  const size = await file.size();
  if (size <= from) return;
  let carry = '';
  let offset = from;
  for await (const bytes of file.read(from, size)) {
    const text = carry + dec.decode(bytes, { stream: true });
    const parts = text.split('\n');
    carry = parts.pop()!;
    for (const line of parts) {
      offset += enc.encode(line).length + 1;
      yield { line, end: offset };
    }
  }
}

/** The field layout of a local list (its header); undefined when there is no list yet. */
export async function readLocalFields(files: LocalManifestFiles): Promise<ManifestField[] | undefined> {
  return (await readHeader(files.index))?.fields;
}

/** What the index says now (for a job resumed after a restart). */
export async function readLocalTotals(files: LocalManifestFiles): Promise<LocalManifestTotals | undefined> {
  return (await readIndexState(files, true))?.totals;
}

export interface FollowOptions {
  readonly signal: AbortSignal;
  /**
   * Resolves when the list may have grown since `ticket` was taken (or at once if it did).
   * `ticket()` is taken before each read, so no append between a read and the wait is missed.
   */
  ticket(): number;
  waitForChange(ticket: number, signal: AbortSignal): Promise<void>;
  /** The first chunk wanted (the ones before it are done): the index is read from there when it can seek. */
  readonly from?: number;
}

/**
 * The chunks of a local list in order, following it while it grows, until its end mark (or the
 * signal aborts: then it just ends).
 */
export async function* followLocalChunks(files: LocalManifestFiles, options: FollowOptions): AsyncGenerator<Chunk> {
  const from = options.from ?? 0;
  let offset = 0;
  let sawHeader = false;
  let expected = 0;
  const at = from > 0 ? await seekChunkLine(files, from) : undefined;
  if (at !== undefined) {
    offset = at.offset;
    sawHeader = true;
    expected = at.parsed.chunk.index;
  }
  for (;;) {
    if (options.signal.aborted) return;
    const ticket = options.ticket();
    let progressed = false;
    for await (const { line, end } of lines(files.index, offset)) {
      offset = end;
      progressed = true;
      if (!sawHeader) {
        sawHeader = true;
        continue;
      }
      const parsed = parseIndexLine(line);
      if (parsed === undefined) throw new Error(`Corrupt local manifest index line: ${JSON.stringify(line)}`);
      if (parsed.kind === 'end') return;
      if (parsed.chunk.index !== expected)
        throw new Error(`Local manifest index: chunk ${parsed.chunk.index} where ${expected} was expected`);
      expected++;
      if (parsed.chunk.index < from) continue;
      yield parsed.chunk;
      if (options.signal.aborted) return;
    }
    if (!progressed) await options.waitForChange(ticket, options.signal);
  }
}

/** The task entries of one chunk of a local list. */
export function readLocalChunk(
  files: LocalManifestFiles,
  fields: readonly ManifestField[],
  chunk: Chunk,
): AsyncIterable<TaskEntry> {
  return (async function* () {
    for await (const row of readCsvManifest(files.rows.read(chunk.start, chunk.end), {
      fields,
      firstLine: chunk.firstLine,
      startOffset: chunk.start,
    })) {
      yield row.entry;
    }
  })();
}

/** RFC 4180 quoting when needed (URL-encoded keys rarely need it; a raw inventory key might). */
function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** A key URL-encoded the way manifests expect it (`/` kept, `+` as %2B so it is not read as a space). */
export function encodeManifestKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/');
}
