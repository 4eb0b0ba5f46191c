/**
 * Streaming reader of `S3BatchOperations_CSV_20180820` manifests (docs/manifests.md#csv-manifest).
 *
 * `readCsvManifest` feeds the bytes to `CsvRowSplitter` (csv-rows.ts: byte ranges and lines of
 * raw rows) and applies the manifest rules (Spec.Fields, column count, header row,
 * percent-decoding via manifest-values.ts, key length), yielding decoded TaskEntries.
 * `checkCsvManifestBatches` applies the same rules but yields only each row's line, byte range and
 * bucket, with no object per row: what preparing needs.
 */
import { ManifestError } from '../domain/errors.ts';
import type { ManifestField } from '../domain/job-spec.ts';
import type { TaskEntry } from '../domain/task.ts';
import { CsvRowSplitter, type RowBatch } from './csv-rows.ts';
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
  const { layout, state } = rowRules(options);
  for await (const batch of splitRows(source, options)) {
    const rows: ManifestRow[] = [];
    for (let i = 0; i < batch.count; i++) {
      const line = batch.lines[i]!;
      checkRow(batch, i, layout, state);
      const { bucket, key, rawKey, versionId } = state;
      const entry: TaskEntry =
        versionId === undefined ? { line, bucket, key, rawKey } : { line, bucket, key, rawKey, versionId };
      rows.push({ entry, startOffset: batch.starts[i]!, endOffset: batch.ends[i]! });
    }
    yield rows;
  }
}

/**
 * Rows that passed the manifest rules, as parallel arrays (row i: lines[i], bytes [starts[i],
 * ends[i]), decoded bucket buckets[i]); no object per row. Valid until the next batch is pulled.
 */
export interface CheckedRows {
  readonly count: number;
  readonly lines: readonly number[];
  readonly starts: readonly number[];
  readonly ends: readonly number[];
  readonly buckets: readonly string[];
}

/**
 * The rows of readCsvManifestBatches, checked by the same rules, but only their lines, byte ranges
 * and buckets: for preparing, which counts and cuts rows and needs no task entries. Each batch is
 * valid until the next one is pulled.
 */
export async function* checkCsvManifestBatches(
  source: AsyncIterable<Uint8Array>,
  options: ReadCsvManifestOptions,
): AsyncGenerator<CheckedRows> {
  const { layout, state } = rowRules(options);
  const buckets: string[] = [];
  for await (const batch of splitRows(source, options)) {
    for (let i = 0; i < batch.count; i++) {
      checkRow(batch, i, layout, state);
      buckets[i] = state.bucket;
    }
    yield { count: batch.count, lines: batch.lines, starts: batch.starts, ends: batch.ends, buckets };
  }
}

/**
 * The split rows, a batch per buffer of the source (never an empty one). The batch is the
 * splitter's, refilled when the next one is pulled.
 */
async function* splitRows(
  source: AsyncIterable<Uint8Array>,
  options: ReadCsvManifestOptions,
): AsyncGenerator<RowBatch> {
  const splitter = new CsvRowSplitter(options.startOffset ?? 0, options.firstLine ?? 1);
  for await (const bytes of source) {
    const batch = splitter.pushBatch(bytes);
    if (batch.count > 0) yield batch;
  }
  const last = splitter.endBatch();
  if (last.count > 0) yield last;
}

function rowRules(options: ReadCsvManifestOptions): { layout: FieldLayout; state: RowCheckState } {
  const layout = fieldLayout(options.fields);
  // Header detection and the "mixed version-id presence" diagnosis need the manifest's start.
  const state: RowCheckState = {
    first: (options.startOffset ?? 0) === 0,
    sawFullRow: false,
    rawBucket: undefined,
    bucket: '',
    key: '',
    rawKey: '',
    versionId: undefined,
  };
  return { layout, state };
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
  /** The last row's decoded key, raw key and version id. */
  key: string;
  rawKey: string;
  versionId: string | undefined;
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

/**
 * Applies the manifest rules to row i of the batch; its decoded values are left in `state` (no
 * object made per row).
 */
function checkRow(batch: RowBatch, i: number, layout: FieldLayout, state: RowCheckState): void {
  const line = batch.lines[i]!;
  const first = batch.fieldStart[i]!;
  const count = batch.fieldStart[i + 1]! - first;
  const expected = layout.fields.length;
  if (state.first) {
    state.first = false;
    const cells = batch.fieldsOf(i);
    if (looksLikeHeader(cells, layout.fields)) {
      throw new ManifestError(
        'InvalidManifestContent',
        `the first row (${cells.join(',').slice(0, 60)}) looks like a header row; CSV manifests have no header row, remove it`,
        line,
      );
    }
  }
  if (count !== expected) throw columnCountError(count, layout, state.sawFullRow, line);
  state.sawFullRow = true;
  const fields = batch.fields;

  // Most rows name the bucket of the row before: decode it once.
  const rawBucket = fields[first + layout.bucket]!;
  let bucket: string;
  if (rawBucket === state.rawBucket) {
    bucket = state.bucket;
  } else {
    bucket = decodeManifestValue(rawBucket, 'bucket', line);
    state.rawBucket = rawBucket;
    state.bucket = bucket;
  }
  if (bucket === '') throw new ManifestError('InvalidManifestContent', 'the bucket is empty', line);
  const rawKey = fields[first + layout.key]!;
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
    layout.versionId < 0 ? undefined : decodeManifestValue(fields[first + layout.versionId]!, 'versionId', line);
  state.key = key;
  state.rawKey = rawKey;
  state.versionId = versionId;
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
