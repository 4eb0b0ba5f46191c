/**
 * An in-memory ObjectStore for tests and local experiments. Buckets must be created first;
 * a bucket can be made to deny reads and/or writes (403 AccessDenied). ETags are the MD5 hex of
 * the body, as S3 gives for single-part uploads. Versioned buckets keep every version; in an
 * unversioned bucket each object has the single version `null`.
 *
 * Bodies are served in slices of `readChunkSize` bytes so tests can exercise readers on
 * arbitrary buffer boundaries.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ObjectStoreError, stripQuotes } from './object-store.ts';
import type {
  DeleteOptions,
  ListedObjectInfo,
  ListedVersionInfo,
  ListOptions,
  ObjectRef,
  ObjectStore,
  OpenOptions,
  OpenedObject,
  PutOptions,
} from './object-store.ts';

interface StoredVersion {
  readonly versionId: string;
  readonly bytes: Uint8Array;
  readonly etag: string;
  readonly contentType: string | undefined;
  lastModified: Date;
  storageClass: string;
}

interface MemoryBucket {
  readonly versioned: boolean;
  denyReads: boolean;
  denyWrites: boolean;
  /** Versions per key, oldest first. */
  readonly objects: Map<string, StoredVersion[]>;
}

export interface MemoryObjectStoreOptions {
  /** Size of the slices bodies are served in (default 64 KiB). */
  readonly readChunkSize?: number;
}

export class MemoryObjectStore implements ObjectStore {
  private readonly buckets = new Map<string, MemoryBucket>();
  private readonly readChunkSize: number;
  /** Every open() call, in order (for tests that check ranged reads). */
  readonly opens: { ref: ObjectRef; options: OpenOptions | undefined }[] = [];

  constructor(options: MemoryObjectStoreOptions = {}) {
    this.readChunkSize = options.readChunkSize ?? 64 * 1024;
    if (!Number.isSafeInteger(this.readChunkSize) || this.readChunkSize < 1)
      throw new RangeError('readChunkSize must be a positive integer');
  }

  createBucket(name: string, options: { versioned?: boolean } = {}): void {
    if (!this.buckets.has(name)) {
      this.buckets.set(name, {
        versioned: options.versioned ?? false,
        denyReads: false,
        denyWrites: false,
        objects: new Map(),
      });
    }
  }

  /** Makes reads and/or writes of the bucket fail with 403 AccessDenied (or allows them again). */
  setAccess(bucket: string, access: { read?: boolean; write?: boolean }): void {
    const b = this.bucket(bucket);
    if (access.read !== undefined) b.denyReads = !access.read;
    if (access.write !== undefined) b.denyWrites = !access.write;
  }

  async open(ref: ObjectRef, options?: OpenOptions): Promise<OpenedObject> {
    this.opens.push({ ref, options });
    options?.signal?.throwIfAborted();
    const b = this.bucket(ref.bucket);
    if (b.denyReads) throw new ObjectStoreError(403, 'AccessDenied', `Access Denied: ${ref.bucket}/${ref.key}`);
    const version = this.version(ref);
    if (options?.ifMatch !== undefined) {
      const wanted = stripQuotes(options.ifMatch);
      if (wanted !== '*' && wanted !== version.etag) {
        throw new ObjectStoreError(
          412,
          'PreconditionFailed',
          `At least one of the pre-conditions you specified did not hold (ETag ${version.etag})`,
        );
      }
    }
    let body = version.bytes;
    if (options?.range !== undefined) {
      const { start, end } = options.range;
      if (
        !Number.isSafeInteger(start) ||
        !Number.isSafeInteger(end) ||
        start < 0 ||
        end < start ||
        start >= body.length
      ) {
        throw new ObjectStoreError(
          416,
          'InvalidRange',
          `The requested range ${start}-${end} is not satisfiable (size ${body.length})`,
        );
      }
      body = body.subarray(start, Math.min(end, body.length - 1) + 1);
    }
    return { body: this.slices(body, options?.signal), etag: version.etag, size: version.bytes.length };
  }

  async put(
    ref: ObjectRef,
    body: AsyncIterable<Uint8Array> | Uint8Array | string,
    options?: PutOptions,
  ): Promise<{ etag: string; versionId: string }> {
    options?.signal?.throwIfAborted();
    const b = this.bucket(ref.bucket);
    if (b.denyWrites) throw new ObjectStoreError(403, 'AccessDenied', `Access Denied: ${ref.bucket}/${ref.key}`);
    const bytes = await toBytes(body, options?.signal);
    const etag = createHash('md5').update(bytes).digest('hex');
    const versionId = b.versioned ? randomBytes(16).toString('hex') : 'null';
    const version: StoredVersion = {
      versionId,
      bytes,
      etag,
      contentType: options?.contentType,
      lastModified: new Date(),
      storageClass: 'STANDARD',
    };
    const versions = b.versioned ? (b.objects.get(ref.key) ?? []) : [];
    versions.push(version);
    b.objects.set(ref.key, versions);
    return { etag, versionId };
  }

  /** Current objects in key order, in pages of `pageSize` (ListObjectsV2 semantics). */
  async *list(
    bucket: string,
    options: ListOptions & { pageSize?: number } = {},
  ): AsyncGenerator<readonly ListedObjectInfo[]> {
    const b = this.bucket(bucket);
    if (b.denyReads) throw new ObjectStoreError(403, 'AccessDenied', `Access Denied: ListObjectsV2 ${bucket}`);
    const pageSize = options.pageSize ?? 1000;
    const keys = this.keys(bucket, options.prefix ?? '').filter(
      (k) => options.startAfter === undefined || k > options.startAfter,
    );
    for (let i = 0; i < keys.length; i += pageSize) {
      options.signal?.throwIfAborted();
      // Keys are looked up per page: objects written while listing show up if they sort later.
      yield keys.slice(i, i + pageSize).flatMap((key) => {
        const v = b.objects.get(key)?.at(-1);
        return v === undefined
          ? []
          : [{ key, size: v.bytes.length, lastModified: v.lastModified, storageClass: v.storageClass, etag: v.etag }];
      });
    }
  }

  /** Every version, keys in order, newest first within a key (ListObjectVersions semantics), in pages of `pageSize`. */
  async *listVersions(
    bucket: string,
    options: ListOptions & { pageSize?: number } = {},
  ): AsyncGenerator<readonly ListedVersionInfo[]> {
    const b = this.bucket(bucket);
    if (b.denyReads) throw new ObjectStoreError(403, 'AccessDenied', `Access Denied: ListObjectVersions ${bucket}`);
    const pageSize = options.pageSize ?? 1000;
    const keys = this.keys(bucket, options.prefix ?? '').filter(
      (k) => options.startAfter === undefined || k > options.startAfter,
    );
    let page: ListedVersionInfo[] = [];
    for (const key of keys) {
      const versions = b.objects.get(key) ?? [];
      for (let i = versions.length - 1; i >= 0; i--) {
        const v = versions[i]!;
        page.push({
          key,
          versionId: v.versionId,
          isLatest: i === versions.length - 1,
          size: v.bytes.length,
          lastModified: v.lastModified,
          storageClass: v.storageClass,
          etag: v.etag,
        });
        if (page.length === pageSize) {
          options.signal?.throwIfAborted();
          yield page;
          page = [];
        }
      }
    }
    if (page.length > 0) yield page;
  }

  /** Sets what a listing reports for the object's current version (tests of the manifest generator). */
  setListing(bucket: string, key: string, attrs: { lastModified?: Date; storageClass?: string }): void {
    const v = this.version({ bucket, key });
    if (attrs.lastModified !== undefined) v.lastModified = attrs.lastModified;
    if (attrs.storageClass !== undefined) v.storageClass = attrs.storageClass;
  }

  /** The port's batch delete: the keys' objects go (all versions); a missing key is no error. */
  async deleteKeys(bucket: string, keys: readonly string[], options?: DeleteOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    const b = this.bucket(bucket);
    if (b.denyWrites) throw new ObjectStoreError(403, 'AccessDenied', `Access Denied: DeleteObjects ${bucket}`);
    for (const key of keys) b.objects.delete(key);
  }

  /** Removes the object (all its versions); false if there was none. */
  delete(bucket: string, key: string): boolean {
    return this.bucket(bucket).objects.delete(key);
  }

  getBytes(bucket: string, key: string, versionId?: string): Uint8Array {
    return this.version({ bucket, key, versionId }, this.bucket(bucket)).bytes;
  }

  getText(bucket: string, key: string, versionId?: string): string {
    return new TextDecoder().decode(this.getBytes(bucket, key, versionId));
  }

  /** Keys of the bucket, sorted, optionally under a prefix. */
  keys(bucket: string, prefix = ''): string[] {
    return [...this.bucket(bucket).objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  private bucket(name: string): MemoryBucket {
    const b = this.buckets.get(name);
    if (b === undefined)
      throw new ObjectStoreError(404, 'NoSuchBucket', `The specified bucket does not exist: ${name}`);
    return b;
  }

  private version(ref: ObjectRef, bucket = this.bucket(ref.bucket)): StoredVersion {
    const versions = bucket.objects.get(ref.key);
    if (versions === undefined || versions.length === 0) {
      throw new ObjectStoreError(404, 'NoSuchKey', `The specified key does not exist: ${ref.bucket}/${ref.key}`);
    }
    if (ref.versionId === undefined) return versions[versions.length - 1]!;
    const version = versions.find((v) => v.versionId === ref.versionId);
    if (version === undefined) {
      throw new ObjectStoreError(
        404,
        'NoSuchVersion',
        `The specified version does not exist: ${ref.bucket}/${ref.key}?versionId=${ref.versionId}`,
      );
    }
    return version;
  }

  private async *slices(bytes: Uint8Array, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < bytes.length; i += this.readChunkSize) {
      signal?.throwIfAborted();
      yield bytes.slice(i, i + this.readChunkSize);
    }
  }
}

async function toBytes(
  body: AsyncIterable<Uint8Array> | Uint8Array | string,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  if (typeof body === 'string') return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body.slice();
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const part of body) {
    signal?.throwIfAborted();
    parts.push(part);
    length += part.length;
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
