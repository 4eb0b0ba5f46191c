/**
 * The ports of `s3batch worker`'s chunks (worker-run.ts): where results and task lists live.
 */
import type { Redis } from 'ioredis';
import type { Config } from '../../config.ts';
import type { RunningRequests, WorkerPorts } from '../../execution/bullmq/worker.ts';
import type { StorageProfileRegistry } from '../../server/storage-profile-registry.ts';

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
