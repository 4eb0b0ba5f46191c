/**
 * The per-task S3 requests as the lean client sends them, field for field what the AWS SDK's
 * serializers make of the same command input (query order, headers, XML bodies, the CRC32 a
 * WHEN_REQUIRED checksum adds), and the answers read back into the SDK's output shapes.
 * test/unit/s3-lean-client.test.ts captures both clients' requests and compares them.
 */
import type {
  CopyObjectCommandInput,
  DeleteObjectCommandInput,
  DeleteObjectsCommandInput,
  DeleteObjectsCommandOutput,
  DeleteObjectTaggingCommandInput,
  GetObjectCommandInput,
  GetObjectTaggingCommandInput,
  HeadObjectCommandInput,
  HeadObjectCommandOutput,
  PutObjectAclCommandInput,
  PutObjectLegalHoldCommandInput,
  PutObjectRetentionCommandInput,
  PutObjectTaggingCommandInput,
  RestoreObjectCommandInput,
  Tag,
} from '@aws-sdk/client-s3';
import { decodeXml } from './errors.ts';
import type { LeanRequest, LeanResponse } from './lean-client.ts';

const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>';
const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';

type Headers = Record<string, string | undefined>;

export function putObjectTaggingRequest(input: PutObjectTaggingCommandInput): LeanRequest {
  const tags = (input.Tagging?.TagSet ?? []).map((t) => `<Tag>${el('Key', t.Key)}${el('Value', t.Value)}</Tag>`);
  return {
    ...onSubresource('PUT', input, 'tagging'),
    headers: { 'x-amz-expected-bucket-owner': input.ExpectedBucketOwner, 'x-amz-request-payer': input.RequestPayer },
    body: `${XML_DECL}<Tagging ${NS}>${node('TagSet', tags.join(''))}</Tagging>`,
    checksumRequired: true,
  };
}

export function deleteObjectTaggingRequest(input: DeleteObjectTaggingCommandInput): LeanRequest {
  return {
    ...onSubresource('DELETE', input, 'tagging'),
    headers: { 'x-amz-expected-bucket-owner': input.ExpectedBucketOwner },
  };
}

export function getObjectTaggingRequest(input: GetObjectTaggingCommandInput): LeanRequest {
  return {
    ...onSubresource('GET', input, 'tagging'),
    headers: { 'x-amz-expected-bucket-owner': input.ExpectedBucketOwner, 'x-amz-request-payer': input.RequestPayer },
  };
}

/** GetObjectTagging's TagSet. */
export function tagSetOf(res: LeanResponse): Tag[] {
  return blocks(res.body, 'Tag').map((t) => ({ Key: field(t, 'Key') ?? '', Value: field(t, 'Value') ?? '' }));
}

export function headObjectRequest(input: HeadObjectCommandInput): LeanRequest {
  return {
    method: 'HEAD',
    bucket: need(input.Bucket),
    key: need(input.Key),
    query: [
      ['partNumber', input.PartNumber === undefined ? undefined : String(input.PartNumber)],
      ['versionId', input.VersionId],
    ],
    headers: {
      'x-amz-request-payer': input.RequestPayer,
      'x-amz-expected-bucket-owner': input.ExpectedBucketOwner,
      'x-amz-checksum-mode': input.ChecksumMode,
    },
  };
}

/** The HeadObject fields the operations read (and a few more), as the SDK parses them. */
export function headObjectOutput(res: LeanResponse): HeadObjectCommandOutput {
  const h = res.headers;
  const out: Record<string, unknown> = { $metadata: { httpStatusCode: res.status } };
  const set = (field: string, header: string, parse: (v: string) => unknown = (v) => v) => {
    const v = headerOf(h, header);
    if (v !== undefined) out[field] = parse(v);
  };
  set('AcceptRanges', 'accept-ranges');
  set('DeleteMarker', 'x-amz-delete-marker', (v) => v === 'true');
  set('LastModified', 'last-modified', (v) => new Date(v));
  set('ContentLength', 'content-length', Number);
  set('ETag', 'etag');
  set('VersionId', 'x-amz-version-id');
  set('CacheControl', 'cache-control');
  set('ContentDisposition', 'content-disposition');
  set('ContentEncoding', 'content-encoding');
  set('ContentLanguage', 'content-language');
  set('ContentType', 'content-type');
  set('ExpiresString', 'expires');
  set('Expires', 'expires', (v) => {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? undefined : d;
  });
  set('WebsiteRedirectLocation', 'x-amz-website-redirect-location');
  set('ServerSideEncryption', 'x-amz-server-side-encryption');
  set('SSEKMSKeyId', 'x-amz-server-side-encryption-aws-kms-key-id');
  set('BucketKeyEnabled', 'x-amz-server-side-encryption-bucket-key-enabled', (v) => v === 'true');
  set('StorageClass', 'x-amz-storage-class');
  set('ReplicationStatus', 'x-amz-replication-status');
  set('PartsCount', 'x-amz-mp-parts-count', Number);
  set('ObjectLockMode', 'x-amz-object-lock-mode');
  set('ObjectLockRetainUntilDate', 'x-amz-object-lock-retain-until-date', (v) => new Date(v));
  set('ObjectLockLegalHoldStatus', 'x-amz-object-lock-legal-hold');
  set('Restore', 'x-amz-restore');
  for (const alg of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'])
    set(`Checksum${alg}`, `x-amz-checksum-${alg.toLowerCase()}`);
  set('ChecksumType', 'x-amz-checksum-type');
  if (out.Expires === undefined) delete out.Expires;
  const metadata: Record<string, string> = {};
  for (const name in h) {
    if (name.startsWith('x-amz-meta-')) metadata[name.slice(11)] = headerOf(h, name) ?? '';
  }
  out.Metadata = metadata;
  return out as unknown as HeadObjectCommandOutput;
}

/**
 * The GetObject fields the lean client sends: the object, its version or part, a range and the
 * conditions. SSE-C (the SDK's SSE-C middleware rewrites the key) and ChecksumMode (the SDK then
 * validates the body's checksum) are left to the SDK; no operation sends them today.
 */
export type LeanGetObjectInput = Pick<
  GetObjectCommandInput,
  | 'Bucket'
  | 'Key'
  | 'VersionId'
  | 'PartNumber'
  | 'Range'
  | 'IfMatch'
  | 'IfModifiedSince'
  | 'IfNoneMatch'
  | 'IfUnmodifiedSince'
  | 'RequestPayer'
  | 'ExpectedBucketOwner'
>;

const GET_OBJECT_FIELDS = new Set([
  'Bucket',
  'Key',
  'VersionId',
  'PartNumber',
  'Range',
  'IfMatch',
  'IfModifiedSince',
  'IfNoneMatch',
  'IfUnmodifiedSince',
  'RequestPayer',
  'ExpectedBucketOwner',
]);

export function getObjectRequest(input: LeanGetObjectInput): LeanRequest {
  for (const k in input) {
    if (!GET_OBJECT_FIELDS.has(k) && (input as Record<string, unknown>)[k] !== undefined) {
      throw new Error(`The lean client does not send GetObject's ${k}`);
    }
  }
  return {
    method: 'GET',
    bucket: need(input.Bucket),
    key: need(input.Key),
    query: [
      ['partNumber', input.PartNumber === undefined ? undefined : String(input.PartNumber)],
      ['versionId', input.VersionId],
      ['x-id', 'GetObject'],
    ],
    headers: {
      'if-match': input.IfMatch,
      'if-modified-since': httpDate(input.IfModifiedSince),
      'if-none-match': input.IfNoneMatch,
      'if-unmodified-since': httpDate(input.IfUnmodifiedSince),
      range: input.Range,
      'x-amz-request-payer': input.RequestPayer,
      'x-amz-expected-bucket-owner': input.ExpectedBucketOwner,
    },
  };
}

/** GetObject's ContentLength (the content-length header), as the SDK parses it. */
export function contentLengthOf(h: LeanResponse['headers']): number | undefined {
  const v = headerOf(h, 'content-length');
  return v === undefined ? undefined : Number(v);
}

export function copyObjectRequest(input: CopyObjectCommandInput): LeanRequest {
  const headers: Headers = {
    'x-amz-acl': input.ACL,
    'cache-control': input.CacheControl,
    'x-amz-checksum-algorithm': input.ChecksumAlgorithm,
    'content-disposition': input.ContentDisposition,
    'content-encoding': input.ContentEncoding,
    'content-language': input.ContentLanguage,
    'content-type': input.ContentType,
    'x-amz-copy-source': input.CopySource,
    'x-amz-copy-source-if-match': input.CopySourceIfMatch,
    'x-amz-copy-source-if-modified-since': httpDate(input.CopySourceIfModifiedSince),
    'x-amz-copy-source-if-none-match': input.CopySourceIfNoneMatch,
    'x-amz-copy-source-if-unmodified-since': httpDate(input.CopySourceIfUnmodifiedSince),
    expires: httpDate(input.Expires),
    'x-amz-grant-full-control': input.GrantFullControl,
    'x-amz-grant-read': input.GrantRead,
    'x-amz-grant-read-acp': input.GrantReadACP,
    'x-amz-grant-write-acp': input.GrantWriteACP,
    'x-amz-metadata-directive': input.MetadataDirective,
    'x-amz-tagging-directive': input.TaggingDirective,
    'x-amz-server-side-encryption': input.ServerSideEncryption,
    'x-amz-storage-class': input.StorageClass,
    'x-amz-website-redirect-location': input.WebsiteRedirectLocation,
    'x-amz-server-side-encryption-customer-algorithm': input.SSECustomerAlgorithm,
    'x-amz-server-side-encryption-customer-key': input.SSECustomerKey,
    'x-amz-server-side-encryption-customer-key-md5': input.SSECustomerKeyMD5,
    'x-amz-server-side-encryption-aws-kms-key-id': input.SSEKMSKeyId,
    'x-amz-server-side-encryption-context': input.SSEKMSEncryptionContext,
    'x-amz-server-side-encryption-bucket-key-enabled': bool(input.BucketKeyEnabled),
    'x-amz-request-payer': input.RequestPayer,
    'x-amz-tagging': input.Tagging,
    'x-amz-object-lock-mode': input.ObjectLockMode,
    'x-amz-object-lock-retain-until-date': isoDate(input.ObjectLockRetainUntilDate),
    'x-amz-object-lock-legal-hold': input.ObjectLockLegalHoldStatus,
    'x-amz-expected-bucket-owner': input.ExpectedBucketOwner,
    'x-amz-source-expected-bucket-owner': input.ExpectedSourceBucketOwner,
  };
  for (const [k, v] of Object.entries(input.Metadata ?? {})) headers[`x-amz-meta-${k.toLowerCase()}`] = v;
  return {
    method: 'PUT',
    bucket: need(input.Bucket),
    key: need(input.Key),
    query: [['x-id', 'CopyObject']],
    headers,
    bodyRequired: true,
  };
}

/** CopyObject's new VersionId (a header). */
export function versionIdOf(res: LeanResponse): string | undefined {
  return headerOf(res.headers, 'x-amz-version-id');
}

export function putObjectAclRequest(input: PutObjectAclCommandInput): LeanRequest {
  const policy = input.AccessControlPolicy;
  let body: string | undefined;
  if (policy !== undefined) {
    const grants = (policy.Grants ?? []).map((g) => {
      const ge = g.Grantee;
      const grantee =
        ge === undefined
          ? ''
          : node(
              'Grantee',
              `${opt('DisplayName', ge.DisplayName)}${opt('EmailAddress', ge.EmailAddress)}${opt('ID', ge.ID)}${opt('URI', ge.URI)}`,
              ` xsi:type="${attr(ge.Type)}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"`,
            );
      return node('Grant', `${grantee}${opt('Permission', g.Permission)}`);
    });
    const owner =
      policy.Owner === undefined
        ? ''
        : node('Owner', `${opt('DisplayName', policy.Owner.DisplayName)}${opt('ID', policy.Owner.ID)}`);
    const acl = policy.Grants === undefined ? '' : node('AccessControlList', grants.join(''));
    body = XML_DECL + node('AccessControlPolicy', acl + owner, ` ${NS}`);
  }
  return {
    ...onSubresource('PUT', input, 'acl'),
    headers: {
      'x-amz-acl': input.ACL,
      'x-amz-grant-full-control': input.GrantFullControl,
      'x-amz-grant-read': input.GrantRead,
      'x-amz-grant-read-acp': input.GrantReadACP,
      'x-amz-grant-write': input.GrantWrite,
      'x-amz-grant-write-acp': input.GrantWriteACP,
      'x-amz-request-payer': input.RequestPayer,
      'x-amz-expected-bucket-owner': input.ExpectedBucketOwner,
    },
    body,
    checksumRequired: true,
  };
}

export function putObjectLegalHoldRequest(input: PutObjectLegalHoldCommandInput): LeanRequest {
  return {
    ...onSubresource('PUT', input, 'legal-hold'),
    headers: { 'x-amz-request-payer': input.RequestPayer, 'x-amz-expected-bucket-owner': input.ExpectedBucketOwner },
    body:
      input.LegalHold === undefined
        ? undefined
        : XML_DECL + node('LegalHold', opt('Status', input.LegalHold.Status), ` ${NS}`),
    checksumRequired: true,
  };
}

export function putObjectRetentionRequest(input: PutObjectRetentionCommandInput): LeanRequest {
  const r = input.Retention;
  return {
    ...onSubresource('PUT', input, 'retention'),
    headers: {
      'x-amz-request-payer': input.RequestPayer,
      'x-amz-bypass-governance-retention': bool(input.BypassGovernanceRetention),
      'x-amz-expected-bucket-owner': input.ExpectedBucketOwner,
    },
    body:
      r === undefined
        ? undefined
        : XML_DECL +
          node('Retention', opt('Mode', r.Mode) + opt('RetainUntilDate', isoDate(r.RetainUntilDate)), ` ${NS}`),
    checksumRequired: true,
  };
}

export function restoreObjectRequest(input: RestoreObjectCommandInput): LeanRequest {
  const r = input.RestoreRequest;
  const days = r?.Days === undefined ? '' : el('Days', String(r.Days));
  const tier = r?.GlacierJobParameters?.Tier;
  const glacier = r?.GlacierJobParameters === undefined ? '' : node('GlacierJobParameters', opt('Tier', tier));
  if (r !== undefined && Object.keys(r).some((k) => k !== 'Days' && k !== 'GlacierJobParameters')) {
    throw new Error('The lean client sends RestoreRequest with Days and GlacierJobParameters only');
  }
  return {
    ...onSubresource('POST', input, 'restore'),
    headers: {
      'x-amz-request-payer': input.RequestPayer,
      'x-amz-sdk-checksum-algorithm': input.ChecksumAlgorithm,
      'x-amz-expected-bucket-owner': input.ExpectedBucketOwner,
    },
    body: r === undefined ? undefined : XML_DECL + node('RestoreRequest', days + glacier, ` ${NS}`),
  };
}

export function deleteObjectRequest(input: DeleteObjectCommandInput): LeanRequest {
  return {
    method: 'DELETE',
    bucket: need(input.Bucket),
    key: need(input.Key),
    query: [
      ['versionId', input.VersionId],
      ['x-id', 'DeleteObject'],
    ],
    headers: {
      'x-amz-mfa': input.MFA,
      'x-amz-request-payer': input.RequestPayer,
      'x-amz-bypass-governance-retention': bool(input.BypassGovernanceRetention),
      'x-amz-expected-bucket-owner': input.ExpectedBucketOwner,
    },
  };
}

/** DeleteObject's answer: DeleteMarker and VersionId (headers). */
export function deleteObjectOutput(res: LeanResponse): { DeleteMarker?: boolean; VersionId?: string } {
  const marker = headerOf(res.headers, 'x-amz-delete-marker');
  const versionId = headerOf(res.headers, 'x-amz-version-id');
  return {
    ...(marker === undefined ? {} : { DeleteMarker: marker === 'true' }),
    ...(versionId === undefined ? {} : { VersionId: versionId }),
  };
}

export function deleteObjectsRequest(input: DeleteObjectsCommandInput): LeanRequest {
  const d = input.Delete;
  const objects = (d?.Objects ?? []).map(
    (o) =>
      `<Object>${el('Key', o.Key)}${opt('VersionId', o.VersionId)}${opt('ETag', o.ETag)}${opt('LastModifiedTime', o.LastModifiedTime === undefined ? undefined : isoDate(o.LastModifiedTime))}${opt('Size', o.Size === undefined ? undefined : String(o.Size))}</Object>`,
  );
  return {
    method: 'POST',
    bucket: need(input.Bucket),
    query: [['delete', '']],
    headers: {
      'x-amz-mfa': input.MFA,
      'x-amz-request-payer': input.RequestPayer,
      'x-amz-bypass-governance-retention': bool(input.BypassGovernanceRetention),
      'x-amz-expected-bucket-owner': input.ExpectedBucketOwner,
    },
    body:
      d === undefined
        ? undefined
        : XML_DECL +
          node(
            'Delete',
            objects.join('') + opt('Quiet', d.Quiet === undefined ? undefined : String(d.Quiet)),
            ` ${NS}`,
          ),
    checksumRequired: true,
  };
}

/** DeleteObjects' Deleted[] and Errors[]. */
export function deleteObjectsOutput(res: LeanResponse): DeleteObjectsCommandOutput {
  const deleted = blocks(res.body, 'Deleted').map((b) =>
    strip({
      Key: field(b, 'Key'),
      VersionId: field(b, 'VersionId'),
      DeleteMarker: field(b, 'DeleteMarker') === undefined ? undefined : field(b, 'DeleteMarker') === 'true',
      DeleteMarkerVersionId: field(b, 'DeleteMarkerVersionId'),
    }),
  );
  const errors = blocks(res.body, 'Error').map((b) =>
    strip({
      Key: field(b, 'Key'),
      VersionId: field(b, 'VersionId'),
      Code: field(b, 'Code'),
      Message: field(b, 'Message'),
    }),
  );
  return {
    $metadata: { httpStatusCode: res.status },
    ...(deleted.length > 0 ? { Deleted: deleted } : {}),
    ...(errors.length > 0 ? { Errors: errors } : {}),
  };
}

// ---- XML and header pieces ----

const ELEMENT_ESCAPE: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '"': '&quot;',
  "'": '&apos;',
  '<': '&lt;',
  '>': '&gt;',
  '\r': '&#x0D;',
  '\n': '&#x0A;',
  '\u0085': '&#x85;',
  '\u2028': '&#x2028;',
};

/** Element text escaped as the SDK's XML builder does. */
export function escapeElement(value: string): string {
  return value.replace(/[&"'<>\r\n\u0085\u2028]/g, (c) => ELEMENT_ESCAPE[c] ?? c);
}

function attr(value: string | undefined): string {
  return (value ?? '').replace(/[&<>"]/g, (c) => ELEMENT_ESCAPE[c] ?? c);
}

/** `<name attrs>inner</name>`, or `<name attrs/>` when there is nothing inside (as the SDK writes it). */
function node(name: string, inner: string, attrs = ''): string {
  return inner === '' ? `<${name}${attrs}/>` : `<${name}${attrs}>${inner}</${name}>`;
}

/** `<name>text</name>`, always (an absent value is an empty element). */
function el(name: string, value: string | undefined): string {
  return `<${name}>${escapeElement(value ?? '')}</${name}>`;
}

/** `<name>text</name>`, or nothing when the value is absent. */
function opt(name: string, value: string | undefined): string {
  return value === undefined ? '' : el(name, value);
}

function bool(v: boolean | undefined): string | undefined {
  return v === undefined ? undefined : String(v);
}

/** smithy's dateToUtcString: `Wed, 01 Jan 2030 00:00:00 GMT`. */
function httpDate(d: Date | undefined): string | undefined {
  return d === undefined ? undefined : d.toUTCString();
}

/** smithy's serializeDateTime: ISO 8601 without zero milliseconds. */
function isoDate(d: Date | undefined): string | undefined {
  return d === undefined ? undefined : d.toISOString().replace('.000Z', 'Z');
}

/** The method, object and query of a request to one of the object's subresources (`?tagging`, `?acl`...). */
function onSubresource(
  method: LeanRequest['method'],
  input: { Bucket?: string; Key?: string; VersionId?: string },
  subresource: string,
): Pick<LeanRequest, 'method' | 'bucket' | 'key' | 'query'> {
  return {
    method,
    bucket: need(input.Bucket),
    key: need(input.Key),
    query: [
      [subresource, ''],
      ['versionId', input.VersionId],
    ],
  };
}

function need(v: string | undefined): string {
  if (v === undefined || v === '') throw new Error('Bucket and Key are required');
  return v;
}

function headerOf(h: LeanResponse['headers'], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The inner texts of every `<name>…</name>` block (not nested in one another). */
function blocks(xml: string, name: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, 'g');
  for (let m = re.exec(xml); m !== null; m = re.exec(xml)) out.push(m[1] ?? '');
  return out;
}

function field(block: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>|<${name}\\s*/>`).exec(block);
  if (m === null) return undefined;
  return decodeXml((m[1] ?? '').replace(/\r\n?/g, '\n'));
}

function strip<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
