/**
 * The engine's settings, its file ports and its operations' function invoker, from the server's
 * config: what startServer (main.ts) hands the Engine besides the job store, the storage
 * profiles, the clock and the log.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config, StorageConfig } from '../config.ts';
import { daysToMs } from '../domain/job-lifetime.ts';
import type { EngineConfig, EngineDeps } from '../engine/engine.ts';
import { DEFAULT_RETRY_POLICY } from '../engine/retry.ts';
import type { FunctionInvokerOptions } from '../operations/lambda/function-invoker.ts';
import { isFunctionUrlAllowed, type FunctionUrlPolicy } from '../operations/lambda/function-url-policy.ts';
import { createFsChunkIndex } from '../storage/fs-chunk-index.ts';
import { createFsLocalManifestFiles, removeFsLocalManifestFiles } from '../storage/fs-local-manifest.ts';
import { createFsSpool } from '../storage/fs-spool.ts';

/** Manifests prepared at the same time. */
const PREPARE_CONCURRENCY = 2;
/** Minimum interval between two `job:progress` events of one job. */
const PROGRESS_INTERVAL_MS = 250;

export function engineConfigFrom(config: Config): EngineConfig {
  return {
    maxConcurrentTasks: config.maxConcurrentTasks,
    jobConcurrency: config.jobConcurrency,
    chunkSize: config.chunkSize,
    maxTasksPerJob: config.maxTasksPerJob,
    prepareConcurrency: PREPARE_CONCURRENCY,
    retry: { ...DEFAULT_RETRY_POLICY, maxAttempts: config.retryMaxAttempts },
    progressIntervalMs: PROGRESS_INTERVAL_MS,
    suspendedTimeoutMs: daysToMs(config.suspendedTimeoutDays),
    jobRetentionMs: daysToMs(config.jobRetentionDays),
  };
}

/** The files of running jobs under the data folder: result spools, chunk indices, local task lists. */
export function engineFilePorts(
  dataDir: string,
): Pick<EngineDeps, 'spool' | 'chunkIndex' | 'removeChunkIndex' | 'localManifest' | 'removeLocalManifest'> {
  const chunkDir = join(dataDir, 'chunks');
  const taskDir = join(dataDir, 'tasks');
  return {
    spool: createFsSpool(join(dataDir, 'spool')),
    chunkIndex: (jobId) => createFsChunkIndex(join(chunkDir, `${jobId}.idx`)),
    removeChunkIndex: (jobId) => rm(join(chunkDir, `${jobId}.idx`), { force: true }),
    localManifest: (jobId) => createFsLocalManifestFiles(taskDir, jobId),
    removeLocalManifest: (jobId) => removeFsLocalManifestFiles(taskDir, jobId),
  };
}

/** Keep-alive sockets of each task client and of the function invoker: enough for every task slot. */
export function taskMaxSockets(config: Config): number {
  return Math.max(64, config.maxConcurrentTasks);
}

/** LambdaInvoke's functions, one invoker for every profile; the Lambda keys default to the S3 ones. */
export function functionInvokerOptions(
  config: Config,
  storage: StorageConfig,
  functionUrls: FunctionUrlPolicy,
): FunctionInvokerOptions {
  return {
    lambda: {
      endpoint: config.lambdaEndpoint,
      region: config.lambdaRegion ?? storage.region,
      accessKeyId: config.lambdaAccessKeyId ?? storage.accessKeyId,
      secretAccessKey: config.lambdaSecretAccessKey ?? storage.secretAccessKey,
      maxSockets: taskMaxSockets(config),
    },
    http: {
      timeoutMs: config.functionTimeoutSeconds * 1000,
      maxSockets: taskMaxSockets(config),
      allowed: (url) => isFunctionUrlAllowed(functionUrls, url),
    },
  };
}
