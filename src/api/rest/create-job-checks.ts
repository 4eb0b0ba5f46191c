/**
 * The JSON API's CreateJob members beyond the model that steer the checks at submit
 * (docs/job-lifecycle.md#checks-at-submit), taken off the body before its members are checked, and
 * the answer's duplicate warning. Pure.
 */
import { S3BatchError } from '../../domain/errors.ts';
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
  return { request, checks };
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
