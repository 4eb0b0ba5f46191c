/**
 * Errors of the lean client, shaped as the AWS SDK v3 (S3Client) throws them for the same answer,
 * so storage/s3-error-classification.ts reads the same status, code, message and request ids
 * (measured with the SDK against a local server, see test/unit/s3-lean-client.test.ts):
 *  - an XML <Error> body: name = Code = its <Code>, message = its <Message> or 'UnknownError',
 *    RequestId/HostId from the body, $metadata from the x-amz-request-id / x-amz-id-2 headers;
 *  - no body (HEAD, or an empty answer): name 'NotFound' for 404, else 'Unknown'; 'UnknownError';
 *  - a body that is no XML: name 'Error' and the SDK's parse-error message;
 *  - a 2xx answer whose body ends with </Error> is read as a 503 with that body (S3's "200 error");
 *  - network failures: undici's errors renamed to what node:http gives the SDK (ECONNRESET,
 *    TimeoutError with the SDK handler's wording for its socket and connect timeouts); a streamed
 *    body cut short: node:http's `aborted` (ECONNRESET).
 */

export interface ErrorMetadata {
  readonly httpStatusCode?: number;
  readonly requestId?: string | undefined;
  readonly extendedRequestId?: string | undefined;
  readonly attempts: number;
  readonly totalRetryDelay: number;
}

export class S3ResponseError extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: ErrorMetadata;
  Code?: string;
  RequestId?: string;
  HostId?: string;

  constructor(name: string, message: string, status: number, headers: Record<string, unknown>) {
    super(message);
    this.name = name;
    this.$fault = status >= 500 ? 'server' : 'client';
    this.$metadata = {
      httpStatusCode: status,
      requestId: headerOf(headers, 'x-amz-request-id'),
      extendedRequestId: headerOf(headers, 'x-amz-id-2'),
      attempts: 1,
      totalRetryDelay: 0,
    };
  }
}

const PARSE_ERROR =
  '@aws-sdk XML parse error: unexpected content.\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.';

/** The error for a non-2xx answer (or a 2xx "200 error", passed with status 503). */
export function responseError(status: number, headers: Record<string, unknown>, body: string): Error {
  const text = body.trim();
  if (text === '') return new S3ResponseError(status === 404 ? 'NotFound' : 'Unknown', 'UnknownError', status, headers);
  const error = /<Error\b[^>]*>([\s\S]*)<\/Error>/.exec(text)?.[1];
  if (error === undefined) {
    if (text.startsWith('<'))
      return new S3ResponseError(status === 404 ? 'NotFound' : 'Unknown', 'UnknownError', status, headers);
    const err = new Error(PARSE_ERROR) as Error & { $metadata: ErrorMetadata };
    err.$metadata = {
      httpStatusCode: status,
      requestId: headerOf(headers, 'x-amz-request-id'),
      extendedRequestId: headerOf(headers, 'x-amz-id-2'),
      attempts: 1,
      totalRetryDelay: 0,
    };
    return err;
  }
  const code = xmlField(error, 'Code');
  const message = xmlField(error, 'Message');
  const e = new S3ResponseError(
    code || (status === 404 ? 'NotFound' : 'Unknown'),
    message || 'UnknownError',
    status,
    headers,
  );
  if (code) e.Code = code;
  const requestId = xmlField(error, 'RequestId');
  const hostId = xmlField(error, 'HostId');
  if (requestId !== undefined) e.RequestId = requestId;
  if (hostId !== undefined) e.HostId = hostId;
  return e;
}

/** CopyObject answered 2xx with an empty body (the SDK's THROW_IF_EMPTY_BODY). */
export function abortedRequestError(): Error {
  const err = new Error('S3 aborted request') as Error & { $metadata: { httpStatusCode: number } };
  err.name = 'InternalError';
  err.$metadata = { httpStatusCode: 503 };
  return err;
}

/** True when a 2xx body is an S3 "200 error" (the SDK looks at its last 16 bytes). */
export function isErrorBody(body: string): boolean {
  return body.slice(-16).endsWith('</Error>');
}

/**
 * undici's network errors as node:http (and so the SDK) reports them: the classification keys on
 * the code (ECONNRESET, ECONNREFUSED, …) or the name TimeoutError.
 */
export function networkError(err: unknown, timeouts: { connectMs: number; requestMs: number }): unknown {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; name?: unknown };
  if (typeof e !== 'object' || e === null) return err;
  switch (e.code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return named(
        'TimeoutError',
        `@smithy/node-http-handler - the request socket timed out after ${timeouts.requestMs} ms of inactivity (configured by client requestHandler).`,
        err,
      );
    case 'UND_ERR_CONNECT_TIMEOUT':
      return named(
        'TimeoutError',
        `@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of ${timeouts.connectMs} ms.`,
        err,
      );
    case 'UND_ERR_SOCKET': {
      const cause = e.cause as { code?: unknown; message?: unknown } | undefined;
      if (typeof cause?.code === 'string' && cause.code.startsWith('E')) return cause;
      const reset = new Error('socket hang up', { cause: err }) as Error & { code: string };
      reset.code = 'ECONNRESET';
      return reset;
    }
    default:
      return err;
  }
}

/**
 * A failure while a 2xx body streams in, as the SDK's body (a node:http IncomingMessage) reports
 * it: whatever ends the connection early (reset, close) is `aborted` with code ECONNRESET; an idle
 * body times out as networkError says; anything else (the caller's abort) as it is.
 */
export function bodyError(err: unknown, timeouts: { connectMs: number; requestMs: number }): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') {
    const aborted = new Error('aborted', { cause: err }) as Error & { code: string };
    aborted.code = 'ECONNRESET';
    return aborted;
  }
  return networkError(err, timeouts);
}

function named(name: string, message: string, cause: unknown): Error {
  const err = new Error(message, { cause });
  err.name = name;
  return err;
}

function headerOf(headers: Record<string, unknown>, name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? String(v[0]) : undefined;
}

/** The text of the first <name> element, XML entities decoded; undefined when absent. */
export function xmlField(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`).exec(xml);
  return m?.[1] === undefined ? undefined : decodeXml(m[1]);
}

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeXml(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, ent: string) =>
    ent[0] === '#'
      ? String.fromCodePoint(ent[1] === 'x' ? Number.parseInt(ent.slice(2), 16) : Number(ent.slice(1)))
      : (ENTITIES[ent] ?? ''),
  );
}
