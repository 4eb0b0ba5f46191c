/** S3 ARNs named in job requests: the manifest object and the report bucket (docs/manifests.md#manifest-location). */
import { S3BatchError } from '../domain/errors.ts';

const OBJECT_ARN = /^arn:[a-z0-9-]+:s3:::([^/]+)\/(.+)$/s;
const BUCKET_ARN = /^arn:[a-z0-9-]+:s3:::([^/]+)$/;

/** `arn:{partition}:s3:::{bucket}/{key}`, split at the first `/` after `:::` (docs/manifests.md#manifest-location). */
export function parseObjectArn(arn: string): { bucket: string; key: string } {
  const m = OBJECT_ARN.exec(arn);
  if (!m) throw new S3BatchError('InvalidRequest', `Invalid object ARN: ${arn} (expected arn:aws:s3:::bucket/key)`);
  return { bucket: m[1]!, key: m[2]! };
}

/** `arn:{partition}:s3:::{bucket}`; a bare bucket name is refused. */
export function parseBucketArn(arn: string): string {
  const m = BUCKET_ARN.exec(arn);
  if (!m) throw new S3BatchError('InvalidRequest', `Invalid bucket ARN: ${arn} (expected arn:aws:s3:::bucket)`);
  return m[1]!;
}
