/**
 * The small object-storage port the engine uses to read manifests and write reports. The S3
 * implementation (s3-object-store.ts) and the in-memory one (memory-object-store.ts) both honour
 * it; per-object operations use the S3 client directly (operations/).
 */

export interface ObjectRef {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string | undefined;
}

export interface OpenOptions {
  /** ETag the object must have (quotes optional); a mismatch is an ObjectStoreError with status 412. */
  readonly ifMatch?: string | undefined;
  /** Inclusive byte range. */
  readonly range?: { readonly start: number; readonly end: number } | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface OpenedObject {
  readonly body: AsyncIterable<Uint8Array>;
  /** ETag without surrounding quotes. */
  readonly etag: string;
  /** Size of the whole object in bytes. */
  readonly size: number;
}

export interface PutOptions {
  readonly contentType?: string | undefined;
  /** The bucket's owner must be this account (PutObject ExpectedBucketOwner). */
  readonly expectedBucketOwner?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface ListOptions {
  /** Only keys that start with this. */
  readonly prefix?: string | undefined;
  /** Only keys after this one (ListObjectsV2 StartAfter). */
  readonly startAfter?: string | undefined;
  /** The bucket's owner must be this account (ListObjectsV2 ExpectedBucketOwner). */
  readonly expectedBucketOwner?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface DeleteOptions {
  readonly signal?: AbortSignal | undefined;
}

/** One object of a listing page (ListObjectsV2 `Contents`). */
export interface ListedObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly lastModified: Date;
  /** STANDARD when the store leaves it out. */
  readonly storageClass: string;
  readonly etag: string;
}

/** One object version of a listing page (ListObjectVersions `Version`; delete markers are left out). */
export interface ListedVersionInfo extends ListedObjectInfo {
  /** `null` for the null version. */
  readonly versionId: string;
  readonly isLatest: boolean;
}

export interface ObjectStore {
  open(ref: ObjectRef, options?: OpenOptions): Promise<OpenedObject>;
  /**
   * The bucket's current objects in key order, one listing page at a time (for the manifest
   * generator). Optional: stores that cannot list leave it out.
   */
  list?(bucket: string, options?: ListOptions): AsyncIterable<readonly ListedObjectInfo[]>;
  /**
   * Every version of the bucket's objects (delete markers left out), in key order and newest
   * first within a key, one page at a time; `startAfter` skips every version of the keys up to
   * and including it (ListObjectVersions KeyMarker). Optional like list().
   */
  listVersions?(bucket: string, options?: ListOptions): AsyncIterable<readonly ListedVersionInfo[]>;
  /**
   * Deletes the keys' current objects (DeleteObjects, up to 1,000 keys a request); a key without an
   * object is no error. A key the store refuses to delete fails the call (ObjectStoreError).
   * Optional like list().
   */
  deleteKeys?(bucket: string, keys: readonly string[], options?: DeleteOptions): Promise<void>;
  /** Streams the body to the object (multipart for large bodies); returns its ETag. */
  put(
    ref: ObjectRef,
    body: AsyncIterable<Uint8Array> | Uint8Array | string,
    options?: PutOptions,
  ): Promise<{ etag: string }>;
}

/** A storage failure, carrying what the store answered: HTTP status and error code. */
export class ObjectStoreError extends Error {
  override readonly name = 'ObjectStoreError';
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function stripQuotes(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"+|"+$/g, '');
}
