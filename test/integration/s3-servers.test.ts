// Smoke test of the real S3 servers the integration tests run against (started by the global setup):
// the operations the engine is built on must work on BOTH, with the client settings from makeS3Client.
import {
  CopyObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireCeph, requireServer } from '../helpers/provided.ts';
import {
  createTestBucket,
  makeS3Client,
  putObjects,
  uniqueBucketName,
  type S3ServerInfo,
} from '../helpers/s3-servers.ts';

/** CopySource = "<bucket>/<key>" with each key segment percent-encoded (the SDK does not encode it). */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

describe('uniqueBucketName', () => {
  it('makes valid, distinct DNS-style bucket names', () => {
    const names = new Set(['t', 'My_Prefix!!', '-x-', 'a'.repeat(80), ''].map((p) => uniqueBucketName(p)));
    expect(names.size).toBe(5);
    for (const n of names) {
      expect(n).toMatch(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
      expect(n).not.toMatch(/--/);
    }
  });
});

describe.each(['ceph', 's3rver'] as const)('real S3 server: %s', (name) => {
  let server: S3ServerInfo;
  let client: S3Client;
  let bucket: string;

  beforeAll(async () => {
    server = requireServer(name); // throws (fails the tests) if the server is not running
    client = makeS3Client(server);
    bucket = await createTestBucket(client, `smoke-${name}`);
  });
  afterAll(() => client?.destroy());

  it('is the server it claims to be', () => {
    expect(server.name).toBe(name);
    expect(server.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.region).toBe('us-east-1');
  });

  it('PutObject then GetObject returns the same bytes, type and metadata', async () => {
    // every byte value, so any re-encoding or chunk framing in the stored object shows
    const body = new Uint8Array(4096).map((_, i) => i % 256);
    const put = await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'plain/binary.bin',
        Body: body,
        ContentType: 'application/x-test',
        Metadata: { origin: 'smoke' },
      }),
    );
    expect(put.ETag).toMatch(/^"?[0-9a-f]{32}"?$/);

    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'plain/binary.bin' }));
    const bytes = await got.Body!.transformToByteArray();
    expect(bytes.length).toBe(body.length);
    expect(Buffer.from(bytes).equals(Buffer.from(body))).toBe(true);
    expect(got.ContentType).toBe('application/x-test');
    expect(got.ContentLength).toBe(4096);
    expect(got.Metadata).toEqual({ origin: 'smoke' });
    expect(got.ETag).toBe(put.ETag);
  });

  it('GetObject of a missing key is NoSuchKey', async () => {
    const err = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'does/not/exist' })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(S3ServiceException);
    expect((err as S3ServiceException).name).toBe('NoSuchKey');
    expect((err as S3ServiceException).$metadata.httpStatusCode).toBe(404);
  });

  it('CopyObject copies a key with spaces and unicode, keeping body and metadata', async () => {
    const src = 'dir with spaces/naïve café – 日本語 😀.txt';
    const dst = 'copies/ünïcödé copy – 東京.txt';
    const text = `hello from ${src}\n`;
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: src, Body: text, ContentType: 'text/plain', Metadata: { k: 'v' } }),
    );

    const copy = await client.send(
      new CopyObjectCommand({ Bucket: bucket, Key: dst, CopySource: copySource(bucket, src) }),
    );
    expect(copy.CopyObjectResult?.ETag).toBeTruthy();

    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: dst }));
    expect(await got.Body!.transformToString()).toBe(text);
    expect(got.Metadata).toEqual({ k: 'v' });
    expect(got.ContentType).toBe('text/plain');

    // the keys are listed exactly as written (no double escaping), and the source is untouched
    const list = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (list.Contents ?? []).map((o) => o.Key);
    expect(keys).toContain(src);
    expect(keys).toContain(dst);
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: src }));
    expect(head.ContentLength).toBe(Buffer.byteLength(text));
  });

  it('PutObjectTagging then GetObjectTagging round-trips the tag set', async () => {
    const key = 'tagged/object.txt';
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'tag me' }));
    const before = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
    expect(before.TagSet ?? []).toEqual([]);

    const tags = [
      { Key: 'project', Value: 's3batch' },
      { Key: 'stage', Value: 'smoke test' },
      { Key: 'empty', Value: '' },
    ];
    await client.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: key, Tagging: { TagSet: tags } }));
    const after = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
    const byKey = (a: { Key?: string }, b: { Key?: string }) => (a.Key ?? '').localeCompare(b.Key ?? '');
    expect([...(after.TagSet ?? [])].sort(byKey)).toEqual([...tags].sort(byKey));

    // replacing the tag set replaces it whole
    await client.send(
      new PutObjectTaggingCommand({ Bucket: bucket, Key: key, Tagging: { TagSet: [{ Key: 'only', Value: 'one' }] } }),
    );
    const replaced = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
    expect(replaced.TagSet).toEqual([{ Key: 'only', Value: 'one' }]);
  });

  it('ListObjectsV2 pages with continuation tokens through every key exactly once', async () => {
    const pagingBucket = await createTestBucket(client, `paging-${name}`);
    const keys = Array.from({ length: 53 }, (_, i) => `p/${String(i).padStart(3, '0')} ${i % 2 ? 'odd' : 'even'}`);
    await putObjects(client, pagingBucket, keys);

    const seen: string[] = [];
    const pages: number[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: pagingBucket, Prefix: 'p/', MaxKeys: 10, ContinuationToken: token }),
      );
      pages.push(page.KeyCount ?? 0);
      seen.push(...(page.Contents ?? []).map((o) => o.Key!));
      expect(page.IsTruncated).toBe(seen.length < keys.length);
      token = page.NextContinuationToken;
      if (page.IsTruncated) expect(token).toBeTruthy();
    } while (token);

    expect(pages).toEqual([10, 10, 10, 10, 10, 3]);
    expect(seen).toEqual([...keys].sort());

    // bodies default to the key itself
    const got = await client.send(new GetObjectCommand({ Bucket: pagingBucket, Key: keys[7]! }));
    expect(await got.Body!.transformToString()).toBe(keys[7]);
  });
});

describe('Ceph RGW only', () => {
  it('enforces SigV4: a wrong secret key is refused with 403', async () => {
    const server = requireCeph();
    const bad = new S3Client({
      endpoint: server.endpoint,
      region: server.region,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: `${server.secretAccessKey}x` },
      maxAttempts: 1,
    });
    try {
      const err = await bad.send(new ListObjectsV2Command({ Bucket: 'any-bucket' })).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(S3ServiceException);
      expect((err as S3ServiceException).$metadata.httpStatusCode).toBe(403);
    } finally {
      bad.destroy();
    }
  });
});
