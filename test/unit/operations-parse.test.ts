import { S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3BatchError } from '../../src/domain/errors.ts';
import { OPERATION_NAMES, type JobOperation, type OperationName } from '../../src/domain/job-spec.ts';
import type { TaskEntry } from '../../src/domain/task.ts';
import { parseCopyConfig, type CopyConfig } from '../../src/operations/copy-config.ts';
import { copySource, destinationKey } from '../../src/operations/copy-requests.ts';
import { getOperation, operationOf, parseOperation, supportedOperations } from '../../src/operations/index.ts';
import type { OperationContext } from '../../src/operations/operation.ts';
import { s3DeleteObjectTagging } from '../../src/operations/s3-delete-object-tagging.ts';
import { s3PutObjectCopy } from '../../src/operations/s3-put-object-copy.ts';
import { s3PutObjectTagging, taggingHeader } from '../../src/operations/s3-put-object-tagging.ts';
import { retryCallUnder } from '../../src/engine/retry.ts';
import { rejects } from '../helpers/errors.ts';

const ARN = 'arn:aws:s3:::dest-bucket';

describe('registry', () => {
  it('has handlers for the implemented kinds, by name', () => {
    expect(supportedOperations()).toEqual(
      expect.arrayContaining(['S3PutObjectCopy', 'S3PutObjectTagging', 'S3DeleteObjectTagging', 'S3DeleteObject']),
    );
    for (const name of supportedOperations()) expect(getOperation(name)?.name).toBe(name);
    expect(getOperation('LambdaInvoke')?.name).toBe('LambdaInvoke');
  });

  it('operationOf: exactly one member', () => {
    expect(operationOf({ S3DeleteObjectTagging: {} })).toEqual({ name: 'S3DeleteObjectTagging', member: {} });
    // an empty XML element may reach us as '' — still present
    expect(operationOf({ S3DeleteObjectTagging: '' as unknown as Record<string, never> }).name).toBe(
      'S3DeleteObjectTagging',
    );
    rejects(() => operationOf({}), /^Operation must contain exactly one .*got none/);
    rejects(
      () => operationOf({ S3DeleteObjectTagging: {}, S3PutObjectTagging: { TagSet: [] } }),
      /^Operation must contain exactly one .*got S3DeleteObjectTagging, S3PutObjectTagging/,
    );
    rejects(
      () => operationOf({ S3FrobnicateObject: {} } as unknown as JobOperation),
      /unknown member.*S3FrobnicateObject/,
    );
    rejects(() => operationOf(null as unknown as JobOperation), /^Operation must contain exactly one/);
    // undefined/null members are absent
    expect(operationOf({ S3PutObjectCopy: undefined, S3DeleteObjectTagging: {} }).name).toBe('S3DeleteObjectTagging');
  });

  it.each(OPERATION_NAMES.filter((n) => getOperation(n) === undefined))(
    '%s is rejected as not supported yet, never dropped',
    (name: OperationName) => {
      rejects(
        () => parseOperation({ [name]: {} } as JobOperation),
        new RegExp(`^Operation ${name} is not supported yet by this s3batch version`),
      );
    },
  );

  it('parseOperation returns name, handler and the frozen config', () => {
    const parsed = parseOperation({ S3PutObjectTagging: { TagSet: [{ Key: 'a', Value: 'b' }] } });
    expect(parsed.name).toBe('S3PutObjectTagging');
    expect(parsed.handler).toBe(s3PutObjectTagging);
    expect(parsed.config).toEqual({ tagSet: [{ Key: 'a', Value: 'b' }] });
    expect(Object.isFrozen(parsed.config)).toBe(true);
  });
});

describe('S3PutObjectTagging.parse', () => {
  const parse = (m: unknown) => s3PutObjectTagging.parse(m);

  it('accepts up to 10 tags, empty values, unicode letters and the allowed punctuation', () => {
    const tags = Array.from({ length: 10 }, (_, i) => ({ Key: `k${i}`, Value: i === 0 ? '' : `v ${i}_.:/=+-@` }));
    expect(parse({ TagSet: tags }).tagSet).toEqual(tags);
    expect(parse({ TagSet: [{ Key: 'Ünïcødé 键', Value: 'värde ٣' }] }).tagSet).toHaveLength(1);
  });

  it('an empty TagSet (removes all tags), also as an empty XML element', () => {
    expect(parse({ TagSet: [] }).tagSet).toEqual([]);
    expect(parse({ TagSet: '' }).tagSet).toEqual([]);
    expect(parse({ TagSet: {} }).tagSet).toEqual([]);
  });

  it('a missing <Value/> is the empty value', () => {
    expect(parse({ TagSet: [{ Key: 'a' }] }).tagSet).toEqual([{ Key: 'a', Value: '' }]);
  });

  it('rejects a missing TagSet', () => {
    rejects(() => parse({}), /TagSet is required/);
    rejects(() => parse(''), /TagSet is required/);
    rejects(() => parse(undefined), /TagSet is required/);
  });

  it('rejects more than 10 tags, bad lengths, bad characters, duplicates, non-strings', () => {
    rejects(
      () => parse({ TagSet: Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: '' })) }),
      /11 tags.*at most 10/,
    );
    rejects(() => parse({ TagSet: [{ Key: '', Value: 'x' }] }), /TagSet\[0\]\.Key must be 1\.\.128/);
    rejects(() => parse({ TagSet: [{ Key: 'k'.repeat(129), Value: 'x' }] }), /Key must be 1\.\.128/);
    expect(parse({ TagSet: [{ Key: 'k'.repeat(128), Value: 'v'.repeat(256) }] }).tagSet).toHaveLength(1);
    rejects(() => parse({ TagSet: [{ Key: 'k', Value: 'v'.repeat(257) }] }), /Value must be 0\.\.256/);
    rejects(() => parse({ TagSet: [{ Key: 'a&b', Value: 'x' }] }), /Key "a&b" may only contain/);
    rejects(() => parse({ TagSet: [{ Key: 'a', Value: 'x?' }] }), /Value "x\?" may only contain/);
    rejects(
      () =>
        parse({
          TagSet: [
            { Key: 'a', Value: '1' },
            { Key: 'a', Value: '2' },
          ],
        }),
      /"a" twice/,
    );
    rejects(() => parse({ TagSet: [{ Key: 7, Value: 'x' }] }), /Key is required and must be a string/);
    rejects(() => parse({ TagSet: 'x' }), /must be a list/);
    rejects(() => parse({ TagSet: [null] }), /TagSet\[0\] must be/);
  });

  it('counts characters, not UTF-16 units', () => {
    expect(parse({ TagSet: [{ Key: '𝔘'.repeat(128), Value: '' }] }).tagSet).toHaveLength(1);
  });
});

describe('S3DeleteObjectTagging.parse', () => {
  it('accepts {}, undefined, null and the empty element ""', () => {
    for (const m of [{}, undefined, null, '']) expect(s3DeleteObjectTagging.parse(m)).toEqual({});
  });
  it('rejects fields', () => {
    rejects(() => s3DeleteObjectTagging.parse({ TagSet: [] }), /takes no fields, got TagSet/);
    rejects(() => s3DeleteObjectTagging.parse('x'), /must be an object/);
  });
});

describe('S3PutObjectCopy.parse', () => {
  it('minimal: target bucket only ⇒ COPY metadata, copy tags', () => {
    const c = parseCopyConfig({ TargetResource: ARN });
    expect(c).toEqual({
      targetBucket: 'dest-bucket',
      targetKeyPrefix: undefined,
      metadataDirective: 'COPY',
      metadata: undefined,
      tags: undefined,
      destination: {},
      modifiedSince: undefined,
      unmodifiedSince: undefined,
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.destination)).toBe(true);
  });

  it('accepts other partitions', () => {
    expect(parseCopyConfig({ TargetResource: 'arn:aws-cn:s3:::b.1' }).targetBucket).toBe('b.1');
  });

  it('rejects a missing or malformed TargetResource', () => {
    rejects(() => parseCopyConfig({}), /TargetResource is required/);
    rejects(() => parseCopyConfig(''), /TargetResource is required/);
    rejects(
      () => parseCopyConfig({ TargetResource: 'dest-bucket' }),
      /TargetResource "dest-bucket" must be a bucket ARN/,
    );
    rejects(() => parseCopyConfig({ TargetResource: 'arn:aws:s3:::b/prefix' }), /must be a bucket ARN/);
    rejects(() => parseCopyConfig({ TargetResource: 'arn:aws:s3:::' }), /must be a bucket ARN/);
    rejects(
      () => parseCopyConfig({ TargetResource: 'arn:aws:s3express:us-east-1:123456789012:bucket/b--use1-az4--x-s3' }),
      /directory buckets are not supported/,
    );
    rejects(
      () => parseCopyConfig({ TargetResource: `arn:aws:s3:::${'b'.repeat(130)}` }),
      /TargetResource must be 1\.\.128/,
    );
    rejects(() => parseCopyConfig({ TargetResource: 42 }), /TargetResource must be a string/);
  });

  it('rejects unknown fields (typos must not be silently ignored)', () => {
    rejects(() => parseCopyConfig({ TargetResource: ARN, TargetKeyPrefx: 'x' }), /unknown field\(s\): TargetKeyPrefx/);
    rejects(
      () => parseCopyConfig({ TargetResource: ARN, NewObjectMetadata: { ContentTyp: 'x' } }),
      /NewObjectMetadata has unknown field\(s\): ContentTyp/,
    );
  });

  it.each([
    ['CannedAccessControlList', 'public', /CannedAccessControlList must be one of private, public-read/],
    ['MetadataDirective', 'MERGE', /MetadataDirective must be one of COPY, REPLACE/],
    ['StorageClass', 'REDUCED_REDUNDANCY', /StorageClass must be one of STANDARD/],
    ['ObjectLockMode', 'LOCKED', /ObjectLockMode must be one of COMPLIANCE, GOVERNANCE/],
    ['ObjectLockLegalHoldStatus', 'on', /ObjectLockLegalHoldStatus must be one of OFF, ON/],
    ['ChecksumAlgorithm', 'CRC16', /ChecksumAlgorithm must be one of CRC32/],
    ['TargetKeyPrefix', '', /TargetKeyPrefix must be 1\.\.1024/],
    ['TargetKeyPrefix', 'p'.repeat(1025), /TargetKeyPrefix must be 1\.\.1024/],
    ['RedirectLocation', 'r'.repeat(2049), /RedirectLocation must be 1\.\.2048/],
    ['SSEAwsKmsKeyId', 'k'.repeat(2001), /SSEAwsKmsKeyId must be 1\.\.2000/],
    ['RequesterPays', 'yes', /RequesterPays must be true or false/],
    ['ModifiedSinceConstraint', 'yesterday', /ModifiedSinceConstraint must be a timestamp/],
  ])('rejects %s = %j', (field, value, pattern) => {
    rejects(() => parseCopyConfig({ TargetResource: ARN, [field]: value }), pattern);
  });

  it('maps enums, booleans (also "true"/"false" from XML), timestamps and SSE onto request fields', () => {
    const c = parseCopyConfig({
      TargetResource: ARN,
      CannedAccessControlList: 'bucket-owner-full-control',
      StorageClass: 'STANDARD_IA',
      ChecksumAlgorithm: 'SHA256',
      RedirectLocation: '/other',
      RequesterPays: 'true',
      BucketKeyEnabled: true,
      ObjectLockMode: 'GOVERNANCE',
      ObjectLockRetainUntilDate: '2030-01-01T00:00:00Z',
      ObjectLockLegalHoldStatus: 'ON',
      SSEAwsKmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/abc',
      ModifiedSinceConstraint: '2024-01-01T00:00:00.000Z',
      UnModifiedSinceConstraint: 1_800_000_000,
    });
    expect(c.destination).toEqual({
      ACL: 'bucket-owner-full-control',
      StorageClass: 'STANDARD_IA',
      ChecksumAlgorithm: 'SHA256',
      WebsiteRedirectLocation: '/other',
      RequestPayer: 'requester',
      BucketKeyEnabled: true,
      ObjectLockMode: 'GOVERNANCE',
      ObjectLockRetainUntilDate: new Date('2030-01-01T00:00:00Z'),
      ObjectLockLegalHoldStatus: 'ON',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'arn:aws:kms:us-east-1:123456789012:key/abc',
    });
    expect(c.modifiedSince).toEqual(new Date('2024-01-01T00:00:00Z'));
    expect(c.unmodifiedSince).toEqual(new Date(1_800_000_000_000));
    // SSE is not metadata: it does not switch the copy to REPLACE
    expect(c.metadataDirective).toBe('COPY');
  });

  it('RequesterPays false sends nothing', () => {
    expect(parseCopyConfig({ TargetResource: ARN, RequesterPays: false }).destination).toEqual({});
  });

  it('SSE: AES256 and KMS', () => {
    expect(parseCopyConfig({ TargetResource: ARN, NewObjectMetadata: { SSEAlgorithm: 'AES256' } }).destination).toEqual(
      { ServerSideEncryption: 'AES256' },
    );
    expect(parseCopyConfig({ TargetResource: ARN, NewObjectMetadata: { SSEAlgorithm: 'KMS' } }).destination).toEqual({
      ServerSideEncryption: 'aws:kms',
    });
    rejects(
      () => parseCopyConfig({ TargetResource: ARN, NewObjectMetadata: { SSEAlgorithm: 'aws:kms' } }),
      /SSEAlgorithm must be one of AES256, KMS/,
    );
    rejects(
      () =>
        parseCopyConfig({ TargetResource: ARN, SSEAwsKmsKeyId: 'k', NewObjectMetadata: { SSEAlgorithm: 'AES256' } }),
      /SSEAwsKmsKeyId requires/,
    );
  });

  it('object lock mode and retain-until date go together', () => {
    rejects(() => parseCopyConfig({ TargetResource: ARN, ObjectLockMode: 'GOVERNANCE' }), /must be given together/);
    rejects(
      () => parseCopyConfig({ TargetResource: ARN, ObjectLockRetainUntilDate: '2030-01-01T00:00:00Z' }),
      /must be given together/,
    );
  });

  describe('metadata directive defaulting (docs/operations.md#copy)', () => {
    it('NewObjectMetadata present, directive absent ⇒ REPLACE with the new metadata', () => {
      const c = parseCopyConfig({
        TargetResource: ARN,
        NewObjectMetadata: { ContentType: 'text/plain', UserMetadata: { Project: 'X' } },
      });
      expect(c.metadataDirective).toBe('REPLACE');
      expect(c.metadata).toEqual({ ContentType: 'text/plain', Metadata: { project: 'X' } });
    });

    it('COPY wins over NewObjectMetadata (ignored)', () => {
      const c = parseCopyConfig({
        TargetResource: ARN,
        MetadataDirective: 'COPY',
        NewObjectMetadata: { ContentType: 'text/plain' },
      });
      expect(c.metadataDirective).toBe('COPY');
      expect(c.metadata).toBeUndefined();
    });

    it('REPLACE without NewObjectMetadata wipes the metadata', () => {
      const c = parseCopyConfig({ TargetResource: ARN, MetadataDirective: 'REPLACE' });
      expect(c.metadataDirective).toBe('REPLACE');
      expect(c.metadata).toEqual({});
    });

    it('an explicitly empty UserMetadata counts as metadata (REPLACE)', () => {
      expect(parseCopyConfig({ TargetResource: ARN, NewObjectMetadata: { UserMetadata: {} } }).metadataDirective).toBe(
        'REPLACE',
      );
    });

    it('an empty <NewObjectMetadata/> or deprecated-only fields stay COPY', () => {
      expect(parseCopyConfig({ TargetResource: ARN, NewObjectMetadata: '' }).metadataDirective).toBe('COPY');
      expect(
        parseCopyConfig({
          TargetResource: ARN,
          NewObjectMetadata: { ContentLength: 5, ContentMD5: 'x', RequesterCharged: false },
        }).metadataDirective,
      ).toBe('COPY');
    });

    it('maps every metadata field', () => {
      const c = parseCopyConfig({
        TargetResource: ARN,
        NewObjectMetadata: {
          CacheControl: 'max-age=60',
          ContentDisposition: 'attachment',
          ContentEncoding: 'gzip',
          ContentLanguage: 'de',
          ContentType: 'text/csv',
          HttpExpiresDate: '2031-02-03T04:05:06Z',
          UserMetadata: { a: '1', 'B-2': '' },
        },
      });
      expect(c.metadata).toEqual({
        CacheControl: 'max-age=60',
        ContentDisposition: 'attachment',
        ContentEncoding: 'gzip',
        ContentLanguage: 'de',
        ContentType: 'text/csv',
        Expires: new Date('2031-02-03T04:05:06Z'),
        Metadata: { a: '1', 'b-2': '' },
      });
      expect(Object.isFrozen(c.metadata?.Metadata)).toBe(true);
    });

    it('rejects bad metadata', () => {
      const md = (NewObjectMetadata: unknown) => () => parseCopyConfig({ TargetResource: ARN, NewObjectMetadata });
      rejects(md({ ContentType: '' }), /ContentType must be 1\.\.1024/);
      rejects(md({ UserMetadata: { 'bad key': 'x' } }), /key "bad key" is not a valid HTTP header name/);
      rejects(md({ UserMetadata: { k: 'line\nbreak' } }), /printable ASCII/);
      rejects(md({ UserMetadata: { k: 'ümlaut' } }), /printable ASCII/);
      rejects(md({ UserMetadata: { k: 5 } }), /UserMetadata\["k"\] must be a string/);
      rejects(md({ UserMetadata: { K: '1', k: '2' } }), /"k" twice/);
      rejects(md({ UserMetadata: { big: 'x'.repeat(1024), big2: 'x'.repeat(1024) } }), /2048 bytes of user metadata/);
      rejects(md({ UserMetadata: ['a'] }), /UserMetadata must be a map/);
      rejects(md({ HttpExpiresDate: 'not a date' }), /HttpExpiresDate must be a timestamp/);
      rejects(md('text'), /NewObjectMetadata must be an object/);
    });
  });

  describe('NewObjectTagging: absent vs empty', () => {
    it('absent ⇒ copy the source tags', () => {
      expect(parseCopyConfig({ TargetResource: ARN }).tags).toBeUndefined();
    });
    it('present and empty (also <NewObjectTagging/>) ⇒ no tags', () => {
      expect(parseCopyConfig({ TargetResource: ARN, NewObjectTagging: [] }).tags).toEqual([]);
      expect(parseCopyConfig({ TargetResource: ARN, NewObjectTagging: '' }).tags).toEqual([]);
    });
    it('≤ 10 tags, validated like TagSet', () => {
      expect(parseCopyConfig({ TargetResource: ARN, NewObjectTagging: [{ Key: 'a', Value: 'b' }] }).tags).toEqual([
        { Key: 'a', Value: 'b' },
      ]);
      rejects(
        () =>
          parseCopyConfig({
            TargetResource: ARN,
            NewObjectTagging: Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })),
          }),
        /NewObjectTagging has 11 tags/,
      );
    });
  });

  describe('AccessControlGrants', () => {
    it('one header per permission, several grantees joined', () => {
      const c = parseCopyConfig({
        TargetResource: ARN,
        AccessControlGrants: [
          { Grantee: { TypeIdentifier: 'id', Identifier: 'abc123' }, Permission: 'FULL_CONTROL' },
          {
            Grantee: { TypeIdentifier: 'uri', Identifier: 'http://acs.amazonaws.com/groups/global/AllUsers' },
            Permission: 'READ',
          },
          {
            Grantee: { TypeIdentifier: 'emailAddress', Identifier: 'a@example.com', DisplayName: 'A' },
            Permission: 'READ',
          },
          { Grantee: { TypeIdentifier: 'id', Identifier: 'x' }, Permission: 'READ_ACP' },
          { Grantee: { TypeIdentifier: 'id', Identifier: 'y' }, Permission: 'WRITE_ACP' },
        ],
      });
      expect(c.destination).toEqual({
        GrantFullControl: 'id="abc123"',
        GrantRead: 'uri="http://acs.amazonaws.com/groups/global/AllUsers", emailAddress="a@example.com"',
        GrantReadACP: 'id="x"',
        GrantWriteACP: 'id="y"',
      });
    });

    it('rejects WRITE, missing parts and bad enums', () => {
      const g = (AccessControlGrants: unknown) => () => parseCopyConfig({ TargetResource: ARN, AccessControlGrants });
      rejects(
        g([{ Grantee: { TypeIdentifier: 'id', Identifier: 'a' }, Permission: 'WRITE' }]),
        /AccessControlGrants\[0\]\.Permission WRITE cannot be granted/,
      );
      rejects(g([{ Grantee: { TypeIdentifier: 'id', Identifier: 'a' } }]), /Permission is required/);
      rejects(
        g([{ Grantee: { TypeIdentifier: 'group', Identifier: 'a' }, Permission: 'READ' }]),
        /TypeIdentifier must be one of id, emailAddress, uri/,
      );
      rejects(g([{ Grantee: { TypeIdentifier: 'id' }, Permission: 'READ' }]), /needs TypeIdentifier .* and Identifier/);
      rejects(g([{ Permission: 'READ' }]), /needs TypeIdentifier/);
      rejects(g('x'), /must be a list of grants/);
    });

    it('an empty list sends nothing', () => {
      expect(parseCopyConfig({ TargetResource: ARN, AccessControlGrants: [] }).destination).toEqual({});
      expect(parseCopyConfig({ TargetResource: ARN, AccessControlGrants: '' }).destination).toEqual({});
    });
  });
});

describe('copy source and destination key', () => {
  it('percent-encodes each key segment and keeps the slashes', () => {
    expect(copySource('b', 'a b/c+d&e?f#g%h/ü.txt')).toBe('b/a%20b/c%2Bd%26e%3Ff%23g%25h/%C3%BC.txt');
    expect(copySource('b', 'dir//x/')).toBe('b/dir//x/');
    expect(copySource('b', 'k', 'v1+/=')).toBe('b/k?versionId=v1%2B%2F%3D');
  });

  it('joins TargetKeyPrefix and the WHOLE key with exactly one slash', () => {
    expect(destinationKey(undefined, 'Folder1/a.txt')).toBe('Folder1/a.txt');
    expect(destinationKey('Folder2', 'Folder1/a.txt')).toBe('Folder2/Folder1/a.txt');
    expect(destinationKey('Folder2/', 'Folder1/a.txt')).toBe('Folder2/Folder1/a.txt');
    expect(destinationKey('a/b', 'c')).toBe('a/b/c');
  });

  it('taggingHeader URL-encodes keys and values', () => {
    expect(
      taggingHeader([
        { Key: 'a b', Value: 'x+y=z' },
        { Key: 'k', Value: '' },
      ]),
    ).toBe('a%20b=x%2By%3Dz&k=');
  });
});

// ---- request mapping, against a fake S3 client (no I/O) ----------------------------------------

interface Sent {
  readonly command: string;
  readonly input: Record<string, unknown>;
}

/** A fake S3Client: records every command; `answer` decides each reply (return a value or throw). */
function fakeS3(answer: (command: string, input: Record<string, unknown>) => unknown): { s3: S3Client; sent: Sent[] } {
  const sent: Sent[] = [];
  const s3 = {
    send: async (cmd: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const command = cmd.constructor.name.replace(/Command$/, '');
      sent.push({ command, input: cmd.input });
      return answer(command, cmd.input);
    },
  } as unknown as S3Client;
  return { s3, sent };
}

function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: status },
    message: 'UnknownError',
  });
}

const MiB = 1024 * 1024;
const entry: TaskEntry = { line: 1, bucket: 'src', key: 'dir/a b+c.txt', rawKey: 'dir/a%20b%2Bc.txt' };
const signal = new AbortController().signal;
const ctxOf = (s3: S3Client, threshold = 5 * 1024 * MiB): OperationContext => ({
  s3,
  multipartCopyThresholdBytes: threshold,
  multipartCopyPartBytes: 5 * MiB,
});
const headOf = (size: number) => ({
  ContentLength: size,
  ETag: '"src-etag"',
  LastModified: new Date('2025-06-01T12:00:00Z'),
  ContentType: 'text/plain',
  Metadata: { m: '1' },
});

describe('S3PutObjectCopy.attempt (fake client)', () => {
  it('HEAD (the size, counted as bytes processed), then one CopyObject with the mapped request', async () => {
    const { s3, sent } = fakeS3((c) => (c === 'HeadObject' ? headOf(10) : {}));
    const config = parseCopyConfig({
      TargetResource: ARN,
      TargetKeyPrefix: 'copies/',
      StorageClass: 'STANDARD_IA',
      NewObjectMetadata: { ContentType: 'text/csv' },
      CannedAccessControlList: 'private',
    });
    const out = await s3PutObjectCopy.attempt(config, { ...entry, versionId: 'v 1' }, ctxOf(s3), signal);
    expect(out).toEqual({
      result: expect.objectContaining({
        status: 'succeeded',
        httpStatus: 200,
        message: 'Successful',
        versionId: 'v 1',
        bytes: 10,
      }),
      retryable: false,
    });
    expect(sent.map((s) => s.command)).toEqual(['HeadObject', 'CopyObject']);
    expect(sent[1]?.input).toMatchObject({
      Bucket: 'dest-bucket',
      Key: 'copies/dir/a b+c.txt',
      CopySource: 'src/dir/a%20b%2Bc.txt?versionId=v%201',
      MetadataDirective: 'REPLACE',
      ContentType: 'text/csv',
      StorageClass: 'STANDARD_IA',
      ACL: 'private',
    });
    expect(sent[1]?.input).not.toHaveProperty('TaggingDirective');
  });

  it('NewObjectTagging ⇒ TaggingDirective REPLACE + Tagging, then PutObjectTagging on the new object', async () => {
    const { s3, sent } = fakeS3((c) =>
      c === 'HeadObject' ? headOf(10) : c === 'CopyObject' ? { VersionId: 'dv1' } : {},
    );
    const config = parseCopyConfig({ TargetResource: ARN, NewObjectTagging: [{ Key: 'a b', Value: 'c' }] });
    await s3PutObjectCopy.attempt(config, entry, ctxOf(s3), signal);
    expect(sent.map((s) => s.command)).toEqual(['HeadObject', 'CopyObject', 'PutObjectTagging']);
    expect(sent[1]?.input).toMatchObject({
      TaggingDirective: 'REPLACE',
      Tagging: 'a%20b=c',
      MetadataDirective: 'COPY',
    });
    expect(sent[2]?.input).toMatchObject({
      Bucket: 'dest-bucket',
      Key: entry.key,
      VersionId: 'dv1',
      Tagging: { TagSet: [{ Key: 'a b', Value: 'c' }] },
    });
  });

  it('empty NewObjectTagging ⇒ REPLACE with empty tagging, then an empty tag set', async () => {
    const { s3, sent } = fakeS3((c) => (c === 'HeadObject' ? headOf(10) : {}));
    await s3PutObjectCopy.attempt(
      parseCopyConfig({ TargetResource: ARN, NewObjectTagging: [] }),
      entry,
      ctxOf(s3),
      signal,
    );
    expect(sent[1]?.input).toMatchObject({ TaggingDirective: 'REPLACE', Tagging: '' });
    expect(sent[2]?.input).toMatchObject({ Tagging: { TagSet: [] } });
  });

  // The source is HEADed first (its size is the bytes the task copies).
  it('a bodiless HEAD 404 lets CopyObject name the error', async () => {
    const { s3, sent } = fakeS3((c) => {
      if (c === 'HeadObject') throw s3Error('NotFound', 404);
      throw Object.assign(s3Error('NoSuchVersion', 404), { Code: 'NoSuchVersion' });
    });
    const out = await s3PutObjectCopy.attempt(
      parseCopyConfig({ TargetResource: ARN }),
      { ...entry, versionId: 'v9' },
      ctxOf(s3, 8 * MiB),
      signal,
    );
    expect(sent.map((s) => s.command)).toEqual(['HeadObject', 'CopyObject']);
    expect(out.result).toMatchObject({ httpStatus: 404, errorCode: 'NoSuchVersion' });
    expect(out.result.message).toMatch(/^The specified version does not exist\./);
  });

  it('a transient HEAD failure is retryable and skips the copy', async () => {
    const { s3, sent } = fakeS3(() => {
      throw s3Error('SlowDown', 503);
    });
    const out = await s3PutObjectCopy.attempt(
      parseCopyConfig({ TargetResource: ARN }),
      entry,
      ctxOf(s3, 8 * MiB),
      signal,
    );
    expect(out).toMatchObject({ retryable: true, result: { httpStatus: 503, errorCode: 'SlowDown' } });
    expect(sent.map((s) => s.command)).toEqual(['HeadObject']);
  });

  it('checks (Un)ModifiedSinceConstraint against the HEAD answer (Ceph ignores the headers)', async () => {
    const { s3, sent } = fakeS3((c) => (c === 'HeadObject' ? headOf(10) : {}));
    const late = parseCopyConfig({ TargetResource: ARN, ModifiedSinceConstraint: '2025-06-01T12:00:00Z' });
    const out = await s3PutObjectCopy.attempt(late, entry, ctxOf(s3), signal);
    expect(out).toMatchObject({ retryable: false, result: { httpStatus: 412, errorCode: 'PreconditionFailed' } });
    const early = parseCopyConfig({ TargetResource: ARN, UnModifiedSinceConstraint: '2025-06-01T11:59:59Z' });
    expect((await s3PutObjectCopy.attempt(early, entry, ctxOf(s3), signal)).result.errorCode).toBe(
      'PreconditionFailed',
    );
    const fine = parseCopyConfig({
      TargetResource: ARN,
      ModifiedSinceConstraint: '2025-06-01T11:59:59Z',
      UnModifiedSinceConstraint: '2025-06-01T12:00:00.900Z',
    });
    expect((await s3PutObjectCopy.attempt(fine, entry, ctxOf(s3), signal)).result.status).toBe('succeeded');
    expect(sent.filter((s) => s.command === 'CopyObject')).toHaveLength(1);
  });

  it('rethrows when OUR signal aborted (the task is abandoned, not failed)', async () => {
    const ac = new AbortController();
    const { s3 } = fakeS3(() => {
      ac.abort();
      throw Object.assign(new Error('aborted'), { name: 'AbortError' });
    });
    await expect(
      s3PutObjectCopy.attempt(parseCopyConfig({ TargetResource: ARN }), entry, ctxOf(s3), ac.signal),
    ).rejects.toThrow('aborted');
  });

  describe('multipart copy above the threshold', () => {
    const size = 12 * MiB + 3;

    function mpuFake(failPart?: number) {
      return fakeS3((c, input) => {
        switch (c) {
          case 'HeadObject':
            return headOf(size);
          case 'GetObjectTagging':
            return { TagSet: [{ Key: 't', Value: '1' }] };
          case 'CreateMultipartUpload':
            return { UploadId: 'U1' };
          case 'UploadPartCopy':
            if (input.PartNumber === failPart) throw s3Error('AccessDenied', 403);
            return { CopyPartResult: { ETag: `"p${String(input.PartNumber)}"` } };
          case 'CompleteMultipartUpload':
            return { VersionId: 'dv' };
          default:
            return {};
        }
      });
    }

    it('COPY semantics: source metadata and tags, parts of ctx.multipartCopyPartBytes, pinned by ETag', async () => {
      const { s3, sent } = mpuFake();
      const config: CopyConfig = parseCopyConfig({ TargetResource: ARN, StorageClass: 'STANDARD_IA' });
      const out = await s3PutObjectCopy.attempt(config, entry, ctxOf(s3, 5 * MiB), signal);
      expect(out.result.status).toBe('succeeded');
      const commands = sent.map((s) => s.command);
      expect(commands.slice(0, 3)).toEqual(['HeadObject', 'GetObjectTagging', 'CreateMultipartUpload']);
      expect(commands.slice(-2)).toEqual(['CompleteMultipartUpload', 'PutObjectTagging']);
      expect(sent[2]?.input).toMatchObject({
        Bucket: 'dest-bucket',
        Key: entry.key,
        ContentType: 'text/plain',
        Metadata: { m: '1' },
        Tagging: 't=1',
        StorageClass: 'STANDARD_IA',
      });
      const parts = sent.filter((s) => s.command === 'UploadPartCopy').map((s) => s.input);
      expect(
        [...parts].sort((a, b) => Number(a.PartNumber) - Number(b.PartNumber)).map((p) => p.CopySourceRange),
      ).toEqual([`bytes=0-${5 * MiB - 1}`, `bytes=${5 * MiB}-${10 * MiB - 1}`, `bytes=${10 * MiB}-${size - 1}`]);
      expect(
        parts.every(
          (p) =>
            p.CopySource === 'src/dir/a%20b%2Bc.txt' && p.CopySourceIfMatch === '"src-etag"' && p.UploadId === 'U1',
        ),
      ).toBe(true);
      const complete = sent.find((s) => s.command === 'CompleteMultipartUpload')?.input;
      expect(complete?.MultipartUpload).toEqual({ Parts: [1, 2, 3].map((n) => ({ PartNumber: n, ETag: `"p${n}"` })) });
      expect(sent.at(-1)?.input).toMatchObject({ VersionId: 'dv', Tagging: { TagSet: [{ Key: 't', Value: '1' }] } });
    });

    it('REPLACE semantics: the new metadata and tags, no GetObjectTagging', async () => {
      const { s3, sent } = mpuFake();
      const config = parseCopyConfig({
        TargetResource: ARN,
        NewObjectMetadata: { ContentType: 'x/y' },
        NewObjectTagging: [],
      });
      await s3PutObjectCopy.attempt(config, { ...entry, versionId: 'v1' }, ctxOf(s3, 5 * MiB), signal);
      expect(sent.map((s) => s.command)).not.toContain('GetObjectTagging');
      expect(sent.map((s) => s.command)).not.toContain('PutObjectTagging');
      const create = sent.find((s) => s.command === 'CreateMultipartUpload')?.input;
      expect(create).toMatchObject({ ContentType: 'x/y' });
      expect(create?.Metadata).toBeUndefined();
      expect(create?.Tagging).toBeUndefined();
      const part = sent.find((s) => s.command === 'UploadPartCopy')?.input;
      expect(part).toMatchObject({ CopySource: 'src/dir/a%20b%2Bc.txt?versionId=v1', CopySourceIfMatch: undefined });
    });

    it("a failing part aborts the upload and fails the task with the part's error", async () => {
      const { s3, sent } = mpuFake(2);
      const out = await s3PutObjectCopy.attempt(
        parseCopyConfig({ TargetResource: ARN }),
        entry,
        ctxOf(s3, 5 * MiB),
        signal,
      );
      expect(out).toMatchObject({
        retryable: false,
        result: { status: 'failed', httpStatus: 403, errorCode: 'AccessDenied' },
      });
      expect(sent.map((s) => s.command)).toContain('AbortMultipartUpload');
      expect(sent.map((s) => s.command)).not.toContain('CompleteMultipartUpload');
    });

    it('never more than 4 parts in flight, and ≤ 10,000 parts', async () => {
      let inFlight = 0;
      let peak = 0;
      const big = 100_000 * MiB;
      const { s3, sent } = fakeS3(async (c, input) => {
        if (c === 'HeadObject') return headOf(big);
        if (c === 'GetObjectTagging') return { TagSet: [] };
        if (c === 'CreateMultipartUpload') return { UploadId: 'U' };
        if (c === 'UploadPartCopy') {
          inFlight++;
          peak = Math.max(peak, inFlight);
          await new Promise((r) => setImmediate(r));
          inFlight--;
          return { CopyPartResult: { ETag: `e${String(input.PartNumber)}` } };
        }
        return {};
      });
      const out = await s3PutObjectCopy.attempt(
        parseCopyConfig({ TargetResource: ARN }),
        entry,
        ctxOf(s3, 5 * MiB),
        signal,
      );
      expect(out.result.status).toBe('succeeded');
      expect(peak).toBe(4);
      expect(sent.filter((s) => s.command === 'UploadPartCopy')).toHaveLength(10_000);
    });
  });
});

describe('tagging attempts (fake client)', () => {
  it('PutObjectTagging with the version id', async () => {
    const { s3, sent } = fakeS3(() => ({}));
    const config = s3PutObjectTagging.parse({ TagSet: [{ Key: 'k', Value: 'v' }] });
    const out = await s3PutObjectTagging.attempt(config, { ...entry, versionId: 'v7' }, ctxOf(s3), signal);
    expect(out.result).toMatchObject({ status: 'succeeded', httpStatus: 200, message: 'Successful' });
    expect(sent).toEqual([
      {
        command: 'PutObjectTagging',
        input: { Bucket: 'src', Key: entry.key, VersionId: 'v7', Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] } },
      },
    ]);
  });

  it('DeleteObjectTagging; NotImplemented is a clean permanent task failure', async () => {
    const { s3, sent } = fakeS3(() => {
      throw Object.assign(
        new S3ServiceException({
          name: 'NotImplemented',
          $fault: 'server',
          $metadata: { httpStatusCode: 501 },
          message: 'UnknownError',
        }),
        { Code: 'NotImplemented' },
      );
    });
    const out = await s3DeleteObjectTagging.attempt({}, entry, ctxOf(s3), signal);
    expect(out).toMatchObject({
      retryable: false,
      result: { status: 'failed', httpStatus: 501, errorCode: 'NotImplemented' },
    });
    expect(sent[0]).toEqual({
      command: 'DeleteObjectTagging',
      input: { Bucket: 'src', Key: entry.key, VersionId: undefined },
    });
  });
});

describe('S3PutObjectCopy.prepare (fake client)', () => {
  /** The engine's RetryCall with 3 attempts and no waiting; `delays` records the backoff asked for. */
  const delays: number[] = [];
  const retry = retryCallUnder({ maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 20_000 }, async (ms) => {
    delays.push(ms);
  });
  /** prepare of a copy to ARN's bucket, through `s3`, under `retry`. */
  const prepare = (s3: S3Client): Promise<void> =>
    s3PutObjectCopy.prepare!(parseCopyConfig({ TargetResource: ARN }), ctxOf(s3), signal, retry);

  it('a missing target bucket is InvalidJobConfiguration', async () => {
    const { s3 } = fakeS3(() => {
      throw s3Error('NotFound', 404);
    });
    const err = await prepare(s3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3BatchError);
    expect(err).toMatchObject({ code: 'InvalidJobConfiguration' });
    expect((err as Error).message).toBe(
      'Target bucket dest-bucket does not exist or is not accessible: 404 NoSuchBucket',
    );
  });

  it('an existing bucket passes', async () => {
    const { s3, sent } = fakeS3(() => ({}));
    await expect(prepare(s3)).resolves.toBeUndefined();
    expect(sent).toEqual([{ command: 'HeadBucket', input: { Bucket: 'dest-bucket' } }]);
  });

  it('a transient HeadBucket failure is retried under the retry policy it is given', async () => {
    delays.length = 0;
    let calls = 0;
    const { s3, sent } = fakeS3(() => {
      if (++calls === 1) throw s3Error('SlowDown', 503);
      return {};
    });
    await expect(prepare(s3)).resolves.toBeUndefined();
    expect(sent.map((s) => s.command)).toEqual(['HeadBucket', 'HeadBucket']);
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeLessThan(200); // the policy's first backoff, full jitter under baseDelayMs
  });

  it("a target bucket that stays unavailable fails after the policy's attempts", async () => {
    delays.length = 0;
    const { s3, sent } = fakeS3(() => {
      throw s3Error('ServiceUnavailable', 503);
    });
    const err = await prepare(s3).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'InvalidJobConfiguration' });
    expect((err as Error).message).toBe(
      'Target bucket dest-bucket does not exist or is not accessible: 503 ServiceUnavailable',
    );
    expect(sent).toHaveLength(3);
    expect(delays).toHaveLength(2);
  });
});
