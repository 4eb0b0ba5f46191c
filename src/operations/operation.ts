/**
 * The shape every operation kind has (one file per kind, registered in index.ts).
 *
 * parse   validates the operation's member of the CreateJob request once, at the boundary, and
 *         returns a frozen, typed config (throws S3BatchError 'InvalidRequest').
 * attempt runs ONE attempt of one task. It never throws for an S3 answer: it returns the task
 *         result and whether the failure is transient (the engine retries those with backoff).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { OperationName } from '../domain/job-spec.ts';
import type { TaskEntry, TaskResult } from '../domain/task.ts';
import type { LambdaInvoker } from './lambda/invoker.ts';

export interface OperationContext {
  /** Client for the job's storage profile (RoleArn). */
  readonly s3: S3Client;
  /** Objects larger than this are copied with multipart copy (UploadPartCopy). Default 5 GiB. */
  readonly multipartCopyThresholdBytes: number;
  /** Part size for multipart copy. */
  readonly multipartCopyPartBytes: number;
  /**
   * S3ReplicateObject: where an object of this profile is replicated to (the storage profiles
   * file's replication rules, with a client for each destination). Empty when no rule matches.
   */
  readonly replicationTargets?: (bucket: string, key: string) => readonly ReplicationTarget[];
  /** Calls LambdaInvoke's functions (AWS Lambda or HTTP functions); absent ⇒ those tasks fail. */
  readonly lambda?: LambdaInvoker | undefined;
  /** The job the tasks belong to (set by the engine per job; LambdaInvoke sends it as job.id). */
  readonly jobId?: string | undefined;
}

export interface ReplicationTarget {
  readonly profile: string;
  readonly bucket: string;
  readonly storageClass?: string | undefined;
  /** Task client (one attempt per call) of the destination profile. */
  readonly s3: S3Client;
}

export interface AttemptOutcome {
  readonly result: TaskResult;
  /** True when the failure is transient (5xx, SlowDown, throttling, reset, timeout). */
  readonly retryable: boolean;
}

export interface OperationHandler<Config = unknown> {
  readonly name: OperationName;
  parse(member: unknown): Config;
  /**
   * Checks that hold only at CreateJob (e.g. a date in the future). parse() runs again whenever a
   * job resumes, so it must not depend on the clock.
   */
  checkAtCreate?(config: Config, now: Date): void;
  /** Job-level checks run in Preparing before any task (e.g. the target bucket exists). */
  prepare?(config: Config, ctx: OperationContext, signal: AbortSignal): Promise<void>;
  attempt(config: Config, entry: TaskEntry, ctx: OperationContext, signal: AbortSignal): Promise<AttemptOutcome>;
  /** What one task would do, in words, for dry-run reports (e.g. `delete version v1 of the object`). */
  describe?(config: Config, entry: TaskEntry): string;
}
