/**
 * LambdaInvoke (docs/operations.md#lambda-invoke): invokes a function once per task with the invocation schema 1.0 or
 * 2.0 payload and turns its result JSON into the task's outcome and report row:
 *
 *   Succeeded         succeeded,200,,<resultString>
 *   TemporaryFailure  redriven with the engine's backoff; after the last attempt
 *                     failed,200,TemporaryFailure,<resultString>
 *   PermanentFailure  failed,200,PermanentFailure,<resultString>
 *   unreadable answer failed,200,PermanentFailure,Invalid JSON returned in Lambda payload: <why>
 *   function error    failed,200,PermanentFailure,Lambda returned function error: {…}
 *
 * The function is an AWS Lambda function (name or ARN, optionally qualified) or, as an s3batch
 * extension, an http(s) URL (operations/lambda/). SDKs do not check FunctionArn's pattern, so a URL
 * works from every client, the S3 Control XML API included.
 */
import { S3BatchError } from '../domain/errors.ts';
import { failed, succeeded, type TaskEntry } from '../domain/task.ts';
import {
  buildInvocationPayload,
  INVOCATION_SCHEMA_VERSIONS,
  newInvocationId,
  parseInvocationResponse,
  taskIdFor,
  type InvocationSchemaVersion,
} from './lambda/invocation-payload.ts';
import { isHttpFunction } from './lambda/invoker.ts';
import type { AttemptOutcome, OperationHandler } from './operation.ts';
import { rethrowIfOwnAbort } from './task-outcomes.ts';
import { checkLength, memberObject } from './s3-put-object-tagging.ts';

export interface LambdaInvokeConfig {
  readonly functionArn: string;
  readonly invocationSchemaVersion: InvocationSchemaVersion;
  /** Schema 2.0 only; undefined when the job has none. */
  readonly userArguments?: Readonly<Record<string, string>> | undefined;
}

/** The model's FunctionArnString pattern (S3 Control 2018-08-20), matched in full. */
export const FUNCTION_ARN_PATTERN =
  /^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9_-]+)(:(\$LATEST|[a-zA-Z0-9_-]+))?$/;

export const MAX_USER_ARGUMENTS = 10;

export const lambdaInvoke: OperationHandler<LambdaInvokeConfig> = {
  name: 'LambdaInvoke',

  parse(member: unknown): LambdaInvokeConfig {
    const m = memberObject(member, 'LambdaInvoke');
    const functionArn = parseFunctionArn(m.FunctionArn);
    const version = parseSchemaVersion(m.InvocationSchemaVersion);
    const userArguments = parseUserArguments(m.UserArguments);
    if (userArguments !== undefined && version !== '2.0') {
      throw new S3BatchError(
        'InvalidRequest',
        'LambdaInvoke.UserArguments requires LambdaInvoke.InvocationSchemaVersion 2.0',
      );
    }
    return Object.freeze({
      functionArn,
      invocationSchemaVersion: version,
      ...(userArguments ? { userArguments } : {}),
    });
  },

  async attempt(config, entry, ctx, signal) {
    if (ctx.lambda === undefined) {
      return {
        result: failed(entry, 0, 'PermanentFailure', 'No function invoker is configured in this s3batch server'),
        retryable: false,
      };
    }
    const taskId = taskIdFor(ctx.jobId ?? '', entry.line);
    const payload = buildInvocationPayload(
      { jobId: ctx.jobId ?? '', taskId, bucket: entry.bucket, rawKey: entry.rawKey, versionId: entry.versionId },
      {
        schemaVersion: config.invocationSchemaVersion,
        userArguments: config.userArguments,
        invocationId: newInvocationId(),
      },
    );
    try {
      const answer = await ctx.lambda.invoke(config.functionArn, JSON.stringify(payload), signal);
      if (answer.kind === 'failed') {
        return { result: failed(entry, answer.httpStatus, answer.code, answer.message), retryable: answer.retryable };
      }
      return outcomeOf(entry, answer.statusCode, parseInvocationResponse(answer.payload, taskId));
    } catch (err) {
      rethrowIfOwnAbort(err, signal);
      return {
        result: failed(
          entry,
          0,
          'InternalError',
          `The function could not be invoked: ${(err as Error).message ?? String(err)}`,
        ),
        retryable: false,
      };
    }
  },
};

/** The task's outcome from what the function answered (docs/operations.md#lambda-results). */
export function outcomeOf(
  entry: TaskEntry,
  httpStatus: number,
  verdict: ReturnType<typeof parseInvocationResponse>,
): AttemptOutcome {
  switch (verdict.resultCode) {
    case 'Succeeded':
      return { result: succeeded(entry, verdict.resultString, httpStatus), retryable: false };
    case 'TemporaryFailure':
      return {
        result: failed(
          entry,
          httpStatus,
          'TemporaryFailure',
          verdict.resultString || 'The function returned TemporaryFailure',
        ),
        retryable: true,
      };
    case 'PermanentFailure':
      return {
        result: failed(
          entry,
          httpStatus,
          'PermanentFailure',
          verdict.resultString || 'The function returned PermanentFailure',
        ),
        retryable: false,
      };
    default:
      return { result: failed(entry, httpStatus, 'PermanentFailure', verdict.resultString), retryable: false };
  }
}

function parseFunctionArn(value: unknown): string {
  if (value === undefined || value === null || value === '')
    throw new S3BatchError('InvalidRequest', 'LambdaInvoke.FunctionArn is required');
  if (typeof value !== 'string') throw new S3BatchError('InvalidRequest', 'LambdaInvoke.FunctionArn must be a string');
  checkLength(value, 1, 1024, 'LambdaInvoke.FunctionArn');
  if (isHttpFunction(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new S3BatchError(
        'InvalidRequest',
        `LambdaInvoke.FunctionArn ${JSON.stringify(value)} is not a valid http(s) URL`,
      );
    }
    if (url.hostname === '')
      throw new S3BatchError('InvalidRequest', `LambdaInvoke.FunctionArn ${JSON.stringify(value)} has no host`);
    if (url.hash !== '')
      throw new S3BatchError(
        'InvalidRequest',
        'LambdaInvoke.FunctionArn: an HTTP function URL cannot have a #fragment',
      );
    return value;
  }
  if (!FUNCTION_ARN_PATTERN.test(value)) {
    throw new S3BatchError(
      'InvalidRequest',
      `LambdaInvoke.FunctionArn ${JSON.stringify(value)} is neither a Lambda function (name or ARN like arn:aws:lambda:us-east-1:123456789012:function:name[:alias]) nor an http(s) URL`,
    );
  }
  return value;
}

/** InvocationSchemaVersion: 1.0 when absent, else 1.0 or 2.0 (also for the built-in delete's LambdaInvoke form). */
export function parseSchemaVersion(value: unknown): InvocationSchemaVersion {
  if (value === undefined || value === null) return '1.0';
  if (typeof value !== 'string' || !(INVOCATION_SCHEMA_VERSIONS as readonly string[]).includes(value)) {
    throw new S3BatchError(
      'InvalidRequest',
      `LambdaInvoke.InvocationSchemaVersion must be 1.0 or 2.0, got ${JSON.stringify(value)}`,
    );
  }
  return value as InvocationSchemaVersion;
}

/**
 * 1..10 entries, key 1..64 and value 0..1024 characters. Empty (`{}` or `<UserArguments/>`) = absent
 * (docs/operations.md#lambda-invoke).
 */
function parseUserArguments(value: unknown): Readonly<Record<string, string>> | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new S3BatchError(
      'InvalidRequest',
      'LambdaInvoke.UserArguments must be a map of string keys to string values',
    );
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return undefined;
  if (entries.length > MAX_USER_ARGUMENTS) {
    throw new S3BatchError(
      'InvalidRequest',
      `LambdaInvoke.UserArguments has ${entries.length} entries; at most ${MAX_USER_ARGUMENTS} are allowed`,
    );
  }
  const out: Record<string, string> = {};
  for (const [key, raw] of entries) {
    // <value/> (an empty value) may reach us as null from the XML layer.
    const v = raw === null ? '' : raw;
    checkLength(key, 1, 64, `LambdaInvoke.UserArguments key ${JSON.stringify(key)}`);
    if (typeof v !== 'string')
      throw new S3BatchError('InvalidRequest', `LambdaInvoke.UserArguments[${JSON.stringify(key)}] must be a string`);
    checkLength(v, 0, 1024, `LambdaInvoke.UserArguments[${JSON.stringify(key)}]`);
    out[key] = v;
  }
  return Object.freeze(out);
}
