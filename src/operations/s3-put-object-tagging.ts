/**
 * S3PutObjectTagging (docs/operations.md#put-object-tagging): replaces each object's whole tag set with TagSet. An
 * empty TagSet removes every tag (PutObjectTagging with an empty set, which also works on stores that
 * lack DeleteObjectTagging).
 *
 * Also home of the tag-list validation shared with S3PutObjectCopy.NewObjectTagging.
 */
import { S3BatchError } from '../domain/errors.ts';
import type { S3Tag } from '../domain/job-spec.ts';
import { taskS3Of } from '../storage/lean-s3/task-s3.ts';
import { succeeded } from '../domain/task.ts';
import type { OperationHandler } from './operation.ts';
import { failureOutcome, rethrowIfOwnAbort, versionIdOf } from './task-outcomes.ts';

export interface PutObjectTaggingConfig {
  readonly tagSet: readonly S3Tag[];
}

/** S3 allows at most 10 tags per object. */
export const MAX_OBJECT_TAGS = 10;
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

export const s3PutObjectTagging: OperationHandler<PutObjectTaggingConfig> = {
  name: 'S3PutObjectTagging',

  parse(member: unknown): PutObjectTaggingConfig {
    const m = memberObject(member, 'S3PutObjectTagging');
    if (m.TagSet === undefined || m.TagSet === null) {
      throw new S3BatchError(
        'InvalidRequest',
        'S3PutObjectTagging.TagSet is required (an empty TagSet removes all tags)',
      );
    }
    return Object.freeze({ tagSet: parseObjectTags(m.TagSet, 'S3PutObjectTagging.TagSet') });
  },

  async attempt(config, entry, ctx, signal) {
    try {
      await taskS3Of(ctx.s3).putObjectTagging(
        {
          Bucket: entry.bucket,
          Key: entry.key,
          VersionId: versionIdOf(entry),
          Tagging: { TagSet: config.tagSet.map((t) => ({ Key: t.Key, Value: t.Value })) },
        },
        signal,
      );
      return { result: succeeded(entry), retryable: false };
    } catch (err) {
      rethrowIfOwnAbort(err, signal);
      return failureOutcome(entry, err);
    }
  },

  describe(config) {
    const tags = config.tagSet;
    return tags.length === 0
      ? 'S3PutObjectTagging: remove every tag'
      : `S3PutObjectTagging: replace the tag set with ${tags.map((t) => `${t.Key}=${t.Value}`).join('&')}`;
  },
};

/**
 * Validates an object tag list: ≤ 10 tags, unique keys, key 1..128 and value 0..256 characters
 * of letters, numbers, spaces and `_ . : / = + - @` (docs/s3control-api.md#field-limits,
 * docs/operations.md#put-object-tagging). An empty XML element (`''` or `{}` from the XML layer) is an empty list.
 * Returns a frozen copy.
 */
export function parseObjectTags(value: unknown, field: string): readonly S3Tag[] {
  if (value === '' || isEmptyObject(value)) return Object.freeze([]);
  if (!Array.isArray(value)) throw new S3BatchError('InvalidRequest', `${field} must be a list of {Key, Value} tags`);
  if (value.length > MAX_OBJECT_TAGS) {
    throw new S3BatchError(
      'InvalidRequest',
      `${field} has ${value.length} tags; S3 allows at most ${MAX_OBJECT_TAGS} tags per object`,
    );
  }
  const seen = new Set<string>();
  const tags = value.map((raw: unknown, i): S3Tag => {
    const where = `${field}[${i}]`;
    if (typeof raw !== 'object' || raw === null)
      throw new S3BatchError('InvalidRequest', `${where} must be a {Key, Value} tag`);
    const { Key: key, Value: rawValue } = raw as { Key?: unknown; Value?: unknown };
    // <Value/> (an empty value) may reach us as absent or null from the XML layer.
    const val = rawValue === undefined || rawValue === null ? '' : rawValue;
    if (typeof key !== 'string')
      throw new S3BatchError('InvalidRequest', `${where}.Key is required and must be a string`);
    if (typeof val !== 'string') throw new S3BatchError('InvalidRequest', `${where}.Value must be a string`);
    checkLength(key, 1, 128, `${where}.Key`);
    checkLength(val, 0, 256, `${where}.Value`);
    if (!TAG_CHARS.test(key)) {
      throw new S3BatchError(
        'InvalidRequest',
        `${where}.Key "${key}" may only contain letters, numbers, spaces and _ . : / = + - @`,
      );
    }
    if (!TAG_CHARS.test(val)) {
      throw new S3BatchError(
        'InvalidRequest',
        `${where}.Value "${val}" may only contain letters, numbers, spaces and _ . : / = + - @`,
      );
    }
    if (seen.has(key))
      throw new S3BatchError('InvalidRequest', `${field} has the tag key "${key}" twice; tag keys must be unique`);
    seen.add(key);
    return Object.freeze({ Key: key, Value: val });
  });
  return Object.freeze(tags);
}

/** `k1=v1&k2=v2`, URL-encoded, as the x-amz-tagging header wants it (also for the SDK's Tag, whose fields are optional). */
export function taggingHeader(
  tags: readonly { readonly Key?: string | undefined; readonly Value?: string | undefined }[],
): string {
  return tags.map((t) => `${encodeURIComponent(t.Key ?? '')}=${encodeURIComponent(t.Value ?? '')}`).join('&');
}

/** Length in characters (code points), as S3 counts them. */
export function checkLength(value: string, min: number, max: number, field: string): void {
  const n = [...value].length;
  if (n < min || n > max) {
    throw new S3BatchError(
      'InvalidRequest',
      min === max ? `${field} must be ${min} characters` : `${field} must be ${min}..${max} characters long, got ${n}`,
    );
  }
}

/** The operation's member as an object; an empty XML element (`''`) or absent member is `{}`. */
export function memberObject(member: unknown, name: string): Record<string, unknown> {
  if (member === undefined || member === null || member === '') return {};
  if (typeof member !== 'object' || Array.isArray(member))
    throw new S3BatchError('InvalidRequest', `${name} must be an object`);
  return member as Record<string, unknown>;
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}
