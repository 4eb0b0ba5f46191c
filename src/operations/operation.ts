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

/**
 * Runs a job-level request (a prepare() check) under the engine's retry policy, which the engine
 * injects (engine/retry.ts) so operations never import it: `call` runs again, after the policy's
 * backoff, while it throws an error `isRetryable` accepts, up to the policy's attempts; then its
 * last error is thrown. An abort of `signal` ends the retries with the last error.
 */
export type RetryCall = <T>(
  call: () => Promise<T>,
  isRetryable: (err: unknown) => boolean,
  signal: AbortSignal,
) => Promise<T>;

export interface OperationHandler<Config = unknown> {
  readonly name: OperationName;
  parse(member: unknown): Config;
  /**
   * Checks that hold only at CreateJob (e.g. a date in the future). parse() runs again whenever a
   * job resumes, so it must not depend on the clock.
   */
  checkAtCreate?(config: Config, now: Date): void;
  /**
   * Job-level checks run in Preparing before any task (e.g. the target bucket exists); `retry`
   * repeats a request that failed transiently, as the engine retries tasks.
   */
  prepare?(config: Config, ctx: OperationContext, signal: AbortSignal, retry: RetryCall): Promise<void>;
  attempt(config: Config, entry: TaskEntry, ctx: OperationContext, signal: AbortSignal): Promise<AttemptOutcome>;
  /** What one task would do, in words, for dry-run reports (e.g. `delete version v1 of the object`). */
  describe?(config: Config, entry: TaskEntry): string;
}
