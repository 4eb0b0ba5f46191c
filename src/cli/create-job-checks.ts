/**
 * `s3batch create-job --skip-access-check / --no-duplicates`: the checks at submit
 * (docs/job-lifecycle.md#checks-at-submit) travel as the reserved tags, which the S3 Control API
 * carries unchanged; and the duplicate warning comes back in the X-S3Batch-Duplicate-Of header,
 * which the SDK does not surface, so a middleware reads it off the HTTP answer.
 */
import type { CreateJobCommand } from '@aws-sdk/client-s3-control';
import { DUPLICATE_OF_HEADER } from '../api/rest/create-job-checks.ts';
import { NO_DUPLICATES_TAG, SKIP_ACCESS_CHECK_TAG } from '../domain/job-extensions.ts';

/** A tag as the SDK types it. */
type Tag = { Key?: string | undefined; Value?: string | undefined };

/** The request's tags with the checks' tags set (a tag of the same key given otherwise is replaced). */
export function withCheckTags<R extends { Tags?: Tag[] | undefined }>(
  request: R,
  checks: { readonly skipAccessCheck: boolean; readonly noDuplicates: boolean },
): R {
  const set: Tag[] = [
    ...(checks.skipAccessCheck ? [{ Key: SKIP_ACCESS_CHECK_TAG, Value: 'true' }] : []),
    ...(checks.noDuplicates ? [{ Key: NO_DUPLICATES_TAG, Value: 'true' }] : []),
  ];
  if (set.length === 0) return request;
  const keys = new Set(set.map((t) => t.Key));
  return { ...request, Tags: [...(request.Tags ?? []).filter((t) => !keys.has(t.Key)), ...set] };
}

/** Records the job the answer names as repeated (the header), if any; returns a reader of it. */
export function captureDuplicateOf(command: CreateJobCommand): () => string | undefined {
  let duplicateOf: string | undefined;
  command.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const headers = (out.response as { headers?: Record<string, string | undefined> } | undefined)?.headers;
      const value = headers?.[DUPLICATE_OF_HEADER];
      if (typeof value === 'string' && value.length > 0) duplicateOf = value;
      return out;
    },
    { step: 'deserialize', name: 's3batchDuplicateOf' },
  );
  return () => duplicateOf;
}

/** The line the CLI prints on stderr for a duplicate. */
export function duplicateWarningLine(jobId: string, duplicateOf: string): string {
  return `warning: DuplicateJob: job ${jobId} repeats job ${duplicateOf} (same operation, manifest and target, live or ended within 24 h); s3batch describe-job ${duplicateOf}; --no-duplicates refuses instead`;
}
