/**
 * The server's HTTP application: the fastify app of api/app.ts with its authentication (one set of
 * access keys for the S3 Control API and the JSON API) and report downloads wired in. It does not
 * listen; startServer (main.ts) does.
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from '../api/app.ts';
import type { ResolvedAccessKeys } from '../api/auth/access-keys.ts';
import { createApiAuth } from '../api/auth/api-auth.ts';
import { createAuthLimiter } from '../api/auth/auth-limiter.ts';
import {
  SESSION_EPOCHS_FILE,
  type SessionEpochs,
  createSessionTokens,
  loadSessionEpochs,
} from '../api/auth/session.ts';
import { createSigV4Verifier } from '../api/auth/sigv4-verifier.ts';
import type { Config } from '../config.ts';
import type { Engine } from '../engine/engine.ts';
import type { StorageProfile } from '../engine/storage-profile.ts';
import type { BatchService } from '../service/batch-service.ts';
import { RetryFailed } from '../service/retry-failed.ts';
import { ReportFiles } from '../service/report-files.ts';
import { loadOrCreateSecret } from '../storage/secret-file.ts';

export interface HttpAppParts {
  readonly config: Config;
  /** Where the app logs (src/logging.ts): the server's one logger. */
  readonly logger: Logger;
  readonly service: BatchService;
  readonly engine: Engine;
  readonly apiKeys: ResolvedAccessKeys;
  /** The storage profile a job's RoleArn selects (report downloads read through it). */
  profileFor(roleArn: string): StorageProfile;
  /** Worker threads running now (`--workers` > 0), for /metrics. */
  workerThreads?(): number;
  /** Scale-out mode: tasks by `s3batch worker` name, for /metrics. */
  workerTasks?(): ReadonlyMap<string, { readonly succeeded: number; readonly failed: number }>;
  /** Scale-out mode: this instance leads (its `/healthz` says so). */
  readonly leader?: boolean | undefined;
  /** The web sessions' nonces (default: `<dataDir>/session-epochs.json`). */
  readonly sessionEpochs?: SessionEpochs | undefined;
  /** The key of web session tokens (default: `<dataDir>/session.key`). */
  readonly sessionKey?: Buffer | undefined;
}

export async function buildHttpApp(parts: HttpAppParts): Promise<FastifyInstance> {
  const { config, service, engine, apiKeys } = parts;
  // The S3 Control API and the JSON API accept the same access keys.
  // One limit on failed authentication for every way in (auth-limiter.ts).
  const limiter = createAuthLimiter({
    maxPerClient: config.maxFailedAuth,
    maxPerKey: config.maxFailedAuth,
    isKnownKey: (id) => apiKeys.store.get(id) !== undefined,
    onKeyCeiling: (accessKeyId) =>
      parts.logger.warn(
        { accessKeyId },
        'failed authentications with one access key from many addresses passed the ceiling: further failures get 429',
      ),
  });
  const verifier = createSigV4Verifier({
    keys: apiKeys.store,
    allowUnsignedPayload: config.allowUnsignedPayload,
    limiter,
  });
  return buildApp({
    service,
    events: engine.events,
    jobStatusCounts: () => engine.records.statusCounts(),
    workerThreads: parts.workerThreads,
    workerTasks: parts.workerTasks,
    leader: parts.leader,
    sseHeartbeatMs: config.sseHeartbeatSeconds * 1000,
    logger: parts.logger,
    trustProxy: config.trustProxy,
    requestTimeoutMs: config.requestTimeoutSeconds * 1000,
    verifier,
    apiAuth: createApiAuth({
      keys: apiKeys.store,
      verifier,
      limiter,
      sessions: createSessionTokens({
        key: parts.sessionKey ?? (await loadOrCreateSecret(join(config.dataDir, 'session.key'))),
        keys: apiKeys.store,
        // Sign-out ends a key's sessions on the server, also across restarts.
        epochs: parts.sessionEpochs ?? (await loadSessionEpochs(join(config.dataDir, SESSION_EPOCHS_FILE))),
      }),
    }),
    // Report downloads read the report bucket through the job's own storage profile.
    reports: new ReportFiles({
      getJob: (account, id) => service.getJob(account, id),
      objectsFor: (roleArn) => parts.profileFor(roleArn).objects,
    }),
    // Retries read the report and write their manifest through the job's own storage profile too.
    retries: new RetryFailed({ service, objectsFor: (roleArn) => parts.profileFor(roleArn).objects }),
  });
}
