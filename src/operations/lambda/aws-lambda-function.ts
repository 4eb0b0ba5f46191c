/**
 * AWS Lambda functions (docs/operations.md#lambda-invoke): one synchronous `Invoke` (InvocationType RequestResponse)
 * per task through @aws-sdk/client-lambda, against AWS or any Lambda-compatible endpoint
 * (S3BATCH_LAMBDA_ENDPOINT). FunctionArn goes to the Invoke call as FunctionName unchanged: a
 * name, a partial or full ARN, with or without a version/alias qualifier, as Lambda resolves it.
 *
 * Outcomes (docs/operations.md#lambda-results):
 *  - answered without FunctionError: the payload is the result JSON (read by the handler);
 *  - FunctionError (unhandled exception, function timeout): permanent,
 *    `failed,200,PermanentFailure,Lambda returned function error: {"errorMessage":…}`;
 *  - Invoke API errors: 429 / 5xx / throttling / network errors are temporary (redriven with
 *    backoff), others (AccessDeniedException, ResourceNotFoundException, …) permanent;
 *    `failed,<status>,<AWS error code>,<message>`.
 * The client makes one attempt per call: the engine's retry policy does the redrives.
 */
import type { LambdaClient, LambdaClientConfig } from '@aws-sdk/client-lambda';
import { keepAliveRequestHandler } from '../../storage/s3-clients.ts';
import { describeS3Error, isRetryable } from '../../storage/s3-error-classification.ts';
import type { InvokeResult, LambdaInvoker } from './invoker.ts';

export interface AwsLambdaOptions {
  /** Lambda endpoint URL; undefined means AWS Lambda in `region`. */
  readonly endpoint?: string | undefined;
  readonly region: string;
  /** Static credentials; both absent ⇒ the SDK's default credential chain. */
  readonly accessKeyId?: string | undefined;
  readonly secretAccessKey?: string | undefined;
  readonly maxSockets?: number | undefined;
  /** Socket idle limit; default 16 min (a synchronous invocation may run 15 min). */
  readonly requestTimeoutMs?: number | undefined;
}

export function createAwsLambdaInvoker(options: AwsLambdaOptions): LambdaInvoker {
  const config: LambdaClientConfig = {
    region: options.region,
    maxAttempts: 1,
    requestHandler: keepAliveRequestHandler({
      maxSockets: options.maxSockets,
      requestTimeoutMs: options.requestTimeoutMs ?? 16 * 60_000,
    }),
  };
  if (options.endpoint !== undefined && options.endpoint !== '') config.endpoint = options.endpoint;
  if (options.accessKeyId !== undefined && options.secretAccessKey !== undefined) {
    config.credentials = { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey };
  }
  // The SDK's Lambda client is loaded at the first invocation: most servers never invoke one, and
  // loading it at start costs tens of milliseconds (bench/README.md, start-up).
  let sdk: Promise<typeof import('@aws-sdk/client-lambda')> | undefined;
  let client: LambdaClient | undefined;
  const decoder = new TextDecoder();

  return {
    async invoke(functionArn, payload, signal) {
      try {
        sdk ??= import('@aws-sdk/client-lambda');
        const { InvokeCommand, LambdaClient } = await sdk;
        client ??= new LambdaClient(config);
        const out = await client.send(
          new InvokeCommand({
            FunctionName: functionArn,
            InvocationType: 'RequestResponse',
            Payload: new TextEncoder().encode(payload),
          }),
          { abortSignal: signal },
        );
        const status = out.StatusCode ?? 200;
        const text = out.Payload ? decoder.decode(out.Payload) : '';
        if (out.FunctionError !== undefined && out.FunctionError !== '') {
          return {
            kind: 'failed',
            httpStatus: status,
            code: 'PermanentFailure',
            message: `Lambda returned function error: ${text}`,
            retryable: false,
          };
        }
        return { kind: 'answered', statusCode: status, payload: text };
      } catch (err) {
        if (signal.aborted) throw err;
        return describeLambdaError(err);
      }
    },
    close() {
      client?.destroy();
    },
  };
}

interface LambdaErrorLike {
  name?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown; requestId?: unknown };
}

/** The report's view of an Invoke API error, in the AWS SDK style of the S3 rows. */
export function describeLambdaError(err: unknown): InvokeResult {
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as LambdaErrorLike;
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : 'UnknownError';
  if (status === undefined) {
    // No HTTP answer: a network error (connection refused, reset, DNS, timeout) is temporary.
    const net = describeS3Error(err);
    return {
      kind: 'failed',
      httpStatus: 0,
      code: net.code,
      message: `Unable to invoke Lambda function: ${message} (Service: AWSLambda; Error Code: ${net.code})`,
      retryable: net.retryable,
    };
  }
  const code =
    typeof e.name === 'string' && e.name !== '' && e.name !== 'Error'
      ? e.name
      : status >= 500
        ? 'ServiceException'
        : `Http${status}`;
  const requestId = typeof e.$metadata?.requestId === 'string' ? `; Request ID: ${e.$metadata.requestId}` : '';
  return {
    kind: 'failed',
    httpStatus: status,
    code,
    message: `${message} (Service: AWSLambda; Status Code: ${status}; Error Code: ${code}${requestId})`,
    retryable: isRetryable(status, code),
  };
}
