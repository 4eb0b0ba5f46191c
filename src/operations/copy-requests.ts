/**
 * Request pieces both S3PutObjectCopy paths (single CopyObject and multipart) share: where the
 * copy comes from, where it goes, and the tag write after it.
 */
import type { S3Tag } from '../domain/job-spec.ts';
import type { TaskEntry } from '../domain/task.ts';
import { type TaskS3, taskS3Of } from '../storage/lean-s3/task-s3.ts';
import type { CopyConfig } from './copy-config.ts';
import type { OperationContext } from './operation.ts';

/** `bucket/a%20b/c%2Bd.txt?versionId=…`: every key segment percent-encoded, the `/`s kept. */
export function copySource(bucket: string, key: string, versionId?: string): string {
  const path = `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  return versionId === undefined ? path : `${path}?versionId=${encodeURIComponent(versionId)}`;
}

/** TargetKeyPrefix + the whole source key, with exactly one `/` between them. */
export function destinationKey(prefix: string | undefined, key: string): string {
  if (prefix === undefined) return key;
  return prefix.endsWith('/') ? prefix + key : `${prefix}/${key}`;
}

/**
 * Writes the tag set on the object just created. Ceph RGW 16 and s3rver ignore x-amz-tagging on
 * CopyObject and CreateMultipartUpload (see s3-put-object-copy.ts), so the tags are set this way:
 * after a CopyObject through the lean per-task client, after a multipart copy through the SDK
 * (`requests`), which carries the whole multipart copy.
 */
export async function enforceTags(
  config: CopyConfig,
  entry: TaskEntry,
  ctx: OperationContext,
  signal: AbortSignal,
  tags: readonly S3Tag[],
  versionId: string | undefined,
  requests: TaskS3 = taskS3Of(ctx.s3),
): Promise<void> {
  await requests.putObjectTagging(
    {
      Bucket: config.targetBucket,
      Key: destinationKey(config.targetKeyPrefix, entry.key),
      VersionId: versionId,
      RequestPayer: config.destination.RequestPayer,
      Tagging: { TagSet: tags.map((t) => ({ Key: t.Key, Value: t.Value })) },
    },
    signal,
  );
}
