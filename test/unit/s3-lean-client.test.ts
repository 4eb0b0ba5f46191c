/**
 * The lean per-task client (src/s3/) against the AWS SDK it stands in for. A capture server on
 * loopback (a real node:http server; no S3 behind it) records what each client sends and answers
 * as told, so the tests compare:
 *  - the request line, headers and body of every per-task request, for keys with every special
 *    character the suites use (the SDK-only headers — user agent, invocation id, signature, date —
 *    aside);
 *  - the errors, as storage/s3-error-classification.ts describes them, for the same answers;
 *  - the SigV4 signature, against @smithy/signature-v4's for the same request.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { S3Client } from '@aws-sdk/client-s3';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3ComputeObjectChecksum } from '../../src/operations/s3-compute-object-checksum.ts';
import { s3PutObjectCopy } from '../../src/operations/s3-put-object-copy.ts';
import { s3UpdateObjectEncryption } from '../../src/operations/s3-update-object-encryption.ts';
import { SigV4Signer, sha256Hex } from '../../src/storage/lean-s3/sigv4.ts';
import { leanClientOf, sdkTaskS3, type TaskS3, taskS3Of } from '../../src/storage/lean-s3/task-s3.ts';
import { createS3Client, type S3ClientProfile } from '../../src/storage/s3-clients.ts';
import { describeS3Error } from '../../src/storage/s3-error-classification.ts';

interface Captured {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

interface Answer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Destroy the socket instead of answering. */
  reset?: boolean;
  /** Never answer. */
  hang?: boolean;
  /** Send the headers and this many bytes of `body`, then destroy the socket (a body cut mid-object). */
  cutAfter?: number;
  /** Send the headers and the first 64 KiB of a 1 MiB body, then nothing more (until the client goes). */
  stall?: boolean;
}

const SDK_ONLY = new Set([
  'user-agent',
  'x-amz-user-agent',
  'amz-sdk-invocation-id',
  'amz-sdk-request',
  'authorization',
  'x-amz-date',
  'connection',
]);

let server: Server;
let endpoint: string;
let captured: Captured[] = [];
/** Per captured request: whether the SDK sent it (it carries amz-sdk-invocation-id; the lean client does not). */
let bySdk: boolean[] = [];
let answer: Answer = { status: 200 };
const hanging: ServerResponse[] = [];
/** The server side of the connection of the last request answered with `stall` closes. */
let stalled: Promise<void> = Promise.resolve();
/** Called when the server has written the first bytes of a `stall` answer. */
let onStallWritten: (() => void) | undefined;

function onRequest(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = (req.rawHeaders[i] ?? '').toLowerCase();
      if (!SDK_ONLY.has(name)) headers[name] = req.rawHeaders[i + 1] ?? '';
    }
    captured.push({ method: req.method ?? '', url: req.url ?? '', headers, body: Buffer.concat(chunks).toString() });
    bySdk.push(req.headers['amz-sdk-invocation-id'] !== undefined);
    if (answer.reset) {
      req.socket.destroy();
      return;
    }
    if (answer.hang) {
      hanging.push(res);
      return;
    }
    if (answer.stall) {
      stalled = new Promise((r) => req.socket.once('close', () => r()));
      hanging.push(res);
      res.writeHead(200, { 'content-length': String(1024 ** 2) });
      res.write(Buffer.alloc(64 * 1024, 's'), () => onStallWritten?.());
      return;
    }
    const body = answer.body ?? '';
    if (answer.cutAfter !== undefined) {
      res.writeHead(answer.status, { 'x-amz-request-id': 'REQ1', 'content-length': String(Buffer.byteLength(body)) });
      res.write(Buffer.from(body).subarray(0, answer.cutAfter), () => req.socket.destroy());
      return;
    }
    res.writeHead(answer.status, {
      'x-amz-request-id': 'REQ1',
      'x-amz-id-2': 'HOST1',
      'content-length': String(Buffer.byteLength(body)),
      ...(body ? { 'content-type': 'application/xml' } : {}),
      ...answer.headers,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
}

let s3: S3Client;
let lean: TaskS3;
let sdk: TaskS3;

beforeAll(async () => {
  server = createServer(onRequest);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  s3 = createS3Client({
    endpoint,
    region: 'eu-west-3',
    accessKeyId: 'AKIDLEAN',
    secretAccessKey: 'lean/secret+key',
    sessionToken: 'session-token',
    forcePathStyle: true,
  });
  lean = taskS3Of(s3);
  sdk = sdkTaskS3(s3);
});

afterAll(async () => {
  for (const res of hanging.splice(0)) res.destroy();
  s3.destroy();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

/** What `call` sends through the SDK and through the lean client. */
async function bothSend(call: (t: TaskS3, signal: AbortSignal) => Promise<unknown>): Promise<[Captured, Captured]> {
  const signal = new AbortController().signal;
  captured = [];
  await call(sdk, signal).catch(() => {});
  await call(lean, signal).catch(() => {});
  expect(captured).toHaveLength(2);
  return [captured[0] as Captured, captured[1] as Captured];
}

/** Reads a GetObject body to its end (as the checksum operation does): its bytes. */
async function drain(out: { Body?: unknown }): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of out.Body as AsyncIterable<Uint8Array>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A task client whose per-task requests go through the SDK (S3BATCH_TASK_CLIENT=sdk). */
function sdkOnlyClient(profile: S3ClientProfile): S3Client {
  const before = process.env.S3BATCH_TASK_CLIENT;
  process.env.S3BATCH_TASK_CLIENT = 'sdk';
  try {
    return createS3Client(profile);
  } finally {
    if (before === undefined) delete process.env.S3BATCH_TASK_CLIENT;
    else process.env.S3BATCH_TASK_CLIENT = before;
  }
}

const KEYS = [
  'plain.txt',
  'a b/c+d%e?f#g',
  'unicode/ünïcødé/日本語 ファイル.txt',
  '../up/./x/../y',
  'trailing/',
  '//double//slash',
  "quote'paren(x)*!~_-.txt",
  'semi;colon,comma=eq&amp@at$dollar:colon[b]{c}|^`"<>\\',
  'emoji 🎉/tab\there',
];
const VERSION = 'v+1/==~ä';
const DATE = new Date('2031-02-03T04:05:06Z');

describe('requests are the SDK’s, byte for byte', () => {
  beforeAll(() => {
    answer = { status: 200 };
  });

  it.each(KEYS)('tagging, HEAD, ACL, legal hold, retention, restore, delete, GET of %j', async (Key) => {
    const Bucket = 'bkt';
    const cases: ((t: TaskS3, s: AbortSignal) => Promise<unknown>)[] = [
      (t, s) =>
        t.putObjectTagging(
          {
            Bucket,
            Key,
            VersionId: VERSION,
            Tagging: {
              TagSet: [
                { Key: 'k 1', Value: 'v&<>"\'' },
                { Key: 'ü', Value: '' },
              ],
            },
          },
          s,
        ),
      (t, s) => t.putObjectTagging({ Bucket, Key, Tagging: { TagSet: [] }, RequestPayer: 'requester' }, s),
      (t, s) => t.deleteObjectTagging({ Bucket, Key, VersionId: VERSION }, s),
      (t, s) => t.getObjectTagging({ Bucket, Key, VersionId: VERSION, RequestPayer: 'requester' }, s),
      (t, s) => t.headObject({ Bucket, Key, VersionId: VERSION, RequestPayer: 'requester' }, s),
      (t, s) => t.headObject({ Bucket, Key, VersionId: VERSION, PartNumber: 1, ChecksumMode: 'ENABLED' }, s),
      (t, s) => t.putObjectAcl({ Bucket, Key, VersionId: VERSION, ACL: 'bucket-owner-full-control' }, s),
      (t, s) =>
        t.putObjectAcl(
          {
            Bucket,
            Key,
            AccessControlPolicy: {
              Owner: { ID: 'owner&1', DisplayName: 'Ö' },
              Grants: [
                { Grantee: { Type: 'CanonicalUser', ID: 'id1', DisplayName: 'd' }, Permission: 'READ' },
                { Grantee: { Type: 'AmazonCustomerByEmail', EmailAddress: 'a@b.c' }, Permission: 'WRITE_ACP' },
                {
                  Grantee: { Type: 'Group', URI: 'http://acs.amazonaws.com/groups/global/AllUsers' },
                  Permission: 'READ_ACP',
                },
              ],
            },
          },
          s,
        ),
      (t, s) => t.putObjectLegalHold({ Bucket, Key, VersionId: VERSION, LegalHold: { Status: 'ON' } }, s),
      (t, s) =>
        t.putObjectRetention(
          {
            Bucket,
            Key,
            VersionId: VERSION,
            Retention: { Mode: 'GOVERNANCE', RetainUntilDate: DATE },
            BypassGovernanceRetention: true,
          },
          s,
        ),
      (t, s) =>
        t.putObjectRetention({ Bucket, Key, Retention: { RetainUntilDate: new Date('2031-02-03T04:05:06.789Z') } }, s),
      (t, s) => t.putObjectRetention({ Bucket, Key, Retention: {} }, s),
      (t, s) =>
        t.restoreObject(
          { Bucket, Key, VersionId: VERSION, RestoreRequest: { Days: 3, GlacierJobParameters: { Tier: 'Bulk' } } },
          s,
        ),
      (t, s) => t.restoreObject({ Bucket, Key, RestoreRequest: {} }, s),
      (t, s) => t.deleteObject({ Bucket, Key, VersionId: VERSION, BypassGovernanceRetention: true }, s),
      (t, s) => t.deleteObject({ Bucket, Key }, s),
      async (t, s) => drain(await t.getObject({ Bucket, Key }, s)),
      async (t, s) => drain(await t.getObject({ Bucket, Key, VersionId: VERSION, PartNumber: 3 }, s)),
      async (t, s) =>
        drain(
          await t.getObject(
            {
              Bucket,
              Key,
              Range: 'bytes=0-9',
              IfMatch: '"e1"',
              IfNoneMatch: '"e2"',
              IfModifiedSince: DATE,
              IfUnmodifiedSince: DATE,
              RequestPayer: 'requester',
              ExpectedBucketOwner: '111122223333',
            },
            s,
          ),
        ),
    ];
    for (const call of cases) {
      const [fromSdk, fromLean] = await bothSend(call);
      expect(fromLean).toEqual(fromSdk);
    }
  });

  it.each(KEYS)('CopyObject of %j with every destination field', async (Key) => {
    answer = { status: 200, body: '<CopyObjectResult><ETag>"e"</ETag></CopyObjectResult>' };
    const [fromSdk, fromLean] = await bothSend((t, s) =>
      t.copyObject(
        {
          Bucket: 'dst',
          Key: `prefix/${Key}`,
          CopySource: `src/${Key.split('/').map(encodeURIComponent).join('/')}?versionId=${encodeURIComponent(VERSION)}`,
          ACL: 'public-read',
          GrantFullControl: 'id="a"',
          GrantRead: 'uri="http://acs.amazonaws.com/groups/global/AllUsers"',
          GrantReadACP: 'emailAddress="a@b.c"',
          GrantWriteACP: 'id="b"',
          StorageClass: 'STANDARD_IA',
          ChecksumAlgorithm: 'SHA256',
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: 'arn:aws:kms:us-east-1:1:key/k',
          BucketKeyEnabled: true,
          ObjectLockMode: 'GOVERNANCE',
          ObjectLockRetainUntilDate: DATE,
          ObjectLockLegalHoldStatus: 'ON',
          WebsiteRedirectLocation: '/other',
          RequestPayer: 'requester',
          MetadataDirective: 'REPLACE',
          CacheControl: 'max-age=1',
          ContentDisposition: 'attachment; filename="x y.txt"',
          ContentEncoding: 'identity',
          ContentLanguage: 'fr',
          ContentType: 'text/plain; charset=utf-8',
          Expires: DATE,
          Metadata: { 'Mixed-Case': 'v 1', plain: 'ü' },
          TaggingDirective: 'REPLACE',
          Tagging: 'a=b&c%20d=e',
          CopySourceIfModifiedSince: DATE,
          CopySourceIfUnmodifiedSince: DATE,
        },
        s,
      ),
    );
    expect(fromLean).toEqual(fromSdk);
    answer = { status: 200 };
  });

  it('DeleteObjects with keys and versions', async () => {
    answer = { status: 200, body: '<DeleteResult></DeleteResult>' };
    const [fromSdk, fromLean] = await bothSend((t, s) =>
      t.deleteObjects(
        {
          Bucket: 'bkt',
          BypassGovernanceRetention: true,
          Delete: { Quiet: false, Objects: KEYS.map((Key, i) => ({ Key, VersionId: i % 2 ? VERSION : undefined })) },
        },
        s,
      ),
    );
    expect(fromLean).toEqual(fromSdk);
    answer = { status: 200 };
  });

  it.each([
    ['http://localhost:7480', false, 'vbkt'],
    ['http://localhost:7480/base', false, 'vbkt'],
    ['http://127.0.0.1:7480', false, 'vbkt'],
    ['http://localhost:7480', true, 'vbkt'],
    ['http://localhost:7480', false, 'not.dns_valid'],
    [undefined, false, 'vbkt'],
    [undefined, false, 'dotted.bucket'],
  ] as const)('%s, forcePathStyle %s, bucket %s: the SDK’s URL', async (at, forcePathStyle, bucket) => {
    const client = createS3Client({
      ...(at === undefined ? {} : { endpoint: at }),
      region: 'eu-west-3',
      accessKeyId: 'a',
      secretAccessKey: 'b',
      forcePathStyle,
    });
    try {
      // The SDK's URL, taken at the last step before sending (nothing is sent).
      let sdkUrl = '';
      client.middlewareStack.add(
        () => async (args) => {
          const r = args.request as HttpRequest;
          sdkUrl = `${r.protocol}//${r.hostname}${r.port ? `:${r.port}` : ''}${r.path}`;
          throw new Error('captured, not sent');
        },
        { step: 'finalizeRequest', priority: 'low' },
      );
      await expect(
        sdkTaskS3(client).headObject({ Bucket: bucket, Key: 'a b/c' }, new AbortController().signal),
      ).rejects.toThrow('captured, not sent');
      expect(leanClientOf(client)?.urlOf(bucket, 'a b/c')).toBe(sdkUrl);
    } finally {
      client.destroy();
    }
  });
});

describe('answers read as the SDK reads them', () => {
  it('GetObjectTagging, HeadObject, CopyObject, DeleteObject(s) outputs', async () => {
    const signal = new AbortController().signal;
    const read = async (a: Answer, call: (t: TaskS3) => Promise<unknown>) => {
      answer = a;
      const fromSdk = (await call(sdk)) as Record<string, unknown>;
      const fromLean = (await call(lean)) as Record<string, unknown>;
      answer = { status: 200 };
      return [fromSdk, fromLean] as const;
    };
    const tags = await read(
      {
        status: 200,
        body: '<?xml version="1.0" encoding="UTF-8"?>\n<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>a &amp; b</Key><Value>ü</Value></Tag><Tag><Key>e</Key><Value></Value></Tag></TagSet></Tagging>',
      },
      (t) => t.getObjectTagging({ Bucket: 'b', Key: 'k' }, signal),
    );
    expect(tags[1].TagSet).toEqual(tags[0].TagSet);
    const head = await read(
      {
        status: 200,
        headers: {
          'last-modified': 'Tue, 04 Mar 2031 05:06:07 GMT',
          etag: '"abc-3"',
          'x-amz-version-id': 'v1',
          'cache-control': 'no-cache',
          'content-disposition': 'inline',
          'content-encoding': 'gzip',
          'content-language': 'de',
          'content-type': 'text/csv',
          expires: 'Wed, 05 Mar 2031 05:06:07 GMT',
          'x-amz-meta-Some-Key': 'v1',
          'x-amz-meta-other': 'v2',
          // UTF-8 bytes on the wire (node:http writes a header string one byte per character).
          'x-amz-meta-utf8': Buffer.from('ü 日本').toString('latin1'),
          'x-amz-mp-parts-count': '3',
          'x-amz-storage-class': 'STANDARD_IA',
          'x-amz-server-side-encryption': 'AES256',
        },
      },
      (t) => t.headObject({ Bucket: 'b', Key: 'k' }, signal),
    );
    for (const field of [
      'LastModified',
      'ETag',
      'VersionId',
      'CacheControl',
      'ContentDisposition',
      'ContentEncoding',
      'ContentLanguage',
      'ContentType',
      'Expires',
      'ExpiresString',
      'Metadata',
      'PartsCount',
      'StorageClass',
      'ServerSideEncryption',
      'ContentLength',
    ]) {
      expect([field, head[1][field]]).toEqual([field, head[0][field]]);
    }
    const copy = await read(
      {
        status: 200,
        headers: { 'x-amz-version-id': 'nv' },
        body: '<CopyObjectResult><ETag>"e"</ETag></CopyObjectResult>',
      },
      (t) => t.copyObject({ Bucket: 'b', Key: 'k', CopySource: 's/k' }, signal),
    );
    expect(copy[1].VersionId).toBe(copy[0].VersionId);
    const del = await read({ status: 204, headers: { 'x-amz-delete-marker': 'true', 'x-amz-version-id': 'dm' } }, (t) =>
      t.deleteObject({ Bucket: 'b', Key: 'k' }, signal),
    );
    expect([del[1].DeleteMarker, del[1].VersionId]).toEqual([del[0].DeleteMarker, del[0].VersionId]);
    const many = await read(
      {
        status: 200,
        body: `<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Deleted><Key>a &lt;b&gt;</Key><VersionId>v1</VersionId></Deleted><Deleted><Key>c</Key><DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>m1</DeleteMarkerVersionId></Deleted><Error><Key>d</Key><VersionId>v2</VersionId><Code>AccessDenied</Code><Message>Access Denied</Message></Error><Error><Key>e</Key><Code>InternalError</Code></Error></DeleteResult>`,
      },
      (t) => t.deleteObjects({ Bucket: 'b', Delete: { Objects: [{ Key: 'x' }] } }, signal),
    );
    expect(many[1].Deleted).toEqual(many[0].Deleted);
    expect(many[1].Errors).toEqual(many[0].Errors);
  });

  it.each([
    ['a 200 with a 300 KiB body', 200, Buffer.alloc(300 * 1024, 'x').toString()],
    ['a 206 (one part)', 206, 'part bytes ü'],
    ['an empty object', 200, ''],
    ['an object whose bytes end like an S3 error', 200, '<Error><Code>InternalError</Code></Error>'],
  ])('GetObject of %s: ContentLength and the streamed bytes', async (_what, status, body) => {
    answer = { status, body };
    const signal = new AbortController().signal;
    const fromSdk = await sdk.getObject({ Bucket: 'b', Key: 'k', PartNumber: 1 }, signal);
    const sdkBytes = await drain(fromSdk);
    const fromLean = await lean.getObject({ Bucket: 'b', Key: 'k', PartNumber: 1 }, signal);
    const leanBytes = await drain(fromLean);
    answer = { status: 200 };
    expect(fromLean.ContentLength).toBe(fromSdk.ContentLength);
    expect(leanBytes.equals(sdkBytes)).toBe(true);
    expect(leanBytes.toString()).toBe(body);
  });

  it('GetObject fields the lean client does not send are refused, not dropped', async () => {
    await expect(
      lean.getObject({ Bucket: 'b', Key: 'k', SSECustomerKey: 'k' } as never, new AbortController().signal),
    ).rejects.toThrow("The lean client does not send GetObject's SSECustomerKey");
  });
});

describe('which client the operations use', () => {
  const signal = new AbortController().signal;
  const entry = { line: 1, bucket: 'src', key: 'a b/c+d.txt', rawKey: 'a b/c+d.txt' };

  it('copy’s HEAD-first path (below the threshold) sends HeadObject and CopyObject lean', async () => {
    const config = s3PutObjectCopy.parse({ TargetResource: 'arn:aws:s3:::dst', ModifiedSinceConstraint: DATE });
    answer = {
      status: 200,
      headers: { 'last-modified': 'Tue, 04 Mar 2031 05:06:07 GMT', etag: '"e"' },
      body: '<CopyObjectResult><ETag>"e"</ETag></CopyObjectResult>',
    };
    captured = [];
    bySdk = [];
    const ctx = { s3, multipartCopyThresholdBytes: 1024 ** 2, multipartCopyPartBytes: 1024 ** 2 };
    const out = await s3PutObjectCopy.attempt(config, entry, ctx, signal);
    answer = { status: 200 };
    expect(out.result.status).toBe('succeeded');
    expect(captured.map((c) => `${c.method} ${c.url}`)).toEqual([
      'HEAD /src/a%20b/c%2Bd.txt',
      'PUT /dst/a%20b/c%2Bd.txt?x-id=CopyObject',
    ]);
    expect(bySdk).toEqual([false, false]);
  });
});

describe('which client the checksum operation uses', () => {
  it('sends its HeadObject (COMPOSITE) and GetObject lean, and hashes the streamed body', async () => {
    const body = 'checksum me'.repeat(10_000);
    answer = { status: 200, body, headers: { etag: '"e"' } };
    captured = [];
    bySdk = [];
    const ctx = { s3, multipartCopyThresholdBytes: 5 * 1024 ** 3, multipartCopyPartBytes: 1024 ** 2 };
    const entry = { line: 1, bucket: 'b', key: 'a b/c+d.txt', rawKey: 'a b/c+d.txt', versionId: 'v1' };
    const config = s3ComputeObjectChecksum.parse({ ChecksumAlgorithm: 'SHA256', ChecksumType: 'COMPOSITE' });
    const out = await s3ComputeObjectChecksum.attempt(config, entry, ctx, new AbortController().signal);
    answer = { status: 200 };
    expect(out.result).toMatchObject({
      status: 'succeeded',
      message: JSON.stringify({
        checksumAlgorithm: 'SHA256',
        checksumType: 'FULL_OBJECT',
        checksum: createHash('sha256').update(body).digest('base64'),
        size: body.length,
      }),
    });
    expect(captured.map((c) => `${c.method} ${c.url}`)).toEqual([
      'HEAD /b/a%20b/c%2Bd.txt?partNumber=1&versionId=v1',
      'GET /b/a%20b/c%2Bd.txt?versionId=v1&x-id=GetObject',
    ]);
    expect(bySdk).toEqual([false, false]);
  });
});

describe('a streamed GetObject that does not end well', () => {
  const profile: S3ClientProfile = {
    region: 'us-east-1',
    accessKeyId: 'a',
    secretAccessKey: 'b',
    forcePathStyle: true,
    endpoint: '',
  };
  const entry = { line: 1, bucket: 'b', key: 'k', rawKey: 'k' };
  const config = s3ComputeObjectChecksum.parse({ ChecksumAlgorithm: 'CRC32' });

  // A real cut: the server sends the headers and half the body, then destroys its socket.
  it('a body cut mid-object: the SDK’s error and a retried task, through either client', async () => {
    const body = Buffer.alloc(512 * 1024, 'h').toString();
    const viaSdk = sdkOnlyClient({ ...profile, endpoint });
    try {
      answer = { status: 200, body, cutAfter: 256 * 1024 };
      const never = new AbortController().signal;
      const call = async (t: TaskS3) => {
        try {
          await drain(await t.getObject({ Bucket: 'b', Key: 'k' }, never));
        } catch (err) {
          return describeS3Error(err);
        }
        return undefined;
      };
      const fromSdk = await call(sdk);
      expect(fromSdk).toMatchObject({ httpStatus: 0, code: 'ECONNRESET', retryable: true });
      expect(await call(lean)).toEqual(fromSdk);
      const ctxOf = (c: S3Client) => ({ s3: c, multipartCopyThresholdBytes: 1, multipartCopyPartBytes: 1 });
      const bySdkPath = await s3ComputeObjectChecksum.attempt(config, entry, ctxOf(viaSdk), never);
      const byLeanPath = await s3ComputeObjectChecksum.attempt(config, entry, ctxOf(s3), never);
      expect(bySdkPath).toMatchObject({ result: { status: 'failed', errorCode: 'ECONNRESET' }, retryable: true });
      expect(byLeanPath).toEqual(bySdkPath);
    } finally {
      viaSdk.destroy();
      answer = { status: 200 };
    }
  });

  it('a consumer that stops early closes the connection', async () => {
    answer = { status: 200, stall: true };
    const out = await lean.getObject({ Bucket: 'b', Key: 'k' }, new AbortController().signal);
    const closed = stalled;
    let chunks = 0;
    await expect(
      (async () => {
        for await (const _ of out.Body as AsyncIterable<Uint8Array>) {
          chunks++;
          throw new Error('the hash consumer stops');
        }
      })(),
    ).rejects.toThrow('the hash consumer stops');
    expect(chunks).toBe(1);
    await closed; // the server sees its connection closed: nothing is left half-read in the pool
    answer = { status: 200 };
  });

  it('the task’s signal after the first chunk: the read fails and the connection closes', async () => {
    answer = { status: 200, stall: true };
    const ac = new AbortController();
    const out = await lean.getObject({ Bucket: 'b', Key: 'k' }, ac.signal);
    const closed = stalled;
    const chunks = (out.Body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    expect((await chunks.next()).done).toBe(false);
    ac.abort();
    await expect(chunks.next()).rejects.toBeDefined();
    await closed;
    answer = { status: 200 };
  });

  it('the task’s signal while the operation reads: it rethrows and the connection closes', async () => {
    answer = { status: 200, stall: true };
    const written = new Promise<void>((r) => {
      onStallWritten = r;
    });
    const ac = new AbortController();
    const ctx = { s3, multipartCopyThresholdBytes: 1, multipartCopyPartBytes: 1 };
    const pending = s3ComputeObjectChecksum.attempt(config, entry, ctx, ac.signal);
    await written; // the server has sent the headers and the first 64 KiB
    const closed = stalled;
    ac.abort();
    await expect(pending).rejects.toBeDefined();
    await closed;
    onStallWritten = undefined;
    answer = { status: 200 };
  });
});

describe('which client UpdateObjectEncryption uses', () => {
  it('sends its HeadObject and CopyObject lean', async () => {
    const config = s3UpdateObjectEncryption.parse({
      ObjectEncryption: { SSEKMS: { KMSKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/k1', BucketKeyEnabled: true } },
    });
    answer = {
      status: 200,
      headers: { 'x-amz-storage-class': 'STANDARD_IA' },
      body: '<CopyObjectResult><ETag>"e"</ETag></CopyObjectResult>',
    };
    captured = [];
    bySdk = [];
    const ctx = { s3, multipartCopyThresholdBytes: 5 * 1024 ** 3, multipartCopyPartBytes: 1024 ** 2 };
    const entry = { line: 1, bucket: 'b', key: 'a b/c+d.txt', rawKey: 'a b/c+d.txt' };
    const out = await s3UpdateObjectEncryption.attempt(config, entry, ctx, new AbortController().signal);
    answer = { status: 200 };
    expect(out.result.status).toBe('succeeded');
    expect(captured.map((c) => `${c.method} ${c.url}`)).toEqual([
      'HEAD /b/a%20b/c%2Bd.txt',
      'PUT /b/a%20b/c%2Bd.txt?x-id=CopyObject',
    ]);
    expect(captured[1]?.headers).toMatchObject({
      'x-amz-copy-source': 'b/a%20b/c%2Bd.txt',
      'x-amz-metadata-directive': 'COPY',
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:us-east-1:111122223333:key/k1',
      'x-amz-server-side-encryption-bucket-key-enabled': 'true',
      'x-amz-storage-class': 'STANDARD_IA',
    });
    expect(bySdk).toEqual([false, false]);
  });
});

describe('errors classified as the SDK’s', () => {
  const xml = (code: string, message?: string) =>
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code>${message === undefined ? '' : `<Message>${message}</Message>`}<RequestId>BODYREQ</RequestId><HostId>BODYHOST</HostId></Error>`;
  const answers: [string, Answer][] = [
    ['404 without a body', { status: 404 }],
    ['403 without a body', { status: 403 }],
    ['400 without a body', { status: 400 }],
    ['412 without a body', { status: 412 }],
    ['500 without a body', { status: 500 }],
    ['503 without a body', { status: 503 }],
    ['501 without a body', { status: 501 }],
    ['NoSuchKey', { status: 404, body: xml('NoSuchKey', 'The specified key does not exist.') }],
    ['NoSuchBucket without Message (Ceph)', { status: 404, body: xml('NoSuchBucket') }],
    ['AccessDenied', { status: 403, body: xml('AccessDenied', 'Access Denied') }],
    ['InvalidTag', { status: 400, body: xml('InvalidTag', 'The TagValue you have provided is invalid') }],
    ['SlowDown', { status: 503, body: xml('SlowDown', 'Please reduce your request rate.') }],
    ['OperationAborted', { status: 409, body: xml('OperationAborted') }],
    ['NotImplemented (s3rver)', { status: 501, body: xml('NotImplemented', 'A header you provided implies &amp; x') }],
    ['an error answered with 200', { status: 200, body: xml('InternalError', 'We encountered an internal error.') }],
    ['a body that is no XML', { status: 502, body: 'Bad Gateway' }],
  ];

  const calls: [string, (t: TaskS3, s: AbortSignal) => Promise<unknown>][] = [
    ['PutObjectTagging', (t, s) => t.putObjectTagging({ Bucket: 'b', Key: 'k', Tagging: { TagSet: [] } }, s)],
    ['HeadObject', (t, s) => t.headObject({ Bucket: 'b', Key: 'k' }, s)],
    ['CopyObject', (t, s) => t.copyObject({ Bucket: 'b', Key: 'k', CopySource: 's/k' }, s)],
    ['DeleteObjects', (t, s) => t.deleteObjects({ Bucket: 'b', Delete: { Objects: [{ Key: 'k' }] } }, s)],
    ['GetObject', async (t, s) => drain(await t.getObject({ Bucket: 'b', Key: 'k', VersionId: 'v' }, s))],
  ];

  async function errorOf(t: TaskS3, call: (t: TaskS3, s: AbortSignal) => Promise<unknown>): Promise<unknown> {
    try {
      await call(t, new AbortController().signal);
    } catch (err) {
      return err;
    }
    return undefined;
  }

  for (const [what, a] of answers) {
    it(`${what}`, async () => {
      answer = a;
      for (const [name, call] of calls) {
        const fromSdk = await errorOf(sdk, call);
        const fromLean = await errorOf(lean, call);
        const shape = (e: unknown) => {
          const x = e as Record<string, unknown> | undefined;
          return x === undefined
            ? undefined
            : {
                described: describeS3Error(e),
                name: x.name,
                message: x.message,
                Code: x.Code,
                status: (x.$metadata as { httpStatusCode?: number } | undefined)?.httpStatusCode,
              };
        };
        expect([name, shape(fromLean)]).toEqual([name, shape(fromSdk)]);
      }
      answer = { status: 200 };
    });
  }

  it('a 2xx CopyObject without a body', async () => {
    answer = { status: 200 };
    const call = (t: TaskS3, s: AbortSignal) => t.copyObject({ Bucket: 'b', Key: 'k', CopySource: 's/k' }, s);
    const fromSdk = await errorOf(sdk, call);
    const fromLean = await errorOf(lean, call);
    expect(fromSdk).toBeDefined();
    expect(describeS3Error(fromLean)).toEqual(describeS3Error(fromSdk));
  });

  it('a connection reset and a refused connection', async () => {
    answer = { status: 200, reset: true };
    const call = (t: TaskS3, s: AbortSignal) =>
      t.putObjectTagging({ Bucket: 'b', Key: 'k', Tagging: { TagSet: [] } }, s);
    const reset = [describeS3Error(await errorOf(sdk, call)), describeS3Error(await errorOf(lean, call))];
    expect(reset[1]).toMatchObject({ httpStatus: 0, code: reset[0]?.code, retryable: true });
    answer = { status: 200 };

    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const refused = createS3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      accessKeyId: 'a',
      secretAccessKey: 'b',
      forcePathStyle: true,
    });
    try {
      const fromSdk = describeS3Error(await errorOf(sdkTaskS3(refused), call));
      const fromLean = describeS3Error(await errorOf(taskS3Of(refused), call));
      expect(fromLean).toEqual(fromSdk);
    } finally {
      refused.destroy();
    }
  });

  // The SDK's handler, as storage/s3-clients.ts configures it, only logs a warning when
  // requestTimeout passes (its socketTimeout is what abandons a request); the lean client abandons
  // the request, with the wording of the SDK's socket timeout.
  it('the idle timeout abandons the request as a transient TimeoutError', { timeout: 30_000 }, async () => {
    answer = { status: 200, hang: true };
    const slow = createS3Client({
      endpoint,
      region: 'us-east-1',
      accessKeyId: 'a',
      secretAccessKey: 'b',
      forcePathStyle: true,
      requestTimeoutMs: 300,
    });
    const call = (t: TaskS3, s: AbortSignal) =>
      t.putObjectTagging({ Bucket: 'b', Key: 'k', Tagging: { TagSet: [] } }, s);
    try {
      expect(describeS3Error(await errorOf(taskS3Of(slow), call))).toEqual({
        httpStatus: 0,
        code: 'TimeoutError',
        message:
          'Unable to execute HTTP request: @smithy/node-http-handler - the request socket timed out after 300 ms of inactivity (configured by client requestHandler). (Service: Amazon S3; Error Code: TimeoutError)',
        retryable: true,
      });
    } finally {
      slow.destroy();
      answer = { status: 200 };
    }
  });

  it('an abort of the caller’s signal rejects at once', async () => {
    answer = { status: 200, hang: true };
    const ac = new AbortController();
    const pending = lean.putObjectTagging({ Bucket: 'b', Key: 'k', Tagging: { TagSet: [] } }, ac.signal);
    ac.abort();
    await expect(pending).rejects.toBeDefined();
    answer = { status: 200 };
  });
});

describe('SigV4', () => {
  const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
  const cases = [
    { path: '/bkt/a%20b/c%2Bd%25e', query: [['tagging', '']] as [string, string][], body: '<x/>' },
    {
      path: '/bkt/%C3%BC/..//x/',
      query: [
        ['versionId', 'v%2B1%2F%3D%3D'],
        ['tagging', ''],
      ] as [string, string][],
    },
    { path: '/bkt/', query: [['delete', '']] as [string, string][], body: 'payload', token: 'TOKEN/+=' },
    { path: '/k', query: [['x-id', 'CopyObject']] as [string, string][], extra: { 'x-amz-meta-a': '  two  spaces ' } },
  ];
  it.each(cases)('matches @smithy/signature-v4 for $path', async (c) => {
    const date = new Date('2026-12-06T12:34:56Z');
    const body = c.body ?? '';
    const payloadHash = sha256Hex(body);
    const baseHeaders = { host: 'h.example:7480', 'content-type': 'application/xml', ...(c.extra ?? {}) };
    const withToken = { ...creds, ...(c.token ? { sessionToken: c.token } : {}) };
    const ours: Record<string, string> = { ...baseHeaders };
    new SigV4Signer('eu-west-3').sign(
      { method: 'PUT', path: c.path, query: c.query, headers: ours, payloadHash, date },
      withToken,
    );
    const smithy = new SignatureV4({
      credentials: withToken,
      region: 'eu-west-3',
      service: 's3',
      sha256: Hash.bind(null, 'sha256'),
      uriEscapePath: false,
    });
    const query: Record<string, string> = {};
    for (const [k, v] of c.query) query[decodeURIComponent(k)] = decodeURIComponent(v);
    const signed = await smithy.sign(
      new HttpRequest({
        method: 'PUT',
        hostname: 'h.example',
        port: 7480,
        path: c.path,
        query,
        headers: { ...baseHeaders, 'x-amz-content-sha256': payloadHash },
        body,
      }),
      { signingDate: date },
    );
    expect(ours.authorization).toBe(signed.headers.authorization);
    expect(ours['x-amz-date']).toBe(signed.headers['x-amz-date']);
  });
});
