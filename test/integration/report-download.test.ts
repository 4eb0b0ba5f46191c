/**
 * Completion report downloads through the JSON API (`/api/v1/jobs/:id/report…`) of the real
 * `s3batch serve` process, on Ceph RGW and on the embedded s3rver (--local): the listing with its
 * URLs, each file streamed byte for byte as it is in the report bucket (compared with GetObject and
 * the MD5 in the job record), the failed rows alone, the answers when there is no report (not yet,
 * reports off), names that try to leave the job's file list, another account, a storage failure,
 * and a big report that streams: its first bytes reach the client when the server has read only a
 * fraction of the file from S3 (counted by a TCP proxy in front of Ceph); its RSS is recorded.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import net from 'node:net';
import { DeleteObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportView } from '../../src/api/rest/report-routes.ts';
import { jobRequest, putManifest } from '../helpers/jobs.ts';
import { basicAuth, JsonApi } from '../helpers/json-api.ts';
import { requireCeph } from '../helpers/provided.ts';
import { writeApiKeysFile, type ApiKey } from '../helpers/s3control.ts';
import { createTestBucket, makeS3Client, putObjects, REPO_ROOT, type S3ServerInfo } from '../helpers/s3-servers.ts';
import {
  embeddedS3Client,
  startServerProcess,
  tempDataDir,
  TEST_API_KEY,
  type ServerProcess,
} from '../helpers/server-process.ts';

/** A key of another account (merged with TEST_API_KEY through a keys file). */
const OTHER: ApiKey = {
  accessKeyId: 'REPORTSOTHERKEY00001',
  secretAccessKey: randomBytes(30).toString('base64url'),
  accountId: '444455556666',
};

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A GET (or HEAD) with the path sent exactly as written (fetch would resolve `..` and `%2e%2e`). */
function raw(
  baseUrl: string,
  path: string,
  opts: { method?: string; key?: Pick<ApiKey, 'accessKeyId' | 'secretAccessKey'> | null } = {},
): Promise<Answer> {
  const key = opts.key === undefined ? TEST_API_KEY : opts.key;
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${baseUrl}${path}`,
      { method: opts.method ?? 'GET', headers: key ? { authorization: basicAuth(key) } : {} },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (b: Buffer) => parts.push(b));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const codeOf = (a: Answer): string => (JSON.parse(a.body.toString('utf8')) as { error: { code: string } }).error.code;
const messageOf = (a: Answer): string =>
  (JSON.parse(a.body.toString('utf8')) as { error: { message: string } }).error.message;
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

async function getObject(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

/**
 * A TCP pass-through to `target` that counts the bytes the target sends back and, once `slow()`
 * is called, forwards them at most 256 KiB per 50 ms (about 5 MiB/s).
 */
async function countingProxy(
  target: URL,
): Promise<{ endpoint: string; bytesFromTarget(): number; slow(): void; close(): Promise<void> }> {
  let bytes = 0;
  let slow = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    let holds = 0;
    let window = 0;
    const hold = (): void => {
      if (holds++ === 0) upstream.pause();
    };
    const release = (): void => {
      if (--holds === 0) upstream.resume();
    };
    upstream.on('data', (b: Buffer) => {
      bytes += b.length;
      if (!client.write(b)) {
        hold();
        client.once('drain', release);
      }
      if (slow && (window += b.length) >= 256 * 1024) {
        window = 0;
        hold();
        setTimeout(release, 50);
      }
    });
    upstream.on('end', () => client.end());
    client.pipe(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const x of [client, upstream]) x.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bytesFromTarget: () => bytes,
    slow: () => void (slow = true),
    close: () =>
      new Promise<void>((resolve) => {
        for (const x of sockets) x.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Runs a tagging job over `present` existing keys and `missing` absent ones (failed tasks, 404
 * NoSuchKey) to Complete, and returns its id.
 */
async function taggingJob(
  api: JsonApi,
  s3: S3Client,
  bucket: string,
  reportBucket: string,
  prefix: string,
  present: string[],
  missing: string[],
  extra: Record<string, unknown> = {},
): Promise<string> {
  const rows = [...present, ...missing].map((key) => ({ bucket, key }));
  const manifestKey = `manifests/${prefix}-${randomBytes(4).toString('hex')}.csv`;
  const { etag } = await putManifest(s3, bucket, manifestKey, rows);
  const { JobId } = await api.createJob(
    jobRequest({
      manifestBucket: bucket,
      manifestKey,
      etag,
      operation: { S3PutObjectTagging: { TagSet: [{ Key: 'reported', Value: 'yes' }] } },
      reportBucket,
      reportPrefix: prefix,
      scope: 'AllTasks',
      confirmationRequired: false,
      extra,
    }),
  );
  return JobId;
}

describe('report downloads on Ceph RGW', () => {
  let ceph: S3ServerInfo;
  let s3: S3Client;
  let src: string;
  let reports: string;
  let server: ServerProcess;
  let api: JsonApi;
  const PRESENT = ['photos/a.jpg', 'photos/b c.jpg', 'photos/ü+ß.jpg', 'docs/x.txt', 'docs/y,z.txt'];
  const MISSING = ['gone/1.txt', 'gone/2 "quoted".txt', 'gone/3.txt'];
  /** The job of the first test (Complete, with a report), reused by the name and account tests. */
  let done: { id: string; view: ReportView };

  beforeAll(async () => {
    ceph = requireCeph();
    s3 = makeS3Client(ceph);
    src = await createTestBucket(s3, 'rep-src');
    reports = await createTestBucket(s3, 'rep-out');
    await putObjects(s3, src, PRESENT, (k) => `body of ${k}`);
    const dataDir = tempDataDir('s3batch-reports-');
    server = await startServerProcess({
      s3: ceph,
      dataDir,
      args: ['--api-keys-file', writeApiKeysFile(dataDir, [OTHER])],
    });
    api = new JsonApi(server.url);
  });

  afterAll(async () => {
    await server?.kill('SIGTERM');
    s3?.destroy();
  });

  it('lists the report files with URLs and streams each one byte for byte; /failed has exactly the failed rows', async () => {
    const id = await taggingJob(api, s3, src, reports, 'dl', PRESENT, MISSING);
    const job = await api.waitFor(id, ['Complete', 'Failed']);
    expect(job.Job.Status).toBe('Complete');
    expect(job.Job.ProgressSummary).toMatchObject({
      NumberOfTasksSucceeded: PRESENT.length,
      NumberOfTasksFailed: MISSING.length,
    });

    const view = await api.call<ReportView>('GET', `/jobs/${id}/report`);
    done = { id, view };
    const r = view.Report!;
    expect(view).toMatchObject({ JobId: id, Status: 'Complete' });
    expect(r).toMatchObject({
      Bucket: reports,
      Prefix: 'dl',
      ManifestKey: `dl/job-${id}/manifest.json`,
      Manifest: { Key: `dl/job-${id}/manifest.json`, Url: `/api/v1/jobs/${id}/report/files/manifest.json` },
    });
    expect(r.WrittenAt).toBe((job.Report as unknown as { writtenAt: string }).writtenAt);
    expect(r.Files.map((f) => [f.TaskStatus, f.Rows])).toEqual([
      ['succeeded', PRESENT.length],
      ['failed', MISSING.length],
    ]);
    // The record's files, in its order, with its MD5s.
    expect(r.Files.map((f) => ({ key: f.Key, taskStatus: f.TaskStatus, md5: f.Md5, rows: f.Rows }))).toEqual(
      job.Report!.files,
    );
    for (const f of r.Files) {
      expect(f.Name).toMatch(/^[0-9a-f]{40}\.csv$/);
      expect(f.Key).toBe(`dl/job-${id}/results/${f.Name}`);
      expect(f.Url).toBe(`/api/v1/jobs/${id}/report/files/${f.Name}`);
      const got = await raw(server.url, f.Url);
      expect(got.status).toBe(200);
      expect(got.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(got.headers['content-disposition']).toBe(`attachment; filename="${f.Name}"`);
      const inS3 = await getObject(s3, reports, f.Key);
      expect(got.headers['content-length']).toBe(String(inS3.length));
      expect(got.body.equals(inS3)).toBe(true);
      expect(md5(got.body)).toBe(f.Md5);
      expect(parse(got.body, { relax_column_count: false })).toHaveLength(f.Rows);
    }
    const manifest = await raw(server.url, r.Manifest.Url);
    expect(manifest.status).toBe(200);
    expect(manifest.headers['content-type']).toMatch(/^application\/json/);
    expect(manifest.headers['content-disposition']).toBe('attachment; filename="manifest.json"');
    expect(manifest.body.equals(await getObject(s3, reports, r.ManifestKey))).toBe(true);
    expect(
      (JSON.parse(manifest.body.toString('utf8')) as { Results: { MD5Checksum: string }[] }).Results.map(
        (x) => x.MD5Checksum,
      ),
    ).toEqual(r.Files.map((f) => f.Md5));

    // Every failed row, no header, exactly as the failed file holds them.
    const failed = await raw(server.url, `/api/v1/jobs/${id}/report/failed`);
    expect(failed.status).toBe(200);
    expect(failed.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(failed.headers['content-disposition']).toBe(`attachment; filename="job-${id}-failed.csv"`);
    const failedFile = r.Files.find((f) => f.TaskStatus === 'failed')!;
    expect(failed.body.equals(await getObject(s3, reports, failedFile.Key))).toBe(true);
    const rows = parse(failed.body) as string[][];
    expect(rows.map((row) => decodeURIComponent(row[1]!)).sort()).toEqual([...MISSING].sort());
    expect(rows.every((row) => row[3] === 'failed' && row[4] === '404' && row[5] === 'NoSuchKey')).toBe(true);

    // HEAD: the same headers, no body.
    const head = await raw(server.url, r.Files[0]!.Url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String((await getObject(s3, reports, r.Files[0]!.Key)).length));
    expect(head.headers['content-disposition']).toBe(`attachment; filename="${r.Files[0]!.Name}"`);
    expect(head.body.length).toBe(0);
  });

  it('a job without a report yet: Report null, downloads are 404 ReportNotFound naming its status', async () => {
    const manifestKey = `manifests/wait-${randomBytes(4).toString('hex')}.csv`;
    const { etag } = await putManifest(s3, src, manifestKey, [{ bucket: src, key: PRESENT[0]! }]);
    const { JobId } = await api.createJob(
      jobRequest({
        manifestBucket: src,
        manifestKey,
        etag,
        operation: { S3PutObjectTagging: { TagSet: [] } },
        reportBucket: reports,
        confirmationRequired: true,
      }),
    );
    await api.waitFor(JobId, 'Suspended');
    expect(await api.call<ReportView>('GET', `/jobs/${JobId}/report`)).toEqual({
      JobId,
      Status: 'Suspended',
      Report: null,
    });
    for (const p of ['files/manifest.json', 'failed']) {
      const a = await raw(server.url, `/api/v1/jobs/${JobId}/report/${p}`);
      expect(a.status).toBe(404);
      expect(codeOf(a)).toBe('ReportNotFound');
      expect(messageOf(a)).toMatch(/is Suspended: its completion report is written when the job ends/);
    }
    await api.updateStatus(JobId, 'Cancelled');
  });

  it('a job with reports off: 404 ReportNotFound saying reports are off', async () => {
    const id = await taggingJob(api, s3, src, reports, 'off', PRESENT.slice(0, 1), [], { Report: { Enabled: false } });
    await api.waitFor(id, 'Complete');
    expect((await api.call<ReportView>('GET', `/jobs/${id}/report`)).Report).toBeNull();
    for (const p of ['files/manifest.json', 'failed']) {
      const a = await raw(server.url, `/api/v1/jobs/${id}/report/${p}`);
      expect(a.status).toBe(404);
      expect(codeOf(a)).toBe('ReportNotFound');
      expect(messageOf(a)).toMatch(/reports are off/);
    }
  });

  it('names outside the job file list are 404, whatever their encoding: no other object is ever served', async () => {
    const { id, view } = done;
    // Objects a traversal could aim at: the manifest of the job, a source object, the report file by its full key.
    const first = view.Report!.Files[0]!;
    const base = `/api/v1/jobs/${id}/report/files/`;
    const attempts = [
      '..%2Fmanifest.json',
      '..%2F..%2F..%2Fmanifests',
      '%2e%2e%2f%2e%2e%2fphotos%2fa.jpg',
      '%2e%2e',
      '..',
      '.',
      encodeURIComponent(first.Key),
      `results%2F${first.Name}`,
      'unknown.csv',
      'MANIFEST.JSON',
      `${first.Name}%00`,
      '../../../../etc/passwd',
      `../../${id}/report/files/manifest.json`,
    ];
    for (const a of attempts) {
      const got = await raw(server.url, base + a);
      expect(got.status, a).toBe(404);
      expect(['ReportNotFound', 'NotFound'], a).toContain(codeOf(got));
    }
    // The plain names still work.
    expect((await raw(server.url, base + first.Name)).status).toBe(200);
  });

  it('another account gets 404 NotFoundException, no credentials 401', async () => {
    const { id, view } = done;
    for (const p of ['', '/files/manifest.json', `/files/${view.Report!.Files[0]!.Name}`, '/failed']) {
      const a = await raw(server.url, `/api/v1/jobs/${id}/report${p}`, { key: OTHER });
      expect(a.status, p).toBe(404);
      expect(codeOf(a)).toBe('NotFoundException');
      const anon = await raw(server.url, `/api/v1/jobs/${id}/report${p}`, { key: null });
      expect(anon.status, p).toBe(401);
      expect(codeOf(anon)).toBe('Unauthorized');
    }
  });

  it('an unreadable report object is 502 ReportUnavailable with the storage code', async () => {
    // A report file replaced by nothing: the bucket answers NoSuchKey for the manifest's key.
    const id = await taggingJob(api, s3, src, reports, 'gone', PRESENT.slice(0, 2), []);
    await api.waitFor(id, 'Complete');
    const view = await api.call<ReportView>('GET', `/jobs/${id}/report`);
    await s3.send(new DeleteObjectCommand({ Bucket: reports, Key: view.Report!.Files[0]!.Key }));
    const a = await raw(server.url, view.Report!.Files[0]!.Url);
    expect(a.status).toBe(502);
    expect(codeOf(a)).toBe('ReportUnavailable');
    expect(messageOf(a)).toContain('NoSuchKey');
  });

  it('a big report (20,000 rows, ~24 MB) streams: its first bytes reach the client when the server has read a fraction of it', async () => {
    // This server reaches Ceph through a TCP proxy that counts the bytes Ceph sends and, for the
    // download, passes them on at about 5 MiB/s: a server that buffers the file has read all of it
    // before the client gets a byte; a streaming one passes the first chunk on at once.
    const proxy = await countingProxy(new URL(ceph.endpoint));
    const big = await startServerProcess({ s3: { ...ceph, endpoint: proxy.endpoint } });
    try {
      const bigApi = new JsonApi(big.url);
      // A dry run (tag s3batch:dry-run=true) HEADs each object and writes a row per task; 40 objects
      // listed 500 times each make 20,000 rows. Their keys are 190 × 'ü' (this Ceph refuses keys
      // over ~500 bytes), which the manifest and the report write URL-encoded: rows of about 1.2 KB.
      const keys = Array.from({ length: 40 }, (_, i) => `big/${String(i).padStart(3, '0')}-${'ü'.repeat(190)}`);
      await putObjects(s3, src, keys, () => 'x');
      const rows = Array.from({ length: 20_000 }, (_, i) => ({ bucket: src, key: keys[i % keys.length]! }));
      const manifestKey = `manifests/big-${randomBytes(4).toString('hex')}.csv`;
      const { etag } = await putManifest(s3, src, manifestKey, rows);
      const { JobId } = await bigApi.createJob(
        jobRequest({
          manifestBucket: src,
          manifestKey,
          etag,
          operation: { S3PutObjectTagging: { TagSet: [] } },
          reportBucket: reports,
          reportPrefix: 'big',
          confirmationRequired: false,
          extra: { Tags: [{ Key: 's3batch:dry-run', Value: 'true' }] },
        }),
      );
      const job = await bigApi.waitFor(JobId, ['Complete', 'Failed'], 300_000, 250);
      expect(job.Job.Status).toBe('Complete');
      const view = await bigApi.call<ReportView>('GET', `/jobs/${JobId}/report`);
      const file = view.Report!.Files[0]!;
      expect(file.Rows).toBe(20_000);

      const pid = big.child.pid!;
      const rssKb = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
      proxy.slow();
      const before = { rss: rssKb(), pulled: proxy.bytesFromTarget() };
      let peak = before.rss;
      let first = { rss: 0, pulled: 0 };
      let stalled = { rss: 0, pulled: 0 };
      const sampler = setInterval(() => (peak = Math.max(peak, rssKb())), 10);
      // The client hashes and counts the bytes (as one saving to disk would); after its first bytes
      // it stops reading for 1 s, and the server must stop reading S3 too (backpressure).
      const { bytes, hash, size } = await new Promise<{ bytes: number; hash: string; size: number }>(
        (resolve, reject) => {
          http
            .get(`${big.url}${file.Url}`, { headers: { authorization: basicAuth(TEST_API_KEY) } }, (res) => {
              const h = createHash('md5');
              let n = 0;
              res.on('data', (b: Buffer) => {
                if (n === 0) {
                  first = { rss: rssKb(), pulled: proxy.bytesFromTarget() - before.pulled };
                  res.pause();
                  setTimeout(() => {
                    stalled = { rss: rssKb(), pulled: proxy.bytesFromTarget() - before.pulled };
                    res.resume();
                  }, 1000);
                }
                n += b.length;
                h.update(b);
              });
              res.on('end', () =>
                resolve({ bytes: n, hash: h.digest('hex'), size: Number(res.headers['content-length']) }),
              );
              res.on('error', reject);
            })
            .on('error', reject);
        },
      );
      clearInterval(sampler);
      const pulled = proxy.bytesFromTarget() - before.pulled;
      expect(hash).toBe(file.Md5);
      expect(bytes).toBe(size);
      expect(bytes).toBeGreaterThan(20_000_000);
      expect(pulled).toBeGreaterThanOrEqual(bytes);
      const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;
      const line =
        `${bytes} bytes (${mib(bytes)}) downloaded; read from S3 by the server when the client got its first bytes: ${mib(first.pulled)}, ` +
        `after the client stalled 1 s: ${mib(stalled.pulled)}; server RSS ${mib(before.rss * 1024)} before, ${mib(first.rss * 1024)} at the first bytes, ` +
        `${mib(stalled.rss * 1024)} stalled, ${mib(peak * 1024)} peak`;
      // The measurement, kept with the test results (test-artifacts/ is not committed).
      mkdirSync(path.join(REPO_ROOT, 'test-artifacts'), { recursive: true });
      writeFileSync(path.join(REPO_ROOT, 'test-artifacts', 'report-download-memory.txt'), `${line}\n`);
      // Buffering would mean all of it (and the response headers) at the first byte.
      expect(first.pulled, line).toBeGreaterThan(0);
      expect(first.pulled, line).toBeLessThan(bytes / 4);
    } finally {
      await big.kill('SIGTERM');
      await proxy.close();
    }
  }, 400_000);
});

describe('report downloads on the embedded S3 (--local)', () => {
  let server: ServerProcess;
  let local: S3Client;

  afterAll(async () => {
    local?.destroy();
    await server?.kill('SIGTERM');
  });

  it('lists and downloads a report written to s3rver', async () => {
    server = await startServerProcess();
    local = embeddedS3Client(server);
    await putObjects(local, 's3batch-demo', ['one.txt', 'two.txt']);
    const api = new JsonApi(server.url);
    const id = await taggingJob(
      api,
      local,
      's3batch-demo',
      's3batch-demo',
      'reports',
      ['one.txt', 'two.txt'],
      ['three.txt'],
    );
    await api.waitFor(id, 'Complete');
    const view = await api.call<ReportView>('GET', `/jobs/${id}/report`);
    expect(view.Report!.Files.map((f) => [f.TaskStatus, f.Rows])).toEqual([
      ['succeeded', 2],
      ['failed', 1],
    ]);
    for (const url of [view.Report!.Manifest.Url, ...view.Report!.Files.map((f) => f.Url)]) {
      const got = await raw(server.url, url);
      expect(got.status, url).toBe(200);
      const key = url.endsWith('manifest.json')
        ? view.Report!.ManifestKey
        : view.Report!.Files.find((f) => url.endsWith(f.Name))!.Key;
      expect(got.body.equals(await getObject(local, 's3batch-demo', key))).toBe(true);
    }
    const failed = await raw(server.url, `/api/v1/jobs/${id}/report/failed`);
    expect((parse(failed.body) as string[][]).map((r) => r[1])).toEqual(['three.txt']);
  });
});
