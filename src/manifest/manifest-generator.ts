/**
 * The manifest generator (docs/manifests.md#manifest-generator): lists the source bucket (ListObjectsV2, current
 * versions, page by page; ListObjectVersions, every version, for S3ReplicateObject jobs), keeps the objects the filter
 * matches (generator-filter.ts) and appends them to the job's local task list (local-manifest.ts) chunk by chunk, so
 * the engine can run the first chunks while the listing goes on. Memory stays constant: one listing page at a time.
 *
 * Prefixes narrow the listing itself: each MatchAnyPrefix entry is listed with `Prefix`, in key
 * order, so the matches come out sorted and a listing interrupted by a restart resumes after the
 * last written key (`StartAfter`), appending the same chunks it would have appended.
 *
 * With EnableManifestOutput, the finished list is written in the inventory format
 * (writeGeneratedManifest): `<prefix>/job-<id>/manifest.json`, `manifest.checksum` and one gzip
 * CSV data file, readable again as an `S3InventoryReport_CSV_20161130` manifest.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { Chunk } from '../domain/chunk.ts';
import { ManifestError, manifestTooLarge } from '../domain/errors.ts';
import {
  ObjectStoreError,
  type ListedObjectInfo,
  type ListedVersionInfo,
  type ObjectStore,
} from '../storage/object-store.ts';
import { matchesFilter } from './generator-filter.ts';
import { GENERATED_MANIFEST_FORMAT, type GeneratorSettings } from './generator-spec.ts';
import { encodeManifestKey, type LocalManifestTotals, type LocalManifestWriter } from './local-manifest.ts';

export const NO_MATCH_MESSAGE = 'Manifest generation found no keys matching the filter criteria';

export interface GenerateArgs {
  readonly store: ObjectStore;
  readonly settings: GeneratorSettings;
  /** The job's task list, opened with resume (an interrupted listing continues after its cursor). */
  readonly writer: LocalManifestWriter;
  readonly maxTasks: number;
  readonly signal?: AbortSignal | undefined;
  /** Called after each chunk is written durably. */
  onChunk?(chunk: Chunk): void | Promise<void>;
  /** Called after each listing page (live discovery metrics). */
  onPage?(): void;
  /**
   * List every version (ListObjectVersions) instead of current objects, for S3ReplicateObject
   * (docs/manifests.md#manifest-generator): rows carry version ids, oldest first within a key; the list's fields must
   * include VersionId.
   */
  readonly versions?: boolean | undefined;
}

/**
 * Lists, filters and writes every matching object to the task list (its last chunk flushed; the
 * caller marks the list complete once the generated manifest, if any, is written). Throws
 * ManifestGenerationEmpty when nothing matched.
 */
export async function generateManifest(args: GenerateArgs): Promise<LocalManifestTotals> {
  const { store, settings, writer, signal } = args;
  if (!writer.state.complete) {
    const list = args.versions ? store.listVersions?.bind(store) : store.list?.bind(store);
    if (!list)
      throw new ManifestError(
        'ManifestGenerationFailed',
        `The storage of this job cannot list ${args.versions ? 'object versions' : 'buckets'}`,
      );
    const cap = settings.maxObjects;
    let capped = false;
    /** Writes one task row; false once the cap is reached. */
    const emit = async (object: ListedObjectInfo & { versionId?: string }, mayCut: boolean): Promise<boolean> => {
      const before = writer.rowCount;
      if (before >= args.maxTasks) {
        throw manifestTooLarge(args.maxTasks);
      }
      const row = { bucket: settings.sourceBucket, rawKey: encodeManifestKey(object.key), versionId: object.versionId };
      const chunk = await writer.add(row, object.size, object.key, mayCut);
      if (chunk) {
        await args.onChunk?.(chunk);
        signal?.throwIfAborted();
      }
      capped = cap !== undefined && before + 1 >= cap;
      return !capped;
    };
    // Versions mode: the matching versions of one key are held until the key ends, then written
    // oldest first (the order a replica must receive them) with no chunk cut inside the key.
    let heldKey: string | undefined;
    let held: ListedVersionInfo[] = [];
    const releaseKey = async (): Promise<boolean> => {
      const versions = held;
      held = [];
      for (let i = versions.length - 1; i >= 0; i--) {
        if (!(await emit(versions[i]!, i === 0))) return false;
      }
      return true;
    };
    outer: for (const range of listingRanges(settings.filter.prefixes, writer.state.cursor)) {
      const pages: AsyncIterable<readonly (ListedObjectInfo | ListedVersionInfo)[]> = list(settings.sourceBucket, {
        ...range,
        expectedBucketOwner: settings.expectedBucketOwner,
        signal,
      });
      try {
        for await (const page of pages) {
          signal?.throwIfAborted();
          writer.noteListed(page.length);
          for (const object of page) {
            if (args.versions) {
              if (object.key !== heldKey) {
                if (!(await releaseKey())) break outer;
                heldKey = object.key;
              }
              if (matchesFilter(settings.filter, object)) held.push(object as ListedVersionInfo);
              continue;
            }
            if (!matchesFilter(settings.filter, object)) continue;
            if (!(await emit(object, true))) break outer;
          }
          args.onPage?.();
        }
      } catch (err) {
        throw listingError(err, settings.sourceBucket);
      }
    }
    if (!capped) await releaseKey();
    const last = await writer.flush();
    if (last) await args.onChunk?.(last);
  }
  const totals = writer.state;
  if (totals.found === 0) throw new ManifestError('ManifestGenerationEmpty', NO_MATCH_MESSAGE);
  return totals;
}

/** The listings to run: one per prefix (overlaps removed, in key order), resumed after `cursor`. */
export function listingRanges(
  prefixes: readonly string[] | undefined,
  cursor: string | undefined,
): { prefix?: string; startAfter?: string }[] {
  if (prefixes === undefined || prefixes.length === 0) return [cursor === undefined ? {} : { startAfter: cursor }];
  const sorted = [...new Set(prefixes)].sort(compareKeys);
  const kept = sorted.filter((p) => !sorted.some((q) => q !== p && p.startsWith(q)));
  const out: { prefix?: string; startAfter?: string }[] = [];
  for (const prefix of kept) {
    if (cursor === undefined || compareKeys(cursor, prefix) < 0) out.push({ prefix });
    else if (cursor.startsWith(prefix)) out.push({ prefix, startAfter: cursor });
    // else: the cursor is past every key under this prefix
  }
  return out;
}

/** S3 orders keys by their UTF-8 bytes. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function listingError(err: unknown, bucket: string): unknown {
  if (err instanceof ObjectStoreError) {
    const what =
      err.httpStatus === 403 ? 'is forbidden' : err.httpStatus === 404 ? 'failed: the bucket does not exist' : 'failed';
    return new ManifestError(
      'ManifestGenerationFailed',
      `Listing the source bucket ${bucket} ${what}: ${err.code}: ${err.message}`,
    );
  }
  return err;
}

export interface GeneratedManifestDescriptor {
  readonly Format: typeof GENERATED_MANIFEST_FORMAT;
  readonly Location: { readonly ObjectArn: string; readonly ETag: string };
}

export interface WriteGeneratedArgs {
  readonly store: ObjectStore;
  readonly jobId: string;
  readonly sourceBucket: string;
  readonly output: NonNullable<GeneratorSettings['output']>;
  readonly writer: LocalManifestWriter;
  readonly now: Date;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Writes the finished task list in the inventory format (docs/manifests.md#generated-manifest): one gzip CSV data file
 * (streamed: its MD5 and size are taken on the way out), then manifest.json and
 * manifest.checksum. Returns DescribeJob's GeneratedManifestDescriptor.
 */
export async function writeGeneratedManifest(args: WriteGeneratedArgs): Promise<GeneratedManifestDescriptor> {
  const { store, output, writer, signal } = args;
  const base = `${output.prefix ? `${output.prefix.replace(/\/+$/, '')}/` : ''}job-${args.jobId}`;
  const dataKey = `${base}/data/${randomUUID()}.csv.gz`;
  const md5 = createHash('md5');
  let size = 0;
  const gzip = createGzip();
  const source = Readable.from(writer.rows(), { objectMode: false });
  source.on('error', (err) => gzip.destroy(err));
  source.pipe(gzip);
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const bytes of gzip as AsyncIterable<Buffer>) {
      md5.update(bytes);
      size += bytes.length;
      yield bytes;
    }
  }
  try {
    await store.put({ bucket: output.bucket, key: dataKey }, counted(), {
      contentType: 'application/gzip',
      expectedBucketOwner: output.expectedOwner,
      signal,
    });
    const manifest = {
      sourceBucket: args.sourceBucket,
      destinationBucket: `arn:aws:s3:::${output.bucket}`,
      version: '2016-11-30',
      creationTimestamp: String(args.now.getTime()),
      fileFormat: 'CSV',
      fileSchema: writer.fields.join(', '),
      files: [{ key: dataKey, size, MD5checksum: md5.digest('hex') }],
    };
    const json = JSON.stringify(manifest);
    const { etag } = await store.put({ bucket: output.bucket, key: `${base}/manifest.json` }, json, {
      contentType: 'application/json',
      expectedBucketOwner: output.expectedOwner,
      signal,
    });
    await store.put(
      { bucket: output.bucket, key: `${base}/manifest.checksum` },
      createHash('md5').update(json).digest('hex'),
      { contentType: 'text/plain', expectedBucketOwner: output.expectedOwner, signal },
    );
    return {
      Format: GENERATED_MANIFEST_FORMAT,
      Location: { ObjectArn: `arn:aws:s3:::${output.bucket}/${base}/manifest.json`, ETag: etag },
    };
  } catch (err) {
    if (err instanceof ObjectStoreError) {
      throw new ManifestError(
        'ManifestGenerationFailed',
        `The generated manifest could not be written to ${output.bucket}: ${err.code}: ${err.message}`,
      );
    }
    throw err;
  } finally {
    source.destroy();
  }
}
