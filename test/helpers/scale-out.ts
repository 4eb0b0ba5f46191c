/**
 * A scale-out deployment for end-to-end tests (docs/deployment.md): a real redis-server
 * (test/helpers/redis-server.ts), `s3batch serve --redis` subprocesses and `s3batch worker`
 * subprocesses, on a real S3 server. `close()` ends everything it started.
 */
import type { S3ServerInfo } from './s3-servers.ts';
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
