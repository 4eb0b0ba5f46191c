/**
 * A stored job record for store tests: a confirmed S3DeleteObjectTagging job over a CSV manifest,
 * New, with its token and request hash named after `tag`. `patch` overrides any field; the
 * history's first entry is at the patched creation time and the request's priority follows the
 * patched priority.
 */
import { NO_CHUNKS_DONE, type JobRecord } from '../../src/domain/job.ts';
import { JobStatus } from '../../src/domain/job-status.ts';

export function storedJob(id: string, patch: Partial<JobRecord> = {}, tag: string = id): JobRecord {
  const creationTime = patch.creationTime ?? '2025-01-01T00:00:00.000Z';
  const priority = patch.priority ?? 10;
  return {
    id,
    accountId: '111122223333',
    creationTime,
    priority,
    request: {
      ConfirmationRequired: false,
      Operation: { S3DeleteObjectTagging: {} },
      Report: { Enabled: false },
      Manifest: {
        Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
        Location: { ObjectArn: 'arn:aws:s3:::manifests/m.csv', ETag: 'etag' },
      },
      Priority: priority,
      RoleArn: 'arn:aws:iam::111122223333:role/batch',
      ClientRequestToken: `token-${tag}`,
    },
    clientRequestToken: `token-${tag}`,
    requestHash: `hash-${tag}`,
    tags: [],
    failureReasons: [],
    progress: { total: 0, succeeded: 0, failed: 0 },
    chunks: NO_CHUNKS_DONE,
    status: JobStatus.New,
    activeMs: 0,
    history: [{ status: JobStatus.New, at: creationTime }],
    ...patch,
  };
}
