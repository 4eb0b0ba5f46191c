/**
 * The port LambdaInvoke calls functions through, and the router that picks the invoker by the
 * FunctionArn: an `http://` / `https://` URL goes to the HTTP function invoker, anything else
 * (a Lambda function name or ARN, optionally qualified) to AWS Lambda (or the Lambda-compatible
 * endpoint configured with S3BATCH_LAMBDA_ENDPOINT).
 *
 * An invoker never throws for what the function or the network did: it returns either the
 * function's answer or a failure already described for the report. It rethrows only when the
 * caller's signal fired (job cancelled or paused), so the engine abandons the task.
 */

export type InvokeResult =
  /** The function ran and answered: `payload` is its result JSON (to be read by the handler). */
  | { readonly kind: 'answered'; readonly statusCode: number; readonly payload: string }
  /** No usable answer: the report row's HTTP status, error code and message; retryable = redrive. */
  | {
      readonly kind: 'failed';
      readonly httpStatus: number;
      readonly code: string;
      readonly message: string;
      readonly retryable: boolean;
    };

export interface LambdaInvoker {
  /** One synchronous (RequestResponse) invocation of `functionArn` with `payload` (JSON text). */
  invoke(functionArn: string, payload: string, signal: AbortSignal): Promise<InvokeResult>;
  /** Releases sockets. */
  close?(): void;
}

const URL_FUNCTION = /^https?:\/\//i;

/** True when FunctionArn names an HTTP(S) function rather than a Lambda function. */
export function isHttpFunction(functionArn: string): boolean {
  return URL_FUNCTION.test(functionArn);
}

/** Routes URLs to `http` and everything else to `lambda`, each created on first use. */
export function createRoutingInvoker(make: { http: () => LambdaInvoker; lambda: () => LambdaInvoker }): LambdaInvoker {
  let http: LambdaInvoker | undefined;
  let lambda: LambdaInvoker | undefined;
  return {
    invoke(functionArn, payload, signal) {
      const target = isHttpFunction(functionArn) ? (http ??= make.http()) : (lambda ??= make.lambda());
      return target.invoke(functionArn, payload, signal);
    },
    close() {
      http?.close?.();
      lambda?.close?.();
    },
  };
}
