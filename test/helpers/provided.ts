// What test/setup/global-setup.ts provides to the integration tests, and how tests get at it:
//
//   import { requireCeph, requireS3rver } from '../helpers/provided.ts';
//   const ceph = requireCeph();          // S3ServerInfo, or throws "Ceph RGW is not available: <reason>"
//   const client = makeS3Client(ceph);   // from ./s3-servers.ts
//
// or directly: inject('ceph') (null when Ceph could not start; the reason is inject('cephUnavailableReason')),
// inject('s3rver'). Both servers run once for the whole integration run, so tests create their own
// buckets (createTestBucket) and never assume an empty server.
import { inject } from 'vitest';
import type { S3ServerInfo } from './s3-servers.ts';

export type { S3ServerInfo };

declare module 'vitest' {
  export interface ProvidedContext {
    /** Ceph RGW, or null when it could not start (only outside CI; in CI the run fails instead). */
    ceph: S3ServerInfo | null;
    /** Why ceph is null; null when it is running. */
    cephUnavailableReason: string | null;
    /** s3rver (the embedded emulator); always running during the integration run. */
    s3rver: S3ServerInfo;
  }
}

const NO_SETUP = 'the integration global setup did not run (run this test in the `integration` vitest project)';

/** Ceph RGW's connection info. Throws (the test fails, it is never skipped) when Ceph is not running. */
export function requireCeph(): S3ServerInfo {
  const ceph = inject('ceph');
  if (!ceph) {
    const reason = ceph === undefined ? NO_SETUP : (inject('cephUnavailableReason') ?? 'unknown reason');
    throw new Error(`Ceph RGW is not available: ${reason}`);
  }
  return ceph;
}

/** s3rver's connection info. Throws when the global setup did not run. */
export function requireS3rver(): S3ServerInfo {
  const s3rver = inject('s3rver');
  if (!s3rver) throw new Error(`s3rver is not available: ${NO_SETUP}`);
  return s3rver;
}

/** The server by name: requireCeph() or requireS3rver(). Handy with describe.each(['ceph', 's3rver']). */
export function requireServer(name: S3ServerInfo['name']): S3ServerInfo {
  return name === 'ceph' ? requireCeph() : requireS3rver();
}
