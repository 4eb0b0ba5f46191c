/**
 * Streaming reader of `S3BatchOperations_CSV_20180820` manifests (docs/manifests.md#csv-manifest).
 *
 * `readCsvManifest` feeds the bytes to `CsvRowSplitter` (csv-rows.ts: byte ranges and lines of
 * raw rows) and applies the manifest rules (Spec.Fields, column count, header row,
 * percent-decoding via manifest-values.ts, key length), yielding decoded TaskEntries.
 */
import { ManifestError } from '../domain/errors.ts';
import type { ManifestField } from '../domain/job-spec.ts';
import type { TaskEntry } from '../domain/task.ts';
import { CsvRowSplitter, type RawRow } from './csv-rows.ts';
import { decodeManifestValue, utf8Length } from './manifest-values.ts';

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
  const state: RowCheckState = { first: startOffset === 0, sawFullRow: false, rawBucket: undefined, bucket: '' };
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
  /** The last row's bucket column, raw and decoded. */
  rawBucket: string | undefined;
  bucket: string;
}

function fieldLayout(fields: readonly ManifestField[]): FieldLayout {
  const count = (name: ManifestField) => fields.filter((f) => f === name).length;
  const missing = (['Bucket', 'Key'] as const).filter((f) => count(f) === 0);
  if (missing.length > 0) {
    // AWS's wording for the same problem
    throw new ManifestError(
      'InvalidManifestContent',
      `Required fields are missing in the schema: ${missing.join(', ')}`,
    );
  }
  const repeated = (['Bucket', 'Key', 'VersionId'] as const).filter((f) => count(f) > 1);
  if (repeated.length > 0) {
    throw new ManifestError('InvalidManifestContent', `Spec.Fields lists ${repeated.join(', ')} more than once`);
  }
  return {
    fields,
    bucket: fields.indexOf('Bucket'),
    key: fields.indexOf('Key'),
    versionId: fields.indexOf('VersionId'),
  };
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

  // Most rows name the bucket of the row before (often the very same string: csv-rows.ts).
  const rawBucket = fields[layout.bucket]!;
  let bucket: string;
  if (rawBucket === state.rawBucket) {
    bucket = state.bucket;
  } else {
    bucket = decodeManifestValue(rawBucket, 'bucket', line);
    state.rawBucket = rawBucket;
    state.bucket = bucket;
  }
  if (bucket === '') throw new ManifestError('InvalidManifestContent', 'the bucket is empty', line);
  const rawKey = fields[layout.key]!;
  const key = decodeManifestValue(rawKey, 'key', line);
  if (key === '') throw new ManifestError('InvalidManifestContent', 'the key is empty', line);
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short keys need no counting.
  const keyBytes = key.length * 3 <= MAX_KEY_BYTES ? key.length : utf8Length(key);
  if (keyBytes > MAX_KEY_BYTES) {
    throw new ManifestError(
      'InvalidManifestContent',
      `the key is ${keyBytes} bytes long, the maximum is ${MAX_KEY_BYTES}`,
      line,
    );
  }
  // An empty version id is not a manifest error: that one task fails ("missing VersionId").
  const versionId =
    layout.versionId < 0 ? undefined : decodeManifestValue(fields[layout.versionId]!, 'versionId', line);
  const entry: TaskEntry =
    versionId === undefined ? { line, bucket, key, rawKey } : { line, bucket, key, rawKey, versionId };
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
