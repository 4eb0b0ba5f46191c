/**
 * A scale-out deployment for end-to-end tests (docs/deployment.md): a real redis-server
 * (test/helpers/redis-server.ts), `s3batch serve --redis` subprocesses and `s3batch worker`
 * subprocesses, on a real S3 server. `close()` ends everything it started.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { jobRequest, putObjectsAndManifest, readReport } from './jobs.ts';
import { requireCeph } from './provided.ts';
import { createTestBucket, makeS3Client, type S3ServerInfo } from './s3-servers.ts';
import { startServerProcess, tempDataDir, type ServerProcess } from './server-process.ts';
import { startRedis, type TestRedis } from './redis-server.ts';
import { startWorkerProcess, type WorkerProcess } from './worker-process.ts';

export interface ScaleOut {
  readonly redis: TestRedis;
  readonly serves: ServerProcess[];
  readonly workers: WorkerProcess[];
  /** One more `serve --redis` (a standby while another leads). */
  startServe(args?: readonly string[]): Promise<ServerProcess>;
  /** One more worker named `name`. */
  startWorker(name: string, args?: readonly string[], s3?: S3ServerInfo): Promise<WorkerProcess>;
  close(): Promise<void>;
}

export interface ScaleOutOptions {
  readonly s3: S3ServerInfo;
  /** `serve` instances to start (default 1). */
  readonly serves?: number;
  readonly serveArgs?: readonly string[];
  /** Workers to start, named w1, w2, … (default 3). */
  readonly workers?: number;
  readonly workerArgs?: readonly string[];
  /** The S3 server the workers reach (default `s3`): a fault proxy in front of it, for instance. */
  readonly workerS3?: S3ServerInfo;
}

/** The role a `serve --redis` instance's /healthz names; undefined while its port changes hands. */
export async function healthRole(url: string): Promise<string | undefined> {
  try {
    return ((await (await fetch(`${url}/healthz`)).json()) as { role?: string }).role;
  } catch {
    return undefined;
  }
}

export async function startScaleOut(options: ScaleOutOptions): Promise<ScaleOut> {
  const redis = await startRedis();
  const serves: ServerProcess[] = [];
  const workers: WorkerProcess[] = [];
  const startServe = async (args: readonly string[] = []): Promise<ServerProcess> => {
    const server = await startServerProcess({
      s3: options.s3,
      dataDir: tempDataDir('s3batch-scale-out-'),
      args: ['--redis', redis.url, ...(options.serveArgs ?? []), ...args],
    });
    serves.push(server);
    return server;
  };
  const startWorker = async (
    name: string,
    args: readonly string[] = [],
    s3: S3ServerInfo = options.workerS3 ?? options.s3,
  ): Promise<WorkerProcess> => {
    const worker = await startWorkerProcess({
      redisUrl: redis.url,
      s3,
      name,
      args: [...(options.workerArgs ?? []), ...args],
    });
    workers.push(worker);
    return worker;
  };
  const close = async (): Promise<void> => {
    await Promise.all(workers.map((w) => w.kill('SIGKILL')));
    await Promise.all(serves.map((s) => s.kill('SIGKILL')));
    await redis.stop();
  };
  try {
    for (let i = 0; i < (options.serves ?? 1); i++) await startServe();
    await Promise.all(Array.from({ length: options.workers ?? 3 }, (_, i) => startWorker(`w${i + 1}`)));
  } catch (err) {
    await close();
    throw err;
  }
  return { redis, serves, workers, startServe, startWorker, close };
}

/** A bucket of objects and its CSV manifest `m.csv`, for the scale-out tests. */
export interface SourceObjects {
  readonly bucket: string;
  /** `o/0000`, `o/0001`, …: sorted. */
  readonly keys: string[];
  readonly etag: string;
}

/** A bucket (named after `prefix`) of `count` objects and their manifest. */
export async function objectsWithManifest(s3: S3Client, prefix: string, count: number): Promise<SourceObjects> {
  const bucket = await createTestBucket(s3, prefix);
  const keys = Array.from({ length: count }, (_, i) => `o/${String(i).padStart(4, '0')}`);
  const etag = await putObjectsAndManifest(s3, bucket, 'm.csv', keys);
  return { bucket, keys, etag };
}

/** A tagging job (tag `job=<tag>`) over the objects, its report under `reportPrefix` in their bucket. */
export function taggingRequest(
  src: SourceObjects,
  tag: string,
  extra: Record<string, unknown> = {},
  reportPrefix = `rep-${tag}`,
): Record<string, unknown> {
  return jobRequest({
    manifestBucket: src.bucket,
    manifestKey: 'm.csv',
    etag: src.etag,
    operation: { S3PutObjectTagging: { TagSet: [{ Key: 'job', Value: tag }] } },
    reportBucket: src.bucket,
    reportPrefix,
    confirmationRequired: false,
    extra,
  });
}

/** The keys a job's report names, decoded and sorted (each must appear once). */
export async function reportedKeys(s3: S3Client, bucket: string, prefix: string, jobId: string): Promise<string[]> {
  const report = await readReport(s3, bucket, prefix, jobId);
  return report.rows.map((r) => decodeURIComponent(r[1]!)).sort();
}

/**
 * The hooks every scale-out test file needs: Ceph RGW and an S3 client on it, and deployments
 * (with `--chunk-size chunkSize`) ended after each test along with whatever else was registered.
 */
export function useScaleOutOnCeph(chunkSize: number) {
  let ceph: S3ServerInfo | undefined;
  let s3: S3Client | undefined;
  const cleanups: Array<() => Promise<void>> = [];
  beforeAll(() => {
    ceph = requireCeph();
    s3 = makeS3Client(ceph);
  });
  afterAll(() => s3?.destroy());
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    get ceph(): S3ServerInfo {
      return ceph as S3ServerInfo;
    },
    get s3(): S3Client {
      return s3 as S3Client;
    },
    /** Ends `c` after the current test. */
    cleanup(c: () => Promise<void>): void {
      cleanups.push(c);
    },
    async deployment(options: Partial<ScaleOutOptions> = {}): Promise<ScaleOut> {
      const d = await startScaleOut({
        s3: ceph as S3ServerInfo,
        ...options,
        serveArgs: ['--chunk-size', String(chunkSize), ...(options.serveArgs ?? [])],
      });
      cleanups.push(() => d.close());
      return d;
    },
  };
}
