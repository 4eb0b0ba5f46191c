/**
 * The JSON API's CreateJob members beyond the model: those that steer the checks at submit
 * (docs/job-lifecycle.md#checks-at-submit), taken off the body before its members are checked;
 * `NotifyUrl`, the job's webhook, which becomes the `s3batch:notify` tag (docs/notifications.md);
 * and the answer's duplicate warning. Pure.
 */
import { S3BatchError } from '../../domain/errors.ts';
import { NOTIFY_TAG } from '../../domain/job-extensions.ts';
import type { CreateJobChecks, CreateJobOutcome } from '../../service/batch-service.ts';

/** The JSON members, and the CreateJobChecks field each sets. */
const CHECK_MEMBERS = { SkipAccessCheck: 'skipAccessCheck', RejectDuplicates: 'rejectDuplicates' } as const;

/** The response header that names the job a new one repeats (both APIs). */
export const DUPLICATE_OF_HEADER = 'x-s3batch-duplicate-of';

/** Splits the body into the model's request and the checks' choices (InvalidRequest for a non-boolean). */
export function splitCreateJobChecks(body: Record<string, unknown>): {
  request: Record<string, unknown>;
  checks: CreateJobChecks;
} {
  const request = { ...body };
  const checks: Record<string, boolean> = {};
  for (const [member, field] of Object.entries(CHECK_MEMBERS)) {
    const v = request[member];
    delete request[member];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'boolean') throw new S3BatchError('InvalidRequest', `${member} must be true or false`);
    checks[field] = v;
  }
  return { request: withNotifyTag(request), checks };
}

/**
 * `NotifyUrl` (JSON API only) as the job tag `s3batch:notify`, so the tag's checks and the URL
 * policy apply as for every API. InvalidRequest for a non-string, or with the tag given too.
 */
function withNotifyTag(body: Record<string, unknown>): Record<string, unknown> {
  const { NotifyUrl: url, ...request } = body;
  if (url === undefined || url === null) return request;
  if (typeof url !== 'string') throw new S3BatchError('InvalidRequest', 'NotifyUrl must be a string (an http(s) URL)');
  const tags = request.Tags ?? [];
  // A Tags that is no list is the model's check to refuse: leave it as it is.
  if (!Array.isArray(tags)) return body;
  if (tags.some((t) => (t as { Key?: unknown } | null)?.Key === NOTIFY_TAG)) {
    throw new S3BatchError(
      'InvalidRequest',
      `Give the job's webhook once: NotifyUrl or the tag ${NOTIFY_TAG}, not both`,
    );
  }
  return { ...request, Tags: [...tags, { Key: NOTIFY_TAG, Value: url }] };
}

export interface CreateJobAnswer {
  JobId: string;
  /** Present when the job was created with warnings (today: DuplicateJob). */
  Warnings?: { Code: 'DuplicateJob'; Message: string; JobId: string }[];
}

export function createJobAnswer(out: CreateJobOutcome): CreateJobAnswer {
  const d = out.Duplicate;
  return {
    JobId: out.JobId,
    ...(d !== undefined ? { Warnings: [{ Code: 'DuplicateJob' as const, Message: d.Message, JobId: d.JobId }] } : {}),
  };
}
