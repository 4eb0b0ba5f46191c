/**
 * S3ReplicateObject (docs/operations.md#replicate-object): copies each listed object — the listed version when the
 * manifest names one — to every destination its replication rules give, possibly on another S3 service
 * (storage/storage-profiles.ts "replication"). Data, metadata, tags and object-lock settings go
 * along; the destination's storage class comes from the rule.
 *
 * There is no S3 "ReplicateObject" call and a copy cannot cross services, so each destination gets
 * a streamed GetObject → PutObject (constant memory; multipart upload above 5 GiB). Versions of
 * one key are written in the order their tasks start (a per-key queue), so a destination bucket
 * with versioning receives them version by version, oldest first when the manifest lists them so.
 *
 * No fields: `<S3ReplicateObject/>`.
 */
import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  PutObjectCommand,
  type GetObjectCommandOutput,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { S3BatchError } from '../domain/errors.ts';
import { failed, succeeded, type TaskEntry } from '../domain/task.ts';
import type { AttemptOutcome, OperationHandler, ReplicationTarget } from './operation.ts';
import { failureOutcome, rethrowIfOwnAbort, versionIdOf, withBytes } from './task-outcomes.ts';
import { memberObject, taggingHeader } from './s3-put-object-tagging.ts';

export type ReplicateObjectConfig = Readonly<Record<string, never>>;

const CONFIG: ReplicateObjectConfig = Object.freeze({});
const SINGLE_PUT_LIMIT = 5 * 1024 ** 3;
const MULTIPART_PART_BYTES = 64 * 1024 ** 2;

/** Per-key queues: versions of one key are replicated one after the other, in task order. */
const keyQueues = new Map<string, Promise<unknown>>();

async function inKeyOrder<T>(id: string, work: () => Promise<T>): Promise<T> {
  const before = keyQueues.get(id) ?? Promise.resolve();
  const run = before.then(work, work);
  const settled = run.catch(() => undefined);
  keyQueues.set(id, settled);
  try {
    return await run;
  } finally {
    if (keyQueues.get(id) === settled) keyQueues.delete(id);
  }
}

async function sourceTags(s3: S3Client, entry: TaskEntry, signal: AbortSignal): Promise<string | undefined> {
  try {
    const out = await s3.send(
      new GetObjectTaggingCommand({ Bucket: entry.bucket, Key: entry.key, VersionId: versionIdOf(entry) }),
      { abortSignal: signal },
    );
    const tags = out.TagSet ?? [];
    if (tags.length === 0) return undefined;
    return taggingHeader(tags);
  } catch (err) {
    rethrowIfOwnAbort(err, signal);
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 501) return undefined; // a store without object tagging: nothing to carry
    throw err;
  }
}

/** The destination PUT: everything the source object carries that a PUT can set. */
function putInput(
  source: GetObjectCommandOutput,
  target: ReplicationTarget,
  key: string,
  tagging: string | undefined,
): PutObjectCommandInput {
  return {
    Bucket: target.bucket,
    Key: key,
    Body: source.Body as Readable,
    ContentLength: source.ContentLength,
    ContentType: source.ContentType,
    CacheControl: source.CacheControl,
    ContentDisposition: source.ContentDisposition,
    ContentEncoding: source.ContentEncoding,
    ContentLanguage: source.ContentLanguage,
    Expires: source.Expires,
    Metadata: source.Metadata,
    StorageClass: target.storageClass as PutObjectCommandInput['StorageClass'],
    Tagging: tagging,
    ObjectLockMode: source.ObjectLockMode,
    ObjectLockRetainUntilDate: source.ObjectLockRetainUntilDate,
    ObjectLockLegalHoldStatus: source.ObjectLockLegalHoldStatus,
  };
}

async function replicateTo(
  target: ReplicationTarget,
  entry: TaskEntry,
  s3: S3Client,
  tagging: string | undefined,
  signal: AbortSignal,
): Promise<number> {
  const source = await s3.send(
    new GetObjectCommand({ Bucket: entry.bucket, Key: entry.key, VersionId: versionIdOf(entry) }),
    { abortSignal: signal },
  );
  try {
    const input = putInput(source, target, entry.key, tagging);
    const size = source.ContentLength ?? 0;
    if (size <= SINGLE_PUT_LIMIT) {
      await target.s3.send(new PutObjectCommand(input), { abortSignal: signal });
      return size;
    }
    const upload = new Upload({
      client: target.s3,
      params: input,
      partSize: MULTIPART_PART_BYTES,
      queueSize: 1,
      leavePartsOnError: false,
    });
    const abort = (): void => void upload.abort();
    signal.addEventListener('abort', abort, { once: true });
    try {
      await upload.done();
    } finally {
      signal.removeEventListener('abort', abort);
    }
    return size;
  } finally {
    (source.Body as Readable | undefined)?.destroy?.();
  }
}

export const s3ReplicateObject: OperationHandler<ReplicateObjectConfig> = {
  name: 'S3ReplicateObject',

  parse(member: unknown): ReplicateObjectConfig {
    const fields = Object.keys(memberObject(member, 'S3ReplicateObject'));
    if (fields.length > 0) {
      throw new S3BatchError(
        'InvalidRequest',
        `S3ReplicateObject takes no fields (destinations come from the replication rules), got ${fields.join(', ')}`,
      );
    }
    return CONFIG;
  },

  async prepare(_config, ctx) {
    if (ctx.replicationTargets === undefined) {
      throw new S3BatchError(
        'InvalidRequest',
        'S3ReplicateObject needs replication rules: add a "replication" list to the storage profiles file (--storage-profiles)',
      );
    }
  },

  async attempt(_config, entry, ctx, signal): Promise<AttemptOutcome> {
    const targets = ctx.replicationTargets?.(entry.bucket, entry.key) ?? [];
    if (targets.length === 0) {
      return {
        result: failed(
          entry,
          400,
          'NoReplicationRule',
          `No replication rule of this server covers ${entry.bucket}/${entry.key} (see "replication" in the storage profiles file)`,
        ),
        retryable: false,
      };
    }
    return inKeyOrder(`${entry.bucket}\u0000${entry.key}`, async () => {
      try {
        const tagging = await sourceTags(ctx.s3, entry, signal);
        // Bytes processed: the object's size once per destination written (what the task moved).
        let bytes = 0;
        for (const target of targets) bytes += await replicateTo(target, entry, ctx.s3, tagging, signal);
        return { result: withBytes(succeeded(entry), bytes), retryable: false };
      } catch (err) {
        rethrowIfOwnAbort(err, signal);
        return failureOutcome(entry, err);
      }
    });
  },
};
