/**
 * One task = one manifest row = one operation call. Its outcome is data, never a thrown error:
 * a failed task is a result row with its HTTP status and error code (docs/reports.md#result-rows).
 */

/** A manifest row, decoded, with the raw text kept for the report. */
export interface TaskEntry {
  /** 1-based line number in the manifest. */
  readonly line: number;
  readonly bucket: string;
  /** The decoded object key the operation acts on. */
  readonly key: string;
  /** The key exactly as the manifest wrote it (URL-encoded); the report echoes this form. */
  readonly rawKey: string;
  /**
   * Version id when the manifest has a VersionId column: a string (possibly empty, which makes
   * the task fail with "Task failed due to missing VersionId", as AWS does). Undefined otherwise.
   */
  readonly versionId?: string | undefined;
}

export const TaskStatus = { Succeeded: 'succeeded', Failed: 'failed' } as const;
export type TaskStatus = (typeof TaskStatus)[keyof typeof TaskStatus];

export interface TaskResult {
  readonly bucket: string;
  /** URL-encoded key, as in the manifest. */
  readonly rawKey: string;
  readonly versionId: string;
  readonly status: TaskStatus;
  readonly httpStatus: number;
  /** Empty on success. */
  readonly errorCode: string;
  /** `Successful` for S3 operations on success; the error text on failure. */
  readonly message: string;
  /** Size of the object the task acted on, when the operation learns it (a dry run's HEAD). */
  readonly bytes?: number | undefined;
}

export function succeeded(entry: TaskEntry, message = 'Successful', httpStatus = 200): TaskResult {
  return {
    bucket: entry.bucket,
    rawKey: entry.rawKey,
    versionId: entry.versionId ?? '',
    status: TaskStatus.Succeeded,
    httpStatus,
    errorCode: '',
    message,
  };
}

export function failed(entry: TaskEntry, httpStatus: number, errorCode: string, message: string): TaskResult {
  return {
    bucket: entry.bucket,
    rawKey: entry.rawKey,
    versionId: entry.versionId ?? '',
    status: TaskStatus.Failed,
    httpStatus,
    errorCode,
    message,
  };
}
