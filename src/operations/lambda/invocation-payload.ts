/**
 * LambdaInvoke's wire formats (docs/operations.md#lambda-payloads), pure: the request payload the function receives
 * (invocation schema 1.0 or 2.0, one task per invocation) and the reading of the result JSON it
 * answers with. Shared by every invoker (AWS Lambda, HTTP function), so a function written for
 * AWS S3 Batch Operations runs unchanged behind either.
 */
import { randomBytes } from 'node:crypto';

export const INVOCATION_SCHEMA_VERSIONS = ['1.0', '2.0'] as const;
export type InvocationSchemaVersion = (typeof INVOCATION_SCHEMA_VERSIONS)[number];

export const RESULT_CODES = ['Succeeded', 'TemporaryFailure', 'PermanentFailure'] as const;
export type ResultCode = (typeof RESULT_CODES)[number];

/** The message AWS writes when a function's answer cannot be read (docs/operations.md#lambda-results). */
export const INVALID_PAYLOAD_MESSAGE = 'Invalid JSON returned in Lambda payload';

/** What one invocation is about: the job, and the task (one manifest row). */
export interface InvocationTask {
  readonly jobId: string;
  /** Opaque and stable across redrives (taskIdFor). */
  readonly taskId: string;
  readonly bucket: string;
  /**
   * The key exactly as the manifest wrote it: URL-encoded; the function decodes it
   * (docs/operations.md#lambda-payloads).
   */
  readonly rawKey: string;
  /** Undefined or empty when the manifest row has no version: sent as null. */
  readonly versionId?: string | undefined;
}

export interface InvocationOptions {
  readonly schemaVersion: InvocationSchemaVersion;
  /** Schema 2.0 only. */
  readonly userArguments?: Readonly<Record<string, string>> | undefined;
  readonly invocationId: string;
  /** S3 partition for schema 1.0's s3BucketArn (default `aws`). */
  readonly partition?: string | undefined;
}

export interface InvocationPayloadV1 {
  invocationSchemaVersion: '1.0';
  invocationId: string;
  job: { id: string };
  tasks: { taskId: string; s3Key: string; s3VersionId: string | null; s3BucketArn: string }[];
}

export interface InvocationPayloadV2 {
  invocationSchemaVersion: '2.0';
  invocationId: string;
  job: { id: string; userArguments: Record<string, string> };
  tasks: { taskId: string; s3Key: string; s3VersionId: string | null; s3Bucket: string }[];
}

export type InvocationPayload = InvocationPayloadV1 | InvocationPayloadV2;

/**
 * The request payload, members in the order of docs/operations.md#lambda-payloads. Schema 1.0 names the bucket
 * by ARN (`s3BucketArn`), 2.0 by name (`s3Bucket`) and adds `job.userArguments` (`{}` when the
 * job has none, so `event.job.userArguments.x` never throws in the function).
 */
export function buildInvocationPayload(task: InvocationTask, options: InvocationOptions): InvocationPayload {
  const s3VersionId = task.versionId === undefined || task.versionId === '' ? null : task.versionId;
  if (options.schemaVersion === '2.0') {
    return {
      invocationSchemaVersion: '2.0',
      invocationId: options.invocationId,
      job: { id: task.jobId, userArguments: { ...(options.userArguments ?? {}) } },
      tasks: [{ taskId: task.taskId, s3Key: task.rawKey, s3VersionId, s3Bucket: task.bucket }],
    };
  }
  return {
    invocationSchemaVersion: '1.0',
    invocationId: options.invocationId,
    job: { id: task.jobId },
    tasks: [
      {
        taskId: task.taskId,
        s3Key: task.rawKey,
        s3VersionId,
        s3BucketArn: `arn:${options.partition ?? 'aws'}:s3:::${task.bucket}`,
      },
    ],
  };
}

/** A task id that stays the same on every redrive of the task: the job and its manifest line. */
export function taskIdFor(jobId: string, line: number): string {
  return Buffer.from(`${jobId}:${line}`).toString('base64');
}

/** An opaque id, unique per invocation. */
export function newInvocationId(): string {
  return randomBytes(24).toString('base64');
}

/** What the function said about the task, or why its answer could not be read. */
export type InvocationVerdict =
  | { readonly resultCode: ResultCode; readonly resultString: string }
  | { readonly resultCode: 'Invalid'; readonly resultString: string };

/**
 * Reads the function's answer for task `taskId`:
 * `{"invocationSchemaVersion", "treatMissingKeysAs"?, "invocationId", "results": [{"taskId",
 * "resultCode", "resultString"?}]}`. A task absent from `results` takes `treatMissingKeysAs`
 * (default PermanentFailure). Anything unreadable is `Invalid` with AWS's message plus the reason.
 */
export function parseInvocationResponse(body: string, taskId: string): InvocationVerdict {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return invalid(body.trim() === '' ? 'the answer is empty' : 'the answer is not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return invalid('the answer is not a JSON object');
  const { results, treatMissingKeysAs } = doc as { results?: unknown; treatMissingKeysAs?: unknown };
  if (!Array.isArray(results)) return invalid('"results" must be an array');
  if (treatMissingKeysAs !== undefined && treatMissingKeysAs !== null && !isResultCode(treatMissingKeysAs)) {
    return invalid(`"treatMissingKeysAs" must be one of ${RESULT_CODES.join(', ')}`);
  }
  const mine = results.find(
    (r: unknown) => typeof r === 'object' && r !== null && (r as { taskId?: unknown }).taskId === taskId,
  ) as { resultCode?: unknown; resultString?: unknown } | undefined;
  if (mine === undefined) {
    const code: ResultCode = isResultCode(treatMissingKeysAs) ? treatMissingKeysAs : 'PermanentFailure';
    return {
      resultCode: code,
      resultString: code === 'Succeeded' ? '' : `Task ${taskId} is missing from the results returned in Lambda payload`,
    };
  }
  if (!isResultCode(mine.resultCode)) {
    return invalid(
      `"resultCode" must be one of ${RESULT_CODES.join(', ')}, got ${JSON.stringify(mine.resultCode) ?? 'nothing'}`,
    );
  }
  const rs = mine.resultString;
  if (rs !== undefined && rs !== null && typeof rs !== 'string') return invalid('"resultString" must be a string');
  return { resultCode: mine.resultCode, resultString: rs ?? '' };
}

function isResultCode(v: unknown): v is ResultCode {
  return typeof v === 'string' && (RESULT_CODES as readonly string[]).includes(v);
}

function invalid(reason: string): InvocationVerdict {
  return { resultCode: 'Invalid', resultString: `${INVALID_PAYLOAD_MESSAGE}: ${reason}` };
}
