/**
 * S3PutObjectCopy (spec §7.1): copies each manifest object into the TargetResource bucket.
 *
 * One attempt = HeadObject of the source (size, LastModified, ETag; with the row's version), then
 *  - size ≤ ctx.multipartCopyThresholdBytes: one CopyObject;
 *  - larger: CreateMultipartUpload + UploadPartCopy (≤ 4 in flight) + CompleteMultipartUpload,
 *    aborting the upload on any failure.
 *
 * Defaulting rules (spec §7.1):
 *  - MetadataDirective absent: REPLACE when NewObjectMetadata carries any metadata field, else
 *    COPY. SSEAlgorithm (and the deprecated ContentLength/ContentMD5/RequesterCharged) are not
 *    metadata: they never switch a copy to REPLACE, and SSE applies under both directives.
 *  - NewObjectTagging absent ⇒ the source's tags are copied; present ⇒ exactly those tags (an
 *    empty list ⇒ none).
 *  - Destination key = TargetKeyPrefix + '/' + whole source key, with exactly one '/' between.
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
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCopyCommand,
  type ChecksumAlgorithm,
  type CompletedPart,
  type CopyPartResult,
  type HeadObjectCommandOutput,
  type ObjectCannedACL,
  type ObjectLockLegalHoldStatus,
  type ObjectLockMode,
  type ServerSideEncryption,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { S3BatchError } from '../domain/errors.ts';
import type { S3Tag } from '../domain/job-spec.ts';
import { failed, succeeded, type TaskEntry } from '../domain/task.ts';
import type { AttemptOutcome, OperationContext, OperationHandler } from './operation.ts';
import { describeS3Error, failureOutcome, missingVersionOutcome, rethrowIfOwnAbort, versionIdOf } from './s3-error.ts';
import { checkLength, memberObject, parseObjectTags, taggingHeader } from './s3-put-object-tagging.ts';

// ---- config -----------------------------------------------------------------------------------

export interface CopyMetadata {
  readonly CacheControl?: string;
  readonly ContentDisposition?: string;
  readonly ContentEncoding?: string;
  readonly ContentLanguage?: string;
  readonly ContentType?: string;
  readonly Expires?: Date;
  readonly Metadata?: Readonly<Record<string, string>>;
}

/** Request fields every write of the destination carries (CopyObject and CreateMultipartUpload). */
export interface CopyDestinationParams {
  readonly ACL?: ObjectCannedACL;
  readonly GrantFullControl?: string;
  readonly GrantRead?: string;
  readonly GrantReadACP?: string;
  readonly GrantWriteACP?: string;
  readonly StorageClass?: StorageClass;
  readonly ChecksumAlgorithm?: ChecksumAlgorithm;
  readonly ServerSideEncryption?: ServerSideEncryption;
  readonly SSEKMSKeyId?: string;
  readonly BucketKeyEnabled?: boolean;
  readonly ObjectLockMode?: ObjectLockMode;
  readonly ObjectLockRetainUntilDate?: Date;
  readonly ObjectLockLegalHoldStatus?: ObjectLockLegalHoldStatus;
  readonly WebsiteRedirectLocation?: string;
  readonly RequestPayer?: 'requester';
}

export interface CopyConfig {
  readonly targetBucket: string;
  readonly targetKeyPrefix: string | undefined;
  readonly metadataDirective: 'COPY' | 'REPLACE';
  /** The new metadata; set only when the directive is REPLACE (may be empty: wipe it). */
  readonly metadata: CopyMetadata | undefined;
  /** Undefined ⇒ copy the source's tags; a list (possibly empty) ⇒ exactly these tags. */
  readonly tags: readonly S3Tag[] | undefined;
  readonly destination: CopyDestinationParams;
  readonly modifiedSince: Date | undefined;
  readonly unmodifiedSince: Date | undefined;
}

const CANNED_ACLS = ['private', 'public-read', 'public-read-write', 'aws-exec-read', 'authenticated-read', 'bucket-owner-read', 'bucket-owner-full-control'] as const;
const STORAGE_CLASSES = ['STANDARD', 'STANDARD_IA', 'ONEZONE_IA', 'GLACIER', 'INTELLIGENT_TIERING', 'DEEP_ARCHIVE', 'GLACIER_IR'] as const;
const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'SHA1', 'SHA256', 'CRC64NVME', 'SHA512', 'MD5', 'XXHASH64', 'XXHASH3', 'XXHASH128'] as const;
const GRANT_HEADERS = { FULL_CONTROL: 'GrantFullControl', READ: 'GrantRead', READ_ACP: 'GrantReadACP', WRITE_ACP: 'GrantWriteACP' } as const;
const GRANTEE_TYPES = ['id', 'emailAddress', 'uri'] as const;
const COPY_FIELDS = new Set([
  'TargetResource', 'CannedAccessControlList', 'AccessControlGrants', 'MetadataDirective', 'ModifiedSinceConstraint',
  'NewObjectMetadata', 'NewObjectTagging', 'RedirectLocation', 'RequesterPays', 'StorageClass', 'UnModifiedSinceConstraint',
  'SSEAwsKmsKeyId', 'TargetKeyPrefix', 'ObjectLockLegalHoldStatus', 'ObjectLockMode', 'ObjectLockRetainUntilDate',
  'BucketKeyEnabled', 'ChecksumAlgorithm',
]);
const METADATA_FIELDS = new Set([
  'CacheControl', 'ContentDisposition', 'ContentEncoding', 'ContentLanguage', 'ContentType', 'UserMetadata',
  'HttpExpiresDate', 'SSEAlgorithm', 'ContentLength', 'ContentMD5', 'RequesterCharged',
]);
/** S3 limits user-defined metadata to 2 KB (keys + values, UTF-8). */
const MAX_USER_METADATA_BYTES = 2048;
const PART_COPY_CONCURRENCY = 4;
const MAX_PARTS = 10_000;

export function parseCopyConfig(member: unknown): CopyConfig {
  const F = 'S3PutObjectCopy';
  const m = memberObject(member, F);
  const unknown = Object.keys(m).filter((k) => !COPY_FIELDS.has(k));
  if (unknown.length > 0) throw invalid(`${F} has unknown field(s): ${unknown.join(', ')}`);

  const arn = optString(m.TargetResource, `${F}.TargetResource`, 1, 128);
  if (arn === undefined) throw invalid(`${F}.TargetResource is required (the destination bucket ARN, arn:aws:s3:::bucket)`);
  const match = /^arn:[^:]+:s3:::([^/:]+)$/.exec(arn);
  if (match?.[1] === undefined) {
    throw invalid(`${F}.TargetResource "${arn}" must be a bucket ARN of the form arn:<partition>:s3:::<bucket>` +
      (/^arn:[^:]+:s3express:/.test(arn) ? ' (directory buckets are not supported)' : ''));
  }
  const targetKeyPrefix = optString(m.TargetKeyPrefix, `${F}.TargetKeyPrefix`, 1, 1024);

  const dest: { -readonly [K in keyof CopyDestinationParams]: CopyDestinationParams[K] } = {};
  dest.ACL = optEnum(m.CannedAccessControlList, CANNED_ACLS, `${F}.CannedAccessControlList`);
  Object.assign(dest, parseGrants(m.AccessControlGrants, `${F}.AccessControlGrants`));
  dest.StorageClass = optEnum(m.StorageClass, STORAGE_CLASSES, `${F}.StorageClass`);
  dest.ChecksumAlgorithm = optEnum(m.ChecksumAlgorithm, CHECKSUM_ALGORITHMS, `${F}.ChecksumAlgorithm`);
  dest.WebsiteRedirectLocation = optString(m.RedirectLocation, `${F}.RedirectLocation`, 1, 2048);
  if (optBool(m.RequesterPays, `${F}.RequesterPays`) === true) dest.RequestPayer = 'requester';
  dest.BucketKeyEnabled = optBool(m.BucketKeyEnabled, `${F}.BucketKeyEnabled`);
  dest.ObjectLockLegalHoldStatus = optEnum(m.ObjectLockLegalHoldStatus, ['OFF', 'ON'] as const, `${F}.ObjectLockLegalHoldStatus`);
  dest.ObjectLockMode = optEnum(m.ObjectLockMode, ['COMPLIANCE', 'GOVERNANCE'] as const, `${F}.ObjectLockMode`);
  dest.ObjectLockRetainUntilDate = optTimestamp(m.ObjectLockRetainUntilDate, `${F}.ObjectLockRetainUntilDate`);
  if ((dest.ObjectLockMode === undefined) !== (dest.ObjectLockRetainUntilDate === undefined)) {
    throw invalid(`${F}.ObjectLockMode and ${F}.ObjectLockRetainUntilDate must be given together`);
  }

  const md = memberObject(m.NewObjectMetadata, `${F}.NewObjectMetadata`);
  const unknownMd = Object.keys(md).filter((k) => !METADATA_FIELDS.has(k));
  if (unknownMd.length > 0) throw invalid(`${F}.NewObjectMetadata has unknown field(s): ${unknownMd.join(', ')}`);
  const sse = optEnum(md.SSEAlgorithm, ['AES256', 'KMS'] as const, `${F}.NewObjectMetadata.SSEAlgorithm`);
  const kmsKeyId = optString(m.SSEAwsKmsKeyId, `${F}.SSEAwsKmsKeyId`, 1, 2000);
  if (kmsKeyId !== undefined && sse === 'AES256') {
    throw invalid(`${F}.SSEAwsKmsKeyId requires NewObjectMetadata.SSEAlgorithm KMS (or no SSEAlgorithm), not AES256`);
  }
  if (sse === 'AES256') dest.ServerSideEncryption = 'AES256';
  if (sse === 'KMS' || kmsKeyId !== undefined) dest.ServerSideEncryption = 'aws:kms';
  dest.SSEKMSKeyId = kmsKeyId;
  // deprecated in the model: accepted (type-checked) and ignored
  optNumber(md.ContentLength, `${F}.NewObjectMetadata.ContentLength`);
  optString(md.ContentMD5, `${F}.NewObjectMetadata.ContentMD5`, 0, 1024);
  optBool(md.RequesterCharged, `${F}.NewObjectMetadata.RequesterCharged`);

  const metadata = parseMetadata(md, `${F}.NewObjectMetadata`);
  const directive = optEnum(m.MetadataDirective, ['COPY', 'REPLACE'] as const, `${F}.MetadataDirective`) ??
    (Object.keys(metadata).length > 0 ? 'REPLACE' : 'COPY');

  const tags = m.NewObjectTagging === undefined || m.NewObjectTagging === null
    ? undefined
    : parseObjectTags(m.NewObjectTagging, `${F}.NewObjectTagging`);

  return deepFreeze({
    targetBucket: match[1],
    targetKeyPrefix,
    metadataDirective: directive,
    metadata: directive === 'REPLACE' ? metadata : undefined,
    tags,
    destination: dropUndefined(dest),
    modifiedSince: optTimestamp(m.ModifiedSinceConstraint, `${F}.ModifiedSinceConstraint`),
    unmodifiedSince: optTimestamp(m.UnModifiedSinceConstraint, `${F}.UnModifiedSinceConstraint`),
  });
}

function parseMetadata(md: Record<string, unknown>, F: string): CopyMetadata {
  const out: { -readonly [K in keyof CopyMetadata]: CopyMetadata[K] } = {};
  for (const f of ['CacheControl', 'ContentDisposition', 'ContentEncoding', 'ContentLanguage', 'ContentType'] as const) {
    const v = optString(md[f], `${F}.${f}`, 1, 1024);
    if (v !== undefined) out[f] = headerValue(v, `${F}.${f}`);
  }
  const expires = optTimestamp(md.HttpExpiresDate, `${F}.HttpExpiresDate`);
  if (expires !== undefined) out.Expires = expires;
  const um = md.UserMetadata;
  if (um !== undefined && um !== null) {
    const entries = um === '' ? [] : typeof um === 'object' && !Array.isArray(um) ? Object.entries(um) : undefined;
    if (entries === undefined) throw invalid(`${F}.UserMetadata must be a map of string keys to string values`);
    if (entries.length > 8192) throw invalid(`${F}.UserMetadata has ${entries.length} entries; at most 8192 are allowed`);
    let bytes = 0;
    const meta: Record<string, string> = {};
    for (const [k, v] of entries) {
      checkLength(k, 1, 1024, `${F}.UserMetadata key`);
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k)) throw invalid(`${F}.UserMetadata key "${k}" is not a valid HTTP header name`);
      if (typeof v !== 'string') throw invalid(`${F}.UserMetadata["${k}"] must be a string`);
      checkLength(v, 0, 1024, `${F}.UserMetadata["${k}"]`);
      const lower = k.toLowerCase();
      if (lower in meta) throw invalid(`${F}.UserMetadata has the key "${lower}" twice (keys are case-insensitive)`);
      meta[lower] = headerValue(v, `${F}.UserMetadata["${k}"]`);
      bytes += Buffer.byteLength(lower) + Buffer.byteLength(v);
    }
    if (bytes > MAX_USER_METADATA_BYTES) {
      throw invalid(`${F}.UserMetadata is ${bytes} bytes; S3 allows at most ${MAX_USER_METADATA_BYTES} bytes of user metadata`);
    }
    out.Metadata = meta;
  }
  return out;
}

/** One header per permission: `id="…", emailAddress="…"` (spec §7.1). WRITE has none: rejected. */
function parseGrants(value: unknown, F: string): Partial<Record<(typeof GRANT_HEADERS)[keyof typeof GRANT_HEADERS], string>> {
  if (value === undefined || value === null || value === '' || (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0)) return {};
  if (!Array.isArray(value)) throw invalid(`${F} must be a list of grants`);
  const byHeader = new Map<string, string[]>();
  value.forEach((g: unknown, i) => {
    const where = `${F}[${i}]`;
    if (typeof g !== 'object' || g === null) throw invalid(`${where} must be a {Grantee, Permission} grant`);
    const { Grantee, Permission } = g as { Grantee?: unknown; Permission?: unknown };
    if (Permission === 'WRITE') throw invalid(`${where}.Permission WRITE cannot be granted on an object (CopyObject has no such grant)`);
    const perm = optEnum(Permission, ['FULL_CONTROL', 'READ', 'READ_ACP', 'WRITE_ACP'] as const, `${where}.Permission`);
    if (perm === undefined) throw invalid(`${where}.Permission is required`);
    const ge = memberObject(Grantee, `${where}.Grantee`);
    const type = optEnum(ge.TypeIdentifier, GRANTEE_TYPES, `${where}.Grantee.TypeIdentifier`);
    const id = optString(ge.Identifier, `${where}.Grantee.Identifier`, 1, 1024);
    optString(ge.DisplayName, `${where}.Grantee.DisplayName`, 1, 1024);
    if (type === undefined || id === undefined) throw invalid(`${where}.Grantee needs TypeIdentifier (id|emailAddress|uri) and Identifier`);
    if (id.includes('"')) throw invalid(`${where}.Grantee.Identifier must not contain '"'`);
    const header = GRANT_HEADERS[perm];
    byHeader.set(header, [...(byHeader.get(header) ?? []), `${type}="${headerValue(id, `${where}.Grantee.Identifier`)}"`]);
  });
  return Object.fromEntries([...byHeader].map(([h, list]) => [h, list.join(', ')]));
}

// ---- per-task ---------------------------------------------------------------------------------

/** `bucket/a%20b/c%2Bd.txt?versionId=…`: every key segment percent-encoded, the `/`s kept. */
export function copySource(bucket: string, key: string, versionId?: string): string {
  const path = `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  return versionId === undefined ? path : `${path}?versionId=${encodeURIComponent(versionId)}`;
}

/** TargetKeyPrefix + the whole source key, with exactly one `/` between them. */
export function destinationKey(prefix: string | undefined, key: string): string {
  if (prefix === undefined) return key;
  return prefix.endsWith('/') ? prefix + key : `${prefix}/${key}`;
}

export const s3PutObjectCopy: OperationHandler<CopyConfig> = {
  name: 'S3PutObjectCopy',
  parse: parseCopyConfig,

  async prepare(config, ctx, signal) {
    for (let attempt = 1; ; attempt++) {
      try {
        await ctx.s3.send(new HeadBucketCommand({ Bucket: config.targetBucket }), { abortSignal: signal });
        return;
      } catch (err) {
        rethrowIfOwnAbort(err, signal);
        const info = describeS3Error(err);
        if (info.retryable && attempt < 3) {
          await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
          continue;
        }
        const why = info.code === 'NoSuchKey' ? `${info.httpStatus} NoSuchBucket` : `${info.httpStatus} ${info.code}`;
        throw new S3BatchError('InvalidJobConfiguration', `Target bucket ${config.targetBucket} does not exist or is not accessible: ${why}`, { cause: err });
      }
    }
  },

  async attempt(config, entry, ctx, signal) {
    if (entry.versionId === '') return missingVersionOutcome(entry);
    try {
      return await copyOne(config, entry, ctx, signal);
    } catch (err) {
      rethrowIfOwnAbort(err, signal);
      return failureOutcome(entry, err);
    }
  },
};

async function copyOne(config: CopyConfig, entry: TaskEntry, ctx: OperationContext, signal: AbortSignal): Promise<AttemptOutcome> {
  const versionId = versionIdOf(entry);
  const source = { Bucket: entry.bucket, Key: entry.key, VersionId: versionId, RequestPayer: config.destination.RequestPayer };
  let head: HeadObjectCommandOutput | undefined;
  try {
    head = await ctx.s3.send(new HeadObjectCommand(source), { abortSignal: signal });
  } catch (err) {
    rethrowIfOwnAbort(err, signal);
    if (describeS3Error(err).retryable) throw err;
    // A HEAD answer has no body, so no precise code (NoSuchKey? NoSuchVersion? NoSuchBucket?):
    // let CopyObject fail with the store's own error instead.
  }
  if (head !== undefined) {
    const unmet = unmetConstraint(config, head.LastModified);
    if (unmet !== undefined) return { result: failed(entry, 412, 'PreconditionFailed', unmet), retryable: false };
    const size = head.ContentLength ?? 0;
    if (size > ctx.multipartCopyThresholdBytes && size > 0) {
      return await multipartCopy(config, entry, ctx, signal, head, size);
    }
  }

  const out = await ctx.s3.send(
    new CopyObjectCommand({
      Bucket: config.targetBucket,
      Key: destinationKey(config.targetKeyPrefix, entry.key),
      CopySource: copySource(entry.bucket, entry.key, versionId),
      ...config.destination,
      MetadataDirective: config.metadataDirective,
      ...config.metadata,
      ...(config.tags === undefined ? {} : { TaggingDirective: 'REPLACE' as const, Tagging: taggingHeader(config.tags) }),
      CopySourceIfModifiedSince: config.modifiedSince,
      CopySourceIfUnmodifiedSince: config.unmodifiedSince,
    }),
    { abortSignal: signal },
  );
  if (config.tags !== undefined) await enforceTags(config, entry, ctx, signal, config.tags, out.VersionId);
  return { result: succeeded(entry), retryable: false };
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

/** Writes the tag set on the object just created (see the header comment: stores ignore the header). */
async function enforceTags(
  config: CopyConfig, entry: TaskEntry, ctx: OperationContext, signal: AbortSignal, tags: readonly S3Tag[], versionId: string | undefined,
): Promise<void> {
  await ctx.s3.send(
    new PutObjectTaggingCommand({
      Bucket: config.targetBucket,
      Key: destinationKey(config.targetKeyPrefix, entry.key),
      VersionId: versionId,
      RequestPayer: config.destination.RequestPayer,
      Tagging: { TagSet: tags.map((t) => ({ Key: t.Key, Value: t.Value })) },
    }),
    { abortSignal: signal },
  );
}

async function multipartCopy(
  config: CopyConfig, entry: TaskEntry, ctx: OperationContext, signal: AbortSignal, head: HeadObjectCommandOutput, size: number,
): Promise<AttemptOutcome> {
  const versionId = versionIdOf(entry);
  const Bucket = config.targetBucket;
  const Key = destinationKey(config.targetKeyPrefix, entry.key);
  let tags = config.tags;
  if (tags === undefined) {
    const got = await ctx.s3.send(
      new GetObjectTaggingCommand({ Bucket: entry.bucket, Key: entry.key, VersionId: versionId, RequestPayer: config.destination.RequestPayer }),
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
      Bucket, Key, ...config.destination, ...metadata,
      Tagging: tags.length > 0 ? taggingHeader(tags) : undefined,
    }),
    { abortSignal: signal },
  );
  const UploadId = created.UploadId;
  if (!UploadId) throw new Error('CreateMultipartUpload answered without an UploadId');
  try {
    const parts = await copyParts(ctx, signal, {
      Bucket, Key, UploadId, RequestPayer: config.destination.RequestPayer,
      CopySource: copySource(entry.bucket, entry.key, versionId),
      // pins the source across parts when no version id does (a change ⇒ 412, retried)
      CopySourceIfMatch: versionId === undefined ? head.ETag : undefined,
    }, size);
    const done = await ctx.s3.send(
      new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, RequestPayer: config.destination.RequestPayer, MultipartUpload: { Parts: parts } }),
      { abortSignal: signal },
    );
    if (tags.length > 0) await enforceTags(config, entry, ctx, signal, tags, done.VersionId);
    return { result: succeeded(entry), retryable: false };
  } catch (err) {
    // best effort, not tied to the (maybe aborted) signal; an error here must not hide the cause
    await ctx.s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId, RequestPayer: config.destination.RequestPayer })).catch(() => undefined);
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
  base: { Bucket: string; Key: string; UploadId: string; CopySource: string; CopySourceIfMatch: string | undefined; RequestPayer: 'requester' | undefined },
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
  for (const k of ['ChecksumCRC32', 'ChecksumCRC32C', 'ChecksumCRC64NVME', 'ChecksumSHA1', 'ChecksumSHA256', 'ChecksumSHA512', 'ChecksumMD5', 'ChecksumXXHASH64', 'ChecksumXXHASH3', 'ChecksumXXHASH128'] as const) {
    const v = (r as Partial<Record<typeof k, string>>)[k];
    if (v !== undefined) (part as Record<string, unknown>)[k] = v;
  }
  return part;
}

// ---- validation helpers -----------------------------------------------------------------------

function invalid(message: string): S3BatchError {
  return new S3BatchError('InvalidRequest', message);
}

function optString(v: unknown, field: string, min: number, max: number): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`${field} must be a string`);
  checkLength(v, min, max, field);
  return v;
}

function optEnum<const T extends readonly string[]>(v: unknown, values: T, field: string): T[number] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !values.includes(v)) throw invalid(`${field} must be one of ${values.join(', ')}; got ${JSON.stringify(v)}`);
  return v as T[number];
}

function optBool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw invalid(`${field} must be true or false`);
}

function optNumber(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw invalid(`${field} must be a number ≥ 0`);
  return n;
}

/** An ISO 8601 string, a Date, or epoch seconds (the AWS JSON timestamp form). */
function optTimestamp(v: unknown, field: string): Date | undefined {
  if (v === undefined || v === null) return undefined;
  const d = v instanceof Date ? new Date(v.getTime()) : typeof v === 'number' ? new Date(v * 1000) : typeof v === 'string' ? validDate(v) : undefined;
  if (d === undefined || Number.isNaN(d.getTime())) throw invalid(`${field} must be a timestamp (ISO 8601, e.g. 2025-01-31T00:00:00Z)`);
  return d;
}

function validDate(s: string | undefined): Date | undefined {
  if (s === undefined || s.trim() === '') return undefined;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Node refuses header values outside tab + printable ASCII; say so at CreateJob, not per task. */
function headerValue(v: string, field: string): string {
  if (!/^[\t\x20-\x7e]*$/.test(v)) throw invalid(`${field} may only contain printable ASCII characters (encode others, e.g. RFC 2047)`);
  return v;
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !(o instanceof Date) && !Object.isFrozen(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
