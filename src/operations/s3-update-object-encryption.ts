/**
 * S3UpdateObjectEncryption (docs/operations.md#update-object-encryption): sets SSE-KMS (a KMS key, optionally S3 Bucket
 * Keys) on each object. Generic S3 has no in-place re-key call, so this emulates it as
 * docs/operations.md#update-object-encryption describes: CopyObject of the object onto itself with
 * x-amz-server-side-encryption aws:kms + the key id, x-amz-metadata-directive COPY, and the object's storage class
 * kept.
 *
 * Unlike AWS's call this MOVES DATA: it writes a new object (a new version on a versioned bucket)
 * with a new LastModified; the object's ACL is not carried over (the copy gets the default ACL),
 * nor are its Object Lock settings; tags and metadata are. Because a copy of an older version
 * would become the current version, a manifest row naming a version is only accepted when that
 * version is the current one (HeadObject first); otherwise the task fails with 400 InvalidRequest.
 *
 * Measured on Ceph RGW 16 without a KMS: the self-copy is refused with 400 InvalidRequest "This
 * copy request is illegal because it is trying to copy an object to itself without changing the
 * object's metadata, storage class, website redirect location or encryption attributes." (it does
 * not count the requested encryption as a change), i.e. every task fails with that, cleanly.
 *
 * Both requests go through the lean per-task client (storage/lean-s3/).
 */
import { failed, succeeded } from '../domain/task.ts';
import { taskS3Of } from '../storage/lean-s3/task-s3.ts';
import { copySource } from './copy-requests.ts';
import { fieldsOf, invalid, isAbsent, onVersion, optBool, optString } from './member-fields.ts';
import type { OperationHandler } from './operation.ts';
import { failureOutcome, rethrowIfOwnAbort, versionIdOf } from './task-outcomes.ts';

export interface UpdateObjectEncryptionConfig {
  readonly kmsKeyArn: string;
  readonly bucketKeyEnabled: boolean;
}

const F = 'S3UpdateObjectEncryption';
/** The model's KMS key ARN pattern (docs/s3control-api.md#field-limits). */
const KMS_KEY_ARN = /^arn:aws[a-zA-Z0-9-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[a-zA-Z0-9-]+$/;

export const s3UpdateObjectEncryption: OperationHandler<UpdateObjectEncryptionConfig> = {
  name: 'S3UpdateObjectEncryption',

  parse(member: unknown): UpdateObjectEncryptionConfig {
    const m = fieldsOf(member, F, ['ObjectEncryption']);
    if (isAbsent(m.ObjectEncryption))
      throw invalid(`${F}.ObjectEncryption is required ({SSEKMS: {KMSKeyArn, BucketKeyEnabled}})`);
    // SSEKMS is the SDK member name, SSE-KMS the XML element name: either reaches us.
    const enc = fieldsOf(m.ObjectEncryption, `${F}.ObjectEncryption`, ['SSEKMS', 'SSE-KMS']);
    const present = ['SSEKMS', 'SSE-KMS'].filter((k) => !isAbsent(enc[k]));
    if (present.length !== 1) throw invalid(`${F}.ObjectEncryption must contain exactly one SSEKMS (SSE-KMS) member`);
    const E = `${F}.ObjectEncryption.SSEKMS`;
    const kms = fieldsOf(enc[present[0]!], E, ['KMSKeyArn', 'BucketKeyEnabled']);
    const arn = optString(kms.KMSKeyArn, `${E}.KMSKeyArn`, 20, 2048);
    if (arn === undefined)
      throw invalid(`${E}.KMSKeyArn is required (a full key ARN, arn:aws:kms:<region>:<account>:key/<id>)`);
    if (!KMS_KEY_ARN.test(arn))
      throw invalid(
        `${E}.KMSKeyArn "${arn}" must be a full KMS key ARN of the form arn:aws:kms:<region>:<account>:key/<id>`,
      );
    return Object.freeze({
      kmsKeyArn: arn,
      bucketKeyEnabled: optBool(kms.BucketKeyEnabled, `${E}.BucketKeyEnabled`) ?? false,
    });
  },

  describe(config, entry) {
    return `S3UpdateObjectEncryption: copy the object onto itself with SSE-KMS key ${config.kmsKeyArn}${config.bucketKeyEnabled ? ' and S3 Bucket Keys' : ''}${onVersion(entry)}`;
  },

  async attempt(config, entry, ctx, signal) {
    const versionId = versionIdOf(entry);
    try {
      const requests = taskS3Of(ctx.s3);
      const head = await requests.headObject({ Bucket: entry.bucket, Key: entry.key }, signal);
      if (versionId !== undefined && head.VersionId !== versionId) {
        const message = `Version ${versionId} is not the current version of the object; re-encrypting it by a copy in place would make it current (Service: Amazon S3; Status Code: 400; Error Code: InvalidRequest)`;
        return { result: failed(entry, 400, 'InvalidRequest', message), retryable: false };
      }
      await requests.copyObject(
        {
          Bucket: entry.bucket,
          Key: entry.key,
          CopySource: copySource(entry.bucket, entry.key, versionId),
          MetadataDirective: 'COPY',
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: config.kmsKeyArn,
          BucketKeyEnabled: config.bucketKeyEnabled,
          ...(head.StorageClass !== undefined && head.StorageClass !== 'STANDARD'
            ? { StorageClass: head.StorageClass }
            : {}),
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
