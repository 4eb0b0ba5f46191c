/**
 * Builds the server's one function invoker for LambdaInvoke from its settings: HTTP functions for
 * http(s) URLs, AWS Lambda (or a Lambda-compatible endpoint) for everything else. Each side is
 * created on first use, so a server that never runs a LambdaInvoke job opens nothing.
 */
import { createAwsLambdaInvoker, type AwsLambdaOptions } from './aws-lambda-function.ts';
import { createHttpFunctionInvoker, type HttpFunctionOptions } from './http-function.ts';
import { createRoutingInvoker, type LambdaInvoker } from './invoker.ts';

export interface FunctionInvokerOptions {
  readonly lambda: AwsLambdaOptions;
  readonly http: HttpFunctionOptions;
}

export function createFunctionInvoker(options: FunctionInvokerOptions): LambdaInvoker {
  return createRoutingInvoker({
    http: () => createHttpFunctionInvoker(options.http),
    lambda: () => createAwsLambdaInvoker(options.lambda),
  });
}
