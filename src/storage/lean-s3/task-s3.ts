/**
 * The per-task S3 requests the operations make (GetObject with a streamed body among them), behind
 * one small interface with two implementations: the lean client (lean-client.ts, the default for
 * task clients) and the AWS SDK (for clients made elsewhere, e.g. tests' fakes, and with
 * S3BATCH_TASK_CLIENT=sdk). Both take the SDK's command inputs and give its outputs and errors, so
 * an operation reads the same either way.
 */
import {
  CopyObjectCommand,
  type CopyObjectCommandInput,
  DeleteObjectCommand,
  type DeleteObjectCommandInput,
  DeleteObjectsCommand,
  type DeleteObjectsCommandInput,
  type DeleteObjectsCommandOutput,
  DeleteObjectTaggingCommand,
  type DeleteObjectTaggingCommandInput,
  GetObjectCommand,
  GetObjectTaggingCommand,
  type GetObjectTaggingCommandInput,
  HeadObjectCommand,
  type HeadObjectCommandInput,
  type HeadObjectCommandOutput,
  PutObjectAclCommand,
  type PutObjectAclCommandInput,
  PutObjectLegalHoldCommand,
  type PutObjectLegalHoldCommandInput,
  PutObjectRetentionCommand,
  type PutObjectRetentionCommandInput,
  PutObjectTaggingCommand,
  type PutObjectTaggingCommandInput,
  RestoreObjectCommand,
  type RestoreObjectCommandInput,
  type S3Client,
  type Tag,
} from '@aws-sdk/client-s3';
import type { LeanS3Client } from './lean-client.ts';
import * as r from './requests.ts';

/**
 * GetObject's answer as the operations read it. `Body` is the SDK's (a Readable) or the lean
 * client's (an async iterable of chunks): iterate it to its end or stop early (break, throw) —
 * either way the connection is released or closed — and never leave it unread.
 */
export interface TaskObjectBody {
  readonly ContentLength?: number | undefined;
  readonly Body?: unknown;
}

export interface TaskS3 {
  putObjectTagging(input: PutObjectTaggingCommandInput, signal: AbortSignal): Promise<void>;
  deleteObjectTagging(input: DeleteObjectTaggingCommandInput, signal: AbortSignal): Promise<void>;
  getObjectTagging(input: GetObjectTaggingCommandInput, signal: AbortSignal): Promise<{ TagSet?: Tag[] }>;
  headObject(input: HeadObjectCommandInput, signal: AbortSignal): Promise<HeadObjectCommandOutput>;
  /** A streamed GetObject (the checksum operation's): see TaskObjectBody. */
  getObject(input: r.LeanGetObjectInput, signal: AbortSignal): Promise<TaskObjectBody>;
  copyObject(input: CopyObjectCommandInput, signal: AbortSignal): Promise<{ VersionId?: string | undefined }>;
  putObjectAcl(input: PutObjectAclCommandInput, signal: AbortSignal): Promise<void>;
  putObjectLegalHold(input: PutObjectLegalHoldCommandInput, signal: AbortSignal): Promise<void>;
  putObjectRetention(input: PutObjectRetentionCommandInput, signal: AbortSignal): Promise<void>;
  restoreObject(input: RestoreObjectCommandInput, signal: AbortSignal): Promise<void>;
  deleteObject(
    input: DeleteObjectCommandInput,
    signal: AbortSignal,
  ): Promise<{ DeleteMarker?: boolean | undefined; VersionId?: string | undefined }>;
  deleteObjects(input: DeleteObjectsCommandInput, signal: AbortSignal): Promise<DeleteObjectsCommandOutput>;
}

const leanClients = new WeakMap<S3Client, LeanS3Client>();
const taskS3s = new WeakMap<S3Client, TaskS3>();

/** Makes `lean` carry the per-task requests of `s3` (storage/s3-clients.ts does, for task clients). */
export function attachLeanClient(s3: S3Client, lean: LeanS3Client): void {
  leanClients.set(s3, lean);
}

/** The lean client attached to `s3`, if any (to close it with the SDK client). */
export function leanClientOf(s3: S3Client): LeanS3Client | undefined {
  return leanClients.get(s3);
}

/** The per-task requests of a task client: lean when one is attached to it, else through the SDK. */
export function taskS3Of(s3: S3Client): TaskS3 {
  let t = taskS3s.get(s3);
  if (t === undefined) {
    const lean = leanClients.get(s3);
    t = lean === undefined ? sdkTaskS3(s3) : leanTaskS3(lean);
    taskS3s.set(s3, t);
  }
  return t;
}

export function leanTaskS3(c: LeanS3Client): TaskS3 {
  return {
    async putObjectTagging(input, signal) {
      await c.send({ ...r.putObjectTaggingRequest(input), signal });
    },
    async deleteObjectTagging(input, signal) {
      await c.send({ ...r.deleteObjectTaggingRequest(input), signal });
    },
    async getObjectTagging(input, signal) {
      return { TagSet: r.tagSetOf(await c.send({ ...r.getObjectTaggingRequest(input), signal })) };
    },
    async headObject(input, signal) {
      return r.headObjectOutput(await c.send({ ...r.headObjectRequest(input), signal }));
    },
    async getObject(input, signal) {
      const res = await c.stream({ ...r.getObjectRequest(input), signal });
      return { ContentLength: r.contentLengthOf(res.headers), Body: res.body };
    },
    async copyObject(input, signal) {
      const versionId = r.versionIdOf(await c.send({ ...r.copyObjectRequest(input), signal }));
      return versionId === undefined ? {} : { VersionId: versionId };
    },
    async putObjectAcl(input, signal) {
      await c.send({ ...r.putObjectAclRequest(input), signal });
    },
    async putObjectLegalHold(input, signal) {
      await c.send({ ...r.putObjectLegalHoldRequest(input), signal });
    },
    async putObjectRetention(input, signal) {
      await c.send({ ...r.putObjectRetentionRequest(input), signal });
    },
    async restoreObject(input, signal) {
      await c.send({ ...r.restoreObjectRequest(input), signal });
    },
    async deleteObject(input, signal) {
      return r.deleteObjectOutput(await c.send({ ...r.deleteObjectRequest(input), signal }));
    },
    async deleteObjects(input, signal) {
      return r.deleteObjectsOutput(await c.send({ ...r.deleteObjectsRequest(input), signal }));
    },
  };
}

export function sdkTaskS3(s3: S3Client): TaskS3 {
  return {
    async putObjectTagging(input, signal) {
      await s3.send(new PutObjectTaggingCommand(input), { abortSignal: signal });
    },
    async deleteObjectTagging(input, signal) {
      await s3.send(new DeleteObjectTaggingCommand(input), { abortSignal: signal });
    },
    getObjectTagging: (input, signal) => s3.send(new GetObjectTaggingCommand(input), { abortSignal: signal }),
    headObject: (input, signal) => s3.send(new HeadObjectCommand(input), { abortSignal: signal }),
    getObject: (input, signal) => s3.send(new GetObjectCommand(input), { abortSignal: signal }),
    copyObject: (input, signal) => s3.send(new CopyObjectCommand(input), { abortSignal: signal }),
    async putObjectAcl(input, signal) {
      await s3.send(new PutObjectAclCommand(input), { abortSignal: signal });
    },
    async putObjectLegalHold(input, signal) {
      await s3.send(new PutObjectLegalHoldCommand(input), { abortSignal: signal });
    },
    async putObjectRetention(input, signal) {
      await s3.send(new PutObjectRetentionCommand(input), { abortSignal: signal });
    },
    async restoreObject(input, signal) {
      await s3.send(new RestoreObjectCommand(input), { abortSignal: signal });
    },
    deleteObject: (input, signal) => s3.send(new DeleteObjectCommand(input), { abortSignal: signal }),
    deleteObjects: (input, signal) => s3.send(new DeleteObjectsCommand(input), { abortSignal: signal }),
  };
}
