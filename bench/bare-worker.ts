// The baseline of the benchmark: a bare AWS SDK loop, forked by bench/run.ts as a process of its own
// (so its CPU time is measured per process, as the engine server's is). It makes the same requests
// as the engine's tasks, with N concurrent workers and a client built by the engine's own
// createS3Client (keep-alive agent, maxSockets, one HTTP attempt per call).
//
// Protocol (IPC messages): parent → { type: 'init', ... } once, then { type: 'run', ... } any number
// of times; child → { type: 'ready' } and { type: 'done', ... } per run. Exits when the parent does.
import { CopyObjectCommand, HeadObjectCommand, PutObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { copySource, destinationKey } from '../src/operations/s3-put-object-copy.ts';
import { createS3Client } from '../src/storage/s3-clients.ts';

export type BareOp = 'tagging' | 'copy' | 'copy-only';

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
}

let s3: S3Client | undefined;
let init: BareInit | undefined;

async function run(msg: BareRun): Promise<BareDone> {
  if (!s3 || !init) throw new Error('bare worker: run before init');
  const client = s3;
  const { bucket, keys } = init;
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

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.max(1, Math.min(msg.concurrency, msg.tasks)) }, worker));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    type: 'done',
    op: msg.op,
    tasks: msg.tasks,
    failed,
    requests,
    ...(firstError === undefined ? {} : { firstError }),
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
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
