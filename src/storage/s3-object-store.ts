/**
 * The ObjectStore port (object-store.ts) on a real S3 endpoint: ranged, ETag-pinned GetObject
 * for manifests, and lib-storage's Upload (single PUT up to 5 MiB, multipart above) for reports.
 * Every S3 failure surfaces as ObjectStoreError(httpStatus, code, message): 412
 * PreconditionFailed for an ETag mismatch, 404 NoSuchKey/NoSuchBucket/NoSuchVersion, 403
 * AccessDenied, 0 for a network failure. An abort through the caller's signal is rethrown as is.
 */
import { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  type DeleteObjectsCommandOutput,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { describeS3Error } from './s3-error-classification.ts';
import {
  type DeleteOptions,
  ObjectStoreError,
  stripQuotes,
  type ListedObjectInfo,
  type ListedVersionInfo,
  type ListOptions,
  type ObjectRef,
  type ObjectStore,
  type OpenOptions,
  type OpenedObject,
  type PutOptions,
} from './object-store.ts';

const PART_BYTES = 5 * 1024 * 1024;
const UPLOAD_CONCURRENCY = 4;
/** Keys per DeleteObjects request (S3's limit). */
export const DELETE_BATCH_KEYS = 1000;

export function createS3ObjectStore(client: S3Client): ObjectStore {
  return {
    async open(ref: ObjectRef, options: OpenOptions = {}): Promise<OpenedObject> {
      const { ifMatch, range, signal } = options;
      if (
        range !== undefined &&
        (!Number.isInteger(range.start) || !Number.isInteger(range.end) || range.start < 0 || range.end < range.start)
      ) {
        throw new RangeError(`invalid byte range ${range.start}-${range.end}`);
      }
      try {
        const res = await client.send(
          new GetObjectCommand({
            Bucket: ref.bucket,
            Key: ref.key,
            VersionId: ref.versionId || undefined,
            IfMatch: ifMatch === undefined ? undefined : `"${stripQuotes(ifMatch)}"`,
            Range: range === undefined ? undefined : `bytes=${range.start}-${range.end}`,
          }),
          { abortSignal: signal },
        );
        const body = res.Body as unknown;
        if (body === undefined || body === null || typeof body !== 'object' || !(Symbol.asyncIterator in body)) {
          throw new ObjectStoreError(
            500,
            'InternalError',
            `GetObject s3://${ref.bucket}/${ref.key} answered without a readable body`,
          );
        }
        const etag = stripQuotes(res.ETag ?? '');
        if (ifMatch !== undefined && etag !== stripQuotes(ifMatch)) {
          // s3rver ignores If-Match: enforce the port's contract here too.
          (body as { destroy?: () => void }).destroy?.();
          throw new ObjectStoreError(
            412,
            'PreconditionFailed',
            `GetObject s3://${ref.bucket}/${ref.key}: ETag ${etag} does not match ${stripQuotes(ifMatch)} (Error Code: PreconditionFailed)`,
          );
        }
        return {
          body: body as AsyncIterable<Uint8Array>,
          etag,
          size: totalSize(res.ContentRange) ?? res.ContentLength ?? 0,
        };
      } catch (err) {
        throw storeError(err, signal, `GetObject s3://${ref.bucket}/${ref.key}`);
      }
    },

    async *list(bucket: string, options: ListOptions = {}): AsyncGenerator<readonly ListedObjectInfo[]> {
      const { prefix, startAfter, expectedBucketOwner, signal } = options;
      let token: string | undefined;
      do {
        let res: ListObjectsV2CommandOutput;
        try {
          res = await client.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: prefix || undefined,
              // StartAfter only on the first page; the continuation token carries on from there.
              StartAfter: token === undefined ? startAfter || undefined : undefined,
              ContinuationToken: token,
              ExpectedBucketOwner: expectedBucketOwner,
            }),
            { abortSignal: signal },
          );
        } catch (err) {
          throw storeError(err, signal, `ListObjectsV2 s3://${bucket}/${prefix ?? ''}`);
        }
        const page = (res.Contents ?? []).map(
          (o): ListedObjectInfo => ({
            key: o.Key ?? '',
            size: o.Size ?? 0,
            lastModified: o.LastModified ?? new Date(0),
            storageClass: o.StorageClass ?? 'STANDARD',
            etag: stripQuotes(o.ETag ?? ''),
          }),
        );
        if (page.length > 0) yield page;
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token !== undefined);
    },

    async *listVersions(bucket: string, options: ListOptions = {}): AsyncGenerator<readonly ListedVersionInfo[]> {
      const { prefix, startAfter, expectedBucketOwner, signal } = options;
      let keyMarker = startAfter || undefined;
      let versionIdMarker: string | undefined;
      // Ceph RGW 16 answers a KeyMarker without VersionIdMarker with the marker key's versions too
      // (S3 starts after the key): they are dropped from the pages below.
      const startAfterBytes = startAfter === undefined ? undefined : Buffer.from(startAfter);
      const after = (v: { Key?: string }): boolean =>
        startAfterBytes === undefined || Buffer.compare(Buffer.from(v.Key ?? ''), startAfterBytes) > 0;
      for (;;) {
        let res: ListObjectVersionsCommandOutput;
        try {
          res = await client.send(
            new ListObjectVersionsCommand({
              Bucket: bucket,
              Prefix: prefix || undefined,
              KeyMarker: keyMarker,
              VersionIdMarker: versionIdMarker,
              ExpectedBucketOwner: expectedBucketOwner,
            }),
            { abortSignal: signal },
          );
        } catch (err) {
          throw storeError(err, signal, `ListObjectVersions s3://${bucket}/${prefix ?? ''}`);
        }
        const page = (res.Versions ?? []).filter(after).map(
          (v): ListedVersionInfo => ({
            key: v.Key ?? '',
            versionId: v.VersionId || 'null',
            isLatest: v.IsLatest ?? false,
            size: v.Size ?? 0,
            lastModified: v.LastModified ?? new Date(0),
            storageClass: v.StorageClass ?? 'STANDARD',
            etag: stripQuotes(v.ETag ?? ''),
          }),
        );
        if (page.length > 0) yield page;
        if (!res.IsTruncated) return;
        keyMarker = res.NextKeyMarker;
        versionIdMarker = res.NextVersionIdMarker;
        if (keyMarker === undefined) return; // a truncated answer without a marker cannot be continued
      }
    },

    async deleteKeys(bucket: string, keys: readonly string[], options: DeleteOptions = {}): Promise<void> {
      const { signal } = options;
      for (let i = 0; i < keys.length; i += DELETE_BATCH_KEYS) {
        const batch = keys.slice(i, i + DELETE_BATCH_KEYS);
        let res: DeleteObjectsCommandOutput;
        try {
          res = await client.send(
            new DeleteObjectsCommand({
              Bucket: bucket,
              Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
            }),
            { abortSignal: signal },
          );
        } catch (err) {
          throw storeError(err, signal, `DeleteObjects s3://${bucket}/${batch[0]}…`);
        }
        // A missing key is deleted as far as S3 goes; any error in the answer is a key left behind.
        const failed = res.Errors?.[0];
        if (failed !== undefined) {
          const code = failed.Code || 'InternalError';
          throw new ObjectStoreError(
            code === 'AccessDenied' ? 403 : 500,
            code,
            `DeleteObjects s3://${bucket}/${failed.Key ?? ''}: ${failed.Message || code} (${res.Errors?.length} keys not deleted)`,
          );
        }
      }
    },

    async put(
      ref: ObjectRef,
      body: AsyncIterable<Uint8Array> | Uint8Array | string,
      options: PutOptions = {},
    ): Promise<{ etag: string }> {
      const { signal, contentType } = options;
      signal?.throwIfAborted();
      const abortController = new AbortController();
      const onAbort = (): void => abortController.abort(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const upload = new Upload({
          client,
          params: {
            Bucket: ref.bucket,
            Key: ref.key,
            Body:
              typeof body === 'string' || body instanceof Uint8Array
                ? body
                : Readable.from(body, { objectMode: false }),
            ContentType: contentType,
            ExpectedBucketOwner: options.expectedBucketOwner,
          },
          partSize: PART_BYTES,
          queueSize: UPLOAD_CONCURRENCY,
          leavePartsOnError: false,
          abortController,
        });
        const out = await upload.done();
        let etag = stripQuotes(out.ETag ?? '');
        if (etag === '') {
          // Ceph RGW 16 answers CompleteMultipartUpload with an empty <ETag/>: ask for it.
          const head = await client.send(
            new HeadObjectCommand({
              Bucket: ref.bucket,
              Key: ref.key,
              VersionId: 'VersionId' in out ? out.VersionId : undefined,
            }),
            { abortSignal: signal },
          );
          etag = stripQuotes(head.ETag ?? '');
        }
        return { etag };
      } catch (err) {
        throw storeError(err, signal, `Upload s3://${ref.bucket}/${ref.key}`);
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    },
  };
}

/** `bytes 0-99/1234` ⇒ 1234; undefined when absent or `*`. */
function totalSize(contentRange: string | undefined): number | undefined {
  const m = contentRange === undefined ? null : /\/(\d+)\s*$/.exec(contentRange);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

function storeError(err: unknown, signal: AbortSignal | undefined, what: string): unknown {
  if (signal?.aborted || err instanceof ObjectStoreError) return err;
  const info = describeS3Error(err);
  return new ObjectStoreError(info.httpStatus, info.code, `${what}: ${info.message}`, { cause: err });
}
