/**
 * The embedded S3 (`serve --local`) never touches a file outside its folder: keys, prefixes and bucket names
 * with `..` segments — in manifest rows, manifest ARNs, report prefixes, or sent straight to its port in any
 * encoding — are refused with a 400 InvalidArgument, and the file system is checked after each case: nothing
 * appears outside <data-dir>/local-s3, and a planted sentinel object outside it is never read back.
 * The server's data folder is <parent>/data, so `../../../` from a bucket's folder lands in <parent>.
 * Other S3 servers take `..` as a plain part of a name: on Ceph RGW s3batch passes such keys and prefixes unchanged.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, type Dirent } from 'node:fs';
import { request } from 'node:http';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import {
  CopyObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getText, jobRequest, putManifest, readReport } from '../helpers/jobs.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { requireCeph } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, putObjects } from '../helpers/s3-servers.ts';
import { signS3 } from '../helpers/s3control.ts';
import { embeddedS3Client, embeddedS3Keys, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

const BUCKET = 's3batch-demo';
const SECRET = 'SENTINEL-CONTENT-NEVER-SERVED';

let parent: string;
let server: ServerProcess;
let s3: S3Client;
let api: JsonApi;
/** Every file below `parent` outside the data folder, with its size and mtime, as planted. */
let before: Map<string, string>;

/** Relative path → "size mtime" of every file below `dir`, skipping `skip` (absolute folders). */
function walk(dir: string, skip: string[] = [], out = new Map<string, string>(), root = dir): Map<string, string> {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out; // a folder removed meanwhile
    throw err;
  }
  for (const entry of entries) {
    const p = path.join(dir, entry.name);
    if (skip.includes(p)) continue;
    if (entry.isDirectory()) walk(p, skip, out, root);
    else {
      // The running server's store writes <data-dir>/.jobs.json.tmp and renames it over
      // .jobs.json: a file listed a moment ago may be gone by now.
      const st = statSync(p, { throwIfNoEntry: false });
      if (st) out.set(path.relative(root, p), `${st.size} ${st.mtimeMs}`);
    }
  }
  return out;
}

/** Nothing was created, changed or read-and-rewritten outside <data-dir>/local-s3. */
function expectConfined(): void {
  expect(walk(parent, [server.dataDir])).toEqual(before);
  const dataFiles = [...walk(server.dataDir, [path.join(server.dataDir, 'local-s3')]).keys()];
  expect(dataFiles.filter((f) => f.includes('_S3rver'))).toEqual([]);
  expect(readFileSync(path.join(parent, 'escape', 'probe.txt._S3rver_object'), 'utf8')).toBe(SECRET);
}

/** A request with the path exactly as given (no URL normalisation), signed with `keys` (SigV4) unless null. */
async function raw(
  method: string,
  rawPath: string,
  body?: string,
  extra: Record<string, string> = {},
  keys: { accessKeyId: string; secretAccessKey: string } | null = embeddedS3Keys(server),
) {
  const url = new URL(server.s3Endpoint!);
  const headers: Record<string, string> = { host: url.host, ...extra };
  if (keys) Object.assign(headers, await signS3({ method, path: rawPath, headers, body: body ?? '', key: keys }));
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path: rawPath, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function sdkError(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  return { name: 'no error', status: 200 };
}

beforeAll(async () => {
  parent = mkdtempSync(path.join(os.tmpdir(), 's3batch-confine-'));
  mkdirSync(path.join(parent, 'escape'));
  // what s3rver would serve as the object s3batch-demo/../../../escape/probe.txt
  writeFileSync(path.join(parent, 'escape', 'probe.txt._S3rver_object'), SECRET);
  writeFileSync(path.join(parent, 'escape', 'probe.txt._S3rver_object.md5'), 'd41d8cd98f00b204e9800998ecf8427e');
  writeFileSync(path.join(parent, 'escape', 'manifest.csv._S3rver_object'), `${BUCKET},demo/hello.txt\n`);
  writeFileSync(path.join(parent, 'sibling.txt'), 'sibling');
  before = walk(parent);
  server = await startServerProcess({ dataDir: path.join(parent, 'data') });
  s3 = embeddedS3Client(server);
  api = new JsonApi(server.url);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'inside.txt', Body: 'inside' }));
});

afterAll(async () => {
  s3?.destroy();
  await server?.kill('SIGTERM');
});

/** Keys that would leave the bucket's folder, as the decoded key s3rver sees. */
const ESCAPING_KEYS = ['../../../escape/probe.txt', 'a/../../../../escape/probe.txt', '../../../escape/new.txt'];

describe('the embedded S3 stays in its folder', () => {
  it('refuses escaping keys from an S3 client on its port: PUT, GET, HEAD, COPY both ways, tagging', async () => {
    for (const key of ESCAPING_KEYS) {
      expect(await sdkError(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' })))).toEqual({
        name: 'InvalidArgument',
        status: 400,
      });
      expect(await sdkError(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })))).toEqual({
        name: 'InvalidArgument',
        status: 400,
      });
      const tagging = { TagSet: [{ Key: 'k', Value: 'v' }] };
      expect(
        await sdkError(s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: key, Tagging: tagging }))),
      ).toEqual({ name: 'InvalidArgument', status: 400 });
      expect(await sdkError(s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: key })))).toEqual({
        name: 'InvalidArgument',
        status: 400,
      });
      // copy out of the folder into the bucket, and from the bucket out of the folder
      expect(
        await sdkError(
          s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copied.txt', CopySource: `${BUCKET}/${key}` })),
        ),
      ).toEqual({ name: 'InvalidArgument', status: 400 });
      expect(
        await sdkError(
          s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: key, CopySource: `${BUCKET}/inside.txt` })),
        ),
      ).toEqual({ name: 'InvalidArgument', status: 400 });
      expectConfined();
    }
    expect(await sdkError(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'copied.txt' })))).toEqual({
      name: 'NoSuchKey',
      status: 404,
    });
  });

  it('refuses every encoding of `..` sent raw to its port, and keeps backslash and absolute keys inside', async () => {
    const escaping = [
      `/${BUCKET}/../../../escape/probe.txt`,
      `/${BUCKET}/..%2F..%2F..%2Fescape%2Fprobe.txt`,
      `/${BUCKET}/%2e%2e/%2e%2e/%2e%2e/escape/probe.txt`,
      `/${BUCKET}/%2E%2E%2F%2E%2E%2F%2E%2E%2Fescape/probe.txt`,
      `/${BUCKET}/a/..%2F..%2F..%2F..%2Fescape/probe.txt`,
    ];
    for (const p of escaping) {
      for (const [method, query, body] of [
        ['GET', '', undefined],
        ['HEAD', '', undefined],
        ['PUT', '', 'overwritten'],
        ['GET', '?tagging', undefined],
        ['PUT', '?tagging', '<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>'],
        ['DELETE', '', undefined],
      ] as const) {
        const res = await raw(method, `${p}${query}`, body);
        expect({ method, p, query, status: res.status, secret: res.body.includes(SECRET) }).toEqual({
          method,
          p,
          query,
          status: 400,
          secret: false,
        });
        if (method === 'GET' && query === '') expect(res.body).toContain('InvalidArgument');
      }
      const copy = await raw('PUT', `/${BUCKET}/copied-raw.txt`, undefined, {
        'x-amz-copy-source': p,
      });
      // s3rver decodes a copy source with decodeURI, which leaves %2F encoded: then it names no object (404)
      expect({ p, refused: [400, 404].includes(copy.status), secret: copy.body.includes(SECRET) }).toEqual({
        p,
        refused: true,
        secret: false,
      });
      expectConfined();
    }
    // bucket names that are not a folder of the data folder, and a key after `//` (which s3rver does not route)
    for (const p of [
      `/${BUCKET}//../../../escape/probe.txt`,
      '/..',
      '/%2e%2e',
      '/%2E%2E/local-s3',
      '/..%2F..',
      '/%2e%2e/escape/probe.txt',
    ]) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const res = await raw(method, p);
        expect({ p, method, secret: res.body.includes(SECRET), ok: res.status < 300 }).toEqual({
          p,
          method,
          secret: false,
          ok: false,
        });
      }
      expectConfined();
    }
    // a multipart upload id is a folder name too
    const part = await raw('PUT', `/${BUCKET}/mp.txt?partNumber=1&uploadId=..%2F..%2F..%2F..%2Fescape`, 'part');
    expect(part.status).toBeGreaterThanOrEqual(400);
    expectConfined();

    // Keys that only look like paths stay inside the bucket's folder: a backslash is a plain character on
    // POSIX, and a leading slash (sent encoded: s3rver does not route `//`) is an empty first segment.
    const passwd = readFileSync('/etc/passwd', 'utf8');
    const backslash = '..\\..\\..\\escape\\probe.txt';
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: backslash, Body: 'stored backslash' }));
    const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: backslash }));
    expect(await out.Body!.transformToString()).toBe('stored backslash');
    expectConfined();
    for (const encoded of ['%2Fetc%2Fpasswd', encodeURIComponent(path.join(parent, 'escape', 'probe.txt'))]) {
      expect((await raw('PUT', `/${BUCKET}/${encoded}`, 'stored absolute')).status).toBe(200);
      const got = await raw('GET', `/${BUCKET}/${encoded}`);
      expect(got).toEqual({ status: 200, body: 'stored absolute' });
      expectConfined();
    }
    expect(readFileSync('/etc/passwd', 'utf8')).toBe(passwd);
  });

  it('keeps jobs inside: manifest rows, a manifest ARN and a report prefix with `..`', async () => {
    // manifest rows, as written in the CSV (URL-encoded keys)
    const rows = [
      '../../../escape/probe.txt',
      '..%2F..%2F..%2Fescape%2Fprobe.txt',
      '%2e%2e/%2e%2e/%2e%2e/escape/probe.txt',
      'a/../../../../escape/probe.txt',
    ];
    const manifest = `${rows.map((k) => `${BUCKET},${k}`).join('\n')}\n`;
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'm/escape.csv', Body: manifest }));
    const etag = (put.ETag ?? '').replace(/"/g, '');
    const operations = [
      { S3PutObjectTagging: { TagSet: [{ Key: 'k', Value: 'v' }] } },
      { S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${BUCKET}`, TargetKeyPrefix: 'copied' } },
    ];
    for (const operation of operations) {
      const { JobId } = await api.createJob(
        jobRequest({
          manifestBucket: BUCKET,
          manifestKey: 'm/escape.csv',
          etag,
          operation,
          reportBucket: BUCKET,
          reportPrefix: 'r',
          confirmationRequired: false,
        }),
      );
      const done = await api.waitFor(JobId, ['Complete', 'Failed']);
      expect(done.Job.Status).toBe('Complete');
      expect(done.Job.ProgressSummary).toMatchObject({
        TotalNumberOfTasks: rows.length,
        NumberOfTasksSucceeded: 0,
        NumberOfTasksFailed: rows.length,
      });
      const report = await readReport(s3, BUCKET, 'r', JobId);
      expect(report.rows.map((r) => r.slice(3, 6))).toEqual(rows.map(() => ['failed', '400', 'InvalidArgument']));
      expectConfined();
    }
    const listing = await raw('GET', `/${BUCKET}?list-type=2&prefix=copied`);
    expect(listing.body).not.toContain('<Key>copied');

    // the manifest itself outside the folder
    const viaArn = await api.createJob(
      jobRequest({
        manifestBucket: BUCKET,
        manifestKey: '../../../escape/manifest.csv',
        etag: 'c4ca4238a0b923820dcc509a6f75849b',
        operation: operations[0]!,
        reportBucket: BUCKET,
        reportPrefix: 'r',
        confirmationRequired: false,
        // Past CreateJob's access check, so that Preparing's read is the one confined.
        extra: { SkipAccessCheck: true },
      }),
    );
    const viaArnDone = await api.waitFor(viaArn.JobId, ['Complete', 'Failed']);
    expect(viaArnDone.Job.Status).toBe('Failed');
    expect(viaArnDone.Job.ProgressSummary.TotalNumberOfTasks).toBe(0);
    expectConfined();

    // the report outside the folder
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'm/inside.csv', Body: `${BUCKET},inside.txt\n` }));
    const inside = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'm/inside.csv' }));
    const reportJob = await api.createJob(
      jobRequest({
        manifestBucket: BUCKET,
        manifestKey: 'm/inside.csv',
        etag: (inside.ETag ?? '').replace(/"/g, ''),
        operation: operations[0]!,
        reportBucket: BUCKET,
        reportPrefix: '../../../escape/rep',
        confirmationRequired: false,
      }),
    );
    await inside.Body!.transformToString();
    const reportDone = await api.waitFor(reportJob.JobId, ['Complete', 'Failed']);
    // a report that cannot be written is a FailureReason; the job keeps the status its tasks earned
    expect(reportDone.Job.Status).toBe('Complete');
    expect(reportDone.Job.FailureReasons.map((r) => r.FailureCode)).toEqual(['ReportWriteFailed']);
    expect(reportDone.Job.FailureReasons[0]!.FailureReason).toContain(
      "The embedded S3 refuses keys with a '..' segment",
    );
    expectConfined();
  });
});

describe('the embedded S3 checks signatures', () => {
  it('accepts only requests signed by the key pair of its data folder (kept in a 0600 file)', async () => {
    const keysFile = path.join(server.dataDir, 'local-s3-keys.json');
    expect(statSync(keysFile).mode & 0o777).toBe(0o600);
    const keys = embeddedS3Keys(server);
    expect(keys.accessKeyId).toMatch(/^LOCALS3[0-9A-F]{16}$/);
    expect(keys.secretAccessKey.length).toBeGreaterThanOrEqual(40);
    const get = `/${BUCKET}/inside.txt`;
    expect(await raw('GET', get)).toEqual({ status: 200, body: 'inside' });
    const unsigned = await raw('GET', get, undefined, {}, null);
    expect(unsigned.status).toBe(403);
    expect(unsigned.body).toContain('<Code>AccessDenied</Code>');
    const s3rverKeys = await raw('GET', get, undefined, {}, { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
    expect(s3rverKeys.status).toBe(403);
    expect(s3rverKeys.body).toContain('<Code>InvalidAccessKeyId</Code>');
    const wrongSecret = await raw('GET', get, undefined, {}, { ...keys, secretAccessKey: 'not-the-secret' });
    expect(wrongSecret.status).toBe(403);
    expect(wrongSecret.body).toContain('<Code>SignatureDoesNotMatch</Code>');
    // a well-formed SigV4 header with the right key id and a made-up signature (s3rver alone accepts it)
    const url = new URL(server.s3Endpoint!);
    const forged = await new Promise<number>((resolve, reject) => {
      const date = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: get,
          headers: {
            'x-amz-date': date,
            'x-amz-content-sha256': createHash('sha256').update('').digest('hex'),
            authorization: `AWS4-HMAC-SHA256 Credential=${keys.accessKeyId}/${date.slice(0, 8)}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${'0'.repeat(64)}`,
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(forged).toBe(403);
    // the aws CLI, signing with the pair, works (its own SigV4 implementation)
    const cli = spawnSync('aws', ['--endpoint-url', server.s3Endpoint!, 's3', 'cp', `s3://${BUCKET}/inside.txt`, '-'], {
      encoding: 'utf8',
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: keys.accessKeyId,
        AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      },
    });
    expect({ status: cli.status, out: cli.stdout, err: cli.stderr }).toEqual({ status: 0, out: 'inside', err: '' });
  });
});

describe('other S3 servers get `..` keys unchanged', () => {
  it('tags and copies keys with `..` on Ceph RGW and writes the report under a `..` prefix', async () => {
    const ceph = requireCeph();
    const client = makeS3Client(ceph);
    const cephServer = await startServerProcess({ s3: ceph });
    try {
      const cephApi = new JsonApi(cephServer.url);
      const bucket = await createTestBucket(client, 'dotdot');
      const keys = ['../x', '../../../escape/probe.txt', 'a/../../x', '..\\x'];
      await putObjects(client, bucket, keys, (k) => `body of ${k}`);
      const tagManifest = await putManifest(
        client,
        bucket,
        'm/tag.csv',
        keys.map((key) => ({ bucket, key })),
      );
      const operations = [
        { S3PutObjectTagging: { TagSet: [{ Key: 'dot', Value: 'dot' }] } },
        { S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${bucket}`, TargetKeyPrefix: 'copied' } },
      ];
      for (const operation of operations) {
        const { JobId } = await cephApi.createJob(
          jobRequest({
            manifestBucket: bucket,
            manifestKey: 'm/tag.csv',
            etag: tagManifest.etag,
            operation,
            reportBucket: bucket,
            reportPrefix: '../../rep',
            confirmationRequired: false,
          }),
        );
        const done = await cephApi.waitFor(JobId, ['Complete', 'Failed']);
        expect(done.Job.Status).toBe('Complete');
        expect(done.Job.FailureReasons).toEqual([]);
        expect(done.Job.ProgressSummary).toMatchObject({
          TotalNumberOfTasks: keys.length,
          NumberOfTasksSucceeded: keys.length,
          NumberOfTasksFailed: 0,
        });
        const report = await readReport(client, bucket, '../../rep', JobId);
        expect(report.rows.map((r) => r[1]).sort()).toEqual([...tagManifest.rawKeys].sort());
      }
      for (const key of keys) {
        const tags = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
        expect(tags.TagSet).toEqual([{ Key: 'dot', Value: 'dot' }]);
        expect(await getText(client, bucket, `copied/${key}`)).toBe(`body of ${key}`);
      }
    } finally {
      await cephServer.kill('SIGTERM');
      client.destroy();
    }
  });
});
