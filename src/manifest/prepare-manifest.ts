/**
 * Preparing a CSV-manifest job: one streaming pass over the manifest that validates every row,
 * counts the tasks and writes the chunk index; and re-reading one chunk later with a ranged GET.
 *
 * Both reads carry `If-Match` with the manifest's ETag, so a manifest replaced after CreateJob
 * (or between preparing and running) fails the job instead of silently running other tasks.
 * Storage answers are mapped to the job-level failure codes of docs/errors.md#job-failure-codes; other storage errors
 * (network, 5xx) propagate unchanged so the caller can retry them.
 */
import type { Chunk } from '../domain/chunk.ts';
import { ManifestError, manifestTooLarge } from '../domain/errors.ts';
import type { ManifestField } from '../domain/job-spec.ts';
import type { TaskEntry } from '../domain/task.ts';
import { ObjectStoreError, stripQuotes } from '../storage/object-store.ts';
import type { ObjectStore, OpenedObject } from '../storage/object-store.ts';
import { ChunkCutter } from './chunk-index.ts';
import type { ChunkIndexFile } from '../storage/chunk-index-file.ts';
import { parseObjectArn } from './arn.ts';
import { checkCsvManifestBatches, readCsvManifest } from './csv-manifest.ts';

export interface ManifestLocation {
  readonly ObjectArn: string;
  readonly ObjectVersionId?: string | undefined;
  readonly ETag: string;
}

export interface PrepareCsvManifestArgs {
  readonly store: ObjectStore;
  readonly location: ManifestLocation;
  readonly fields: readonly ManifestField[];
  readonly chunkSize: number;
  readonly maxTasks: number;
  /** All rows must name the same bucket (Copy, Object Lock jobs). */
  readonly sameBucket?: boolean | undefined;
  readonly index: ChunkIndexFile;
  readonly signal?: AbortSignal | undefined;
  /** Called after each chunk and once at the end with rows and manifest bytes read so far. */
  readonly onProgress?: ((rows: number, bytes: number) => void) | undefined;
}

export interface PreparedManifest {
  readonly totalTasks: number;
  readonly chunkCount: number;
  /** The manifest's ETag, unquoted: pass it to readChunk. */
  readonly etag: string;
  /** Size of the manifest object in bytes. */
  readonly bytes: number;
  /** The bucket every row names, or undefined when rows name several buckets. */
  readonly bucket: string | undefined;
}

export async function prepareCsvManifest(args: PrepareCsvManifestArgs): Promise<PreparedManifest> {
  const { store, location, fields, chunkSize, maxTasks, signal, onProgress } = args;
  const etag = stripQuotes(location.ETag);
  const opened = await openManifest(store, location, etag, undefined, signal);

  let rowCount = 0;
  let bucket: string | undefined;
  let mixedBuckets = false;
  const check = (rowBucket: string, line: number): void => {
    rowCount++;
    if (rowCount > maxTasks) {
      throw manifestTooLarge(maxTasks);
    }
    if (bucket === undefined) {
      bucket = rowBucket;
    } else if (rowBucket !== bucket && !mixedBuckets) {
      if (args.sameBucket) {
        throw new ManifestError(
          'InvalidManifestContent',
          `bucket ${rowBucket} differs from ${bucket} on the first row; this operation needs all objects in one bucket`,
          line,
        );
      }
      mixedBuckets = true;
    }
  };
  // Rows are handled in batches (one per buffer read) so a huge manifest costs one async step
  // per buffer, not per row; the index gets one async step per chunk. Rows are checked by the
  // manifest rules but no task entry is made for them (checkCsvManifestBatches).
  async function* chunks(): AsyncGenerator<Chunk> {
    const cutter = new ChunkCutter(chunkSize);
    for await (const rows of checkCsvManifestBatches(storeErrorsMapped(opened.body, etag), { fields })) {
      signal?.throwIfAborted();
      for (let i = 0; i < rows.count; i++) {
        const line = rows.lines[i]!;
        check(rows.buckets[i]!, line);
        const chunk = cutter.addRange(rows.starts[i]!, rows.ends[i]!, line);
        if (chunk !== undefined) {
          yield chunk;
          onProgress?.(rowCount, chunk.end);
        }
      }
    }
    const last = cutter.finish();
    if (last !== undefined) yield last;
  }

  const { count: chunkCount } = await args.index.write(chunks());
  if (rowCount === 0) {
    throw new ManifestError('InvalidManifestContent', `The manifest is empty: ${location.ObjectArn} lists no objects`);
  }
  onProgress?.(rowCount, opened.size);
  return {
    totalTasks: rowCount,
    chunkCount,
    etag: opened.etag,
    bytes: opened.size,
    bucket: mixedBuckets ? undefined : bucket,
  };
}

export interface ReadChunkArgs {
  readonly store: ObjectStore;
  readonly location: ManifestLocation;
  /** The ETag prepareCsvManifest returned. */
  readonly etag: string;
  readonly fields: readonly ManifestField[];
  readonly chunk: Chunk;
  readonly signal?: AbortSignal | undefined;
}

/** The task entries of one chunk, read with a ranged GET; they are exactly the prepared ones. */
export async function* readChunk(args: ReadChunkArgs): AsyncGenerator<TaskEntry> {
  const { chunk } = args;
  const etag = stripQuotes(args.etag);
  const range = { start: chunk.start, end: chunk.end - 1 };
  const opened = await openManifest(args.store, args.location, etag, range, args.signal);
  const rows = readCsvManifest(storeErrorsMapped(opened.body, etag), {
    fields: args.fields,
    firstLine: chunk.firstLine,
    startOffset: chunk.start,
  });
  let count = 0;
  let end = chunk.start;
  for await (const row of rows) {
    count++;
    end = row.endOffset;
    if (count > chunk.count) break;
    yield row.entry;
  }
  if (count !== chunk.count || end !== chunk.end) {
    throw new ManifestError(
      'InvalidManifestContent',
      `The manifest changed: chunk ${chunk.index} should hold ${chunk.count} rows in bytes ${chunk.start}-${chunk.end}`,
      chunk.firstLine,
    );
  }
}

async function openManifest(
  store: ObjectStore,
  location: ManifestLocation,
  etag: string,
  range: { start: number; end: number } | undefined,
  signal: AbortSignal | undefined,
): Promise<OpenedObject> {
  const { bucket, key } = parseObjectArn(location.ObjectArn);
  try {
    return await store.open({ bucket, key, versionId: location.ObjectVersionId }, { ifMatch: etag, range, signal });
  } catch (err) {
    throw mapStoreError(err, etag);
  }
}

/** Storage errors raised while the body streams are mapped like those of open(). */
async function* storeErrorsMapped(body: AsyncIterable<Uint8Array>, etag: string): AsyncGenerator<Uint8Array> {
  try {
    yield* body;
  } catch (err) {
    throw mapStoreError(err, etag);
  }
}

/**
 * Storage answers mapped to the job-level manifest failure codes (docs/errors.md#job-failure-codes); anything else
 * unchanged.
 */
export function mapStoreError(err: unknown, etag: string): unknown {
  if (!(err instanceof ObjectStoreError)) return err;
  switch (err.httpStatus) {
    case 404:
      return new ManifestError('ManifestNotFound', `The manifest does not exist: ${err.code}`);
    case 403:
      return new ManifestError('ManifestAccessDenied', `Reading the manifest is forbidden: ${err.code}`);
    case 412:
      return new ManifestError('ManifestETagMismatch', `The manifest's ETag does not match the expected ETag ${etag}`);
    case 416:
      return new ManifestError('InvalidManifestContent', 'The manifest changed: a chunk lies beyond its end');
    default:
      return err;
  }
}
