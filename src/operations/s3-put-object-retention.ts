/**
 * S3PutObjectRetention (docs/operations.md#put-object-retention): PutObjectRetention per object (the manifest's
 * version, or the current one). Retention is required; Mode and RetainUntilDate come together, and the date must
 * be in the future when the job is created (checkAtCreate: a job that waited long in Suspended or
 * resumes after a restart is not refused later; the store then answers per task). An empty Retention removes the retention (with BypassGovernanceRetention for
 * GOVERNANCE); BypassGovernanceRetention also allows shortening a GOVERNANCE retention.
 *
 * Measured on Ceph RGW 16 (test/integration/operations-more.test.ts): shortening GOVERNANCE
 * without bypass ⇒ 403 AccessDenied; an empty Retention ⇒ 400 MalformedXML (Ceph requires both
 * fields); a bucket without Object Lock ⇒ 400 InvalidRequest. Each is a per-task failure. As for
 * legal hold, AWS's job-level Object Lock pre-check is left to the store's per-task answer.
 */
import type { ObjectLockRetentionMode } from '@aws-sdk/client-s3';
import { succeeded } from '../domain/task.ts';
import { taskS3Of } from '../storage/lean-s3/task-s3.ts';
import { fieldsOf, invalid, isAbsent, onVersion, optBool, optEnum, optTimestamp } from './member-fields.ts';
import type { OperationHandler } from './operation.ts';
import { failureOutcome, rethrowIfOwnAbort, versionIdOf } from './task-outcomes.ts';

export interface PutObjectRetentionConfig {
  /** Both undefined ⇒ remove the retention. */
  readonly mode: ObjectLockRetentionMode | undefined;
  readonly retainUntil: Date | undefined;
  readonly bypassGovernance: boolean;
}

const F = 'S3PutObjectRetention';

export const s3PutObjectRetention: OperationHandler<PutObjectRetentionConfig> = {
  name: 'S3PutObjectRetention',

  parse(member: unknown): PutObjectRetentionConfig {
    const m = fieldsOf(member, F, ['Retention', 'BypassGovernanceRetention']);
    if (isAbsent(m.Retention)) {
      throw invalid(`${F}.Retention is required (Mode and RetainUntilDate, or an empty Retention to remove it)`);
    }
    const r = fieldsOf(m.Retention, `${F}.Retention`, ['Mode', 'RetainUntilDate']);
    const mode = optEnum(r.Mode, ['COMPLIANCE', 'GOVERNANCE'] as const, `${F}.Retention.Mode`);
    const retainUntil = optTimestamp(r.RetainUntilDate, `${F}.Retention.RetainUntilDate`);
    if ((mode === undefined) !== (retainUntil === undefined)) {
      throw invalid(
        `${F}.Retention.Mode and ${F}.Retention.RetainUntilDate must be given together (or neither, to remove the retention)`,
      );
    }
    return Object.freeze({
      mode,
      retainUntil,
      bypassGovernance: optBool(m.BypassGovernanceRetention, `${F}.BypassGovernanceRetention`) ?? false,
    });
  },

  checkAtCreate(config, now) {
    if (config.retainUntil !== undefined && config.retainUntil.getTime() <= now.getTime()) {
      throw invalid(`${F}.Retention.RetainUntilDate ${config.retainUntil.toISOString()} must be in the future`);
    }
  },

  describe(config, entry) {
    const what =
      config.mode === undefined
        ? 'remove the retention'
        : `set ${config.mode} retention until ${config.retainUntil?.toISOString()}`;
    return `S3PutObjectRetention: ${what}${config.bypassGovernance ? ', bypassing governance retention' : ''}${onVersion(entry)}`;
  },

  async attempt(config, entry, ctx, signal) {
    try {
      await taskS3Of(ctx.s3).putObjectRetention(
        {
          Bucket: entry.bucket,
          Key: entry.key,
          VersionId: versionIdOf(entry),
          Retention: config.mode === undefined ? {} : { Mode: config.mode, RetainUntilDate: config.retainUntil },
          ...(config.bypassGovernance ? { BypassGovernanceRetention: true } : {}),
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
