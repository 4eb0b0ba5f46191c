/**
 * The composition root: config → adapters (store, spool, S3 clients, embedded S3) → engine →
 * service → HTTP app. Nothing else wires concrete implementations together.
 *
 * One cleanup path (server/releasers.ts): each resource registers its release as it is created,
 * and a start that fails (an early throw, a port already in use) and `close()` run the same
 * releases, in reverse order: the HTTP app, the engine, the job store, the S3 clients, the
 * function invoker, the embedded S3.
 */
import { checkAccess } from './server/access-check.ts';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { resolveApiAccessKeys, type GeneratedAccessKey } from './api/auth/access-keys.ts';
import type { Config, StorageConfig } from './config.ts';
import { S3BatchError } from './domain/errors.ts';
import { Engine, type EngineDeps } from './engine/engine.ts';
import type { SessionEpochs } from './api/auth/session.ts';
import type { ChunkPlacement } from './execution/placement.ts';
import { ThreadPlacement } from './execution/threads.ts';
import { loggerFor } from './logging.ts';
import { checkFunctionUrl, parseFunctionUrlPolicy } from './operations/lambda/function-url-policy.ts';
import { engineConfigFrom, engineFilePorts } from './server/engine-config.ts';
import { buildHttpApp } from './server/http-app.ts';
import { withReleasers } from './server/releasers.ts';
import { createServerProfiles, type ServerProfiles } from './server/server-profiles.ts';
import { jobView } from './api/rest/job-view.ts';
import { Notifier } from './notify/notifier.ts';
import { checkWebhookUrl } from './notify/webhook-url-policy.ts';
import { isFunctionUrlAllowed } from './operations/lambda/function-url-policy.ts';
import { BatchService } from './service/batch-service.ts';
import { NotificationService } from './service/notification-service.ts';
import {
  fileNotificationPersistence,
  NotificationStore,
  type NotificationPersistence,
} from './storage/notification-store.ts';
import type { JobStore } from './storage/job-store.ts';
import { startLocalS3, type LocalS3 } from './storage/local-s3.ts';
import { LowdbJobStore } from './storage/lowdb-job-store.ts';
import { loadOrCreateSecret } from './storage/secret-file.ts';
import { DEFAULT_PROFILE, profileNameFor } from './storage/storage-profiles.ts';

export interface RunningServer {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly engine: Engine;
  readonly service: BatchService;
  readonly localS3?: LocalS3 | undefined;
  /** The S3 endpoint the engine works on. */
  readonly s3Endpoint?: string | undefined;
  /** The S3 Control API key pair s3batch generated because none is configured (to show the user). */
  readonly generatedApiKey?: GeneratedAccessKey | undefined;
  close(): Promise<void>;
}

/**
 * What the scale-out mode (server/scale-out.ts) puts in place of the parts that live under the data
 * folder and in this process: the job store, the engine's files, where tasks run, the secrets.
 */
export interface StateParts {
  readonly store: JobStore;
  readonly files: Pick<
    EngineDeps,
    'spool' | 'chunkIndex' | 'removeChunkIndex' | 'localManifest' | 'removeLocalManifest'
  >;
  /** Where tasks run; undefined: in the engine's thread (`--workers 0`). */
  readonly placement?: ChunkPlacement | undefined;
  /** Keys of ListJobs page tokens and of web sessions: the same on every instance that may lead. */
  readonly pageTokenKey: Buffer;
  readonly sessionKey: Buffer;
  /** Web sessions' nonces (sign-out); default: `<dataDir>/session-epochs.json`. */
  readonly sessionEpochs?: SessionEpochs | undefined;
  /** Scale-out mode: this instance leads (`/healthz` says so). */
  readonly leader?: boolean | undefined;
  /** Runs right before the server listens (the scale-out mode closes its standby proxy on the same port). */
  beforeListen?(): Promise<void>;
  /** Tasks by worker name for /metrics. */
  workerTasks?(): ReadonlyMap<string, { readonly succeeded: number; readonly failed: number }>;
  /** Where webhook notifications keep their state; default files under `<dataDir>/notifications/`. */
  readonly notifications?: NotificationPersistence | undefined;
}

/** Builds the StateParts once the storage profiles exist; registers its releases with `add`. */
export type StatePartsFactory = (ctx: {
  readonly profiles: ServerProfiles['profiles'];
  add(name: string, release: () => Promise<void> | void): void;
}) => Promise<StateParts>;

/** The bucket a newcomer can use right away on the embedded S3. */
export const LOCAL_DEMO_BUCKET = 's3batch-demo';

async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await client.send(new CreateBucketCommand({ Bucket: bucket })).catch((err: unknown) => {
      // Another server starting on the same data folder made it in between: fine.
      const name = (err as { name?: string } | null)?.name;
      if (name !== 'BucketAlreadyExists' && name !== 'BucketAlreadyOwnedByYou') throw err;
    });
  }
}

/**
 * `logger`: where the app and the engine log (src/logging.ts); default: the one config asks for.
 * `state`: the scale-out mode's parts (server/scale-out.ts); default: lowdb and files under the data folder.
 */
export async function startServer(
  config: Config,
  logger: Logger = loggerFor(config),
  state?: StatePartsFactory,
): Promise<RunningServer> {
  return withReleasers(
    async (releasers) => {
      // Keys first: a bad keys file is a configuration error before anything starts.
      const apiKeys = await resolveApiAccessKeys(config);
      const functionUrls = parseFunctionUrlPolicy(config.functionUrls);
      let localS3: LocalS3 | undefined;
      if (config.local) {
        const started = await startLocalS3({
          directory: join(config.dataDir, 'local-s3'),
          keysFile: join(config.dataDir, 'local-s3-keys.json'),
          host: '127.0.0.1',
          port: config.localS3Port,
        });
        releasers.add('embedded S3', () => started.stop());
        localS3 = started;
      }
      const storage: StorageConfig = localS3
        ? {
            ...config.storage,
            endpoint: localS3.endpoint,
            accessKeyId: localS3.keys.accessKeyId,
            secretAccessKey: localS3.keys.secretAccessKey,
            forcePathStyle: true,
          }
        : config.storage;
      const { storageProfiles, functions, profiles } = createServerProfiles(config, storage);
      releasers.add('function invoker', () => functions.close?.());
      releasers.add('S3 clients', () => profiles.close());
      if (localS3) await ensureBucket(profiles.named(DEFAULT_PROFILE).control, LOCAL_DEMO_BUCKET);
      const parts = state
        ? await state({ profiles, add: (name, release) => releasers.add(name, release) })
        : await singleProcessParts(config, storage, logger, (name, release) => releasers.add(name, release));
      const { store, placement } = parts;
      const engine = new Engine(engineConfigFrom(config), {
        store,
        ...parts.files,
        profileFor: (roleArn) => profiles.forRoleArn(roleArn),
        now: () => new Date(),
        sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : undefined).catch(() => undefined),
        log: logger,
        placement,
      });
      // Stops a started engine; on one that never started, it only flushes the records.
      releasers.add('engine', () => engine.stop());
      const service = new BatchService(engine, {
        region: storage.region,
        partition: config.partition,
        confirmationRequiredByDefault: config.confirmationRequiredByDefault,
        now: () => new Date(),
        checkRoleArn: (roleArn) => void profileNameFor(storageProfiles, roleArn),
        checkAccess: (roleArn, targets) =>
          checkAccess(profiles.named(profileNameFor(storageProfiles, roleArn)).control, targets),
        checkFunctionUrl: (url) => checkFunctionUrl(functionUrls, url),
        checkNotifyUrl: (url, where) => checkWebhookUrl(functionUrls, url, where),
        createJobRate: { perSecond: config.createJobRatePerSecond, burst: 5 * config.createJobRatePerSecond },
        tokenKey: parts.pageTokenKey,
      });
      // Webhooks (docs/notifications.md): the outbox and logs under the data folder (or in Redis); sent from this process.
      const notificationState =
        parts.notifications ?? fileNotificationPersistence(join(config.dataDir, 'notifications'));
      const notificationStore = await NotificationStore.open(notificationState, (err) =>
        logger.error({ err }, `${notificationState.name} cannot be written (retried at the next change)`),
      );
      releasers.add('notification store', () => notificationStore.close());
      const notifier = new Notifier({
        store: notificationStore,
        events: engine.events,
        jobOf: (id) => engine.records.get(id),
        viewOf: (account, id) => jobView(service, account, id),
        allowed: (url) => isFunctionUrlAllowed(functionUrls, url),
        retry: {
          baseDelayMs: config.notifyRetryBaseMs,
          maxDelayMs: config.notifyRetryMaxMs,
          maxAgeMs: config.notifyMaxAgeSeconds * 1000,
        },
        timeoutMs: config.notifyTimeoutSeconds * 1000,
        concurrency: 8,
        now: () => new Date(),
        log: logger,
      });
      // Before the engine starts: the status changes of jobs it resumes are sent too.
      notifier.start();
      releasers.add('notifier', () => notifier.stop());
      const notifications = new NotificationService(notificationStore, service, (url, where) =>
        checkWebhookUrl(functionUrls, url, where),
      );
      const app = await buildHttpApp({
        config,
        logger,
        service,
        notifications,
        engine,
        apiKeys,
        profileFor: (roleArn) => profiles.forRoleArn(roleArn),
        workerThreads: placement instanceof ThreadPlacement ? () => placement.running : undefined,
        workerTasks: parts.workerTasks,
        sessionKey: parts.sessionKey,
        sessionEpochs: parts.sessionEpochs,
        leader: parts.leader,
      });
      releasers.add('HTTP app', () => app.close());
      await engine.start();
      if (parts.beforeListen) {
        // Plugins load before the port changes hands, so that it is refused for the least time.
        await app.ready();
        await parts.beforeListen();
      }
      const url = await listen(app, config);
      return {
        url,
        app,
        engine,
        service,
        localS3,
        s3Endpoint: storage.endpoint,
        generatedApiKey: apiKeys.generated,
        close: () => releasers.release(),
      };
    },
    (err) => logger.warn({ err }, `cleaning up after the failed start: ${(err as Error).message}`),
  );
}

/** One process: lowdb under the data folder, the engine's files there, tasks in worker threads. */
async function singleProcessParts(
  config: Config,
  storage: StorageConfig,
  logger: Logger,
  add: (name: string, release: () => Promise<void> | void) => void,
): Promise<StateParts> {
  const storeFile = join(config.dataDir, 'jobs.json');
  const store = await LowdbJobStore.open(storeFile, {
    onOpen: (message) => logger.warn({}, message),
    onWriteError: (err) =>
      logger.error(
        { err },
        `the job store ${storeFile} cannot be written (retried at the next change): ${(err as Error).message}`,
      ),
  });
  add('job store', () => store.close());
  // Tasks run in worker threads (execution/threads.ts) unless --workers 0 keeps them in this one.
  const placement =
    config.workers > 0
      ? new ThreadPlacement({ threads: config.workers, data: { config, storage }, spreadBusy: config.workerSpreadBusy })
      : undefined;
  if (placement) add('chunk worker threads', () => placement.close());
  return {
    store,
    files: engineFilePorts(config.dataDir),
    placement,
    pageTokenKey: await loadOrCreateSecret(join(config.dataDir, 'page-token.key')),
    sessionKey: await loadOrCreateSecret(join(config.dataDir, 'session.key')),
  };
}

/** Listens on the configured address; a port already in use is a configuration error. */
async function listen(app: FastifyInstance, config: Config): Promise<string> {
  try {
    return await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new S3BatchError(
        'InvalidConfiguration',
        `Port ${config.port} on ${config.host} is already in use: choose another with --port or S3BATCH_PORT`,
        { cause: err },
      );
    }
    throw err;
  }
}
