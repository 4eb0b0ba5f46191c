/**
 * S3 Inventory report manifests, `S3InventoryReport_CSV_20161130` (docs/manifests.md#inventory-report): the job's
 * Location points at the inventory's `manifest.json`, which lists gzip-compressed CSV data files
 * and names their columns in `fileSchema`. Preparing reads manifest.json (ETag-pinned, like a CSV
 * manifest), then streams each data file — MD5 of the compressed bytes checked against
 * `MD5checksum`, gunzipped, split into rows — and writes the tasks to the job's local task list
 * (local-manifest.ts), which the engine runs like a CSV manifest. Memory stays constant: one
 * buffer of a data file and one row at a time.
 *
 * Only CSV inventories are accepted (ORC and Parquet are refused, as AWS does). Columns are found
 * by name: Bucket and Key are required, VersionId and Size are used when present. Keys are
 * URL-encoded in inventory files and kept so (the report echoes them); an empty VersionId in an
 * all-versions inventory (a null version) makes that one task fail, as AWS does.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ManifestError, manifestTooLarge } from '../domain/errors.ts';
import type { ManifestField } from '../domain/job-spec.ts';
import { stripQuotes, type ObjectStore } from '../storage/object-store.ts';
import { parseBucketArn, parseObjectArn } from './arn.ts';
import { MAX_KEY_BYTES } from './csv-manifest.ts';
import { CsvRowSplitter } from './csv-rows.ts';
import type { LocalManifestWriter, LocalRow } from './local-manifest.ts';
import { decodeManifestValue, utf8Length } from './manifest-values.ts';
import { mapStoreError, type ManifestLocation } from './prepare-manifest.ts';

/** manifest.json is small (a list of data files); anything bigger is not an inventory manifest. */
const MAX_MANIFEST_JSON_BYTES = 16 * 1024 * 1024;

export interface InventoryFile {
  readonly key: string;
  readonly size: number;
  readonly md5: string;
}

export interface InventoryManifest {
  /** Column names of the data files, in order. */
  readonly schema: readonly string[];
  readonly files: readonly InventoryFile[];
  /** Bucket holding the data files (`destinationBucket`), when manifest.json names it. */
  readonly destinationBucket: string | undefined;
}

export interface InventoryLayout {
  readonly columns: number;
  readonly bucket: number;
  readonly key: number;
  /** -1 when the schema has no VersionId column. */
  readonly versionId: number;
  /** -1 when the schema has no Size column. */
  readonly size: number;
}

function invalid(message: string, line?: number): never {
  throw new ManifestError('InvalidManifestContent', message, line);
}

/** Parses and validates manifest.json. */
export function parseInventoryManifest(text: string): InventoryManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    invalid('The inventory manifest.json is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    invalid('The inventory manifest.json must be a JSON object');
  const m = json as Record<string, unknown>;
  if (m.fileFormat !== 'CSV') {
    const format = typeof m.fileFormat === 'string' ? m.fileFormat : 'missing';
    invalid(
      `The inventory's fileFormat is ${format}; only CSV inventory reports can be used as a manifest (ORC and Parquet cannot)`,
    );
  }
  if (typeof m.fileSchema !== 'string' || m.fileSchema.trim() === '')
    invalid('The inventory manifest.json has no fileSchema');
  const schema = m.fileSchema.split(',').map((c) => c.trim());
  if (!Array.isArray(m.files) || m.files.length === 0)
    invalid('The inventory manifest.json lists no data files (files[])');
  const files = m.files.map((f: unknown, i: number): InventoryFile => {
    const e = (typeof f === 'object' && f !== null ? f : {}) as Record<string, unknown>;
    if (typeof e.key !== 'string' || e.key === '') invalid(`files[${i}].key is missing in the inventory manifest.json`);
    const size = typeof e.size === 'string' ? Number(e.size) : e.size;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
      invalid(`files[${i}].size is missing or not a byte count`);
    if (typeof e.MD5checksum !== 'string' || !/^[0-9a-fA-F]{32}$/.test(e.MD5checksum))
      invalid(`files[${i}].MD5checksum is missing or not an MD5 hex digest`);
    return { key: e.key, size, md5: e.MD5checksum.toLowerCase() };
  });
  let destinationBucket: string | undefined;
  if (m.destinationBucket !== undefined) {
    if (typeof m.destinationBucket !== 'string')
      invalid('destinationBucket in the inventory manifest.json must be a bucket ARN');
    try {
      destinationBucket = parseBucketArn(m.destinationBucket);
    } catch {
      invalid(`destinationBucket ${m.destinationBucket} in the inventory manifest.json is not a bucket ARN`);
    }
  }
  return { schema, files, destinationBucket };
}

/** Finds the columns by name (case-insensitive); Bucket and Key are required. */
export function inventoryLayout(schema: readonly string[]): InventoryLayout {
  const find = (name: string): number => schema.findIndex((c) => c.toLowerCase() === name.toLowerCase());
  const bucket = find('Bucket');
  const key = find('Key');
  const missing = [bucket < 0 ? 'Bucket' : '', key < 0 ? 'Key' : ''].filter(Boolean);
  // AWS's wording for the same problem
  if (missing.length > 0) invalid(`Required fields are missing in the schema: ${missing.join(', ')}`);
  return { columns: schema.length, bucket, key, versionId: find('VersionId'), size: find('Size') };
}

/** The task-list fields an inventory with this layout produces. */
export function inventoryFields(layout: InventoryLayout): ManifestField[] {
  return layout.versionId >= 0 ? ['Bucket', 'Key', 'VersionId'] : ['Bucket', 'Key'];
}

export interface InventoryRow {
  readonly row: LocalRow;
  /** The decoded key. */
  readonly key: string;
  /** The object's size from the Size column, 0 without one. */
  readonly size: number;
}

/**
 * Rows of one gzip CSV data file, in batches (one per decompressed buffer). The MD5 of the
 * compressed bytes is checked when the file ends: a mismatch throws ManifestChecksumMismatch
 * (the caller has not started any task yet: inventory jobs run only once fully prepared).
 */
export async function* readInventoryDataFile(
  body: AsyncIterable<Uint8Array>,
  file: InventoryFile,
  layout: InventoryLayout,
): AsyncGenerator<InventoryRow[]> {
  const md5 = createHash('md5');
  let compressed = 0;
  async function* hashed(): AsyncGenerator<Uint8Array> {
    for await (const bytes of body) {
      md5.update(bytes);
      compressed += bytes.length;
      yield bytes;
    }
  }
  const source = Readable.from(hashed(), { objectMode: false });
  const gunzip = createGunzip();
  source.on('error', (err) => gunzip.destroy(err));
  source.pipe(gunzip);
  const splitter = new CsvRowSplitter(0, 1);
  const where = (line: number): string => `${file.key}, line ${line}`;
  const convert = (raws: ReturnType<CsvRowSplitter['push']>): InventoryRow[] =>
    raws.map((raw) => {
      const f = raw.fields;
      if (f.length !== layout.columns)
        invalid(`${where(raw.line)}: expected ${layout.columns} columns (fileSchema), found ${f.length}`);
      const bucket = decodeManifestValue(f[layout.bucket]!, 'bucket', raw.line);
      const rawKey = f[layout.key]!;
      const key = decodeManifestValue(rawKey, 'key', raw.line);
      if (bucket === '' || key === '') invalid(`${where(raw.line)}: the ${bucket === '' ? 'bucket' : 'key'} is empty`);
      if (utf8Length(key) > MAX_KEY_BYTES) invalid(`${where(raw.line)}: the key is longer than ${MAX_KEY_BYTES} bytes`);
      const versionId =
        layout.versionId < 0 ? undefined : decodeManifestValue(f[layout.versionId]!, 'versionId', raw.line);
      const sizeText = layout.size < 0 ? '' : f[layout.size]!;
      const size = /^\d+$/.test(sizeText) ? Number(sizeText) : 0;
      return { row: { bucket, rawKey, versionId }, key, size };
    });
  try {
    for await (const bytes of gunzip as AsyncIterable<Buffer>) {
      const batch = convert(splitter.push(bytes));
      if (batch.length > 0) yield batch;
    }
  } catch (err) {
    if (err instanceof ManifestError) throw err;
    const mapped = mapStoreError(err, '');
    if (mapped !== err) throw mapped;
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('Z_'))
      invalid(`${file.key} is not a valid gzip file (${(err as Error).message})`);
    throw err;
  } finally {
    source.destroy();
  }
  const last = convert(splitter.end());
  if (last.length > 0) yield last;
  const digest = md5.digest('hex');
  if (digest !== file.md5) {
    throw new ManifestError(
      'ManifestChecksumMismatch',
      `The inventory data file ${file.key} has MD5 ${digest}, manifest.json says ${file.md5}`,
    );
  }
  if (compressed !== file.size) {
    throw new ManifestError(
      'ManifestChecksumMismatch',
      `The inventory data file ${file.key} is ${compressed} bytes, manifest.json says ${file.size}`,
    );
  }
}

export interface PrepareInventoryArgs {
  readonly store: ObjectStore;
  readonly location: ManifestLocation;
  /** Opens the job's local task list with the given fields (fresh, not resumed). */
  openWriter(fields: ManifestField[]): Promise<LocalManifestWriter>;
  readonly maxTasks: number;
  readonly sameBucket?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Called after each chunk written (discovery metrics). */
  onChunk?(writer: LocalManifestWriter): void;
}

/** Reads the inventory into the job's local task list; returns manifest.json's ETag and size. */
export async function prepareInventoryManifest(
  args: PrepareInventoryArgs,
): Promise<{ etag: string; bytes: number; writer: LocalManifestWriter }> {
  const { store, location, signal } = args;
  const etag = stripQuotes(location.ETag);
  const { bucket: manifestBucket, key: manifestKey } = parseObjectArn(location.ObjectArn);
  let text: string;
  let size: number;
  try {
    const opened = await store.open(
      { bucket: manifestBucket, key: manifestKey, versionId: location.ObjectVersionId },
      { ifMatch: etag, signal },
    );
    if (opened.size > MAX_MANIFEST_JSON_BYTES)
      invalid(`The inventory manifest.json is ${opened.size} bytes; at most ${MAX_MANIFEST_JSON_BYTES} are accepted`);
    size = opened.size;
    const parts: Uint8Array[] = [];
    for await (const b of opened.body) parts.push(b);
    text = Buffer.concat(parts).toString('utf8');
  } catch (err) {
    throw mapStoreError(err, etag);
  }
  const manifest = parseInventoryManifest(text);
  const layout = inventoryLayout(manifest.schema);
  const writer = await args.openWriter(inventoryFields(layout));
  const dataBucket = manifest.destinationBucket ?? manifestBucket;
  let firstBucket: string | undefined;
  for (const file of manifest.files) {
    signal?.throwIfAborted();
    let body: AsyncIterable<Uint8Array>;
    try {
      body = (await store.open({ bucket: dataBucket, key: file.key }, { signal })).body;
    } catch (err) {
      throw dataFileError(err, file.key);
    }
    for await (const batch of readInventoryDataFile(body, file, layout)) {
      signal?.throwIfAborted();
      writer.noteListed(batch.length);
      for (const r of batch) {
        if (writer.rowCount >= args.maxTasks) {
          throw manifestTooLarge(args.maxTasks);
        }
        firstBucket ??= r.row.bucket;
        if (args.sameBucket && r.row.bucket !== firstBucket) {
          invalid(
            `bucket ${r.row.bucket} in ${file.key} differs from ${firstBucket}; this operation needs all objects in one bucket`,
          );
        }
        if (await writer.add(r.row, r.size, r.key)) args.onChunk?.(writer);
      }
    }
  }
  await writer.complete();
  args.onChunk?.(writer);
  if (writer.state.found === 0) invalid(`The inventory ${location.ObjectArn} lists no objects`);
  return { etag, bytes: size, writer };
}

function dataFileError(err: unknown, key: string): unknown {
  const mapped = mapStoreError(err, '');
  if (mapped instanceof ManifestError) {
    return new ManifestError(
      mapped.code as ConstructorParameters<typeof ManifestError>[0],
      `Inventory data file ${key}: ${mapped.message}`,
    );
  }
  return mapped;
}
