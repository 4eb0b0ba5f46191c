/**
 * The storage profiles of a server with their S3 clients and the function invoker, from the
 * server's config: what the composition root (main.ts) builds for the engine and what each chunk
 * worker thread (execution/thread-entry.ts) builds for itself, the same way, so the operations
 * get the same context wherever their tasks run.
 */
import type { Config, StorageConfig } from '../config.ts';
import { createFunctionInvoker } from '../operations/lambda/function-invoker.ts';
import type { LambdaInvoker } from '../operations/lambda/invoker.ts';
import { parseFunctionUrlPolicy } from '../operations/lambda/function-url-policy.ts';
import { loadStorageProfiles, type StorageProfiles } from '../storage/storage-profiles.ts';
import { functionInvokerOptions, taskMaxSockets } from './engine-config.ts';
import { createStorageProfileRegistry, type StorageProfileRegistry } from './storage-profile-registry.ts';

export interface ServerProfiles {
  readonly storageProfiles: StorageProfiles;
  readonly functions: LambdaInvoker;
  readonly profiles: StorageProfileRegistry;
}

/** `storage`: the server's own endpoint (the embedded S3's with --local). */
export function createServerProfiles(config: Config, storage: StorageConfig): ServerProfiles {
  const storageProfiles = loadStorageProfiles(config.storageProfilesFile, {
    endpoint: storage.endpoint,
    region: storage.region,
    accessKeyId: storage.accessKeyId,
    secretAccessKey: storage.secretAccessKey,
    forcePathStyle: storage.forcePathStyle,
  });
  const functions = createFunctionInvoker(
    functionInvokerOptions(config, storage, parseFunctionUrlPolicy(config.functionUrls)),
  );
  const profiles = createStorageProfileRegistry({
    profiles: storageProfiles,
    maxSockets: taskMaxSockets(config),
    multipartCopyThresholdBytes: config.multipartCopyThresholdBytes,
    multipartCopyPartBytes: config.multipartCopyPartBytes,
    lambda: functions,
  });
  return { storageProfiles, functions, profiles };
}
