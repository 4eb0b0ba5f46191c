/**
 * `s3batch worker --redis URL`: runs the chunks of the jobs of a `s3batch serve --redis URL` on
 * this machine (execution/bullmq/worker.ts) until SIGINT/SIGTERM. It takes the same storage,
 * function and log options as serve (server-options.ts) and no data folder.
 */
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import { loadWorkerConfig, type Config } from '../../config.ts';
import type { ChunkQueueWorker, WorkerPorts } from '../../execution/bullmq/worker.ts';
import { CliError, EXIT_SERVER_ERROR, usageError } from '../cli-errors.ts';
import { addServerOptions, configFlagsFrom, TASK_OPTIONS } from './server-options.ts';

/** How long a worker waits for Redis at its start before it gives up. */
const CONNECT_TIMEOUT_MS = 5_000;

/** The ports a worker's chunks use, and how to let go of them at exit. */
export interface WorkerWiring {
  ports(args: { config: Config; redis: Redis; prefix: string }): Promise<WorkerPorts & { close?(): Promise<void> }>;
}

/**
 * PLACEHOLDER until the composition wires the scale-out ports (storage/s3-part-spool.ts for the
 * results, storage/redis/redis-local-manifest.ts for the task lists): the results go to a spool in
 * a temporary folder of this machine, removed at exit, where no engine reads them, and a chunk of
 * an inventory or generator job fails. Pass a WorkerWiring to registerWorker to replace it.
 */
const placeholderWiring: WorkerWiring = {
  async ports() {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { createFsSpool } = await import('../../storage/fs-spool.ts');
    const { S3BatchError } = await import('../../domain/errors.ts');
    const dir = await mkdtemp(join(tmpdir(), 's3batch-worker-'));
    return {
      spool: createFsSpool(dir),
      localManifest: (jobId) => {
        throw new S3BatchError(
          'InternalServiceException',
          `This worker cannot read the task list of job ${jobId} (inventory and generator jobs) yet`,
        );
      },
      close: () => rm(dir, { recursive: true, force: true }),
    };
  },
};

/** The URL without its password, for messages. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === '') return url;
    u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * A connection to the Redis at `url` (ioredis, `maxRetriesPerRequest: null` as BullMQ needs), or a
 * CliError within CONNECT_TIMEOUT_MS: a URL that is not redis:// or rediss://, a Redis that does
 * not answer. Once connected it reconnects for as long as it takes.
 * (A local check until storage/redis/connection.ts openRedis lands; then this calls it.)
 */
export async function connectRedis(url: string, name: string): Promise<Redis> {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (
    parsed === undefined ||
    (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') ||
    parsed.hostname === '' ||
    !/^\/?\d*$/.test(parsed.pathname)
  ) {
    throw new CliError(
      'InvalidRedisUrl',
      `--redis / S3BATCH_REDIS_URL ${JSON.stringify(redactRedisUrl(url))} is not a Redis URL: give redis://[:password@]host[:port][/db] or rediss://… for TLS`,
      EXIT_SERVER_ERROR,
    );
  }
  const { Redis: IORedis } = await import('ioredis');
  const redis = new IORedis(url, {
    maxRetriesPerRequest: null,
    lazyConnect: true,
    connectionName: name,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // No retries while starting: a Redis that is down is an error now, not a hang.
    retryStrategy: () => null,
  });
  let lastError: Error | undefined;
  redis.on('error', (err: Error) => {
    lastError = err;
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      redis.connect().then(() => redis.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)),
          CONNECT_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (err) {
    redis.disconnect();
    const why = lastError?.message ?? (err as Error).message;
    throw new CliError('RedisUnavailable', `cannot reach Redis at ${redactRedisUrl(url)}: ${why}`, EXIT_SERVER_ERROR, {
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
  redis.options.retryStrategy = (times: number) => Math.min(times * 200, 2_000);
  return redis;
}

export function registerWorker(program: Command, wiring: WorkerWiring = placeholderWiring): void {
  const command = program
    .command('worker')
    .description("Run the tasks of a `s3batch serve --redis` deployment's jobs on this machine (scale-out mode)")
    .option('--redis <url>', 'the Redis of the deployment, redis://host:6379/0 [S3BATCH_REDIS_URL] (required)')
    .option('--redis-prefix <prefix>', 'prefix of the s3batch keys in Redis [S3BATCH_REDIS_PREFIX] (default s3batch:)')
    .option(
      '--concurrency <n>',
      'tasks at once over all chunks of this worker [S3BATCH_WORKER_CONCURRENCY] (default 16)',
    )
    .option('--chunks <n>', 'chunks this worker runs at once [S3BATCH_WORKER_CHUNKS] (default 1)')
    .option(
      '--name <name>',
      'name of this worker in /metrics and the logs [S3BATCH_WORKER_NAME] (default <hostname>-<pid>)',
    )
    .option(
      '--drain-seconds <seconds>',
      'after SIGTERM, seconds running chunks may take to finish before they are stopped (their rest runs elsewhere) [S3BATCH_WORKER_DRAIN_SECONDS] (default 20)',
    );
  addServerOptions(command, TASK_OPTIONS)
    .addHelpText(
      'after',
      `
The worker needs the storage profiles (endpoints and keys) of the jobs it runs, the same as serve's,
and no data folder. Start and stop workers at any time: a chunk of a worker that stops or dies runs
again elsewhere. SIGTERM or SIGINT: no new chunks; running ones finish (a second signal, or
--drain-seconds, stops them: their finished tasks are kept), then the worker exits 0.

Examples:
  $ s3batch worker --redis redis://10.0.0.5:6379/0 --endpoint http://10.0.0.9:7480 \\
      --access-key-id KEY --secret-access-key SECRET --concurrency 32
  $ S3BATCH_REDIS_URL=redis://redis:6379/0 S3BATCH_STORAGE_PROFILES_FILE=/etc/s3batch/profiles.json s3batch worker`,
    )
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      const wc = loadWorkerConfig({
        ...configFlagsFrom(opts),
        redisUrl: opts.redis,
        redisPrefix: opts.redisPrefix,
        workerConcurrency: opts.concurrency,
        workerChunks: opts.chunks,
        workerName: opts.name,
        workerDrainSeconds: opts.drainSeconds,
      });
      if (wc.redisUrl === undefined) {
        throw usageError(
          's3batch worker needs --redis redis://host:port/db (or S3BATCH_REDIS_URL): the Redis of the s3batch serve --redis it works for',
        );
      }
      const {
        ChunkQueueWorker: QueueWorker,
        defaultWorkerName,
        workerDepsFrom,
      } = await import('../../execution/bullmq/worker.ts');
      const { loggerFor } = await import('../../logging.ts');
      const logger = loggerFor(wc.config);
      const name = wc.name ?? defaultWorkerName();
      let worker: ChunkQueueWorker | undefined;
      let stopping = false;
      let drain: ReturnType<typeof setTimeout> | undefined;
      const stop = (running: ChunkQueueWorker): void => {
        drain = setTimeout(() => running.stopChunks(), wc.drainSeconds * 1000);
        running
          .close()
          .then(async () => {
            clearTimeout(drain);
            await ports.close?.();
            await redis.quit().catch(() => undefined);
            process.exit(0);
          })
          .catch((err: unknown) => {
            process.stderr.write(`error while stopping: ${(err as Error).message}\n`);
            process.exit(1);
          });
      };
      const shutdown = (signal: string): void => {
        if (stopping) {
          process.stderr.write(`${signal}: stopping the running chunks now (their finished tasks are kept)…\n`);
          worker?.stopChunks();
          return;
        }
        stopping = true;
        process.stderr.write(
          `${signal}: stopping (no new chunks; running ones finish, or stop after ${wc.drainSeconds} s)…\n`,
        );
        if (worker) stop(worker);
      };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      const redis = await connectRedis(wc.redisUrl, `s3batch-worker:${name}`);
      let reported = false;
      redis.on('error', (err: Error) => {
        if (!reported) logger.warn(`Redis: ${err.message} (reconnecting)`);
        reported = true;
      });
      redis.on('ready', () => {
        if (reported) logger.info('Redis: connected again');
        reported = false;
      });
      const ports = await wiring.ports({ config: wc.config, redis, prefix: wc.redisPrefix });
      try {
        worker = await QueueWorker.start(workerDepsFrom(wc.config, ports), {
          redis,
          prefix: wc.redisPrefix,
          name,
          concurrency: wc.concurrency,
          chunks: wc.chunks,
          log: (level, message) => logger[level](message),
        });
      } catch (err) {
        await ports.close?.();
        redis.disconnect();
        throw new CliError(
          'RedisUnavailable',
          `cannot start the worker: ${(err as Error).message}`,
          EXIT_SERVER_ERROR,
          {
            cause: err,
          },
        );
      }
      if (stopping) return stop(worker);
      logger.info(
        `s3batch worker ${name} ready: ${wc.concurrency} task slots, ${wc.chunks} chunk(s) at a time, Redis ${redactRedisUrl(wc.redisUrl)} (prefix ${wc.redisPrefix})`,
      );
    });
}
