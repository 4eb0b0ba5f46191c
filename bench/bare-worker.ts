// The baseline of the benchmark: a bare AWS SDK loop, forked by bench/run.ts as a process of its own
// (so its CPU time is measured per process, as the engine server's is). It makes the same requests
// as the engine's tasks, with N concurrent workers and a client built by the engine's own
// createS3Client (keep-alive agent, maxSockets, one HTTP attempt per call).
//
// The new operation kinds have their own baselines: single DeleteObject calls and 1,000-key
// DeleteObjects batches (delete), GetObject + node:zlib crc32 / node:crypto sha256 over the streamed
// body (checksum), a keep-alive node:http POST of the same invocation JSON (lambda), and one
// ListObjectsV2 page loop (list).
//
// The report-download scenario's clients live here too, so both download the same way from a process
// of their own: GetObject of the report's objects streamed to disk (get-to-disk, the baseline) and the
// same files through the JSON API's GET /api/v1/jobs/:id/report/files/:name with fetch (http-to-disk).
//
// The prepare scenario's baselines read a CSV manifest with one GetObject: manifest-lines counts its
// line ends (the floor: reading the bytes and finding the rows), manifest-csv-parse runs it through
// csv-parse with `info` (the row end offsets the chunk index needs, from info.bytes).
//
// Protocol (IPC messages): parent → { type: 'init', ... } once, then { type: 'run', ... } any number
// of times; child → { type: 'ready' } and { type: 'done', ... } per run. Exits when the parent does.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Agent, request } from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { crc32 } from 'node:zlib';
import { parse as csvParse } from 'csv-parse';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectTaggingCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { buildInvocationPayload, newInvocationId, taskIdFor } from '../src/operations/lambda/invocation-payload.ts';
import { copySource, destinationKey } from '../src/operations/s3-put-object-copy.ts';
import { createS3Client } from '../src/storage/s3-clients.ts';

export type BareOp =
  | 'tagging'
  | 'copy'
  | 'copy-only'
  | 'delete'
  | 'delete-batch'
  | 'checksum'
  | 'lambda'
  | 'list'
  | 'get-to-disk'
  | 'http-to-disk'
  | 'manifest-lines'
  | 'manifest-csv-parse';

/** One file of a download run: its object (get-to-disk) or its URL on the s3batch server (http-to-disk). */
export interface BareDownload {
  readonly name: string;
  readonly bucket: string;
  readonly key: string;
  readonly url: string;
}

export interface BareInit {
  readonly type: 'init';
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly maxSockets: number;
  readonly bucket: string;
  readonly keys: readonly string[];
}

export interface BareRun {
  readonly type: 'run';
  readonly op: BareOp;
  readonly concurrency: number;
  /** Tasks to run: keys[i % keys.length] for i < tasks. */
  readonly tasks: number;
  readonly tagSet?: readonly { Key: string; Value: string }[];
  readonly targetBucket?: string;
  readonly targetPrefix?: string;
  /** Keys (and their bucket) of this run instead of the init ones (delete, checksum, list). */
  readonly bucket?: string;
  readonly keys?: readonly string[];
  /** checksum: the algorithm, as S3ComputeObjectChecksum's (only the two with a node built-in). */
  readonly algorithm?: 'CRC32' | 'SHA256';
  /** lambda: the HTTP function's URL. */
  readonly functionUrl?: string;
  /** list: the prefix to list (tasks = objects listed, one page after the other). */
  readonly prefix?: string;
  /** get-to-disk / http-to-disk: the files, downloaded one after the other into outDir (tasks = files). */
  readonly downloads?: readonly BareDownload[];
  readonly outDir?: string;
  /** http-to-disk: request headers (the API key). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface BareDone {
  readonly type: 'done';
  readonly op: BareOp;
  readonly tasks: number;
  readonly failed: number;
  readonly requests: number;
  readonly firstError?: string;
  /** Wall time of the loop alone. */
  readonly ms: number;
  /** process.cpuUsage() over the loop alone (cross-check of the parent's /proc reading). */
  readonly cpuMs: number;
  /** get-to-disk / http-to-disk: bytes written to disk. */
  readonly bytes?: number;
}

let s3: S3Client | undefined;
let init: BareInit | undefined;
/** HTTP functions: a keep-alive agent with the engine's socket limit (src/main.ts), made at init. */
let agent: Agent | undefined;
/** Manifest line of the next lambda task (task ids stay unique across runs). */
let lambdaLine = 0;

/** POSTs a JSON body with the keep-alive agent; resolves with the answer (2xx only). */
function post(url: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(body, 'utf8');
    const req = request(url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': data.length, accept: 'application/json' },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 0) >= 300) reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
        else resolve(text);
      });
    });
    req.end(data);
  });
}

async function run(msg: BareRun): Promise<BareDone> {
  if (!s3 || !init) throw new Error('bare worker: run before init');
  const client = s3;
  const bucket = msg.bucket ?? init.bucket;
  const keys = msg.keys ?? init.keys;
  const tagging = { TagSet: (msg.tagSet ?? []).map((t) => ({ Key: t.Key, Value: t.Value })) };
  let next = 0;
  let failed = 0;
  let requests = 0;
  let firstError: string | undefined;

  // One task = what the engine's handler does for one manifest row on these objects.
  const copyObject = (key: string) =>
    new CopyObjectCommand({
      Bucket: msg.targetBucket,
      Key: destinationKey(msg.targetPrefix, key),
      CopySource: copySource(bucket, key),
      MetadataDirective: 'COPY',
    });
  // One task = what the engine's handler does for one manifest row on these objects.
  const task = async (key: string): Promise<void> => {
    switch (msg.op) {
      case 'tagging':
        requests++;
        await client.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: key, Tagging: tagging }));
        return;
      case 'copy': // HeadObject + CopyObject, as copyOne() in src/operations/s3-put-object-copy.ts
        requests += 2;
        await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        await client.send(copyObject(key));
        return;
      case 'copy-only':
        requests++;
        await client.send(copyObject(key));
        return;
      case 'delete':
        requests++;
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
        return;
      case 'checksum': {
        // Streamed like the engine's FULL_OBJECT path: each chunk hashed as it arrives.
        requests++;
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        let crc = 0;
        const hash = msg.algorithm === 'SHA256' ? createHash('sha256') : undefined;
        let size = 0;
        for await (const chunk of out.Body as Readable) {
          const b = chunk as Buffer;
          size += b.length;
          if (hash) hash.update(b);
          else crc = crc32(b, crc);
        }
        if (size !== out.ContentLength) throw new Error(`short body: ${size} of ${out.ContentLength} bytes`);
        const digest = hash
          ? hash.digest()
          : Buffer.from([crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff]);
        void digest.toString('base64'); // the engine reports it in base64 too
        return;
      }
      case 'lambda': {
        requests++;
        const line = lambdaLine++;
        const payload = buildInvocationPayload(
          { jobId: 'bench-bare', taskId: taskIdFor('bench-bare', line), bucket, rawKey: key },
          { schemaVersion: '1.0', invocationId: newInvocationId() },
        );
        const answer = await post(msg.functionUrl!, JSON.stringify(payload));
        const results = (JSON.parse(answer) as { results?: { resultCode?: string }[] }).results;
        if (results?.[0]?.resultCode !== 'Succeeded') throw new Error(`function answered ${answer.slice(0, 200)}`);
        return;
      }
    }
  };
  const worker = async (): Promise<void> => {
    while (next < msg.tasks) {
      const key = keys[next++ % keys.length]!;
      try {
        await task(key);
      } catch (err) {
        failed++;
        firstError ??= `${key}: ${(err as Error).name}: ${(err as Error).message}`;
      }
    }
  };

  // delete-batch: the keys in DeleteObjects requests of 1,000 (the API's maximum), batches spread
  // over the workers. One task = one key.
  const batches: string[][] = [];
  if (msg.op === 'delete-batch') {
    for (let i = 0; i < msg.tasks; i += 1000)
      batches.push(Array.from({ length: Math.min(1000, msg.tasks - i) }, (_, j) => keys[(i + j) % keys.length]!));
  }
  const batchWorker = async (): Promise<void> => {
    for (let batch = batches.shift(); batch !== undefined; batch = batches.shift()) {
      requests++;
      try {
        const out = await client.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: false },
          }),
        );
        const errors = out.Errors ?? [];
        failed += errors.length + Math.max(0, batch.length - errors.length - (out.Deleted?.length ?? 0));
        if (errors[0]) firstError ??= `${errors[0].Key}: ${errors[0].Code}: ${errors[0].Message}`;
      } catch (err) {
        failed += batch.length;
        firstError ??= `batch of ${batch.length}: ${(err as Error).name}: ${(err as Error).message}`;
      }
    }
  };
  // list: ListObjectsV2 pages of 1,000 one after the other (a listing cannot be parallelised without
  // knowing the keys). One task = one object listed; `tasks` is ignored.
  let listed = 0;
  const listAll = async (): Promise<void> => {
    let token: string | undefined;
    do {
      requests++;
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: msg.prefix, MaxKeys: 1000, ContinuationToken: token }),
      );
      listed += page.Contents?.length ?? 0;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  };

  // get-to-disk / http-to-disk: one file after the other (as `s3batch report` does), streamed to disk.
  let bytes = 0;
  const toDisk = async (body: Readable, name: string): Promise<void> => {
    await pipeline(
      body,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          bytes += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(path.join(msg.outDir!, name)),
    );
  };
  const downloadAll = async (): Promise<void> => {
    for (const d of msg.downloads ?? []) {
      requests++;
      if (msg.op === 'get-to-disk') {
        const out = await client.send(new GetObjectCommand({ Bucket: d.bucket, Key: d.key }));
        await toDisk(out.Body as Readable, d.name);
      } else {
        const res = await fetch(d.url, { headers: { ...msg.headers } });
        if (!res.ok || !res.body) throw new Error(`GET ${d.url} → ${res.status}: ${(await res.text()).slice(0, 200)}`);
        await toDisk(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), d.name);
      }
    }
  };

  // manifest-lines / manifest-csv-parse: one GetObject of keys[0]; tasks = rows found.
  let rows = 0;
  const readManifest = async (): Promise<void> => {
    requests++;
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: keys[0]! }));
    const body = out.Body as Readable;
    if (msg.op === 'manifest-lines') {
      for await (const chunk of body) {
        const b = chunk as Buffer;
        for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) rows++;
      }
      return;
    }
    let end = 0;
    for await (const record of body.pipe(csvParse({ info: true, relax_column_count: true, skip_empty_lines: true }))) {
      rows++;
      end = (record as { info: { bytes: number } }).info.bytes;
    }
    if (end !== out.ContentLength) throw new Error(`csv-parse ended at byte ${end} of ${out.ContentLength}`);
  };

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  if (msg.op === 'manifest-lines' || msg.op === 'manifest-csv-parse') await readManifest();
  else if (msg.op === 'get-to-disk' || msg.op === 'http-to-disk') await downloadAll();
  else if (msg.op === 'list') await listAll();
  else if (msg.op === 'delete-batch')
    await Promise.all(Array.from({ length: Math.max(1, Math.min(msg.concurrency, batches.length)) }, batchWorker));
  else await Promise.all(Array.from({ length: Math.max(1, Math.min(msg.concurrency, msg.tasks)) }, worker));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    type: 'done',
    op: msg.op,
    tasks: msg.op === 'list' ? listed : msg.op.startsWith('manifest-') ? rows : msg.tasks,
    failed,
    requests,
    ...(firstError === undefined ? {} : { firstError }),
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    ...(msg.op === 'get-to-disk' || msg.op === 'http-to-disk' ? { bytes } : {}),
  };
}

process.on('message', (raw: unknown) => {
  const msg = raw as BareInit | BareRun;
  if (msg.type === 'init') {
    init = msg;
    s3 = createS3Client({
      endpoint: msg.endpoint,
      region: msg.region,
      accessKeyId: msg.accessKeyId,
      secretAccessKey: msg.secretAccessKey,
      forcePathStyle: true,
      maxSockets: msg.maxSockets,
    });
    agent = new Agent({ keepAlive: true, maxSockets: msg.maxSockets });
    process.send!({ type: 'ready' });
    return;
  }
  run(msg).then(
    (done) => process.send!(done),
    (err: unknown) => process.send!({ type: 'error', message: (err as Error).stack ?? String(err) }),
  );
});

// The IPC channel closes when the parent ends (even by SIGKILL): go with it.
process.on('disconnect', () => process.exit(0));
