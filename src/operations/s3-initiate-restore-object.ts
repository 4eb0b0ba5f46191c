/**
 * S3InitiateRestoreObject (docs/operations.md#initiate-restore-object): RestoreObject per object. The task succeeds
 * once the restore is initiated (202) or the object is already restored (200), reported as 200; the job
 * never waits for the data.
 *
 * ExpirationInDays 0 is treated as absent (no Days: the Intelligent-Tiering form); the store
 * decides. GlacierJobTier BULK/STANDARD maps onto the S3 tiers Bulk/Standard.
 *
 * Stores without archive tiers refuse: Ceph RGW 16 answers 501 NotImplemented for every
 * RestoreObject (even for a missing key). That fails the task once, permanently (501 is not
 * retried), with the store's code and message.
 */
import type { Tier } from '@aws-sdk/client-s3';
import { succeeded } from '../domain/task.ts';
import { taskS3Of } from '../storage/lean-s3/task-s3.ts';
import { fieldsOf, onVersion, optEnum, optInt } from './member-fields.ts';
import type { OperationHandler } from './operation.ts';
import { failureOutcome, rethrowIfOwnAbort, versionIdOf } from './task-outcomes.ts';

export interface InitiateRestoreConfig {
  /** Undefined when absent or 0: no Days in the request. */
  readonly days: number | undefined;
  readonly tier: Tier | undefined;
}

const F = 'S3InitiateRestoreObject';
const TIERS = { BULK: 'Bulk', STANDARD: 'Standard' } as const satisfies Record<string, Tier>;

export const s3InitiateRestoreObject: OperationHandler<InitiateRestoreConfig> = {
  name: 'S3InitiateRestoreObject',

  parse(member: unknown): InitiateRestoreConfig {
    const m = fieldsOf(member, F, ['ExpirationInDays', 'GlacierJobTier']);
    const days = optInt(m.ExpirationInDays, `${F}.ExpirationInDays`, 0, 2_147_483_647);
    const tier = optEnum(m.GlacierJobTier, ['BULK', 'STANDARD'] as const, `${F}.GlacierJobTier`);
    return Object.freeze({ days: days === 0 ? undefined : days, tier: tier === undefined ? undefined : TIERS[tier] });
  },

  describe(config, entry) {
    const days =
      config.days === undefined ? 'without ExpirationInDays' : `for ${config.days} day${config.days === 1 ? '' : 's'}`;
    return `S3InitiateRestoreObject: initiate a restore ${days}${config.tier === undefined ? '' : ` (tier ${config.tier})`}${onVersion(entry)}`;
  },

  async attempt(config, entry, ctx, signal) {
    try {
      await taskS3Of(ctx.s3).restoreObject(
        {
          Bucket: entry.bucket,
          Key: entry.key,
          VersionId: versionIdOf(entry),
          RestoreRequest: {
            ...(config.days === undefined ? {} : { Days: config.days }),
            ...(config.tier === undefined ? {} : { GlacierJobParameters: { Tier: config.tier } }),
          },
        },
        signal,
      );
      return { result: succeeded(entry), retryable: false };
    } catch (err) {
      rethrowIfOwnAbort(err, signal);
      return failureOutcome(entry, err);
    }
  },
};
