/**
 * S3PutObjectLegalHold (docs/operations.md#put-object-legal-hold): PutObjectLegalHold per object (the manifest's
 * version, or the current one), Status ON places a hold, OFF removes it.
 *
 * AWS's job-level Object Lock pre-check (docs/operations.md#put-object-legal-hold) is not done here (prepare() does not
 * know the manifest's bucket): on a bucket without Object Lock every task fails with the store's answer
 * (Ceph RGW 16: 400 InvalidRequest "object legal hold can't be set if bucket object lock not
 * enabled").
 */
import { succeeded } from '../domain/task.ts';
import { taskS3Of } from '../storage/lean-s3/task-s3.ts';
import { fieldsOf, invalid, isAbsent, onVersion, optEnum } from './member-fields.ts';
import type { OperationHandler } from './operation.ts';
import { failureOutcome, rethrowIfOwnAbort, versionIdOf } from './task-outcomes.ts';

export interface PutObjectLegalHoldConfig {
  readonly status: 'ON' | 'OFF';
}

const F = 'S3PutObjectLegalHold';

export const s3PutObjectLegalHold: OperationHandler<PutObjectLegalHoldConfig> = {
  name: 'S3PutObjectLegalHold',

  parse(member: unknown): PutObjectLegalHoldConfig {
    const m = fieldsOf(member, F, ['LegalHold']);
    if (isAbsent(m.LegalHold)) throw invalid(`${F}.LegalHold is required ({Status: ON|OFF})`);
    const hold = fieldsOf(m.LegalHold, `${F}.LegalHold`, ['Status']);
    const status = optEnum(hold.Status, ['ON', 'OFF'] as const, `${F}.LegalHold.Status`);
    if (status === undefined) throw invalid(`${F}.LegalHold.Status is required (ON or OFF)`);
    return Object.freeze({ status });
  },

  describe(config, entry) {
    return `S3PutObjectLegalHold: set the legal hold ${config.status}${onVersion(entry)}`;
  },

  async attempt(config, entry, ctx, signal) {
    try {
      await taskS3Of(ctx.s3).putObjectLegalHold(
        { Bucket: entry.bucket, Key: entry.key, VersionId: versionIdOf(entry), LegalHold: { Status: config.status } },
        signal,
      );
      return { result: succeeded(entry), retryable: false };
    } catch (err) {
      rethrowIfOwnAbort(err, signal);
      return failureOutcome(entry, err);
    }
  },
};
