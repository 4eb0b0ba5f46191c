/**
 * S3DeleteObjectTagging (docs/operations.md#delete-object-tagging): removes each object's whole tag set. No fields: the
 * member arrives as `<S3DeleteObjectTagging/>`, i.e. `{}`, `''` or nothing from the XML layer.
 *
 * Stores without DeleteObjectTagging (s3rver answers 501 NotImplemented) fail each task cleanly
 * with that status and code; the task result says so, nothing throws.
 */
import { S3BatchError } from '../domain/errors.ts';
import { succeeded } from '../domain/task.ts';
import { taskS3Of } from '../storage/lean-s3/task-s3.ts';
import type { OperationHandler } from './operation.ts';
import { failureOutcome, rethrowIfOwnAbort, versionIdOf } from './task-outcomes.ts';
import { memberObject } from './s3-put-object-tagging.ts';

export type DeleteObjectTaggingConfig = Readonly<Record<string, never>>;

const CONFIG: DeleteObjectTaggingConfig = Object.freeze({});

export const s3DeleteObjectTagging: OperationHandler<DeleteObjectTaggingConfig> = {
  name: 'S3DeleteObjectTagging',

  parse(member: unknown): DeleteObjectTaggingConfig {
    const fields = Object.keys(memberObject(member, 'S3DeleteObjectTagging'));
    if (fields.length > 0) {
      throw new S3BatchError('InvalidRequest', `S3DeleteObjectTagging takes no fields, got ${fields.join(', ')}`);
    }
    return CONFIG;
  },

  async attempt(_config, entry, ctx, signal) {
    try {
      await taskS3Of(ctx.s3).deleteObjectTagging(
        { Bucket: entry.bucket, Key: entry.key, VersionId: versionIdOf(entry) },
        signal,
      );
      return { result: succeeded(entry), retryable: false };
    } catch (err) {
      rethrowIfOwnAbort(err, signal);
      return failureOutcome(entry, err);
    }
  },

  describe() {
    return 'S3DeleteObjectTagging: remove every tag';
  },
};
