/**
 * S3PutObjectCopy (docs/operations.md#copy): copies each manifest object into the TargetResource bucket.
 * The config (and its defaulting rules) is parsed in copy-config.ts.
 *
 * One attempt: HeadObject of the source (size, LastModified; with the row's version), then
 *  - size ≤ ctx.multipartCopyThresholdBytes: one CopyObject (here);
 *  - larger: a multipart copy (multipart-copy.ts).
 * The HEAD tells the size the task copies, which the job sums into its bytes processed
 * (docs/job-lifecycle.md#bytes-processed). A HEAD the store refuses (not retryable) is skipped:
 * CopyObject then fails with the store's own error, or copies with the size unknown (not
 * counted). A store that still answers CopyObject with "too large" gets the multipart copy.
 *
 * The HEAD costs one more request per task (the benchmark measured copy at 0.55× of a bare
 * CopyObject loop with it, on a local store where request count dominates). A job tagged
 * `s3batch:count-copy-bytes=false` (config.countBytes false) counts no bytes and takes the
 * copy-first path instead: one CopyObject in the common case (no (Un)ModifiedSince constraint,
 * threshold at CopyObject's own 5 GiB limit); only when the store answers that the source is too
 * large does it HEAD the source and copy it in parts.
 *
 * CopyObject, the tag write after it and the HEAD-first path's HeadObject go through the lean
 * per-task client (storage/lean-s3/); a multipart copy (its GetObjectTagging, parts and tag write)
 * stays on the SDK.
 *
 * Destination key = TargetKeyPrefix + '/' + whole source key, with exactly one '/' between.
 *
 * Store quirks this handles (measured, see test/integration/operations.test.ts):
 *  - Ceph RGW 16 ignores x-amz-tagging-directive REPLACE and x-amz-tagging on CopyObject (the
 *    copy always keeps the source's tags) and x-amz-tagging on CreateMultipartUpload; s3rver
 *    ignores both too. So when NewObjectTagging is given the tags are (re)written with
 *    PutObjectTagging on the new object right after the copy: one more request per task, only
 *    for jobs that set NewObjectTagging, and exact on every store.
 *  - Ceph ignores x-amz-copy-source-if-(un)modified-since: the constraints are also checked
 *    against the HeadObject answer (to the second, as S3 does) and fail the task with 412.
 */
import { HeadBucketCommand, type HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { S3BatchError } from '../domain/errors.ts';
import { failed, succeeded, type TaskEntry } from '../domain/task.ts';
import { taskS3Of } from '../storage/lean-s3/task-s3.ts';
import { describeS3Error } from '../storage/s3-error-classification.ts';
import { parseCopyConfig, type CopyConfig } from './copy-config.ts';
import { copySource, destinationKey, enforceTags } from './copy-requests.ts';
import { multipartCopy } from './multipart-copy.ts';
import type { AttemptOutcome, OperationContext, OperationHandler } from './operation.ts';
import { failureOutcome, rethrowIfOwnAbort, versionIdOf, withBytes } from './task-outcomes.ts';
import { taggingHeader } from './s3-put-object-tagging.ts';

// The request pieces stay importable from here (the benchmark's bare-SDK baseline uses them).
export { copySource, destinationKey } from './copy-requests.ts';

export const s3PutObjectCopy: OperationHandler<CopyConfig> = {
  name: 'S3PutObjectCopy',
  parse: parseCopyConfig,

  async prepare(config, ctx, signal, retry) {
    try {
      await retry(
        () => ctx.s3.send(new HeadBucketCommand({ Bucket: config.targetBucket }), { abortSignal: signal }),
        (err) => describeS3Error(err).retryable,
        signal,
      );
    } catch (err) {
      rethrowIfOwnAbort(err, signal);
      const info = describeS3Error(err);
      const why = info.code === 'NoSuchKey' ? `${info.httpStatus} NoSuchBucket` : `${info.httpStatus} ${info.code}`;
      throw new S3BatchError(
        'InvalidJobConfiguration',
        `Target bucket ${config.targetBucket} does not exist or is not accessible: ${why}`,
        { cause: err },
      );
    }
  },

  async attempt(config, entry, ctx, signal) {
    try {
      return await copyOne(config, entry, ctx, signal);
    } catch (err) {
      rethrowIfOwnAbort(err, signal);
      return failureOutcome(entry, err);
    }
  },

  describe(config, entry) {
    return `S3PutObjectCopy to arn:aws:s3:::${config.targetBucket}/${destinationKey(config.targetKeyPrefix, entry.key)}`;
  },
};

/** CopyObject's own limit: larger sources must be copied in parts. */
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;

async function copyOne(
  config: CopyConfig,
  entry: TaskEntry,
  ctx: OperationContext,
  signal: AbortSignal,
): Promise<AttemptOutcome> {
  const needsHead =
    config.countBytes !== false ||
    config.modifiedSince !== undefined ||
    config.unmodifiedSince !== undefined ||
    ctx.multipartCopyThresholdBytes < MAX_SINGLE_COPY_BYTES;
  if (!needsHead) {
    try {
      return await singleCopy(config, entry, ctx, signal, undefined);
    } catch (err) {
      rethrowIfOwnAbort(err, signal);
      if (!isSourceTooLarge(err)) throw err;
      // Over 5 GiB: learn the size and copy it in parts below.
    }
  }
  const versionId = versionIdOf(entry);
  const source = {
    Bucket: entry.bucket,
    Key: entry.key,
    VersionId: versionId,
    RequestPayer: config.destination.RequestPayer,
  };
  let head: HeadObjectCommandOutput | undefined;
  try {
    head = await taskS3Of(ctx.s3).headObject(source, signal);
  } catch (err) {
    rethrowIfOwnAbort(err, signal);
    if (describeS3Error(err).retryable) throw err;
    // A HEAD answer has no body, so no precise code (NoSuchKey? NoSuchVersion? NoSuchBucket?):
    // let CopyObject fail with the store's own error instead.
  }
  if (head === undefined) return singleCopy(config, entry, ctx, signal, undefined);
  const unmet = unmetConstraint(config, head.LastModified);
  if (unmet !== undefined) return { result: failed(entry, 412, 'PreconditionFailed', unmet), retryable: false };
  const size = head.ContentLength ?? 0;
  if (size > Math.min(ctx.multipartCopyThresholdBytes, MAX_SINGLE_COPY_BYTES) && size > 0) {
    return await multipartCopy(config, entry, ctx, signal, head, size);
  }
  try {
    return await singleCopy(config, entry, ctx, signal, head.ContentLength);
  } catch (err) {
    rethrowIfOwnAbort(err, signal);
    // The store's CopyObject limit is below what its HEAD made us expect: copy in parts.
    if (!isSourceTooLarge(err) || size === 0) throw err;
    return await multipartCopy(config, entry, ctx, signal, head, size);
  }
}

async function singleCopy(
  config: CopyConfig,
  entry: TaskEntry,
  ctx: OperationContext,
  signal: AbortSignal,
  /** The source's size from its HEAD: the bytes the task copies (undefined: unknown, not counted). */
  bytes: number | undefined,
): Promise<AttemptOutcome> {
  const versionId = versionIdOf(entry);
  const out = await taskS3Of(ctx.s3).copyObject(
    {
      Bucket: config.targetBucket,
      Key: destinationKey(config.targetKeyPrefix, entry.key),
      CopySource: copySource(entry.bucket, entry.key, versionId),
      ...config.destination,
      MetadataDirective: config.metadataDirective,
      ...config.metadata,
      ...(config.tags === undefined
        ? {}
        : { TaggingDirective: 'REPLACE' as const, Tagging: taggingHeader(config.tags) }),
      CopySourceIfModifiedSince: config.modifiedSince,
      CopySourceIfUnmodifiedSince: config.unmodifiedSince,
    },
    signal,
  );
  if (config.tags !== undefined) await enforceTags(config, entry, ctx, signal, config.tags, out.VersionId);
  return { result: withBytes(succeeded(entry), config.countBytes === false ? undefined : bytes), retryable: false };
}

/** AWS: 400 InvalidRequest "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120"; others say EntityTooLarge. */
export function isSourceTooLarge(err: unknown): boolean {
  const info = describeS3Error(err);
  return (
    info.code === 'EntityTooLarge' ||
    (info.code === 'InvalidRequest' && /larger than the maximum allowable size/i.test(info.message))
  );
}

/** S3 compares the constraints to the second; undefined when they hold (or there are none). */
function unmetConstraint(config: CopyConfig, lastModified: Date | undefined): string | undefined {
  if (lastModified === undefined) return undefined;
  const lm = Math.floor(lastModified.getTime() / 1000);
  const failedSince = config.modifiedSince !== undefined && lm <= Math.floor(config.modifiedSince.getTime() / 1000);
  const failedUnmod = config.unmodifiedSince !== undefined && lm > Math.floor(config.unmodifiedSince.getTime() / 1000);
  if (!failedSince && !failedUnmod) return undefined;
  const which = failedSince ? 'ModifiedSinceConstraint' : 'UnModifiedSinceConstraint';
  return `At least one of the pre-conditions you specified did not hold: the source object was last modified ${lastModified.toISOString()} (${which}) (Service: Amazon S3; Status Code: 412; Error Code: PreconditionFailed)`;
}
