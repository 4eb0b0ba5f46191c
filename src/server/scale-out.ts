/**
 * `s3batch serve --redis`: the scale-out mode's server (docs/deployment.md#roles). Every instance
 * first listens as a standby (server/standby-proxy.ts: it forwards each request to the leader) and
 * tries to take the leader lock (storage/redis/leader-lock.ts). The one that holds it closes its
 * proxy and starts the whole server on the same port (main.ts startServer), with the scale-out
 * parts in place of the data folder's: the job store, chunk indexes and task lists in Redis, the
 * chunk results as part files in S3, and the tasks run by `s3batch worker` processes through BullMQ.
 *
 * Losing the lock (its lease ran out while Redis was unreachable, or the store's write was fenced:
 * another instance leads) ends this instance (`ended`): it stops acting at once and the command
 * exits, so that a supervisor starts it again, as a standby. The state it left is in Redis and S3.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { S3BatchError } from '../domain/errors.ts';
import { locateByRequest } from '../engine/part-location.ts';
import { BullmqPlacement } from '../execution/bullmq/placement.ts';
import { redisNames } from '../execution/bullmq/protocol.ts';
import { startServer, type RunningServer, type StatePartsFactory } from '../main.ts';
import { openRedis, redactRedisUrl, redisSettingsWarnings } from '../storage/redis/connection.ts';
import { currentLeader, LeaderLock, type Fence } from '../storage/redis/leader-lock.ts';
import { createRedisChunkIndex, removeRedisChunkIndex } from '../storage/redis/redis-chunk-index.ts';
import { loadOrCreateRedisSecret, RedisJobStore, redisStoreKeys } from '../storage/redis/redis-job-store.ts';
import { createRedisLocalManifestFiles, removeRedisLocalManifestFiles } from '../storage/redis/redis-local-manifest.ts';
import { redisNotificationPersistence } from '../storage/redis/redis-notifications.ts';
import { S3PartSpool } from '../storage/s3-part-spool.ts';
import { loadRedisSessionEpochs } from './redis-session-epochs.ts';
import { startStandbyProxy, type StandbyProxy } from './standby-proxy.ts';

export interface ScaleOutServer {
  /** Where this instance listens. */
  readonly url: string;
  /** The whole server, while this instance leads. */
  leading(): RunningServer | undefined;
  /** Resolves with the reason once this instance must end (it lost the lead, or could not take it up). */
  readonly ended: Promise<string>;
  close(): Promise<void>;
}

/** Refusals before anything starts: settings that cannot work across machines. */
export function checkScaleOutConfig(config: Config): void {
  if (config.local)
    throw new S3BatchError(
      'InvalidConfiguration',
      '--local cannot be combined with --redis: workers on other machines cannot reach the embedded S3; give an S3 endpoint every machine reaches (--endpoint, or --storage-profiles)',
    );
  if (config.apiKeysFile === undefined && config.apiAccessKeyId === undefined)
    throw new S3BatchError(
      'InvalidConfiguration',
      'With --redis every serve instance must accept the same API keys: give them with --api-keys-file or S3BATCH_API_ACCESS_KEY_ID and S3BATCH_API_SECRET_ACCESS_KEY',
    );
  if (config.advertiseUrl === undefined && ['0.0.0.0', '::', ''].includes(config.host))
    throw new S3BatchError(
      'InvalidConfiguration',
      `With --redis and --host ${config.host || "''"}, give --advertise-url (S3BATCH_ADVERTISE_URL): the URL the other serve instances reach this one at while it leads`,
    );
}

/** How long a standby waits for Redis to say who leads before it answers 503. */
const LOOKUP_TIMEOUT_MS = 2_000;

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function startScaleOutServer(config: Config, logger: Logger): Promise<ScaleOutServer> {
  checkScaleOutConfig(config);
  const redisUrl = config.redisUrl as string;
  const prefix = config.redisPrefix;
  const redis = await openRedis(redisUrl, { name: 's3batch-serve' });
  for (const warning of await redisSettingsWarnings(redis, redisUrl)) logger.warn({}, warning);
  let endWith: (reason: string) => void = () => undefined;
  let hasEnded = false;
  const ended = new Promise<string>((resolve) => {
    endWith = (reason) => {
      hasEnded = true;
      resolve(reason);
    };
  });
  const id = `${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  let self = config.advertiseUrl ?? '';
  let proxy: StandbyProxy | undefined = await startStandbyProxy({
    host: config.host,
    port: config.port,
    self: () => self,
    lookup: async () => {
      const leader = await withTimeout(
        currentLeader(redis, prefix),
        LOOKUP_TIMEOUT_MS,
        `Redis at ${redactRedisUrl(redisUrl)} does not answer`,
      );
      return leader && { url: leader.url, self: leader.id === id };
    },
  });
  const listenUrl = proxy.url;
  const port = Number(new URL(listenUrl).port);
  if (self === '') self = listenUrl;
  let server: RunningServer | undefined;
  let closing = false;
  /** The takeover under way, if any: close() waits for it. */
  let leading: Promise<void> = Promise.resolve();

  const lead = async (fence: Fence): Promise<void> => {
    if (closing || hasEnded) return;
    logger.info({ url: self }, 'took the lead: the engine runs here');
    // The proxy answers (503 while the leader it names, this instance, is not ready) until the whole
    // server is about to listen on the same port, so that the port is refused for the least time.
    const closeProxy = async (): Promise<void> => {
      await proxy?.close();
      proxy = undefined;
    };
    const parts = stateParts(config, redis, fence, (reason) => endWith(reason), logger);
    try {
      server = await startServer({ ...config, port }, logger, async (ctx) => ({
        ...(await parts(ctx)),
        beforeListen: closeProxy,
      }));
    } catch (err) {
      endWith(`could not start as the leader: ${(err as Error).message}`);
    }
  };
  const lock = new LeaderLock(redis, {
    prefix,
    id,
    url: self,
    onLeader: (fence) => {
      leading = lead(fence);
      return leading;
    },
    onLost: (reason) => {
      // No second takeover by this process: it ends, and a supervisor starts it again as a standby.
      lock.abandon();
      endWith(`lost the lead (${reason})`);
    },
    onError: (err) =>
      logger.warn(
        { err },
        `Redis at ${redactRedisUrl(redisUrl)}: ${(err as Error).message} (the leader lock keeps trying)`,
      ),
  });
  lock.start();
  return {
    url: listenUrl,
    leading: () => server,
    ended,
    async close() {
      if (closing) return;
      closing = true;
      lock.abandon();
      await leading;
      await server?.close();
      await proxy?.close();
      // Last: the lock goes only once this instance's engine has stopped.
      await withTimeout(lock.release(), LOOKUP_TIMEOUT_MS, 'release').catch(() => undefined);
      redis.disconnect();
    },
  };
}

/** The scale-out parts of the leader's server. */
function stateParts(
  config: Config,
  redis: Awaited<ReturnType<typeof openRedis>>,
  fence: Fence,
  end: (reason: string) => void,
  logger: Logger,
): StatePartsFactory {
  const prefix = config.redisPrefix;
  return async ({ profiles, add }) => {
    const store = await RedisJobStore.open(redis, {
      prefix,
      fence,
      onWriteError: (err) =>
        logger.error({ err }, `the job store in Redis cannot be written (retried): ${(err as Error).message}`),
      onFenced: () => end('the job store refused a write: another instance leads'),
      onRedisRestart: () =>
        logger.warn(
          {},
          'Redis restarted (its run id changed): the job store wrote its records again; chunks whose queue entries Redis lost are sent again',
        ),
    });
    add('job store', () => store.close());
    const spool = new S3PartSpool(
      locateByRequest(
        (jobId) => store.get(jobId)?.request,
        (roleArn) => profiles.forRoleArn(roleArn).objects,
      ),
    );
    const placement = new BullmqPlacement({
      redis,
      names: redisNames(prefix),
      log: logger,
      durable: () => store.flush(),
    });
    add('chunk queue', () => placement.close());
    return {
      store,
      files: {
        spool,
        chunkIndex: (jobId) => createRedisChunkIndex(redis, prefix, jobId),
        removeChunkIndex: (jobId) => removeRedisChunkIndex(redis, prefix, jobId),
        localManifest: (jobId) => createRedisLocalManifestFiles(redis, prefix, jobId),
        removeLocalManifest: (jobId) => removeRedisLocalManifestFiles(redis, prefix, jobId),
      },
      placement,
      pageTokenKey: await loadOrCreateRedisSecret(redis, redisStoreKeys(prefix).pageTokenKey),
      sessionKey: await loadOrCreateRedisSecret(redis, `${prefix}session-key`),
      sessionEpochs: await loadRedisSessionEpochs(redis, prefix),
      leader: true,
      workerTasks: () => placement.workerTasks(),
      // Webhooks' outbox, logs, account webhooks and secrets: in Redis, for the next leader.
      notifications: redisNotificationPersistence(redis, prefix, fence),
    };
  };
}
