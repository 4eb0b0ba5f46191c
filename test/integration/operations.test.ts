// The operation handlers and the S3 object store against REAL S3 servers (started once by the
// integration global setup): Ceph RGW for the full behaviour, s3rver for what the embedded default
// can do. Each test makes its own buckets; assertions describe what the stores really do.
import { createHash } from 'node:crypto';
import {
  CopyObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskEntry } from '../../src/domain/task.ts';
import { DEFAULT_RETRY_POLICY, retryCallUnder } from '../../src/engine/retry.ts';
import type { OperationContext } from '../../src/operations/operation.ts';
import { s3DeleteObjectTagging } from '../../src/operations/s3-delete-object-tagging.ts';
import { s3PutObjectCopy } from '../../src/operations/s3-put-object-copy.ts';
import { s3PutObjectTagging } from '../../src/operations/s3-put-object-tagging.ts';
import { leanClientOf } from '../../src/storage/lean-s3/task-s3.ts';
import { ObjectStoreError } from '../../src/storage/object-store.ts';
import { createS3Client } from '../../src/storage/s3-clients.ts';
import { createS3ObjectStore } from '../../src/storage/s3-object-store.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { requireCeph, requireS3rver, requireServer, type S3ServerInfo } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, putObjects } from '../helpers/s3-servers.ts';

const MiB = 1024 * 1024;
const never = new AbortController().signal;

function taskClient(server: S3ServerInfo): S3Client {
  return createS3Client({ ...server, forcePathStyle: true });
}

function ctxOf(s3: S3Client, thresholdBytes = 5 * 1024 * MiB, partBytes = 5 * MiB): OperationContext {
  return { s3, multipartCopyThresholdBytes: thresholdBytes, multipartCopyPartBytes: partBytes };
}

function entryOf(bucket: string, key: string, versionId?: string): TaskEntry {
  return { line: 1, bucket, key, rawKey: encodeURIComponent(key).replace(/%2F/g, '/'), versionId };
}

async function bodyOf(client: S3Client, bucket: string, key: string, versionId?: string): Promise<Buffer> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

async function tagsOf(client: S3Client, bucket: string, key: string): Promise<Record<string, string>> {
  const res = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
  return Object.fromEntries((res.TagSet ?? []).map((t) => [t.Key, t.Value]));
}

async function keysOf(client: S3Client, bucket: string, prefix?: string): Promise<string[]> {
  const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key ?? '').sort();
}

/** Counts HTTP requests the client sends, through the SDK and through its lean per-task client. */
function countRequests(client: S3Client): { readonly count: number } {
  const counter = { count: 0 };
  const lean = leanClientOf(client);
  if (lean !== undefined) {
    const send = lean.send.bind(lean);
    lean.send = (req) => {
      counter.count++;
      return send(req);
    };
  }
  client.middlewareStack.add(
    (next) => async (args) => {
      counter.count++;
      return next(args);
    },
    { step: 'build', name: `count-${Math.random()}` },
  );
  return counter;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('operations on Ceph RGW', () => {
  let ceph: S3ServerInfo;
  let admin: S3Client;
  let s3: S3Client;
  let src: string;
  let dst: string;

  beforeAll(async () => {
    ceph = requireCeph();
    admin = makeS3Client(ceph);
    s3 = taskClient(ceph);
    src = await createTestBucket(admin, 'ops-src');
    dst = await createTestBucket(admin, 'ops-dst');
  });
  afterAll(() => {
    admin?.destroy();
    s3?.destroy();
  });

  it('copies tricky keys under TargetKeyPrefix: whole key, one slash, same bytes', async () => {
    const keys = [
      'plain.txt',
      'with space/and  two.txt',
      'plus+sign/a+b.txt',
      'amp&er/s&nd.txt',
      'quest?ion.txt',
      'hash#tag.txt',
      'per%cent/100%25.txt',
      'üñíçødé/日本語/файл.txt',
      'deep/nested/path/to/obj.bin',
      'eq=ual;semi:colon@at,comma$dollar.txt',
      "quote'paren(1)!*~.txt",
    ];
    await putObjects(admin, src, keys, (k) => `body of ${k}`);
    const config = s3PutObjectCopy.parse({ TargetResource: `arn:aws:s3:::${dst}`, TargetKeyPrefix: 'copied/' });
    for (const key of keys) {
      const out = await s3PutObjectCopy.attempt(config, entryOf(src, key), ctxOf(s3), never);
      expect(out.result, key).toMatchObject({
        status: 'succeeded',
        httpStatus: 200,
        errorCode: '',
        message: 'Successful',
      });
    }
    expect(await keysOf(admin, dst, 'copied/')).toEqual(keys.map((k) => `copied/${k}`).sort());
    for (const key of keys) expect((await bodyOf(admin, dst, `copied/${key}`)).toString(), key).toBe(`body of ${key}`);

    // a prefix without a trailing slash gets exactly one
    const noSlash = s3PutObjectCopy.parse({ TargetResource: `arn:aws:s3:::${dst}`, TargetKeyPrefix: 'p2' });
    await s3PutObjectCopy.attempt(noSlash, entryOf(src, 'deep/nested/path/to/obj.bin'), ctxOf(s3), never);
    expect(await keysOf(admin, dst, 'p2')).toEqual(['p2/deep/nested/path/to/obj.bin']);
  });

  it('REPLACE metadata and StorageClass STANDARD_IA', async () => {
    await admin.send(
      new PutObjectCommand({
        Bucket: src,
        Key: 'meta.txt',
        Body: 'm',
        ContentType: 'text/plain',
        Metadata: { old: '1' },
      }),
    );
    const config = s3PutObjectCopy.parse({
      TargetResource: `arn:aws:s3:::${dst}`,
      TargetKeyPrefix: 'replaced',
      StorageClass: 'STANDARD_IA',
      NewObjectMetadata: {
        ContentType: 'application/x-new',
        CacheControl: 'max-age=60',
        UserMetadata: { Fresh: 'yes' },
      },
    });
    const out = await s3PutObjectCopy.attempt(config, entryOf(src, 'meta.txt'), ctxOf(s3), never);
    expect(out.result.status).toBe('succeeded');
    const head = await admin.send(new HeadObjectCommand({ Bucket: dst, Key: 'replaced/meta.txt' }));
    expect(head.ContentType).toBe('application/x-new');
    expect(head.CacheControl).toBe('max-age=60');
    expect(head.Metadata).toEqual({ fresh: 'yes' });
    expect(head.StorageClass).toBe('STANDARD_IA');
  });

  it('default COPY keeps the source metadata and tags', async () => {
    await admin.send(
      new PutObjectCommand({
        Bucket: src,
        Key: 'keep.txt',
        Body: 'k',
        ContentType: 'text/x-keep',
        Metadata: { a: '1' },
        Tagging: 't1=v1&t2=',
      }),
    );
    const config = s3PutObjectCopy.parse({ TargetResource: `arn:aws:s3:::${dst}`, TargetKeyPrefix: 'kept' });
    expect((await s3PutObjectCopy.attempt(config, entryOf(src, 'keep.txt'), ctxOf(s3), never)).result.status).toBe(
      'succeeded',
    );
    const head = await admin.send(new HeadObjectCommand({ Bucket: dst, Key: 'kept/keep.txt' }));
    expect(head.ContentType).toBe('text/x-keep');
    expect(head.Metadata).toEqual({ a: '1' });
    expect(await tagsOf(admin, dst, 'kept/keep.txt')).toEqual({ t1: 'v1', t2: '' });
  });

  it('reality: Ceph ignores TaggingDirective REPLACE on CopyObject and answers an unquoted CopyObjectResult ETag', async () => {
    await admin.send(new PutObjectCommand({ Bucket: src, Key: 'reality.txt', Body: 'r', Tagging: 'src=1' }));
    const res = await admin.send(
      new CopyObjectCommand({
        Bucket: dst,
        Key: 'reality.txt',
        CopySource: `${src}/reality.txt`,
        TaggingDirective: 'REPLACE',
        Tagging: 'new=2',
      }),
    );
    expect(await tagsOf(admin, dst, 'reality.txt')).toEqual({ src: '1' }); // the source's tags, not new=2
    expect(res.CopyObjectResult?.ETag).toMatch(/^[0-9a-f]{32}$/); // no quotes (AWS quotes it)
  });

  it('NewObjectTagging gives exactly those tags (enforced after the copy), and [] gives none', async () => {
    await admin.send(new PutObjectCommand({ Bucket: src, Key: 'tagged.txt', Body: 't', Tagging: 'src=1&other=2' }));
    const set = s3PutObjectCopy.parse({
      TargetResource: `arn:aws:s3:::${dst}`,
      TargetKeyPrefix: 'newtags',
      NewObjectTagging: [
        { Key: 'team', Value: 'a b' },
        { Key: 'x', Value: '' },
      ],
    });
    expect((await s3PutObjectCopy.attempt(set, entryOf(src, 'tagged.txt'), ctxOf(s3), never)).result.status).toBe(
      'succeeded',
    );
    expect(await tagsOf(admin, dst, 'newtags/tagged.txt')).toEqual({ team: 'a b', x: '' });

    const none = s3PutObjectCopy.parse({
      TargetResource: `arn:aws:s3:::${dst}`,
      TargetKeyPrefix: 'notags',
      NewObjectTagging: [],
    });
    expect((await s3PutObjectCopy.attempt(none, entryOf(src, 'tagged.txt'), ctxOf(s3), never)).result.status).toBe(
      'succeeded',
    );
    expect(await tagsOf(admin, dst, 'notags/tagged.txt')).toEqual({});
  });

  it('a missing source fails the task 404 NoSuchKey, permanent', async () => {
    const config = s3PutObjectCopy.parse({ TargetResource: `arn:aws:s3:::${dst}` });
    const out = await s3PutObjectCopy.attempt(config, entryOf(src, 'does/not exist.txt'), ctxOf(s3), never);
    expect(out.retryable).toBe(false);
    expect(out.result).toMatchObject({
      status: 'failed',
      httpStatus: 404,
      errorCode: 'NoSuchKey',
      rawKey: 'does/not%20exist.txt',
    });
    expect(out.result.message).toMatch(
      /^The specified key does not exist\. \(Service: Amazon S3; Status Code: 404; Error Code: NoSuchKey; Request ID: \S+\)$/,
    );
  });

  it('copies a given version (versioned source bucket)', async () => {
    const vsrc = await createTestBucket(admin, 'ops-vsrc');
    await admin.send(new PutBucketVersioningCommand({ Bucket: vsrc, VersioningConfiguration: { Status: 'Enabled' } }));
    const v1 = await admin.send(new PutObjectCommand({ Bucket: vsrc, Key: 'a b+c.txt', Body: 'version one' }));
    await admin.send(new PutObjectCommand({ Bucket: vsrc, Key: 'a b+c.txt', Body: 'version two' }));
    expect(v1.VersionId).toBeTruthy();
    const config = s3PutObjectCopy.parse({ TargetResource: `arn:aws:s3:::${dst}`, TargetKeyPrefix: 'versioned' });
    const out = await s3PutObjectCopy.attempt(config, entryOf(vsrc, 'a b+c.txt', v1.VersionId), ctxOf(s3), never);
    expect(out.result).toMatchObject({ status: 'succeeded', versionId: v1.VersionId });
    expect((await bodyOf(admin, dst, 'versioned/a b+c.txt')).toString()).toBe('version one');
  });

  it('multipart copy above the threshold: 12 MiB in 5 MiB parts, same bytes, metadata and tags', async () => {
    const big = new Uint8Array(12 * MiB + 12345).map((_, i) => (i * 7 + (i >> 13)) % 251);
    await admin.send(
      new PutObjectCommand({
        Bucket: src,
        Key: 'big/object.bin',
        Body: big,
        ContentType: 'application/x-big',
        Metadata: { size: 'large' },
        Tagging: 'kind=big',
      }),
    );
    const client = taskClient(ceph);
    const requests = countRequests(client);
    try {
      const config = s3PutObjectCopy.parse({ TargetResource: `arn:aws:s3:::${dst}`, TargetKeyPrefix: 'mpu' });
      const t0 = performance.now();
      const out = await s3PutObjectCopy.attempt(
        config,
        entryOf(src, 'big/object.bin'),
        ctxOf(client, 5 * MiB, 5 * MiB),
        never,
      );
      const ms = performance.now() - t0;
      expect(out.result.status).toBe('succeeded');
      // HEAD, GetObjectTagging, Create, 3 × UploadPartCopy, Complete, PutObjectTagging
      expect(requests.count).toBe(8);
      console.log(
        `[operations] multipart copy of ${(big.length / MiB).toFixed(1)} MiB on Ceph: ${ms.toFixed(0)} ms, ${requests.count} requests`,
      );
    } finally {
      client.destroy();
    }
    const head = await admin.send(new HeadObjectCommand({ Bucket: dst, Key: 'mpu/big/object.bin' }));
    expect(head.ContentLength).toBe(big.length);
    expect(head.ETag).toMatch(/-3"$/); // three parts
    expect(head.ContentType).toBe('application/x-big');
    expect(head.Metadata).toEqual({ size: 'large' });
    expect(sha256(await bodyOf(admin, dst, 'mpu/big/object.bin'))).toBe(sha256(big));
    expect(await tagsOf(admin, dst, 'mpu/big/object.bin')).toEqual({ kind: 'big' });
  });

  it('multipart copy with REPLACE metadata and new tags', async () => {
    const config = s3PutObjectCopy.parse({
      TargetResource: `arn:aws:s3:::${dst}`,
      TargetKeyPrefix: 'mpu2',
      StorageClass: 'STANDARD_IA',
      NewObjectMetadata: { ContentType: 'text/x-replaced' },
      NewObjectTagging: [{ Key: 'n', Value: '1' }],
    });
    const out = await s3PutObjectCopy.attempt(
      config,
      entryOf(src, 'big/object.bin'),
      ctxOf(s3, 5 * MiB, 5 * MiB),
      never,
    );
    expect(out.result.status).toBe('succeeded');
    const head = await admin.send(new HeadObjectCommand({ Bucket: dst, Key: 'mpu2/big/object.bin' }));
    expect(head.ContentType).toBe('text/x-replaced');
    expect(head.Metadata).toEqual({});
    expect(head.StorageClass).toBe('STANDARD_IA');
    expect(await tagsOf(admin, dst, 'mpu2/big/object.bin')).toEqual({ n: '1' });
  });

  it('prepare: an existing target bucket passes, a missing one is InvalidJobConfiguration', async () => {
    await expect(
      s3PutObjectCopy.prepare!(
        s3PutObjectCopy.parse({ TargetResource: `arn:aws:s3:::${dst}` }),
        ctxOf(s3),
        never,
        retryCallUnder(DEFAULT_RETRY_POLICY),
      ),
    ).resolves.toBeUndefined();
    const missing = s3PutObjectCopy.parse({ TargetResource: `arn:aws:s3:::${dst}-missing` });
    await expect(
      s3PutObjectCopy.prepare!(missing, ctxOf(s3), never, retryCallUnder(DEFAULT_RETRY_POLICY)),
    ).rejects.toMatchObject({
      code: 'InvalidJobConfiguration',
      message: `Target bucket ${dst}-missing does not exist or is not accessible: 404 NoSuchBucket`,
    });
  });

  it("prepare: HeadBucket answered 503 SlowDown is retried under the engine's policy (fault proxy)", async () => {
    let heads = 0;
    let failEvery = false;
    const proxy = await startFaultProxy(ceph.endpoint, (req) => {
      // HeadBucket, path style: HEAD /<bucket>/ (a HeadObject would name a key after the slash)
      if (req.method !== 'HEAD' || req.url?.split('?')[0] !== `/${dst}/`) return undefined;
      heads++;
      return heads <= 2 || failEvery ? 'slowdown' : undefined;
    });
    const viaProxy = taskClient({ ...ceph, endpoint: proxy.endpoint });
    try {
      const config = s3PutObjectCopy.parse({ TargetResource: `arn:aws:s3:::${dst}` });
      const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 20 };
      await expect(
        s3PutObjectCopy.prepare!(config, ctxOf(viaProxy), never, retryCallUnder(policy)),
      ).resolves.toBeUndefined();
      expect(heads).toBe(3);
      expect(proxy.injected.slowdown).toBe(2);
      // Past the policy's attempts the job is refused with the store's last answer.
      heads = 0;
      failEvery = true;
      const refused = await s3PutObjectCopy.prepare!(
        config,
        ctxOf(viaProxy),
        never,
        retryCallUnder({ ...policy, maxAttempts: 2 }),
      ).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'InvalidJobConfiguration' });
      // A HEAD answer has no body, so the SDK sees only the status: no S3 code to name.
      expect((refused as Error).message).toBe(`Target bucket ${dst} does not exist or is not accessible: 503 Unknown`);
      expect(heads).toBe(2);
    } finally {
      viaProxy.destroy();
      await proxy.close();
    }
  });

  it('put tagging replaces the set, [] removes it, delete tagging removes it', async () => {
    await admin.send(new PutObjectCommand({ Bucket: src, Key: 'tag me.txt', Body: 'x', Tagging: 'old=1' }));
    const e = entryOf(src, 'tag me.txt');
    const put = s3PutObjectTagging.parse({
      TagSet: [
        { Key: 'a', Value: '1' },
        { Key: 'b c', Value: 'd/e' },
      ],
    });
    expect((await s3PutObjectTagging.attempt(put, e, ctxOf(s3), never)).result).toMatchObject({
      status: 'succeeded',
      httpStatus: 200,
      message: 'Successful',
    });
    expect(await tagsOf(admin, src, 'tag me.txt')).toEqual({ a: '1', 'b c': 'd/e' });

    const empty = s3PutObjectTagging.parse({ TagSet: [] });
    expect((await s3PutObjectTagging.attempt(empty, e, ctxOf(s3), never)).result.status).toBe('succeeded');
    expect(await tagsOf(admin, src, 'tag me.txt')).toEqual({});

    await s3PutObjectTagging.attempt(put, e, ctxOf(s3), never);
    const del = s3DeleteObjectTagging.parse({});
    expect((await s3DeleteObjectTagging.attempt(del, e, ctxOf(s3), never)).result).toMatchObject({
      status: 'succeeded',
      httpStatus: 200,
    });
    expect(await tagsOf(admin, src, 'tag me.txt')).toEqual({});
  });

  it('tagging a missing object fails 404 NoSuchKey', async () => {
    const put = s3PutObjectTagging.parse({ TagSet: [{ Key: 'a', Value: '1' }] });
    const out = await s3PutObjectTagging.attempt(put, entryOf(src, 'nope.txt'), ctxOf(s3), never);
    expect(out).toMatchObject({
      retryable: false,
      result: { status: 'failed', httpStatus: 404, errorCode: 'NoSuchKey' },
    });
  });
});

describe('operations on s3rver (the embedded default)', () => {
  let server: S3ServerInfo;
  let admin: S3Client;
  let s3: S3Client;
  let src: string;
  let dst: string;

  beforeAll(async () => {
    server = requireS3rver();
    admin = makeS3Client(server);
    s3 = taskClient(server);
    src = await createTestBucket(admin, 'ops-src');
    dst = await createTestBucket(admin, 'ops-dst');
    await putObjects(admin, src, ['one.txt', 'dir/two.txt', 'with space.txt']);
  });
  afterAll(() => {
    admin?.destroy();
    s3?.destroy();
  });

  it('copies simple keys under a prefix', async () => {
    const config = s3PutObjectCopy.parse({ TargetResource: `arn:aws:s3:::${dst}`, TargetKeyPrefix: 'c' });
    for (const key of ['one.txt', 'dir/two.txt', 'with space.txt']) {
      expect((await s3PutObjectCopy.attempt(config, entryOf(src, key), ctxOf(s3), never)).result.status, key).toBe(
        'succeeded',
      );
      expect((await bodyOf(admin, dst, `c/${key}`)).toString()).toBe(key);
    }
  });

  it('NewObjectTagging still gives exactly those tags (s3rver ignores the tagging headers; the handler rewrites them)', async () => {
    const config = s3PutObjectCopy.parse({
      TargetResource: `arn:aws:s3:::${dst}`,
      TargetKeyPrefix: 't',
      NewObjectTagging: [{ Key: 'k', Value: 'v' }],
    });
    expect((await s3PutObjectCopy.attempt(config, entryOf(src, 'one.txt'), ctxOf(s3), never)).result.status).toBe(
      'succeeded',
    );
    expect(await tagsOf(admin, dst, 't/one.txt')).toEqual({ k: 'v' });
  });

  it('put tagging', async () => {
    const put = s3PutObjectTagging.parse({ TagSet: [{ Key: 'a', Value: '1' }] });
    expect((await s3PutObjectTagging.attempt(put, entryOf(src, 'dir/two.txt'), ctxOf(s3), never)).result.status).toBe(
      'succeeded',
    );
    expect(await tagsOf(admin, src, 'dir/two.txt')).toEqual({ a: '1' });
  });

  it('DeleteObjectTagging is a clean per-task failure 501 NotImplemented, and the object survives', async () => {
    const out = await s3DeleteObjectTagging.attempt({}, entryOf(src, 'one.txt'), ctxOf(s3), never);
    expect(out.retryable).toBe(false);
    expect(out.result).toMatchObject({ status: 'failed', httpStatus: 501, errorCode: 'NotImplemented' });
    expect(out.result.message).toMatch(/\(Service: Amazon S3; Status Code: 501; Error Code: NotImplemented/);
    expect((await bodyOf(admin, src, 'one.txt')).toString()).toBe('one.txt');
  });

  it('a missing source fails 404 NoSuchKey', async () => {
    const config = s3PutObjectCopy.parse({ TargetResource: `arn:aws:s3:::${dst}` });
    expect((await s3PutObjectCopy.attempt(config, entryOf(src, 'missing.txt'), ctxOf(s3), never)).result).toMatchObject(
      { httpStatus: 404, errorCode: 'NoSuchKey' },
    );
  });
});

describe.each(['ceph', 's3rver'] as const)('S3 object store on %s', (name) => {
  let admin: S3Client;
  let bucket: string;

  beforeAll(async () => {
    admin = makeS3Client(requireServer(name));
    bucket = await createTestBucket(admin, `store-${name}`);
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: 'manifest.csv', Body: '0123456789abcdef' }));
  });
  afterAll(() => admin?.destroy());

  const read = async (body: AsyncIterable<Uint8Array>): Promise<Buffer> => {
    const chunks: Uint8Array[] = [];
    for await (const c of body) chunks.push(c);
    return Buffer.concat(chunks);
  };

  it('open: whole object, ETag without quotes, size', async () => {
    const store = createS3ObjectStore(admin);
    const o = await store.open({ bucket, key: 'manifest.csv' });
    expect((await read(o.body)).toString()).toBe('0123456789abcdef');
    expect(o.etag).toMatch(/^[0-9a-f]{32}$/);
    expect(o.size).toBe(16);
  });

  it('open: an inclusive range, size of the whole object, ifMatch quoted or not', async () => {
    const store = createS3ObjectStore(admin);
    const { etag } = await store.open({ bucket, key: 'manifest.csv' });
    const o = await store.open({ bucket, key: 'manifest.csv' }, { range: { start: 4, end: 9 }, ifMatch: etag });
    expect((await read(o.body)).toString()).toBe('456789');
    expect(o.size).toBe(16);
    const q = await store.open({ bucket, key: 'manifest.csv' }, { ifMatch: `"${etag}"` });
    expect((await read(q.body)).toString()).toBe('0123456789abcdef');
  });

  it('open: an ETag mismatch is ObjectStoreError 412 PreconditionFailed', async () => {
    const err = await createS3ObjectStore(admin)
      .open({ bucket, key: 'manifest.csv' }, { ifMatch: '0123456789abcdef0123456789abcdef' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectStoreError);
    expect(err).toMatchObject({ httpStatus: 412, code: 'PreconditionFailed' });
  });

  it('open: a missing object is 404 NoSuchKey, a missing bucket 404 NoSuchBucket', async () => {
    const store = createS3ObjectStore(admin);
    await expect(store.open({ bucket, key: 'nope.csv' })).rejects.toMatchObject({
      name: 'ObjectStoreError',
      httpStatus: 404,
      code: 'NoSuchKey',
    });
    await expect(store.open({ bucket: `${bucket}-none`, key: 'x' })).rejects.toMatchObject({
      httpStatus: 404,
      code: 'NoSuchBucket',
    });
  });

  it('put: a multi-MiB async iterable goes up multipart and reads back identical', async () => {
    const store = createS3ObjectStore(admin);
    const chunk = (i: number): Uint8Array => new Uint8Array(MiB + 333).map((_, j) => (i * 31 + j) % 256);
    async function* body(): AsyncIterable<Uint8Array> {
      for (let i = 0; i < 12; i++) yield chunk(i);
    }
    const expected = Buffer.concat(Array.from({ length: 12 }, (_, i) => chunk(i)));
    const { etag } = await store.put({ bucket, key: 'report/results.csv' }, body(), { contentType: 'text/csv' });
    // 3 parts of 5 MiB: Ceph gives the multipart ETag form; s3rver the MD5 of the whole object
    if (name === 'ceph') expect(etag).toMatch(/^[0-9a-f]{32}-3$/);
    else expect(etag).toBe(createHash('md5').update(expected).digest('hex'));
    const head = await admin.send(new HeadObjectCommand({ Bucket: bucket, Key: 'report/results.csv' }));
    expect(head.ETag).toBe(`"${etag}"`);
    expect(head.ContentType).toBe('text/csv');
    expect(sha256(await bodyOf(admin, bucket, 'report/results.csv'))).toBe(sha256(expected));
  });

  it('put: small string and bytes bodies in one PUT', async () => {
    const store = createS3ObjectStore(admin);
    const a = await store.put({ bucket, key: 'small.json' }, '{"a":1}', { contentType: 'application/json' });
    expect(a.etag).toBe(createHash('md5').update('{"a":1}').digest('hex'));
    const b = await store.put({ bucket, key: 'small.bin' }, new Uint8Array([1, 2, 3]));
    expect(b.etag).toBe(
      createHash('md5')
        .update(new Uint8Array([1, 2, 3]))
        .digest('hex'),
    );
    expect([...(await bodyOf(admin, bucket, 'small.bin'))]).toEqual([1, 2, 3]);
  });
});
