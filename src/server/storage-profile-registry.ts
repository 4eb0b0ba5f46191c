/**
 * The storage profiles of a running server: for each profile (storage/storage-profiles.ts), its
 * S3 clients, made when a job first needs them, and what the engine gets from them
 * (StorageProfile). Task calls go through a task client, which makes one attempt per call (the
 * engine retries them with its own policy); manifest and report I/O through a control client,
 * retried by the SDK. `close()` destroys every client made so far.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { S3BatchError } from '../domain/errors.ts';
import type { StorageProfile } from '../engine/storage-profile.ts';
import type { LambdaInvoker } from '../operations/lambda/invoker.ts';
import { createControlS3Client, createS3Client } from '../storage/s3-clients.ts';
import { createS3ObjectStore } from '../storage/s3-object-store.ts';
import { profileNameFor, replicationRulesFor, type StorageProfiles } from '../storage/storage-profiles.ts';

/** A profile as the server holds it: the engine's view plus its control client. */
export interface ProfileClients extends StorageProfile {
  readonly control: S3Client;
}

export interface StorageProfileRegistryOptions {
  readonly profiles: StorageProfiles;
  /** Keep-alive sockets of each task client. */
  readonly maxSockets: number;
  readonly multipartCopyThresholdBytes: number;
  readonly multipartCopyPartBytes: number;
  /** LambdaInvoke's functions: one invoker for every profile. */
  readonly lambda: LambdaInvoker;
}

export interface StorageProfileRegistry {
  /** The profile of that name; InvalidRequest when there is none. */
  named(name: string): ProfileClients;
  /** The profile a job's RoleArn selects; InvalidRequest when it selects none. */
  forRoleArn(roleArn: string): StorageProfile;
  /** Destroys every client made so far. */
  close(): void;
}

export function createStorageProfileRegistry(options: StorageProfileRegistryOptions): StorageProfileRegistry {
  const { profiles } = options;
  const clients: S3Client[] = [];
  const built = new Map<string, ProfileClients>();
  const named = (name: string): ProfileClients => {
    let profile = built.get(name);
    if (profile) return profile;
    const endpoint = profiles.profiles.get(name);
    if (!endpoint) throw new S3BatchError('InvalidRequest', `No storage profile named ${name}`);
    const taskClient = createS3Client({ ...endpoint, maxSockets: options.maxSockets });
    const controlClient = createControlS3Client(endpoint);
    clients.push(taskClient, controlClient);
    profile = {
      control: controlClient,
      objects: createS3ObjectStore(controlClient),
      operations: {
        s3: taskClient,
        multipartCopyThresholdBytes: options.multipartCopyThresholdBytes,
        multipartCopyPartBytes: options.multipartCopyPartBytes,
        lambda: options.lambda,
        ...(profiles.replication.length > 0
          ? {
              replicationTargets: (bucket: string, key: string) =>
                replicationRulesFor(profiles, name, bucket, key).map((r) => ({
                  profile: r.destinationProfile,
                  bucket: r.destinationBucket,
                  storageClass: r.storageClass,
                  s3: named(r.destinationProfile).operations.s3,
                })),
            }
          : {}),
      },
    };
    built.set(name, profile);
    return profile;
  };
  return {
    named,
    forRoleArn: (roleArn) => named(profileNameFor(profiles, roleArn)),
    close: () => {
      for (const client of clients.splice(0)) client.destroy();
    },
  };
}
