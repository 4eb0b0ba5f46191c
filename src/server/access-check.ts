/**
 * CreateJob's access check (docs/job-lifecycle.md#access-check) against real storage: one HEAD per
 * target of service/access-targets.ts, all at once, through the control client of the storage
 * profile the job's RoleArn selects, each bounded by a short timeout. Returns what failed (empty:
 * everything was reachable); never throws for a storage answer.
 */
import { HeadBucketCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { AccessProblem, AccessTarget } from '../service/access-targets.ts';
import { stripQuotes } from '../storage/object-store.ts';
import { describeS3Error } from '../storage/s3-error-classification.ts';

/** How long one HEAD may take before its target counts as unreachable. */
export const ACCESS_CHECK_TIMEOUT_MS = 5000;

async function checkOne(s3: S3Client, target: AccessTarget, timeoutMs: number): Promise<AccessProblem | undefined> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    if (target.kind === 'bucket') {
      await s3.send(new HeadBucketCommand({ Bucket: target.bucket }), { abortSignal: signal });
      return undefined;
    }
    const out = await s3.send(
      new HeadObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        ...(target.versionId !== undefined ? { VersionId: target.versionId } : {}),
      }),
      { abortSignal: signal },
    );
    const etag = stripQuotes(out.ETag ?? '');
    if (etag !== target.etag)
      return {
        target,
        code: 'ETagMismatch',
        detail: `the object's ETag is ${etag}, the request names ${target.etag}`,
      };
    return undefined;
  } catch (err) {
    if (signal.aborted) return { target, code: 'Timeout', detail: `no answer within ${timeoutMs} ms` };
    const info = describeS3Error(err);
    // A HEAD's 404 has no body: the SDK names it NotFound, which describeS3Error reads as NoSuchKey.
    const code = info.httpStatus === 404 && target.kind === 'bucket' ? 'NoSuchBucket' : info.code;
    return { target, code, ...(info.httpStatus > 0 ? { httpStatus: info.httpStatus } : {}) };
  }
}

/** HEADs every target in parallel; the problems, in the targets' order. */
export async function checkAccess(
  s3: S3Client,
  targets: readonly AccessTarget[],
  timeoutMs: number = ACCESS_CHECK_TIMEOUT_MS,
): Promise<AccessProblem[]> {
  const results = await Promise.all(targets.map((t) => checkOne(s3, t, timeoutMs)));
  return results.filter((p): p is AccessProblem => p !== undefined);
}
