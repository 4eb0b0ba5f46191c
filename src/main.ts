/**
 * The composition root: config → adapters (store, spool, S3 clients, embedded S3) → engine →
 * service → HTTP app. Nothing else wires concrete implementations together.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { buildApp } from './api/app.ts';
import { resolveApiAccessKeys, type GeneratedAccessKey } from './api/auth/access-keys.ts';
import { createApiAuth } from './api/auth/api-auth.ts';
import { createSessionTokens } from './api/auth/session.ts';
import { createSigV4Verifier } from './api/auth/sigv4-verifier.ts';
import type { Config } from './config.ts';
import { S3BatchError } from './domain/errors.ts';
import { Engine, type StorageProfile } from './engine/engine.ts';
import { DEFAULT_RETRY_POLICY } from './engine/retry.ts';
import { createFunctionInvoker } from './operations/lambda/function-invoker.ts';
import {
  checkFunctionUrl,
  isFunctionUrlAllowed,
  parseFunctionUrlPolicy,
} from './operations/lambda/function-url-policy.ts';
import { BatchService } from './service/batch-service.ts';
import { ReportFiles } from './service/report-files.ts';
import { createFsChunkIndex } from './storage/fs-chunk-index.ts';
import { createFsLocalManifestFiles, removeFsLocalManifestFiles } from './storage/fs-local-manifest.ts';
import { createFsSpool } from './storage/fs-spool.ts';
import { startLocalS3, LOCAL_S3_ACCESS_KEY, LOCAL_S3_SECRET_KEY, type LocalS3 } from './storage/local-s3.ts';
import { LowdbJobStore } from './storage/lowdb-job-store.ts';
import { createControlS3Client, createS3Client } from './storage/s3-clients.ts';
import { createS3ObjectStore } from './storage/s3-object-store.ts';
import { loadOrCreateSecret } from './storage/secret-file.ts';
import {
  DEFAULT_PROFILE,
  loadStorageProfiles,
  profileNameFor,
  replicationRulesFor,
} from './storage/storage-profiles.ts';

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

const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

function makeLogger(level: Config['logLevel']): (l: 'info' | 'warn' | 'error', message: string) => void {
  const min = LEVELS.indexOf(level);
  return (l, message) => {
    if (LEVELS.indexOf(l) < min) return;
    process.stderr.write(`${new Date().toISOString()} ${l.toUpperCase()} ${message}\n`);
  };
}

/** The bucket a newcomer can use right away on the embedded S3. */
export const LOCAL_DEMO_BUCKET = 's3batch-demo';

async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

export async function startServer(config: Config): Promise<RunningServer> {
  const log = makeLogger(config.logLevel);
  // Keys first: a bad keys file is a configuration error before anything starts.
  const apiKeys = await resolveApiAccessKeys(config);
  const functionUrls = parseFunctionUrlPolicy(config.functionUrls);
  let localS3: LocalS3 | undefined;
  let storage = config.storage;
  if (config.local) {
    localS3 = await startLocalS3({
      directory: join(config.dataDir, 'local-s3'),
      host: '127.0.0.1',
      port: config.localS3Port,
    });
    storage = {
      ...storage,
      endpoint: localS3.endpoint,
      accessKeyId: LOCAL_S3_ACCESS_KEY,
      secretAccessKey: LOCAL_S3_SECRET_KEY,
      forcePathStyle: true,
    };
  }
  const clientProfile = {
    endpoint: storage.endpoint,
    region: storage.region,
    accessKeyId: storage.accessKeyId,
    secretAccessKey: storage.secretAccessKey,
    forcePathStyle: storage.forcePathStyle,
  };
  const storageProfiles = loadStorageProfiles(config.storageProfilesFile, clientProfile);
  // LambdaInvoke's functions: one invoker for every profile (Lambda keys default to the S3 ones).
  const functions = createFunctionInvoker({
    lambda: {
      endpoint: config.lambdaEndpoint,
      region: config.lambdaRegion ?? storage.region,
      accessKeyId: config.lambdaAccessKeyId ?? storage.accessKeyId,
      secretAccessKey: config.lambdaSecretAccessKey ?? storage.secretAccessKey,
      maxSockets: Math.max(64, config.maxConcurrentTasks),
    },
    http: {
      timeoutMs: config.functionTimeoutSeconds * 1000,
      maxSockets: Math.max(64, config.maxConcurrentTasks),
      allowed: (url) => isFunctionUrlAllowed(functionUrls, url),
    },
  });
  // Clients per storage profile, made when a job first needs them. Task calls are retried by the
  // engine (with its own policy); manifest and report I/O by the SDK.
  const clients: S3Client[] = [];
  const built = new Map<string, StorageProfile & { readonly control: S3Client }>();
  const profileNamed = (name: string): StorageProfile & { readonly control: S3Client } => {
    let profile = built.get(name);
    if (profile) return profile;
    const endpoint = storageProfiles.profiles.get(name);
    if (!endpoint) throw new S3BatchError('InvalidRequest', `No storage profile named ${name}`);
    const taskClient = createS3Client({ ...endpoint, maxSockets: Math.max(64, config.maxConcurrentTasks) });
    const controlClient = createControlS3Client(endpoint);
    clients.push(taskClient, controlClient);
    profile = {
      control: controlClient,
      objects: createS3ObjectStore(controlClient),
      operations: {
        s3: taskClient,
        multipartCopyThresholdBytes: config.multipartCopyThresholdBytes,
        multipartCopyPartBytes: config.multipartCopyPartBytes,
        lambda: functions,
        ...(storageProfiles.replication.length > 0
          ? {
              replicationTargets: (bucket: string, key: string) =>
                replicationRulesFor(storageProfiles, name, bucket, key).map((r) => ({
                  profile: r.destinationProfile,
                  bucket: r.destinationBucket,
                  storageClass: r.storageClass,
                  s3: profileNamed(r.destinationProfile).operations.s3,
                })),
            }
          : {}),
      },
    };
    built.set(name, profile);
    return profile;
  };
  const profileFor = (roleArn: string): StorageProfile => profileNamed(profileNameFor(storageProfiles, roleArn));
  if (localS3) await ensureBucket(profileNamed(DEFAULT_PROFILE).control, LOCAL_DEMO_BUCKET);
  const storeFile = join(config.dataDir, 'jobs.json');
  const store = await LowdbJobStore.open(storeFile, {
    onWriteError: (err) =>
      log(
        'error',
        `the job store ${storeFile} cannot be written (retried at the next change): ${(err as Error).message}`,
      ),
  });
  const chunkDir = join(config.dataDir, 'chunks');
  const engine = new Engine(
    {
      maxConcurrentTasks: config.maxConcurrentTasks,
      jobConcurrency: config.jobConcurrency,
      chunkSize: config.chunkSize,
      maxTasksPerJob: config.maxTasksPerJob,
      prepareConcurrency: 2,
      retry: { ...DEFAULT_RETRY_POLICY, maxAttempts: config.retryMaxAttempts },
      progressIntervalMs: 250,
      suspendedTimeoutMs: config.suspendedTimeoutDays * 86_400_000,
      jobRetentionMs: Math.round(config.jobRetentionDays * 86_400_000),
    },
    {
      store,
      spool: createFsSpool(join(config.dataDir, 'spool')),
      chunkIndex: (jobId) => createFsChunkIndex(join(chunkDir, `${jobId}.idx`)),
      removeChunkIndex: (jobId) => rm(join(chunkDir, `${jobId}.idx`), { force: true }),
      localManifest: (jobId) => createFsLocalManifestFiles(join(config.dataDir, 'tasks'), jobId),
      removeLocalManifest: (jobId) => removeFsLocalManifestFiles(join(config.dataDir, 'tasks'), jobId),
      profileFor,
      now: () => new Date(),
      sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : undefined).catch(() => undefined),
      log,
    },
  );
  const service = new BatchService(engine, {
    region: storage.region,
    partition: config.partition,
    confirmationRequiredByDefault: config.confirmationRequiredByDefault,
    now: () => new Date(),
    checkRoleArn: (roleArn) => void profileNameFor(storageProfiles, roleArn),
    checkFunctionUrl: (url) => checkFunctionUrl(functionUrls, url),
    createJobRate: { perSecond: config.createJobRatePerSecond, burst: 5 * config.createJobRatePerSecond },
    tokenKey: await loadOrCreateSecret(join(config.dataDir, 'page-token.key')),
  });
  // The S3 Control API and the JSON API accept the same access keys.
  const verifier = createSigV4Verifier({ keys: apiKeys.store });
  const app = await buildApp({
    service,
    events: engine.events,
    jobStatuses: () => store.list().map((job) => job.status),
    sseHeartbeatMs: config.sseHeartbeatSeconds * 1000,
    logLevel: config.logLevel,
    trustProxy: config.trustProxy,
    verifier,
    apiAuth: createApiAuth({
      keys: apiKeys.store,
      verifier,
      sessions: createSessionTokens({
        key: await loadOrCreateSecret(join(config.dataDir, 'session.key')),
        keys: apiKeys.store,
      }),
    }),
    // Report downloads read the report bucket through the job's own storage profile.
    reports: new ReportFiles({
      getJob: (account, id) => service.getJob(account, id),
      objectsFor: (roleArn) => profileFor(roleArn).objects,
    }),
  });
  await engine.start();
  let address: string;
  try {
    address = await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await engine.stop();
    await store.close();
    await localS3?.stop();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new S3BatchError(
        'InvalidConfiguration',
        `Port ${config.port} on ${config.host} is already in use: choose another with --port or S3BATCH_PORT`,
        { cause: err },
      );
    }
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    url: address,
    app,
    engine,
    service,
    localS3,
    s3Endpoint: storage.endpoint,
    generatedApiKey: apiKeys.generated,
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await engine.stop();
        await store.close();
        for (const client of clients) client.destroy();
        functions.close?.();
        await localS3?.stop();
      })()),
  };
}
