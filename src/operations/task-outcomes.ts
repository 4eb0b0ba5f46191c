/**
 * Task outcomes shared by the operation handlers: a failed attempt from an SDK error (classified
 * by storage/s3-error-classification.ts), the missing-VersionId failure, the version id to send,
 * and telling our own abort from a transient one.
 */
import { failed, type TaskEntry, type TaskResult } from '../domain/task.ts';
import { describeS3Error } from '../storage/s3-error-classification.ts';
import type { AttemptOutcome } from './operation.ts';

/** A failed attempt built from an SDK error. */
export function failureOutcome(entry: TaskEntry, err: unknown): AttemptOutcome {
  const info = describeS3Error(err);
  return { result: failed(entry, info.httpStatus, info.code, info.message), retryable: info.retryable };
}

/**
 * AWS's answer for a manifest row whose VersionId column is empty (docs/manifests.md#version-ids). The task executor
 * (engine/task-executor.ts) gives it for every kind before the handler runs; handlers never see such a row.
 */
export function missingVersionOutcome(entry: TaskEntry): AttemptOutcome {
  return { result: failed(entry, 400, 'InvalidRequest', 'Task failed due to missing VersionId'), retryable: false };
}

/** The version id to send: undefined when the manifest has no VersionId column. */
export function versionIdOf(entry: TaskEntry): string | undefined {
  return entry.versionId === undefined || entry.versionId === '' ? undefined : entry.versionId;
}

/**
 * An error raised because OUR signal fired (job cancelled/paused) is not a task result: the
 * handler rethrows it and the engine abandons the task. Any other abort (a timeout) is transient.
 */
export function rethrowIfOwnAbort(err: unknown, signal: AbortSignal): void {
  if (signal.aborted) throw err;
}

/**
 * A result that carries the bytes the task moved or read (copy, replicate, checksum), which the
 * job sums into its bytes processed; unchanged when the size is unknown.
 */
export function withBytes(result: TaskResult, bytes: number | undefined): TaskResult {
  return bytes === undefined || !Number.isFinite(bytes) || bytes < 0 ? result : { ...result, bytes };
}
