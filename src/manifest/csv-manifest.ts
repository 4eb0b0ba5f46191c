/**
 * Streaming reader of `S3BatchOperations_CSV_20180820` manifests (spec §5.1).
 *
 * Two layers:
 *  - `CsvRowSplitter`: a byte-exact RFC 4180 splitter. It is fed the manifest's bytes in any
 *    slicing and returns complete rows with their absolute byte range and 1-based line, so a
 *    chunk of rows can later be re-read with a ranged GET. It holds at most one row (capped at
 *    MAX_ROW_BYTES), so memory does not grow with the manifest.
 *  - `readCsvManifest`: applies the manifest rules (Spec.Fields, column count, header row,
 *    percent-decoding, key length) and yields decoded TaskEntries.
 *
 * Lines are physical lines (what an editor shows): a row's line is the line its first byte is
 * on; CRLF, LF and a lone CR each end a line, also inside quoted fields.
 */
import { ManifestError, S3BatchError } from '../domain/errors.ts';
import type { ManifestField } from '../domain/job-spec.ts';
import type { TaskEntry } from '../domain/task.ts';

export interface ManifestRow {
  readonly entry: TaskEntry;
  /** Absolute byte offset of the row's first byte. */
  readonly startOffset: number;
  /** Absolute byte offset just past the row's line terminator (or the end of the manifest). */
  readonly endOffset: number;
}

export interface ReadCsvManifestOptions {
  readonly fields: readonly ManifestField[];
  /** Line number of the row starting at `startOffset` (default 1). */
  readonly firstLine?: number | undefined;
  /** Absolute byte offset of the first byte of `source` (default 0). A BOM is only skipped at 0. */
  readonly startOffset?: number | undefined;
}

/** S3's key limit, in UTF-8 bytes of the decoded key. */
export const MAX_KEY_BYTES = 1024;
/** A row longer than this is refused (typically an unterminated quote swallowing the file). */
export const MAX_ROW_BYTES = 64 * 1024;

/** Splitter states: before a row, after a comma, inside an unquoted / a quoted field, after a quote in a quoted field. */
const State = { RowStart: 0, FieldStart: 1, Unquoted: 2, Quoted: 3, QuotedQuote: 4 } as const;
type State = (typeof State)[keyof typeof State];

const CR = 0x0d;
const LF = 0x0a;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BOM = [0xef, 0xbb, 0xbf] as const;

export interface RawRow {
  readonly fields: string[];
  readonly line: number;
  readonly start: number;
  readonly end: number;
}

// ignoreBOM: a BOM inside a field is data (the manifest's own BOM is skipped by the splitter).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Byte-exact RFC 4180 row splitter; see the module comment. */
export class CsvRowSplitter {
  private state: State = State.RowStart;
  /** Absolute offset of the next byte to be pushed. */
  private offset: number;
  /** Physical line of the next byte. */
  private line: number;
  private prevByte = -1;
  private rowBuf = new Uint8Array(256);
  private rowLen = 0;
  private fieldEnds: number[] = [];
  private rowStart = 0;
  private rowLine = 0;
  /** A row ended by CR: emitted once the next byte shows whether an LF belongs to it. */
  private pendingCr: { fields: string[]; line: number; start: number } | undefined;
  /** Rows completed by the current push/end. */
  private out: RawRow[] = [];
  /** BOM detection at offset 0: bytes seen before deciding. */
  private head: Uint8Array | undefined;

  constructor(startOffset = 0, firstLine = 1) {
    this.offset = startOffset;
    this.line = firstLine;
    if (startOffset === 0) this.head = new Uint8Array(0);
  }

  /** Feeds the next bytes; returns the rows they complete, in order. */
  push(bytes: Uint8Array): RawRow[] {
    if (this.head !== undefined) {
      const joined = concat(this.head, bytes);
      if (joined.length < BOM.length && isBomPrefix(joined)) {
        this.head = joined;
        return [];
      }
      this.head = undefined;
      this.feed(this.skipBom(joined));
    } else {
      this.feed(bytes);
    }
    return this.take();
  }

  /** Ends the input; returns the last row when the manifest has no trailing newline. */
  end(): RawRow[] {
    if (this.head !== undefined) {
      const head = this.head;
      this.head = undefined;
      this.feed(this.skipBom(head));
    }
    if (this.pendingCr) {
      const row = this.pendingCr;
      this.out.push({ fields: row.fields, line: row.line, start: row.start, end: this.offset });
      this.pendingCr = undefined;
    }
    switch (this.state) {
      case State.RowStart:
        break;
      case State.Quoted:
        throw new ManifestError('InvalidManifestContent', 'unterminated quoted field', this.rowLine);
      default:
        this.endField();
        this.out.push({ fields: this.takeFields(), line: this.rowLine, start: this.rowStart, end: this.offset });
        this.state = State.RowStart;
    }
    return this.take();
  }

  private take(): RawRow[] {
    const rows = this.out;
    this.out = [];
    return rows;
  }

  private skipBom(bytes: Uint8Array): Uint8Array {
    if (bytes.length >= BOM.length && isBomPrefix(bytes.subarray(0, BOM.length))) {
      this.offset += BOM.length;
      return bytes.subarray(BOM.length);
    }
    return bytes;
  }

  private feed(bytes: Uint8Array): void {
    const out = this.out;
    const n = bytes.length;
    for (let i = 0; i < n; i++) {
      // Fast path: copy a run of plain field bytes at once (the common case by far).
      if ((this.state === State.Unquoted || this.state === State.Quoted) && this.pendingCr === undefined) {
        const stop = this.state === State.Quoted ? QUOTE : COMMA;
        let j = i;
        for (; j < n; j++) {
          const c = bytes[j]!;
          if (c === stop || c === CR || c === LF) break;
        }
        if (j > i) {
          this.appendRun(bytes, i, j);
          this.offset += j - i;
          this.prevByte = bytes[j - 1]!;
          i = j;
          if (i === n) break;
        }
      }

      const b = bytes[i]!;
      const pos = this.offset;
      this.offset = pos + 1;
      const prev = this.prevByte;
      this.prevByte = b;
      // Count physical lines: CR always ends one; LF ends one unless it completes a CRLF.
      const lineOfByte = this.line;
      if (b === CR || (b === LF && prev !== CR)) this.line++;

      if (this.pendingCr !== undefined) {
        const row = this.pendingCr;
        this.pendingCr = undefined;
        if (b === LF) {
          out.push({ fields: row.fields, line: row.line, start: row.start, end: pos + 1 });
          continue;
        }
        out.push({ fields: row.fields, line: row.line, start: row.start, end: pos });
      }

      switch (this.state) {
        case State.RowStart:
          if (b === CR || b === LF) continue; // empty line
          this.rowStart = pos;
          this.rowLine = lineOfByte;
          this.rowLen = 0;
          this.fieldEnds = [];
          this.startField(b);
          break;
        case State.FieldStart:
          this.startField(b);
          break;
        case State.Unquoted:
          if (b === COMMA) {
            this.endField();
            this.state = State.FieldStart;
          } else if (b === CR || b === LF) {
            this.endRow(b, pos);
          } else {
            // A quote inside an unquoted field is kept as data (lenient, like csv-parse relax_quotes).
            this.append(b);
          }
          break;
        case State.Quoted:
          if (b === QUOTE) this.state = State.QuotedQuote;
          else this.append(b);
          break;
        case State.QuotedQuote:
          if (b === QUOTE) {
            this.append(QUOTE);
            this.state = State.Quoted;
          } else if (b === COMMA) {
            this.endField();
            this.state = State.FieldStart;
          } else if (b === CR || b === LF) {
            this.endRow(b, pos);
          } else {
            throw new ManifestError('InvalidManifestContent', 'unexpected character after a closing quote', lineOfByte);
          }
          break;
      }
    }
  }

  /** First byte of a field (the row has started). */
  private startField(b: number): void {
    if (b === QUOTE) {
      this.state = State.Quoted;
    } else if (b === COMMA) {
      this.endField();
      this.state = State.FieldStart;
    } else if (b === CR || b === LF) {
      // only reachable from FieldStart: a trailing comma, then the end of the row
      this.endRow(b, this.offset - 1);
    } else {
      this.append(b);
      this.state = State.Unquoted;
    }
  }

  /** Ends the row at terminator byte `b` (CR or LF) found at offset `pos`. */
  private endRow(b: number, pos: number): void {
    this.endField();
    const fields = this.takeFields();
    this.state = State.RowStart;
    if (b === CR) this.pendingCr = { fields, line: this.rowLine, start: this.rowStart };
    else this.out.push({ fields, line: this.rowLine, start: this.rowStart, end: pos + 1 });
  }

  private append(b: number): void {
    if (this.rowLen === this.rowBuf.length) this.grow(this.rowLen + 1);
    this.rowBuf[this.rowLen++] = b;
  }

  private appendRun(bytes: Uint8Array, from: number, to: number): void {
    const len = this.rowLen + (to - from);
    if (len > this.rowBuf.length) this.grow(len);
    this.rowBuf.set(bytes.subarray(from, to), this.rowLen);
    this.rowLen = len;
  }

  private grow(needed: number): void {
    if (needed > MAX_ROW_BYTES) {
      throw new ManifestError('InvalidManifestContent', `row longer than ${MAX_ROW_BYTES} bytes (unterminated quote?)`, this.rowLine);
    }
    let size = this.rowBuf.length * 2;
    while (size < needed) size *= 2;
    const bigger = new Uint8Array(Math.min(size, MAX_ROW_BYTES));
    bigger.set(this.rowBuf.subarray(0, this.rowLen));
    this.rowBuf = bigger;
  }

  private endField(): void {
    this.fieldEnds.push(this.rowLen);
  }

  private takeFields(): string[] {
    const fields: string[] = [];
    let start = 0;
    for (const end of this.fieldEnds) {
      try {
        fields.push(utf8.decode(this.rowBuf.subarray(start, end)));
      } catch {
        throw new ManifestError('InvalidManifestContent', 'the row is not valid UTF-8', this.rowLine);
      }
      start = end;
    }
    this.fieldEnds = [];
    this.rowLen = 0;
    return fields;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function isBomPrefix(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length && i < BOM.length; i++) if (bytes[i] !== BOM[i]) return false;
  return true;
}

/**
 * Streams the manifest's rows as decoded task entries. Throws ManifestError
 * ('InvalidManifestContent', line) on the first rule violation. An empty manifest yields nothing.
 */
export async function* readCsvManifest(
  source: AsyncIterable<Uint8Array>,
  options: ReadCsvManifestOptions,
): AsyncGenerator<ManifestRow> {
  for await (const batch of readCsvManifestBatches(source, options)) yield* batch;
}

/**
 * The same rows as readCsvManifest, in batches (the rows completed by one buffer of the source):
 * for hot loops that would otherwise pay an async step per row. Batches are never empty.
 */
export async function* readCsvManifestBatches(
  source: AsyncIterable<Uint8Array>,
  options: ReadCsvManifestOptions,
): AsyncGenerator<ManifestRow[]> {
  const layout = fieldLayout(options.fields);
  const startOffset = options.startOffset ?? 0;
  const splitter = new CsvRowSplitter(startOffset, options.firstLine ?? 1);
  // Header detection and the "mixed version-id presence" diagnosis need the manifest's start.
  const state: RowCheckState = { first: startOffset === 0, sawFullRow: false };
  const convert = (raws: RawRow[]): ManifestRow[] => raws.map((raw) => toManifestRow(raw, layout, state));
  for await (const bytes of source) {
    const batch = convert(splitter.push(bytes));
    if (batch.length > 0) yield batch;
  }
  const last = convert(splitter.end());
  if (last.length > 0) yield last;
}

interface FieldLayout {
  readonly fields: readonly ManifestField[];
  readonly bucket: number;
  readonly key: number;
  readonly versionId: number;
}

interface RowCheckState {
  first: boolean;
  sawFullRow: boolean;
}

function fieldLayout(fields: readonly ManifestField[]): FieldLayout {
  const count = (name: ManifestField) => fields.filter((f) => f === name).length;
  const missing = (['Bucket', 'Key'] as const).filter((f) => count(f) === 0);
  if (missing.length > 0) {
    // AWS's wording for the same problem
    throw new ManifestError('InvalidManifestContent', `Required fields are missing in the schema: ${missing.join(', ')}`);
  }
  const repeated = (['Bucket', 'Key', 'VersionId'] as const).filter((f) => count(f) > 1);
  if (repeated.length > 0) {
    throw new ManifestError('InvalidManifestContent', `Spec.Fields lists ${repeated.join(', ')} more than once`);
  }
  return { fields, bucket: fields.indexOf('Bucket'), key: fields.indexOf('Key'), versionId: fields.indexOf('VersionId') };
}

function toManifestRow(raw: RawRow, layout: FieldLayout, state: RowCheckState): ManifestRow {
  const { fields, line } = raw;
  const expected = layout.fields.length;
  if (state.first) {
    state.first = false;
    if (looksLikeHeader(fields, layout.fields)) {
      throw new ManifestError(
        'InvalidManifestContent',
        `the first row (${fields.join(',').slice(0, 60)}) looks like a header row; CSV manifests have no header row, remove it`,
        line,
      );
    }
  }
  if (fields.length !== expected) throw columnCountError(fields.length, layout, state.sawFullRow, line);
  state.sawFullRow = true;

  const bucket = decodeManifestValue(fields[layout.bucket]!, 'bucket', line);
  if (bucket === '') throw new ManifestError('InvalidManifestContent', 'the bucket is empty', line);
  const rawKey = fields[layout.key]!;
  const key = decodeManifestValue(rawKey, 'key', line);
  if (key === '') throw new ManifestError('InvalidManifestContent', 'the key is empty', line);
  const keyBytes = utf8Length(key);
  if (keyBytes > MAX_KEY_BYTES) {
    throw new ManifestError('InvalidManifestContent', `the key is ${keyBytes} bytes long, the maximum is ${MAX_KEY_BYTES}`, line);
  }
  // An empty version id is not a manifest error: that one task fails ("missing VersionId").
  const versionId = layout.versionId < 0 ? undefined : decodeManifestValue(fields[layout.versionId]!, 'versionId', line);
  const entry: TaskEntry = versionId === undefined ? { line, bucket, key, rawKey } : { line, bucket, key, rawKey, versionId };
  return { entry, startOffset: raw.start, endOffset: raw.end };
}

const HEADER_NAMES = ['bucket', 'key', 'versionid'];

/** `Bucket,Key[,VersionId]`, or every named Spec.Fields column holding its own name (case-insensitive). */
function looksLikeHeader(cells: readonly string[], fields: readonly ManifestField[]): boolean {
  const norm = cells.map((c) => c.trim().toLowerCase());
  if ((norm.length === 2 || norm.length === 3) && norm.every((c, i) => c === HEADER_NAMES[i])) return true;
  return fields.every((f, i) => f === 'Ignore' || norm[i] === f.toLowerCase());
}

function columnCountError(found: number, layout: FieldLayout, sawFullRow: boolean, line: number): ManifestError {
  const expected = layout.fields.length;
  const hasVersion = layout.versionId >= 0;
  if (sawFullRow && found === expected + (hasVersion ? -1 : 1)) {
    const detail = hasVersion
      ? 'this row has no VersionId column but earlier rows have one'
      : 'this row has an extra column (a VersionId?) that earlier rows do not have';
    return new ManifestError(
      'InvalidManifestContent',
      `mixed version-id presence: ${detail}; either every row has a version id or none does`,
      line,
    );
  }
  return new ManifestError(
    'InvalidManifestContent',
    `expected ${expected} columns (Spec.Fields ${layout.fields.join(',')}), found ${found}`,
    line,
  );
}

/**
 * Percent-decodes a manifest value as UTF-8 (spec §5.1). In bucket and key values `+` is a space
 * (keys are encoded like Python's `quote_plus`; a literal `+` is `%2B`). In version ids `+` stays
 * `+`: S3 version ids may contain a literal `+` and never a space.
 */
export function decodeManifestValue(raw: string, column: 'bucket' | 'key' | 'versionId', line: number): string {
  const plusIsSpace = column !== 'versionId';
  if (!raw.includes('%') && !(plusIsSpace && raw.includes('+'))) return raw;
  // Works on the string: raw characters are whole (the row was valid UTF-8), so only runs of
  // %XX escapes need UTF-8 decoding; a multi-byte character split between an escape and a raw
  // character is invalid either way.
  let out = '';
  let last = 0;
  let i = 0;
  while (i < raw.length) {
    const c = raw.charCodeAt(i);
    if (c === 0x2b /* + */ && plusIsSpace) {
      out += raw.slice(last, i) + ' ';
      last = ++i;
    } else if (c === 0x25 /* % */) {
      out += raw.slice(last, i);
      const bytes: number[] = [];
      let ascii = true;
      while (i < raw.length && raw.charCodeAt(i) === 0x25) {
        const hi = hexValue(raw.charCodeAt(i + 1));
        const lo = hexValue(raw.charCodeAt(i + 2));
        if (hi < 0 || lo < 0) {
          throw new ManifestError('InvalidManifestContent', `invalid percent-encoding in the ${column} at character ${i + 1}`, line);
        }
        const byte = hi * 16 + lo;
        if (byte >= 0x80) ascii = false;
        bytes.push(byte);
        i += 3;
      }
      if (ascii) {
        out += String.fromCharCode(...bytes);
      } else {
        try {
          out += utf8.decode(Uint8Array.from(bytes));
        } catch {
          throw new ManifestError('InvalidManifestContent', `the ${column} does not decode to valid UTF-8`, line);
        }
      }
      last = i;
    } else {
      i++;
    }
  }
  return out + raw.slice(last);
}

/** Value of a hex digit's char code; -1 for anything else (including NaN past the end). */
function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  return -1;
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4; // a surrogate pair (decoded input is well-formed)
      i++;
    } else n += 3;
  }
  return n;
}

const OBJECT_ARN = /^arn:[a-z0-9-]+:s3:::([^/]+)\/(.+)$/s;
const BUCKET_ARN = /^arn:[a-z0-9-]+:s3:::([^/]+)$/;

/** `arn:{partition}:s3:::{bucket}/{key}`, split at the first `/` after `:::` (spec §5.1). */
export function parseObjectArn(arn: string): { bucket: string; key: string } {
  const m = OBJECT_ARN.exec(arn);
  if (!m) throw new S3BatchError('InvalidRequest', `Invalid object ARN: ${arn} (expected arn:aws:s3:::bucket/key)`);
  return { bucket: m[1]!, key: m[2]! };
}

/** `arn:{partition}:s3:::{bucket}`; a bare bucket name is refused. */
export function parseBucketArn(arn: string): string {
  const m = BUCKET_ARN.exec(arn);
  if (!m) throw new S3BatchError('InvalidRequest', `Invalid bucket ARN: ${arn} (expected arn:aws:s3:::bucket)`);
  return m[1]!;
}
