// The CSV splitter's fast path (runs of plain rows decoded at once) against its byte-by-byte state
// machine and against csv-parse, over random manifests; the value decoder's no-escape path; and the
// entry-less row check preparing uses against the reader.
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { ManifestError } from '../../src/domain/errors.ts';
import type { ManifestField } from '../../src/domain/job-spec.ts';
import { checkCsvManifestBatches, readCsvManifestBatches } from '../../src/manifest/csv-manifest.ts';
import { CsvRowSplitter, MAX_ROW_BYTES, type RawRow } from '../../src/manifest/csv-rows.ts';
import { decodeManifestValue } from '../../src/manifest/manifest-values.ts';
import { concatBytes } from '../helpers/bytes.ts';

const enc = new TextEncoder();

/** A seeded PRNG (mulberry32): the same cases on every run; r(n) is in [0, n). */
function prng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
  };
}

interface Split {
  readonly rows: RawRow[];
  readonly error?: { code: string; line: number | undefined; message: string };
}

/** Splits `bytes` fed in slices of the sizes `sliceOf` gives (Infinity: whole). */
function split(bytes: Uint8Array, sliceOf: () => number): Split {
  const splitter = new CsvRowSplitter();
  const rows: RawRow[] = [];
  try {
    for (let i = 0; i < bytes.length; ) {
      const n = Math.min(sliceOf(), bytes.length - i);
      rows.push(...splitter.push(bytes.slice(i, i + n)));
      i += n;
    }
    rows.push(...splitter.end());
    return { rows };
  } catch (err) {
    if (!(err instanceof ManifestError)) throw err;
    return { rows, error: { code: err.code, line: err.line, message: err.message } };
  }
}

const whole = (bytes: Uint8Array) => split(bytes, () => Number.POSITIVE_INFINITY);
/** One byte per push: the fast path never sees a complete row, so this is the state machine alone. */
const byteByByte = (bytes: Uint8Array) => split(bytes, () => 1);

const PLAIN = ['obj', 'a/b/c.txt', 'k%20e%2By', 'sp+ace', '日本語', 'é', 'x'.repeat(40), '', 'null', '3/Lf8=+v'];

/** A random field: plain most of the time, sometimes quoted with commas, quotes and line ends. */
function field(r: (n: number) => number, eol: string, quoted: boolean): string {
  const plain = PLAIN[r(PLAIN.length)]!;
  if (!quoted || r(4) !== 0) return plain;
  const inner = [plain, ',', '""', eol, plain].slice(0, 1 + r(5)).join('');
  return `"${inner}"`;
}

function row(r: (n: number) => number, eol: string, quoted: boolean): string {
  return Array.from({ length: 1 + r(4) }, () => field(r, eol, quoted)).join(',');
}

/** A manifest with every line-ending kind, empty lines, a BOM sometimes, and odd bytes now and then. */
function messyManifest(r: (n: number) => number): Uint8Array {
  const parts: (string | number[])[] = [];
  if (r(5) === 0) parts.push([0xef, 0xbb, 0xbf]);
  const rows = r(60);
  for (let i = 0; i < rows; i++) {
    const eol = ['\n', '\r\n', '\r', '\n', '\n', '\r\n', '\n', '\n'][r(8)]!;
    switch (r(rows * 4)) {
      case 0:
        parts.push('b,"unterminated\n'); // unterminated or swallowing the next rows
        break;
      case 1:
        parts.push(`b,"x"y${eol}`); // text after a closing quote
        break;
      case 2:
        parts.push('b,', [0xff, 0xfe], eol); // not UTF-8
        break;
      case 3:
        parts.push('b,', [0xe6, 0x97], eol); // a truncated multi-byte character
        break;
      case 4:
        parts.push(`b,k"q${eol}`); // a quote inside an unquoted field is data
        break;
      case 5:
      case 6:
        parts.push(eol, eol); // empty lines
        break;
      default:
        parts.push(row(r, eol, r(6) === 0), eol);
    }
  }
  if (r(3) === 0) parts.push(row(r, '\n', true)); // no final line end
  return concatBytes(...parts);
}

describe('CsvRowSplitter: fast path = state machine', () => {
  it('gives the same rows, lines, offsets and errors for 400 random manifests in any slicing', () => {
    const r = prng(7);
    let errors = 0;
    for (let c = 0; c < 400; c++) {
      const bytes = messyManifest(r);
      const slow = byteByByte(bytes);
      const fast = whole(bytes);
      expect(fast.error).toEqual(slow.error);
      if (slow.error === undefined) expect(fast.rows).toEqual(slow.rows);
      else errors++;
      const sliced = split(bytes, () => 1 + r(300));
      expect(sliced.error).toEqual(slow.error);
      if (slow.error === undefined) expect(sliced.rows).toEqual(slow.rows);
    }
    // both kinds of case were generated
    expect(errors).toBeGreaterThan(20);
    expect(errors).toBeLessThan(380);
  });

  it('gives the same rows for plain manifests with LF or CRLF, whatever the slicing', () => {
    const r = prng(11);
    for (let c = 0; c < 100; c++) {
      const eol = r(2) === 0 ? '\n' : '\r\n';
      const line = () => (r(20) === 0 ? eol : `${row(r, eol, false)}${eol}`); // empty lines too
      const text = Array.from({ length: 1 + r(300) }, line).join('');
      const bytes = enc.encode(text);
      const slow = byteByByte(bytes);
      expect(slow.error).toBeUndefined();
      expect(whole(bytes)).toEqual(slow);
      expect(split(bytes, () => 1 + r(2000))).toEqual(slow);
    }
  });

  it('refuses an overlong row among plain rows at its own line, on both paths', () => {
    const text = `b,k1\nb,k2\nb,${'x'.repeat(MAX_ROW_BYTES + 10)}\nb,k4\n`;
    const bytes = enc.encode(text);
    const slow = byteByByte(bytes);
    expect(slow.error).toMatchObject({ code: 'InvalidManifestContent', line: 3 });
    expect(whole(bytes).error).toEqual(slow.error);
    expect(split(bytes, () => 4096).error).toEqual(slow.error);
    // just under the limit, the row is read on the fast path
    const fits = enc.encode(`b,k1\nb,${'x'.repeat(MAX_ROW_BYTES - 10)}\nb,k3\n`);
    expect(whole(fits)).toEqual(byteByByte(fits));
    expect(whole(fits).rows).toHaveLength(3);
  });

  it('reports invalid UTF-8 inside a run of plain rows at its line', () => {
    const bytes = concatBytes(...['b,k1\r\nb,k2\n\n', 'b,', [0xc3, 0x28], '\nb,k5\n']);
    const slow = byteByByte(bytes);
    expect(slow.error).toMatchObject({ code: 'InvalidManifestContent', line: 4 });
    expect(whole(bytes).error).toEqual(slow.error);
    expect(split(bytes, () => 5).error).toEqual(slow.error);
  });
});

describe('CsvRowSplitter: against csv-parse', () => {
  it('splits random RFC 4180 manifests into the records csv-parse gives, ending at its info.bytes', () => {
    const r = prng(23);
    for (let c = 0; c < 200; c++) {
      // csv-parse takes one record delimiter per file (the first it sees)
      const eol = r(2) === 0 ? '\n' : '\r\n';
      const lines = Array.from({ length: 1 + r(80) }, () => (r(10) === 0 ? '' : row(r, eol, true)));
      const text = lines.join(eol) + (r(2) === 0 ? eol : '');
      const bytes = enc.encode(text);
      const ours = whole(bytes);
      expect(ours.error).toBeUndefined();
      const theirs = parse(Buffer.from(bytes), {
        info: true,
        relax_column_count: true,
        skip_empty_lines: true,
      }) as { record: string[]; info: { bytes: number } }[];
      expect(ours.rows.map((x) => x.fields)).toEqual(theirs.map((x) => x.record));
      expect(ours.rows.map((x) => x.end)).toEqual(theirs.map((x) => x.info.bytes));
      expect(split(bytes, () => 1 + r(500))).toEqual(ours);
    }
  });
});

describe('decodeManifestValue: values without escapes', () => {
  /** The decoding rules spelled out with the platform's decoder (the reference). */
  function reference(raw: string, plusIsSpace: boolean): string {
    return decodeURIComponent(plusIsSpace ? raw.replace(/\+/g, ' ') : raw);
  }

  it('returns values without % or + as they are, and decodes escaped ones like decodeURIComponent', () => {
    const r = prng(5);
    const alphabet = ['a', 'Z', '0', '/', '-', '_', '.', '~', ' ', '日', 'é', '😀', '%', '+', '=', '!', "'", '('];
    for (let c = 0; c < 2000; c++) {
      const key = Array.from({ length: r(20) }, () => alphabet[r(alphabet.length)]!).join('');
      const plain = key.replace(/[%+]/g, '');
      expect(decodeManifestValue(plain, 'key', 1)).toBe(plain);
      expect(decodeManifestValue(plain, 'versionId', 1)).toBe(plain);
      // the same key percent-encoded (with + for spaces, as manifests write them) comes back whole
      const encoded = encodeURIComponent(key).replace(/%20/g, '+');
      expect(decodeManifestValue(encoded, 'key', 1)).toBe(key);
      expect(decodeManifestValue(encoded, 'key', 1)).toBe(reference(encoded, true));
      const version = encodeURIComponent(key);
      expect(decodeManifestValue(version, 'versionId', 1)).toBe(reference(version, false));
    }
  });
});

describe('checkCsvManifestBatches', () => {
  const fieldsOf = (r: (n: number) => number): ManifestField[] =>
    [
      ['Bucket', 'Key'],
      ['Bucket', 'Key', 'VersionId'],
      ['Ignore', 'Key', 'Bucket'],
    ][r(3)] as ManifestField[];

  /** A random manifest of mostly valid rows, with a bad one (wrong column count, bad escape, empty key) now and then. */
  function manifest(r: (n: number) => number, width: number): Uint8Array {
    const rows: string[] = [];
    const n = 1 + r(400);
    for (let i = 0; i < n; i++) {
      const cells = Array.from({ length: width }, (_, j) => (j === 0 ? `bucket${r(3)}` : PLAIN[r(PLAIN.length)]!));
      if (r(300) === 0) cells.push('extra');
      if (r(300) === 0) cells[1] = 'bad%zz';
      rows.push(cells.join(','), ['\n', '\r\n', '\n\n'][r(3)]!);
    }
    return enc.encode(rows.join(''));
  }

  async function* slices(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
  }

  it('checks rows like readCsvManifestBatches: same lines, byte ranges, buckets and errors', async () => {
    const r = prng(31);
    for (let c = 0; c < 150; c++) {
      const fields = fieldsOf(r);
      const bytes = manifest(r, fields.length);
      const size = 1 + r(3000);
      const expected: { line: number; start: number; end: number; bucket: string }[] = [];
      let expectedError: unknown;
      try {
        for await (const batch of readCsvManifestBatches(slices(bytes, size), { fields })) {
          for (const row of batch) {
            expected.push({
              line: row.entry.line,
              start: row.startOffset,
              end: row.endOffset,
              bucket: row.entry.bucket,
            });
          }
        }
      } catch (err) {
        expectedError = err;
      }
      const got: typeof expected = [];
      let gotError: unknown;
      try {
        for await (const rows of checkCsvManifestBatches(slices(bytes, size), { fields })) {
          for (let i = 0; i < rows.count; i++) {
            got.push({ line: rows.lines[i]!, start: rows.starts[i]!, end: rows.ends[i]!, bucket: rows.buckets[i]! });
          }
        }
      } catch (err) {
        gotError = err;
      }
      expect(got).toEqual(expected);
      expect(gotError).toEqual(expectedError);
      if (expectedError !== undefined) expect(gotError).toBeInstanceOf(ManifestError);
    }
  });
});
