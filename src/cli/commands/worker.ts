/**
 * `s3batch worker --redis URL`: runs the chunks of the jobs of a `s3batch serve --redis URL` on
 * this machine (execution/bullmq/worker.ts) until SIGINT/SIGTERM. It takes the same storage,
 * function and log options as serve (server-options.ts) and no data folder.
 */
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import { loadWorkerConfig, type Config } from '../../config.ts';
import { isS3BatchError, S3BatchError } from '../../domain/errors.ts';
import type { ChunkQueueWorker, RunningRequests, WorkerPorts } from '../../execution/bullmq/worker.ts';
import type { StorageProfileRegistry } from '../../server/storage-profile-registry.ts';
import { CliError, EXIT_SERVER_ERROR, usageError } from '../cli-errors.ts';
import { addServerOptions, configFlagsFrom, TASK_OPTIONS } from './server-options.ts';

/** The ports a worker's chunks use. */
export interface WorkerWiring {
  ports(args: {
    config: Config;
    redis: Redis;
    prefix: string;
    profiles: StorageProfileRegistry;
    requests: RunningRequests;
  }): WorkerPorts;
}

/**
 * The scale-out mode's ports: each chunk's results in its part file under the job's report prefix
 * (storage/s3-part-spool.ts), found from the request the chunk carries, in the object store of the
 * job's storage profile; the task lists of inventory and generator jobs in Redis.
 */
export async function scaleOutWiring(): Promise<WorkerWiring> {
  const { S3PartSpool } = await import('../../storage/s3-part-spool.ts');
  const { locateByRequest } = await import('../../engine/part-location.ts');
  const { createRedisLocalManifestFiles } = await import('../../storage/redis/redis-local-manifest.ts');
  return {
    ports: ({ redis, prefix, profiles, requests }) => ({
      spool: new S3PartSpool(
        locateByRequest(
          (jobId) => requests.get(jobId),
          (roleArn) => profiles.forRoleArn(roleArn).objects,
        ),
      ),
      localManifest: (jobId) => createRedisLocalManifestFiles(redis, prefix, jobId),
    }),
  };
}

/** After the drain, how long the chunks get to be handed back before the process exits anyway. */
const STOP_GRACE_SECONDS = 10;

export function registerWorker(program: Command, wiring?: WorkerWiring): void {
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
        workerConcurrency: opts.concurrency,
        workerChunks: opts.chunks,
        workerName: opts.name,
        workerDrainSeconds: opts.drainSeconds,
      });
      const { redisUrl, redisPrefix } = wc.config;
      if (redisUrl === undefined) {
        throw usageError(
          's3batch worker needs --redis redis://host:port/db (or S3BATCH_REDIS_URL): the Redis of the s3batch serve --redis it works for',
        );
      }
      // Loaded here, not at the top: the job verbs start without BullMQ and the AWS SDK.
      const {
        ChunkQueueWorker: QueueWorker,
        defaultWorkerName,
        workerDepsFrom,
      } = await import('../../execution/bullmq/worker.ts');
      const { openRedis, redactRedisUrl, redisSettingsWarnings } = await import('../../storage/redis/connection.ts');
      const { loggerFor } = await import('../../logging.ts');
      const logger = loggerFor(wc.config);
      const name = wc.name ?? defaultWorkerName();
      let redis: Redis | undefined;
      let worker: ChunkQueueWorker | undefined;
      let stopping = false;
      const stop = (running: ChunkQueueWorker): void => {
        const drain = setTimeout(() => running.stopChunks(), wc.drainSeconds * 1000);
        running
          .close()
          .then(async () => {
            clearTimeout(drain);
            await redis?.quit().catch(() => undefined);
            process.exit(0);
          })
          .catch((err: unknown) => {
            process.stderr.write(`error while stopping: ${(err as Error).message}\n`);
            process.exit(1);
          });
      };
      // Signals are handled from before the start: a SIGTERM while the worker connects stops it
      // cleanly once it runs.
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
        // A Redis that does not answer must not hold the exit: what a chunk cut short did is redone
        // elsewhere (BullMQ's stalled-job recovery), and its part file keeps what was written.
        setTimeout(
          () => {
            process.stderr.write(`${signal}: could not hand the chunks back in time (is Redis reachable?); exiting\n`);
            process.exit(1);
          },
          (wc.drainSeconds + STOP_GRACE_SECONDS) * 1000,
        ).unref();
        if (worker) stop(worker);
        else process.exit(0);
      };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      // A bad URL or a Redis that does not answer: one line and exit 1 (the deployment's fault,
      // not a usage error), as the other failures to reach a server.
      const unreachable = (err: unknown): never => {
        if (!isS3BatchError(err)) throw err;
        throw new CliError(err.code, err.message, EXIT_SERVER_ERROR, { cause: err });
      };
      const conn = await openRedis(redisUrl, { name: `s3batch-worker:${name}` }).catch(unreachable);
      redis = conn;
      for (const warning of await redisSettingsWarnings(conn, redisUrl)) logger.warn(warning);
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
      worker = await QueueWorker.start(
        workerDepsFrom(wc.config, ({ profiles, requests }) =>
          ports({ config: wc.config, redis: conn, prefix: redisPrefix, profiles, requests }),
        ),
        {
          redis: conn,
          prefix: redisPrefix,
          name,
          concurrency: wc.concurrency,
          chunks: wc.chunks,
          log: (level, message) => logger[level](message),
        },
      ).catch((err: unknown) => {
        conn.disconnect();
        return unreachable(
          new S3BatchError('InvalidConfiguration', `Cannot start the worker: ${(err as Error).message}`),
        );
      });
      if (stopping) return stop(worker);
      // On stderr, whatever the log level (stdout carries the log), as serve's note for people.
      process.stderr.write(
        `s3batch worker ${name} ready: ${wc.concurrency} task slots, ${wc.chunks} chunk(s) at a time, ` +
          `Redis ${redactRedisUrl(redisUrl)} (prefix ${redisPrefix})\n`,
      );
    });
}
