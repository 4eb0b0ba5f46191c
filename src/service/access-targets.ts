/**
 * What CreateJob's access check looks at (docs/job-lifecycle.md#access-check): the objects and
 * buckets a job needs, read off its validated request. Pure: the HEADs are made elsewhere
 * (server/access-check.ts).
 */
import type { CreateJobRequest } from '../domain/job-spec.ts';
import { parseBucketArn, parseObjectArn } from '../manifest/arn.ts';
import { stripQuotes } from '../storage/object-store.ts';

export type AccessTarget =
  | {
      readonly kind: 'object';
      /** What the target is to the job, for the message: "manifest". */
      readonly role: string;
      readonly arn: string;
      readonly bucket: string;
      readonly key: string;
      readonly versionId?: string | undefined;
      /** The ETag the request names (quotes dropped): the object's must match. */
      readonly etag: string;
    }
  | { readonly kind: 'bucket'; readonly role: string; readonly arn: string; readonly bucket: string };

/** Why a target failed the check. */
export interface AccessProblem {
  readonly target: AccessTarget;
  /** The S3 error code (NoSuchKey, NoSuchBucket, AccessDenied, …), ETagMismatch, or Timeout. */
  readonly code: string;
  /** The HTTP status S3 answered; undefined when it did not answer. */
  readonly httpStatus?: number | undefined;
  readonly detail?: string | undefined;
}

function bucketTarget(role: string, arn: unknown): AccessTarget[] {
  if (typeof arn !== 'string') return [];
  try {
    return [{ kind: 'bucket', role, arn, bucket: parseBucketArn(arn) }];
  } catch {
    return []; // not a bucket ARN: validation answers for it, not the access check
  }
}

/**
 * The manifest object (with its ETag and version), the report bucket (when a report is on), a
 * copy's target bucket, and a generator's source bucket and manifest output bucket. A bucket named
 * twice in different roles is checked once, under its first role.
 */
export function accessTargets(request: CreateJobRequest): AccessTarget[] {
  const out: AccessTarget[] = [];
  const location = request.Manifest?.Location;
  if (location !== undefined) {
    const { bucket, key } = parseObjectArn(location.ObjectArn);
    out.push({
      kind: 'object',
      role: 'manifest',
      arn: location.ObjectArn,
      bucket,
      key,
      versionId: location.ObjectVersionId,
      etag: stripQuotes(location.ETag),
    });
  }
  const generator = request.ManifestGenerator?.S3JobManifestGenerator as Record<string, unknown> | undefined;
  if (generator !== undefined) {
    out.push(...bucketTarget('generator source bucket', generator.SourceBucket));
    const output = generator.ManifestOutputLocation as Record<string, unknown> | undefined;
    if (generator.EnableManifestOutput === true && output !== undefined)
      out.push(...bucketTarget('generated manifest bucket', output.Bucket));
  }
  if (request.Report.Enabled) out.push(...bucketTarget('report bucket', request.Report.Bucket));
  out.push(...bucketTarget('copy target bucket', request.Operation.S3PutObjectCopy?.TargetResource));
  const seen = new Set<string>();
  return out.filter((t) => {
    if (t.kind === 'object') return true;
    if (seen.has(t.bucket)) return false;
    seen.add(t.bucket);
    return true;
  });
}

/** One line per problem, for the refusal's message. */
export function describeProblem(p: AccessProblem): string {
  const status = p.httpStatus !== undefined ? ` (HTTP ${p.httpStatus})` : '';
  const detail = p.detail !== undefined ? `: ${p.detail}` : '';
  return `${p.target.role} ${p.target.arn}: ${p.code}${status}${detail}`;
}
