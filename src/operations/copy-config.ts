/**
 * S3PutObjectCopy's configuration (docs/operations.md#copy): parses and validates the operation member of a
 * CreateJob request once, at the boundary, into a frozen CopyConfig.
 *
 * Defaulting rules (docs/operations.md#copy):
 *  - MetadataDirective absent: REPLACE when NewObjectMetadata carries any metadata field, else
 *    COPY. SSEAlgorithm (and the deprecated ContentLength/ContentMD5/RequesterCharged) are not
 *    metadata: they never switch a copy to REPLACE, and SSE applies under both directives.
 *  - NewObjectTagging absent ⇒ the source's tags are copied; present ⇒ exactly those tags (an
 *    empty list ⇒ none).
 */
import type {
  ChecksumAlgorithm,
  ObjectCannedACL,
  ObjectLockLegalHoldStatus,
  ObjectLockMode,
  ServerSideEncryption,
  StorageClass,
} from '@aws-sdk/client-s3';
import type { S3Tag } from '../domain/job-spec.ts';
import { checkGrantCount, invalid, optBool, optEnum, optString, optTimestamp } from './member-fields.ts';
import { checkLength, memberObject, parseObjectTags } from './s3-put-object-tagging.ts';

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
  /**
   * HEAD each source to count the bytes copied (docs/job-lifecycle.md#bytes-processed); false under
   * the job tag `s3batch:count-copy-bytes=false` (withJobTags): no HEAD in the common case. Unset: true.
   */
  readonly countBytes?: boolean | undefined;
}

const CANNED_ACLS = [
  'private',
  'public-read',
  'public-read-write',
  'aws-exec-read',
  'authenticated-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
] as const;
const STORAGE_CLASSES = [
  'STANDARD',
  'STANDARD_IA',
  'ONEZONE_IA',
  'GLACIER',
  'INTELLIGENT_TIERING',
  'DEEP_ARCHIVE',
  'GLACIER_IR',
] as const;
const CHECKSUM_ALGORITHMS = [
  'CRC32',
  'CRC32C',
  'SHA1',
  'SHA256',
  'CRC64NVME',
  'SHA512',
  'MD5',
  'XXHASH64',
  'XXHASH3',
  'XXHASH128',
] as const;
const GRANT_HEADERS = {
  FULL_CONTROL: 'GrantFullControl',
  READ: 'GrantRead',
  READ_ACP: 'GrantReadACP',
  WRITE_ACP: 'GrantWriteACP',
} as const;
const GRANTEE_TYPES = ['id', 'emailAddress', 'uri'] as const;
const COPY_FIELDS = new Set([
  'TargetResource',
  'CannedAccessControlList',
  'AccessControlGrants',
  'MetadataDirective',
  'ModifiedSinceConstraint',
  'NewObjectMetadata',
  'NewObjectTagging',
  'RedirectLocation',
  'RequesterPays',
  'StorageClass',
  'UnModifiedSinceConstraint',
  'SSEAwsKmsKeyId',
  'TargetKeyPrefix',
  'ObjectLockLegalHoldStatus',
  'ObjectLockMode',
  'ObjectLockRetainUntilDate',
  'BucketKeyEnabled',
  'ChecksumAlgorithm',
]);
const METADATA_FIELDS = new Set([
  'CacheControl',
  'ContentDisposition',
  'ContentEncoding',
  'ContentLanguage',
  'ContentType',
  'UserMetadata',
  'HttpExpiresDate',
  'SSEAlgorithm',
  'ContentLength',
  'ContentMD5',
  'RequesterCharged',
]);
/** S3 limits user-defined metadata to 2 KB (keys + values, UTF-8). */
const MAX_USER_METADATA_BYTES = 2048;

export function parseCopyConfig(member: unknown): CopyConfig {
  const F = 'S3PutObjectCopy';
  const m = memberObject(member, F);
  const unknown = Object.keys(m).filter((k) => !COPY_FIELDS.has(k));
  if (unknown.length > 0) throw invalid(`${F} has unknown field(s): ${unknown.join(', ')}`);

  const arn = optString(m.TargetResource, `${F}.TargetResource`, 1, 128);
  if (arn === undefined)
    throw invalid(`${F}.TargetResource is required (the destination bucket ARN, arn:aws:s3:::bucket)`);
  const match = /^arn:[^:]+:s3:::([^/:]+)$/.exec(arn);
  if (match?.[1] === undefined) {
    throw invalid(
      `${F}.TargetResource "${arn}" must be a bucket ARN of the form arn:<partition>:s3:::<bucket>` +
        (/^arn:[^:]+:s3express:/.test(arn) ? ' (directory buckets are not supported)' : ''),
    );
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
  dest.ObjectLockLegalHoldStatus = optEnum(
    m.ObjectLockLegalHoldStatus,
    ['OFF', 'ON'] as const,
    `${F}.ObjectLockLegalHoldStatus`,
  );
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
  const directive =
    optEnum(m.MetadataDirective, ['COPY', 'REPLACE'] as const, `${F}.MetadataDirective`) ??
    (Object.keys(metadata).length > 0 ? 'REPLACE' : 'COPY');

  const tags =
    m.NewObjectTagging === undefined || m.NewObjectTagging === null
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
  for (const f of [
    'CacheControl',
    'ContentDisposition',
    'ContentEncoding',
    'ContentLanguage',
    'ContentType',
  ] as const) {
    const v = optString(md[f], `${F}.${f}`, 1, 1024);
    if (v !== undefined) out[f] = headerValue(v, `${F}.${f}`);
  }
  const expires = optTimestamp(md.HttpExpiresDate, `${F}.HttpExpiresDate`);
  if (expires !== undefined) out.Expires = expires;
  const um = md.UserMetadata;
  if (um !== undefined && um !== null) {
    const entries = um === '' ? [] : typeof um === 'object' && !Array.isArray(um) ? Object.entries(um) : undefined;
    if (entries === undefined) throw invalid(`${F}.UserMetadata must be a map of string keys to string values`);
    if (entries.length > 8192)
      throw invalid(`${F}.UserMetadata has ${entries.length} entries; at most 8192 are allowed`);
    let bytes = 0;
    const meta: Record<string, string> = {};
    for (const [k, v] of entries) {
      checkLength(k, 1, 1024, `${F}.UserMetadata key`);
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k))
        throw invalid(`${F}.UserMetadata key "${k}" is not a valid HTTP header name`);
      if (typeof v !== 'string') throw invalid(`${F}.UserMetadata["${k}"] must be a string`);
      checkLength(v, 0, 1024, `${F}.UserMetadata["${k}"]`);
      const lower = k.toLowerCase();
      if (lower in meta) throw invalid(`${F}.UserMetadata has the key "${lower}" twice (keys are case-insensitive)`);
      meta[lower] = headerValue(v, `${F}.UserMetadata["${k}"]`);
      bytes += Buffer.byteLength(lower) + Buffer.byteLength(v);
    }
    if (bytes > MAX_USER_METADATA_BYTES) {
      throw invalid(
        `${F}.UserMetadata is ${bytes} bytes; S3 allows at most ${MAX_USER_METADATA_BYTES} bytes of user metadata`,
      );
    }
    out.Metadata = meta;
  }
  return out;
}

/** One header per permission: `id="…", emailAddress="…"` (docs/operations.md#copy). WRITE has none: rejected. */
function parseGrants(
  value: unknown,
  F: string,
): Partial<Record<(typeof GRANT_HEADERS)[keyof typeof GRANT_HEADERS], string>> {
  if (
    value === undefined ||
    value === null ||
    value === '' ||
    (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0)
  )
    return {};
  if (!Array.isArray(value)) throw invalid(`${F} must be a list of grants`);
  checkGrantCount(value, F);
  const byHeader = new Map<string, string[]>();
  value.forEach((g: unknown, i) => {
    const where = `${F}[${i}]`;
    if (typeof g !== 'object' || g === null) throw invalid(`${where} must be a {Grantee, Permission} grant`);
    const { Grantee, Permission } = g as { Grantee?: unknown; Permission?: unknown };
    if (Permission === 'WRITE')
      throw invalid(`${where}.Permission WRITE cannot be granted on an object (CopyObject has no such grant)`);
    const perm = optEnum(Permission, ['FULL_CONTROL', 'READ', 'READ_ACP', 'WRITE_ACP'] as const, `${where}.Permission`);
    if (perm === undefined) throw invalid(`${where}.Permission is required`);
    const ge = memberObject(Grantee, `${where}.Grantee`);
    const type = optEnum(ge.TypeIdentifier, GRANTEE_TYPES, `${where}.Grantee.TypeIdentifier`);
    const id = optString(ge.Identifier, `${where}.Grantee.Identifier`, 1, 1024);
    optString(ge.DisplayName, `${where}.Grantee.DisplayName`, 1, 1024);
    if (type === undefined || id === undefined)
      throw invalid(`${where}.Grantee needs TypeIdentifier (id|emailAddress|uri) and Identifier`);
    if (id.includes('"')) throw invalid(`${where}.Grantee.Identifier must not contain '"'`);
    const header = GRANT_HEADERS[perm];
    byHeader.set(header, [
      ...(byHeader.get(header) ?? []),
      `${type}="${headerValue(id, `${where}.Grantee.Identifier`)}"`,
    ]);
  });
  return Object.fromEntries([...byHeader].map(([h, list]) => [h, list.join(', ')]));
}

// ---- validation helpers -----------------------------------------------------------------------

function optNumber(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw invalid(`${field} must be a number ≥ 0`);
  return n;
}

/** A date string's Date; undefined when blank or unparseable (also used for HeadObject's Expires). */
export function validDate(s: string | undefined): Date | undefined {
  if (s === undefined || s.trim() === '') return undefined;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Node refuses header values outside tab + printable ASCII; say so at CreateJob, not per task. */
function headerValue(v: string, field: string): string {
  if (!/^[\t\x20-\x7e]*$/.test(v))
    throw invalid(`${field} may only contain printable ASCII characters (encode others, e.g. RFC 2047)`);
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
