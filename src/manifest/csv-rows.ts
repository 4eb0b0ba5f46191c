/**
 * Byte-exact RFC 4180 row splitter for CSV manifests (docs/manifests.md#csv-manifest).
 *
 * `CsvRowSplitter` is fed the manifest's bytes in any slicing and returns complete rows with
 * their absolute byte range and 1-based line, so a chunk of rows can later be re-read with a
 * ranged GET. It holds at most one row (capped at MAX_ROW_BYTES), so memory does not grow with
 * the manifest. The manifest rules (columns, header row, decoding) are csv-manifest.ts's job.
 *
 * Lines are physical lines (what an editor shows): a row's line is the line its first byte is
 * on; CRLF, LF and a lone CR each end a line, also inside quoted fields.
 *
 * Two paths give the same rows: a byte-by-byte state machine (feedSlow), and a fast path
 * (feedFast) for runs of plain rows — no quote, no lone CR, valid UTF-8 — which decodes a run at
 * once and splits it with native searches. The state machine takes whatever the fast path leaves,
 * one row at a time. Rows come out as a RowBatch (parallel arrays reused from push to push) or,
 * through push()/end(), as objects. (csv-parse with `info`, whose `info.bytes` would give the byte
 * offsets, was measured as the alternative: slower than even the state machine alone, and about 13
 * times the CPU of the whole preparation with the fast path; bench/prepare.ts, bench/README.md.)
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { ManifestError } from '../domain/errors.ts';
import { utf8 } from './manifest-values.ts';

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

/**
 * The rows one push or end completed, as parallel arrays: no object per row. It belongs to the
 * splitter and is refilled by its next push or end, so read it before that.
 */
export class RowBatch {
  count = 0;
  /** The rows' fields one after the other: row i's are fields[fieldStart[i]] up to fieldStart[i + 1]. */
  readonly fields: string[] = [];
  readonly fieldStart: number[] = [0];
  /** Row i's 1-based line, and its byte range [starts[i], ends[i]). */
  readonly lines: number[] = [];
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  private fieldCount = 0;

  clear(): void {
    this.count = 0;
    this.fieldCount = 0;
  }

  /** Adds a field to the row being added (endRow completes it). */
  field(value: string): void {
    this.fields[this.fieldCount++] = value;
  }

  endRow(line: number, start: number, end: number): void {
    const i = this.count++;
    this.lines[i] = line;
    this.starts[i] = start;
    this.ends[i] = end;
    this.fieldStart[i + 1] = this.fieldCount;
  }

  addRow(fields: readonly string[], line: number, start: number, end: number): void {
    for (const f of fields) this.field(f);
    this.endRow(line, start, end);
  }

  /** Row i's fields, as an array of their own. */
  fieldsOf(i: number): string[] {
    return this.fields.slice(this.fieldStart[i], this.fieldStart[i + 1]);
  }

  /** The rows as objects. */
  toRows(): RawRow[] {
    const rows: RawRow[] = [];
    for (let i = 0; i < this.count; i++) {
      rows.push({ fields: this.fieldsOf(i), line: this.lines[i]!, start: this.starts[i]!, end: this.ends[i]! });
    }
    return rows;
  }
}

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
  private readonly out = new RowBatch();
  /** BOM detection at offset 0: bytes seen before deciding. */
  private head: Uint8Array | undefined;

  constructor(startOffset = 0, firstLine = 1) {
    this.offset = startOffset;
    this.line = firstLine;
    if (startOffset === 0) this.head = new Uint8Array(0);
  }

  /** Feeds the next bytes; returns the rows they complete, in order. */
  push(bytes: Uint8Array): RawRow[] {
    return this.pushBatch(bytes).toRows();
  }

  /** Ends the input; returns the last row when the manifest has no trailing newline. */
  end(): RawRow[] {
    return this.endBatch().toRows();
  }

  /** push(), the rows as a RowBatch (valid until the next call). */
  pushBatch(bytes: Uint8Array): RowBatch {
    this.out.clear();
    if (this.head !== undefined) {
      const joined = concat(this.head, bytes);
      if (joined.length < BOM.length && isBomPrefix(joined)) {
        this.head = joined;
        return this.out;
      }
      this.head = undefined;
      this.feed(this.skipBom(joined));
    } else {
      this.feed(bytes);
    }
    return this.out;
  }

  /** end(), the rows as a RowBatch (valid until the next call). */
  endBatch(): RowBatch {
    this.out.clear();
    if (this.head !== undefined) {
      const head = this.head;
      this.head = undefined;
      this.feed(this.skipBom(head));
    }
    if (this.pendingCr) {
      const row = this.pendingCr;
      this.out.addRow(row.fields, row.line, row.start, this.offset);
      this.pendingCr = undefined;
    }
    switch (this.state) {
      case State.RowStart:
        break;
      case State.Quoted:
        throw new ManifestError('InvalidManifestContent', 'unterminated quoted field', this.rowLine);
      default:
        this.endField();
        this.out.addRow(this.takeFields(), this.rowLine, this.rowStart, this.offset);
        this.state = State.RowStart;
    }
    return this.out;
  }

  private skipBom(bytes: Uint8Array): Uint8Array {
    if (bytes.length >= BOM.length && isBomPrefix(bytes.subarray(0, BOM.length))) {
      this.offset += BOM.length;
      return bytes.subarray(BOM.length);
    }
    return bytes;
  }

  /**
   * Splits bytes, the fast way where it can: runs of complete rows (ending in LF) that start
   * between rows go through feedFast; whatever it leaves (a quote, a lone CR, invalid UTF-8, an
   * overlong row, the partial row at the end) goes through the state machine, one row at a time.
   */
  private feed(input: Uint8Array): void {
    const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const n = bytes.length;
    const lastLf = bytes.lastIndexOf(LF);
    let i = 0;
    while (i < n) {
      if (i <= lastLf && this.state === State.RowStart && this.pendingCr === undefined && this.prevByte !== CR) {
        const fast = this.feedFast(bytes, i, lastLf + 1);
        if (fast.slowTo > fast.next) {
          // invalid UTF-8 ahead: the state machine reports the row (it decodes field by field)
          i = this.feedSlow(bytes, fast.next, fast.slowTo, false);
          continue;
        }
        if (fast.next > i) {
          i = fast.next;
          continue;
        }
      }
      i = this.feedSlow(bytes, i, n, true);
    }
  }

  /**
   * The fast path over complete rows in bytes [from, to) (to is just past an LF; `from` is
   * between rows): no quotes, no lone CR, valid UTF-8, rows within MAX_ROW_BYTES. It decodes the
   * run at once and splits it with string searches, giving exactly what the state machine would:
   * the same fields, lines and byte offsets. It stops before the first row it cannot take;
   * `next` is where it stopped, and `slowTo` > next when the state machine should take the rest of
   * the run (invalid UTF-8 in it).
   */
  private feedFast(bytes: Buffer, from: number, to: number): { next: number; slowTo: number } {
    let end = to;
    const quote = bytes.indexOf(QUOTE, from);
    if (quote !== -1 && quote < end) end = bytes.lastIndexOf(LF, quote) + 1;
    let hasCr = false;
    for (let cr = bytes.indexOf(CR, from); cr !== -1 && cr < end; cr = bytes.indexOf(CR, cr + 1)) {
      if (bytes[cr + 1] !== LF) {
        end = bytes.lastIndexOf(LF, cr) + 1; // a lone CR: its row and the rest go the slow way
        break;
      }
      hasCr = true;
    }
    if (end <= from) return { next: from, slowTo: from };
    const ascii = isAscii(bytes.subarray(from, end));
    if (!ascii && !isUtf8(bytes.subarray(from, end))) return { next: from, slowTo: end };
    const text = bytes.toString(ascii ? 'latin1' : 'utf8', from, end);
    const out = this.out;
    const base = this.offset - from; // absolute offset of bytes[0]
    let line = this.line;
    let p = 0; // in text
    let b = from; // in bytes
    let stoppedAt = end;
    while (p < text.length) {
      const nl = text.indexOf('\n', p);
      const bnl = ascii ? b + (nl - p) : bytes.indexOf(LF, b);
      if (bnl - b > MAX_ROW_BYTES) {
        stoppedAt = b; // the state machine refuses it
        break;
      }
      const stop = hasCr && nl > p && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
      if (stop > p) {
        splitFields(text, p, stop, out);
        out.endRow(line, base + b, base + bnl + 1);
      }
      line++;
      p = nl + 1;
      b = bnl + 1;
    }
    if (stoppedAt > from) {
      this.offset = base + stoppedAt;
      this.line = line;
      this.prevByte = LF;
    }
    return { next: stoppedAt, slowTo: stoppedAt };
  }

  /**
   * The byte-by-byte state machine over bytes [from, to). With `stopAtRow` it returns as soon as
   * it is between rows again (at least one byte consumed), so the fast path can take over; it
   * returns the index of the first byte it did not consume.
   */
  private feedSlow(bytes: Uint8Array, from: number, to: number, stopAtRow: boolean): number {
    const out = this.out;
    const n = to;
    for (let i = from; i < n; i++) {
      if (stopAtRow && i > from && this.state === State.RowStart && this.pendingCr === undefined) return i;
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
          out.addRow(row.fields, row.line, row.start, pos + 1);
          continue;
        }
        out.addRow(row.fields, row.line, row.start, pos);
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
    return n;
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
    else this.out.addRow(fields, this.rowLine, this.rowStart, pos + 1);
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
      throw new ManifestError(
        'InvalidManifestContent',
        `row longer than ${MAX_ROW_BYTES} bytes (unterminated quote?)`,
        this.rowLine,
      );
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

/** Adds the comma-separated fields of text[from, to) (an unquoted row) to `out`. */
function splitFields(text: string, from: number, to: number, out: RowBatch): void {
  for (let p = from; ; ) {
    let c = text.indexOf(',', p);
    if (c === -1 || c > to) c = to;
    out.field(text.slice(p, c));
    if (c === to) return;
    p = c + 1;
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
