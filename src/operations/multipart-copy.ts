/**
 * S3PutObjectCopy's path for sources above ctx.multipartCopyThresholdBytes:
 * CreateMultipartUpload + UploadPartCopy (≤ PART_COPY_CONCURRENCY in flight) +
 * CompleteMultipartUpload, aborting the upload on any failure. Metadata and tags are not copied
 * by a multipart upload, so they come from the HeadObject answer and GetObjectTagging (under
 * MetadataDirective COPY / no NewObjectTagging).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectTaggingCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type CopyPartResult,
  type HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { failed, succeeded, type TaskEntry } from '../domain/task.ts';
import { sdkTaskS3 } from '../storage/lean-s3/task-s3.ts';
import { describeS3Error } from '../storage/s3-error-classification.ts';
import { validDate, type CopyConfig, type CopyMetadata } from './copy-config.ts';
import { copySource, destinationKey, enforceTags } from './copy-requests.ts';
import type { AttemptOutcome, OperationContext } from './operation.ts';
import { rethrowIfOwnAbort, versionIdOf, withBytes } from './task-outcomes.ts';
import { taggingHeader } from './s3-put-object-tagging.ts';

const PART_COPY_CONCURRENCY = 4;
/** S3's limit of parts per upload: above ctx.multipartCopyPartBytes × MAX_PARTS, parts grow. */
const MAX_PARTS = 10_000;

/** Copies a source of `size` bytes (HeadObject answer `head`) as a multipart upload. */
export async function multipartCopy(
  config: CopyConfig,
  entry: TaskEntry,
  ctx: OperationContext,
  signal: AbortSignal,
  head: HeadObjectCommandOutput,
  size: number,
): Promise<AttemptOutcome> {
  const versionId = versionIdOf(entry);
  const Bucket = config.targetBucket;
  const Key = destinationKey(config.targetKeyPrefix, entry.key);
  let tags = config.tags;
  if (tags === undefined) {
    const got = await ctx.s3.send(
      new GetObjectTaggingCommand({
        Bucket: entry.bucket,
        Key: entry.key,
        VersionId: versionId,
        RequestPayer: config.destination.RequestPayer,
      }),
      { abortSignal: signal },
    );
    tags = (got.TagSet ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' }));
  }
  const metadata: CopyMetadata = config.metadata ?? {
    CacheControl: head.CacheControl,
    ContentDisposition: head.ContentDisposition,
    ContentEncoding: head.ContentEncoding,
    ContentLanguage: head.ContentLanguage,
    ContentType: head.ContentType,
    Expires: validDate(head.ExpiresString) ?? head.Expires,
    Metadata: head.Metadata,
  };
  const created = await ctx.s3.send(
    new CreateMultipartUploadCommand({
      Bucket,
      Key,
      ...config.destination,
      ...metadata,
      Tagging: tags.length > 0 ? taggingHeader(tags) : undefined,
    }),
    { abortSignal: signal },
  );
  const UploadId = created.UploadId;
  if (!UploadId) throw new Error('CreateMultipartUpload answered without an UploadId');
  try {
    const parts = await copyParts(
      ctx,
      signal,
      {
        Bucket,
        Key,
        UploadId,
        RequestPayer: config.destination.RequestPayer,
        CopySource: copySource(entry.bucket, entry.key, versionId),
        // pins the source across parts when no version id does (a change ⇒ 412, retried)
        CopySourceIfMatch: versionId === undefined ? head.ETag : undefined,
      },
      size,
    );
    const done = await ctx.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId,
        RequestPayer: config.destination.RequestPayer,
        MultipartUpload: { Parts: parts },
      }),
      { abortSignal: signal },
    );
    if (tags.length > 0) await enforceTags(config, entry, ctx, signal, tags, done.VersionId, sdkTaskS3(ctx.s3));
    return { result: withBytes(succeeded(entry), config.countBytes === false ? undefined : size), retryable: false };
  } catch (err) {
    // best effort, not tied to the (maybe aborted) signal; an error here must not hide the cause
    await ctx.s3
      .send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId, RequestPayer: config.destination.RequestPayer }))
      .catch(() => undefined);
    rethrowIfOwnAbort(err, signal);
    const info = describeS3Error(err);
    // Our constraints already held at HEAD time, so a 412 now means the source changed mid-copy.
    const retryable = info.retryable || info.code === 'PreconditionFailed';
    return { result: failed(entry, info.httpStatus, info.code, info.message), retryable };
  }
}

/**
 * UploadPartCopy of every part, ≤ PART_COPY_CONCURRENCY in flight: workers pull part numbers
 * from one shared counter; the first failure aborts the others (their AbortErrors are ignored)
 * and is thrown once all workers have stopped. Parts come back in part-number order.
 */
async function copyParts(
  ctx: OperationContext,
  signal: AbortSignal,
  base: {
    Bucket: string;
    Key: string;
    UploadId: string;
    CopySource: string;
    CopySourceIfMatch: string | undefined;
    RequestPayer: 'requester' | undefined;
  },
  size: number,
): Promise<CompletedPart[]> {
  const partBytes = Math.max(1, ctx.multipartCopyPartBytes, Math.ceil(size / MAX_PARTS));
  const count = Math.ceil(size / partBytes);
  const parts = new Array<CompletedPart | undefined>(count);
  const inner = new AbortController();
  const onAbort = (): void => inner.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  let next = 0;
  let firstError: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!inner.signal.aborted) {
      const index = next++;
      if (index >= count) return;
      const start = index * partBytes;
      const end = Math.min(size, start + partBytes) - 1;
      try {
        const out = await ctx.s3.send(
          new UploadPartCopyCommand({ ...base, PartNumber: index + 1, CopySourceRange: `bytes=${start}-${end}` }),
          { abortSignal: inner.signal },
        );
        parts[index] = completedPart(index + 1, out.CopyPartResult);
      } catch (err) {
        firstError ??= { err };
        inner.abort();
        return;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(PART_COPY_CONCURRENCY, count) }, worker));
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  signal.throwIfAborted();
  if (firstError !== undefined) throw firstError.err;
  return parts.map((p, i) => {
    if (p === undefined) throw new Error(`part ${i + 1} of ${count} was not copied`);
    return p;
  });
}

function completedPart(PartNumber: number, r: CopyPartResult | undefined): CompletedPart {
  if (r?.ETag === undefined) throw new Error(`UploadPartCopy of part ${PartNumber} answered without an ETag`);
  const part: CompletedPart = { PartNumber, ETag: r.ETag };
  for (const k of [
    'ChecksumCRC32',
    'ChecksumCRC32C',
    'ChecksumCRC64NVME',
    'ChecksumSHA1',
    'ChecksumSHA256',
    'ChecksumSHA512',
    'ChecksumMD5',
    'ChecksumXXHASH64',
    'ChecksumXXHASH3',
    'ChecksumXXHASH128',
  ] as const) {
    const v = (r as Partial<Record<typeof k, string>>)[k];
    if (v !== undefined) (part as Record<string, unknown>)[k] = v;
  }
  return part;
}
