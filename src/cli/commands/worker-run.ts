/**
 * One BullMQ worker of `s3batch worker` (worker.ts): its Redis connection, its ports and its
 * ChunkQueueWorker. The process runs one in its main thread and, with `--threads N`, one more in
 * each other worker thread (worker-thread.ts), each with its share of `--concurrency`.
 */
import type { Redis } from 'ioredis';
import type { WorkerConfig } from '../../config.ts';
import { isS3BatchError, S3BatchError } from '../../domain/errors.ts';
import type { ChunkQueueWorker } from '../../execution/bullmq/worker.ts';
import { CliError, EXIT_SERVER_ERROR } from '../cli-errors.ts';
import { scaleOutWiring, type WorkerWiring } from './worker-wiring.ts';

export interface RunningQueueWorker {
  readonly worker: ChunkQueueWorker;
  /** No new chunks; running ones finish, or are stopped after `drainSeconds`; then Redis is let go. */
  stop(drainSeconds: number): Promise<void>;
  /** Stops the running chunks now (their finished tasks are kept). */
  stopChunks(): void;
}

/** `--concurrency` shared out among `threads` event loops: the first ones get the remainder. */
export function concurrencyShares(concurrency: number, threads: number): number[] {
  const base = Math.floor(concurrency / threads);
  return Array.from({ length: threads }, (_, i) => base + (i < concurrency % threads ? 1 : 0));
}

/** A bad URL or a Redis that does not answer: one line and exit 1 (the deployment's fault, not a usage error). */
function unreachable(err: unknown): never {
  if (!isS3BatchError(err)) throw err;
  throw new CliError(err.code, err.message, EXIT_SERVER_ERROR, { cause: err });
}

export async function startQueueWorker(
  wc: WorkerConfig,
  name: string,
  concurrency: number,
  wiring?: WorkerWiring,
): Promise<RunningQueueWorker> {
  const { redisUrl, redisPrefix } = wc.config;
  // Loaded here, not at the top: the job verbs start without BullMQ and the AWS SDK.
  const { ChunkQueueWorker: QueueWorker, workerDepsFrom } = await import('../../execution/bullmq/worker.ts');
  const { openRedis, redisSettingsWarnings } = await import('../../storage/redis/connection.ts');
  const { loggerFor } = await import('../../logging.ts');
  const logger = loggerFor(wc.config);
  const conn: Redis = await openRedis(redisUrl as string, { name: `s3batch-worker:${name}` }).catch(unreachable);
  for (const warning of await redisSettingsWarnings(conn, redisUrl as string)) logger.warn(warning);
  let reported = false;
  conn.on('error', (err: Error) => {
    if (!reported) logger.warn(`Redis: ${err.message} (reconnecting)`);
    reported = true;
  });
  conn.on('ready', () => {
    if (reported) logger.info('Redis: connected again');
    reported = false;
  });
  const ports = (wiring ?? (await scaleOutWiring())).ports;
  const worker = await QueueWorker.start(
    workerDepsFrom(wc.config, ({ profiles, requests }) =>
      ports({ config: wc.config, redis: conn, prefix: redisPrefix, profiles, requests }),
    ),
    {
      redis: conn,
      prefix: redisPrefix,
      name,
      concurrency,
      chunks: wc.chunks,
      log: (level, message) => logger[level](message),
    },
  ).catch((err: unknown) => {
    conn.disconnect();
    return unreachable(new S3BatchError('InvalidConfiguration', `Cannot start the worker: ${(err as Error).message}`));
  });
  return {
    worker,
    async stop(drainSeconds) {
      const drain = setTimeout(() => worker.stopChunks(), drainSeconds * 1000);
      try {
        await worker.close();
      } finally {
        clearTimeout(drain);
        await conn.quit().catch(() => undefined);
      }
    },
    stopChunks: () => worker.stopChunks(),
  };
}
