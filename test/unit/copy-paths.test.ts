/**
 * Which requests one copy task sends. A source over 5 GiB cannot be created on this machine's
 * stores (Ceph's memstore OSD and s3rver hold objects in memory/on the small test disk), so the
 * over-5-GiB fallback is tested here with a recording fake S3 client; every other copy path runs
 * against Ceph RGW and s3rver in test/integration/operations.test.ts and test/e2e.
 */
import { S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { TaskEntry } from '../../src/domain/task.ts';
import type { OperationContext } from '../../src/operations/operation.ts';
import { isSourceTooLarge, s3PutObjectCopy } from '../../src/operations/s3-put-object-copy.ts';

const GiB = 1024 ** 3;
const entry: TaskEntry = { line: 1, bucket: 'src', key: 'big.bin', rawKey: 'big.bin' };

function tooLarge(): S3ServiceException {
  return new S3ServiceException({
    name: 'InvalidRequest',
    $fault: 'client',
    $metadata: { httpStatusCode: 400, requestId: 'R1' },
    message: 'The specified copy source is larger than the maximum allowable size for a copy source: 5368709120',
  });
}

/** A fake client answering by command name; `sizes` is what HeadObject reports. */
function fakeS3(size: number): { client: S3Client; sent: string[] } {
  const sent: string[] = [];
  const client = {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      const name = command.constructor.name.replace(/Command$/, '');
      sent.push(name);
      switch (name) {
        case 'CopyObject':
          if (size > 5 * GiB) throw tooLarge();
          return { CopyObjectResult: { ETag: '"e"' } };
        case 'HeadObject':
          return {
            ContentLength: size,
            ETag: '"src-etag"',
            LastModified: new Date('2026-01-01T00:00:00Z'),
            Metadata: {},
          };
        case 'GetObjectTagging':
          return { TagSet: [] };
        case 'CreateMultipartUpload':
          return { UploadId: 'U1' };
        case 'UploadPartCopy':
          return { CopyPartResult: { ETag: `"p${sent.length}"` } };
        case 'CompleteMultipartUpload':
          return { ETag: '"done-3"' };
        default:
          throw new Error(`unexpected ${name}`);
      }
    },
  } as unknown as S3Client;
  return { client, sent };
}

const ctx = (client: S3Client, threshold = 5 * GiB): OperationContext => ({
  s3: client,
  multipartCopyThresholdBytes: threshold,
  multipartCopyPartBytes: 1 * GiB,
});
const signal = new AbortController().signal;

describe('copy task request paths', () => {
  it('HEADs the source (its size is the bytes processed), then one CopyObject', async () => {
    const { client, sent } = fakeS3(1024);
    const config = s3PutObjectCopy.parse({ TargetResource: 'arn:aws:s3:::dst' });
    const out = await s3PutObjectCopy.attempt(config, entry, ctx(client), signal);
    expect(out.result.status).toBe('succeeded');
    expect(out.result.bytes).toBe(1024);
    expect(sent).toEqual(['HeadObject', 'CopyObject']);
  });

  it('with count-copy-bytes=false: one CopyObject and nothing else in the common case, no bytes', async () => {
    const { client, sent } = fakeS3(1024);
    const config = { ...s3PutObjectCopy.parse({ TargetResource: 'arn:aws:s3:::dst' }), countBytes: false };
    const out = await s3PutObjectCopy.attempt(config, entry, ctx(client), signal);
    expect(out.result.status).toBe('succeeded');
    expect(out.result.bytes).toBeUndefined();
    expect(sent).toEqual(['CopyObject']);
  });

  it('with count-copy-bytes=false: HEAD + multipart copy only when the store says the source is over 5 GiB', async () => {
    const { client, sent } = fakeS3(6 * GiB);
    const config = {
      ...s3PutObjectCopy.parse({ TargetResource: 'arn:aws:s3:::dst', MetadataDirective: 'COPY' }),
      countBytes: false,
    };
    const out = await s3PutObjectCopy.attempt(config, entry, ctx(client), signal);
    expect(out.result.status).toBe('succeeded');
    expect(out.result.bytes).toBeUndefined();
    expect(sent.slice(0, 2)).toEqual(['CopyObject', 'HeadObject']);
    expect(sent.filter((n) => n === 'UploadPartCopy')).toHaveLength(6);
  });

  it('copies a source over 5 GiB in parts, its size counted as bytes processed', async () => {
    const { client, sent } = fakeS3(6 * GiB);
    const config = s3PutObjectCopy.parse({ TargetResource: 'arn:aws:s3:::dst', MetadataDirective: 'COPY' });
    const out = await s3PutObjectCopy.attempt(config, entry, ctx(client), signal);
    expect(out.result.status).toBe('succeeded');
    expect(out.result.bytes).toBe(6 * GiB);
    expect(sent[0]).toBe('HeadObject');
    expect(sent).not.toContain('CopyObject');
    expect(sent).toContain('CreateMultipartUpload');
    expect(sent.filter((n) => n === 'UploadPartCopy')).toHaveLength(6);
    expect(sent[sent.length - 1]).toBe('CompleteMultipartUpload');
  });

  it('HEADs first when a constraint must be checked or the threshold is lowered', async () => {
    const a = fakeS3(1024);
    const withConstraint = s3PutObjectCopy.parse({
      TargetResource: 'arn:aws:s3:::dst',
      UnModifiedSinceConstraint: '2030-01-01T00:00:00Z',
    });
    await s3PutObjectCopy.attempt(withConstraint, entry, ctx(a.client), signal);
    expect(a.sent).toEqual(['HeadObject', 'CopyObject']);
    const b = fakeS3(1024);
    await s3PutObjectCopy.attempt(
      s3PutObjectCopy.parse({ TargetResource: 'arn:aws:s3:::dst' }),
      entry,
      ctx(b.client, 8 * 1024 * 1024),
      signal,
    );
    expect(b.sent).toEqual(['HeadObject', 'CopyObject']);
  });

  it('recognises the too-large answers and nothing else', () => {
    expect(isSourceTooLarge(tooLarge())).toBe(true);
    expect(
      isSourceTooLarge(
        new S3ServiceException({ name: 'EntityTooLarge', $fault: 'client', $metadata: { httpStatusCode: 400 } }),
      ),
    ).toBe(true);
    expect(
      isSourceTooLarge(
        new S3ServiceException({
          name: 'InvalidRequest',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
          message: 'Bad header',
        }),
      ),
    ).toBe(false);
    expect(
      isSourceTooLarge(
        new S3ServiceException({ name: 'NoSuchKey', $fault: 'client', $metadata: { httpStatusCode: 404 } }),
      ),
    ).toBe(false);
  });
});
