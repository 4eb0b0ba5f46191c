/**
 * `s3batch worker --redis URL`: runs the chunks of the jobs of a `s3batch serve --redis URL` on
 * this machine (execution/bullmq/worker.ts) until SIGINT/SIGTERM. It takes the same storage,
 * function and log options as serve (server-options.ts) and no data folder.
 */
import type { Worker } from 'node:worker_threads';
import type { Command } from 'commander';
import { loadWorkerConfig } from '../../config.ts';
import { startThread } from '../../execution/threads.ts';
import { usageError } from '../cli-errors.ts';
import { addServerOptions, configFlagsFrom, TASK_OPTIONS } from './server-options.ts';
import { concurrencyShares, type RunningQueueWorker, startQueueWorker } from './worker-run.ts';
import type { WorkerThreadData } from './worker-thread.ts';
import type { WorkerWiring } from './worker-wiring.ts';

export { scaleOutWiring, type WorkerWiring } from './worker-wiring.ts';

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
    .option('--chunks <n>', 'chunks each of its threads runs at once [S3BATCH_WORKER_CHUNKS] (default 1)')
    .option(
      '--threads <n>',
      'event loops (worker threads) of this worker, each with its own share of --concurrency; for tasks that cost the client CPU [S3BATCH_WORKER_THREADS] (default 1)',
    )
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
      const flags = {
        ...configFlagsFrom(opts),
        workerConcurrency: opts.concurrency,
        workerChunks: opts.chunks,
        workerName: opts.name,
        workerDrainSeconds: opts.drainSeconds,
        workerThreads: opts.threads,
      };
      const wc = loadWorkerConfig(flags);
      const { redisUrl, redisPrefix } = wc.config;
      if (redisUrl === undefined) {
        throw usageError(
          's3batch worker needs --redis redis://host:port/db (or S3BATCH_REDIS_URL): the Redis of the s3batch serve --redis it works for',
        );
      }
      const { defaultWorkerName } = await import('../../execution/bullmq/worker.ts');
      const { redactRedisUrl } = await import('../../storage/redis/connection.ts');
      const name = wc.name ?? defaultWorkerName();
      const shares = concurrencyShares(wc.concurrency, wc.threads);
      // With --threads, each event loop is a worker of its own in /metrics: <name>.t1, <name>.t2, …
      const names = wc.threads === 1 ? [name] : shares.map((_, i) => `${name}.t${i + 1}`);
      let main: RunningQueueWorker | undefined;
      const threads: Worker[] = [];
      let stopping = false;
      const stopAll = (): void => {
        const ended = threads.map((t) => new Promise<void>((resolve) => t.once('exit', () => resolve())));
        for (const t of threads) t.postMessage('stop');
        Promise.all([main?.stop(wc.drainSeconds), ...ended]).then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`error while stopping: ${(err as Error).message}\n`);
            process.exit(1);
          },
        );
      };
      // Signals are handled from before the start: a SIGTERM while the worker connects stops it
      // cleanly once it runs.
      const shutdown = (signal: string): void => {
        if (stopping) {
          process.stderr.write(`${signal}: stopping the running chunks now (their finished tasks are kept)…\n`);
          main?.stopChunks();
          for (const t of threads) t.postMessage('stop-now');
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
        if (main) stopAll();
        else process.exit(0);
      };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      main = await startQueueWorker(wc, names[0] as string, shares[0] as number, wiring);
      for (let i = 1; i < wc.threads; i++) {
        const thread = startThread(import.meta.url, 'worker-thread', {
          name: `s3batch-worker-${i + 1}`,
          workerData: { flags, name: names[i] as string, concurrency: shares[i] as number } satisfies WorkerThreadData,
        });
        // A thread that cannot run its worker ends the process: the deployment is misconfigured.
        thread.on('error', (err) => {
          process.stderr.write(`s3batch worker: thread ${names[i]}: ${err.message}\n`);
          process.exit(1);
        });
        threads.push(thread);
      }
      if (stopping) return stopAll();
      // On stderr, whatever the log level (stdout carries the log), as serve's note for people.
      const threadNote = wc.threads > 1 ? ` in ${wc.threads} threads (${names.join(', ')})` : '';
      process.stderr.write(
        `s3batch worker ${name} ready: ${wc.concurrency} task slots${threadNote}, ${wc.chunks} chunk(s) at a time, ` +
          `Redis ${redactRedisUrl(redisUrl)} (prefix ${redisPrefix})\n`,
      );
    });
}
