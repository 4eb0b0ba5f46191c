/**
 * HTTP functions (an s3batch extension, docs/extensions.md#http-functions): FunctionArn is an `http://` or
 * `https://` URL; each invocation POSTs the same JSON a Lambda function would receive
 * (content-type application/json) and reads the same result JSON from a 2xx answer.
 *
 * How answers map to outcomes:
 *  - 2xx: the body is the result JSON (read by the handler). An `X-Amz-Function-Error` header
 *    makes it a function error, as with Lambda.
 *  - 429 and 5xx: temporary (redriven with the engine's backoff); after the last redrive the row
 *    is `failed,<status>,TemporaryFailure,HTTP function answered …`.
 *  - 3xx: permanent. Redirects are never followed (a redirect could send the object list to
 *    another host); the message names the target so the user can fix the URL.
 *  - other 4xx: a function error, permanent (`failed,<status>,PermanentFailure,…`).
 *  - no answer within the invocation timeout: permanent, like a Lambda function that timed out
 *    (the function may have done part of its work; AWS does not redrive those either).
 *  - connection refused / reset / DNS failure: temporary (status 0, the network error's code).
 *
 * Messages name the URL without its query string or credentials, which may carry secrets.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isRetryable } from '../../storage/s3-error-classification.ts';
import type { InvokeResult, LambdaInvoker } from './invoker.ts';

export interface HttpFunctionOptions {
  /** Per-invocation limit, from sending the request to the last byte of the answer. */
  readonly timeoutMs: number;
  /** Keep-alive sockets per host. */
  readonly maxSockets?: number | undefined;
  /** Larger answers fail the task (Lambda's synchronous payload limit is 6 MB). */
  readonly maxResponseBytes?: number | undefined;
  /** The operator's --function-urls policy, checked again per call (jobs may predate it), on the URL parsed for the call. */
  readonly allowed?: ((url: URL) => boolean) | undefined;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
const EXCERPT_CHARS = 1024;

export function createHttpFunctionInvoker(options: HttpFunctionOptions): LambdaInvoker {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 128 };
  const httpAgent = new HttpAgent(agentOptions);
  const httpsAgent = new HttpsAgent(agentOptions);
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;

  return {
    invoke(functionArn, payload, signal) {
      return new Promise<InvokeResult>((resolve, reject) => {
        signal.throwIfAborted();
        let url: URL;
        try {
          url = new URL(functionArn);
        } catch {
          resolve(
            failure(
              0,
              'PermanentFailure',
              `HTTP function URL ${JSON.stringify(functionArn)} is not a valid URL`,
              false,
            ),
          );
          return;
        }
        const where = `${url.origin}${url.pathname}`;
        if (options.allowed && !options.allowed(url)) {
          resolve(
            failure(
              0,
              'PermanentFailure',
              `HTTP function ${where} is not allowed by this server's --function-urls`,
              false,
            ),
          );
          return;
        }
        let settled = false;
        const settle = (fn: () => void): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          fn();
        };
        const https = url.protocol === 'https:';
        const body = Buffer.from(payload, 'utf8');
        const req = (https ? httpsRequest : httpRequest)(url, {
          method: 'POST',
          agent: https ? httpsAgent : httpAgent,
          headers: {
            'content-type': 'application/json',
            'content-length': body.length,
            accept: 'application/json',
            'user-agent': 's3batch',
          },
        });
        const timer = setTimeout(() => {
          const seconds = (options.timeoutMs / 1000).toFixed(2);
          settle(() =>
            resolve(
              failure(
                0,
                'PermanentFailure',
                `HTTP function ${where} returned function error: Task timed out after ${seconds} seconds (no complete answer)`,
                false,
              ),
            ),
          );
          req.destroy();
        }, options.timeoutMs);
        const onAbort = (): void => {
          settle(() => reject(signal.reason));
          req.destroy();
        };
        signal.addEventListener('abort', onAbort, { once: true });

        req.on('error', (err: NodeJS.ErrnoException) => {
          const code = typeof err.code === 'string' && err.code !== '' ? err.code : 'NetworkError';
          settle(() =>
            resolve(
              failure(
                0,
                code,
                `Unable to invoke HTTP function ${where}: ${err.message}`,
                isRetryable(0, code) || code === 'NetworkError',
              ),
            ),
          );
        });
        req.on('response', (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes) {
              settle(() =>
                resolve(
                  failure(
                    res.statusCode ?? 0,
                    'PermanentFailure',
                    `HTTP function ${where} answered more than ${maxBytes} bytes`,
                    false,
                  ),
                ),
              );
              req.destroy();
              return;
            }
            chunks.push(chunk);
          });
          const brokeOff = (why: string): void =>
            settle(() =>
              resolve(
                failure(
                  0,
                  'ECONNRESET',
                  `Unable to invoke HTTP function ${where}: the answer broke off (${why})`,
                  true,
                ),
              ),
            );
          res.on('error', (err: Error) => brokeOff(err.message));
          // A connection closed mid-answer may end the response with 'close' alone.
          res.on('close', () => {
            if (!res.complete) brokeOff('connection closed');
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            settle(() => resolve(classify(res, text, where)));
          });
        });
        req.end(body);
      });
    },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

function classify(res: IncomingMessage, text: string, where: string): InvokeResult {
  const status = res.statusCode ?? 0;
  const said = `HTTP function ${where} answered ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`;
  if (status >= 200 && status < 300) {
    const functionError = res.headers['x-amz-function-error'];
    if (functionError !== undefined && functionError !== '') {
      return failure(status, 'PermanentFailure', `HTTP function returned function error: ${excerpt(text)}`, false);
    }
    return { kind: 'answered', statusCode: status, payload: text };
  }
  if (status >= 300 && status < 400) {
    const location = res.headers.location;
    const target = location ? ` to ${redact(location, where)}` : '';
    return failure(
      status,
      'PermanentFailure',
      `${said}, a redirect${target}: redirects are not followed, set FunctionArn to the final URL`,
      false,
    );
  }
  if (status === 429 || status >= 500) return failure(status, 'TemporaryFailure', withBody(said, text), true);
  return failure(status, 'PermanentFailure', withBody(said, text), false);
}

function failure(httpStatus: number, code: string, message: string, retryable: boolean): InvokeResult {
  return { kind: 'failed', httpStatus, code, message, retryable };
}

function withBody(said: string, text: string): string {
  const e = excerpt(text);
  return e === '' ? said : `${said}: ${e}`;
}

function excerpt(text: string): string {
  const t = text.trim();
  return t.length > EXCERPT_CHARS ? `${t.slice(0, EXCERPT_CHARS)}…` : t;
}

/** A redirect target without query string or credentials (relative targets resolve against the function). */
function redact(location: string, base: string): string {
  try {
    const u = new URL(location, base);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(an invalid URL)';
  }
}
