/**
 * Turns whatever @aws-sdk/client-s3 throws into the four facts a task result needs (docs/reports.md#result-rows,
 * docs/job-lifecycle.md#retries): the HTTP status, the S3 error code, a message in the AWS report style, and whether
 * the failure is transient (retried with backoff) or permanent (reported at once). Shared by the
 * operation handlers (operations/task-outcomes.ts) and the S3 object store (s3-object-store.ts).
 *
 * What the SDK throws, as observed against Ceph RGW 16 and s3rver 3.7:
 *  - S3ServiceException: `name` = the error code (also in `Code` when the body had one),
 *    `$metadata.httpStatusCode`, `$metadata.requestId`; `message` is "UnknownError" when the
 *    body had no <Message> (Ceph never sends one).
 *  - HEAD/404 (HeadObject, HeadBucket) has no body at all: name 'NotFound', message
 *    'UnknownError', no code ⇒ mapped to NoSuchKey / 404.
 *  - network failures: plain Errors with `code` ECONNRESET/ECONNREFUSED/…, 'socket hang up',
 *    or name TimeoutError (the handler's socket timeout) / AbortError; no HTTP status at all.
 */

export interface S3ErrorInfo {
  /** HTTP status S3 answered with; 0 when no HTTP response arrived (network error, timeout). */
  readonly httpStatus: number;
  /** S3 error code (`NoSuchKey`), or the network error's code (`ECONNRESET`, `TimeoutError`). */
  readonly code: string;
  /** `<S3 message> (Service: Amazon S3; Status Code: <n>; Error Code: <code>; Request ID: <id>)` */
  readonly message: string;
  readonly retryable: boolean;
}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

const RETRYABLE_CODES = new Set([
  'SlowDown',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'TooManyRequests',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'PriorRequestNotComplete',
  // 409 "A conflicting conditional operation is currently in progress against this resource.
  // Please try again." — Ceph RGW answers it to concurrent PutObjectTagging on one object.
  'OperationAborted',
  'EC2ThrottledException',
]);

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** Bodiless answers (HEAD) only carry the status; the SDK names them by reason phrase. */
const BODILESS_NAMES: Readonly<Record<string, { code: string; status: number }>> = {
  NotFound: { code: 'NoSuchKey', status: 404 },
  Forbidden: { code: 'AccessDenied', status: 403 },
  BadRequest: { code: 'BadRequest', status: 400 },
  PreconditionFailed: { code: 'PreconditionFailed', status: 412 },
  NotModified: { code: 'NotModified', status: 304 },
  MovedPermanently: { code: 'PermanentRedirect', status: 301 },
};

/** S3's own wording, for answers without a <Message> (Ceph, HEAD). */
const DEFAULT_MESSAGES: Readonly<Record<string, string>> = {
  NoSuchKey: 'The specified key does not exist.',
  NoSuchVersion: 'The specified version does not exist.',
  NoSuchBucket: 'The specified bucket does not exist',
  NoSuchUpload: 'The specified upload does not exist.',
  AccessDenied: 'Access Denied',
  PreconditionFailed: 'At least one of the pre-conditions you specified did not hold',
  NotModified: 'Not Modified',
  InvalidRequest: 'Invalid Request',
  InvalidArgument: 'Invalid Argument',
  InvalidObjectState: "The operation is not valid for the object's storage class",
  InvalidStorageClass: 'The storage class you specified is not valid',
  InvalidTag: 'The tag provided was not a valid tag.',
  InvalidRange: 'The requested range is not satisfiable',
  EntityTooSmall: 'Your proposed upload is smaller than the minimum allowed object size.',
  EntityTooLarge: 'Your proposed upload exceeds the maximum allowed object size.',
  MethodNotAllowed: 'The specified method is not allowed against this resource.',
  NotImplemented: 'A header you provided implies functionality that is not implemented',
  SlowDown: 'Please reduce your request rate.',
  ServiceUnavailable: 'Service Unavailable',
  InternalError: 'We encountered an internal error. Please try again.',
  RequestTimeout: 'Your socket connection to the server was not read from or written to within the timeout period.',
  BadRequest: 'Bad Request',
};

interface SdkErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  Code?: unknown;
  $metadata?: { httpStatusCode?: unknown; requestId?: unknown; extendedRequestId?: unknown };
  $response?: { statusCode?: unknown };
  cause?: unknown;
}

/** Describes any error the S3 client threw. Never throws. */
export function describeS3Error(err: unknown): S3ErrorInfo {
  const e: SdkErrorLike = typeof err === 'object' && err !== null ? (err as SdkErrorLike) : { message: String(err) };
  const name = str(e.name);
  const status = num(e.$metadata?.httpStatusCode) ?? num(e.$response?.statusCode);

  if (status === undefined) {
    const network = networkCode(e);
    if (network !== undefined) {
      const text = str(e.message) || network;
      return {
        httpStatus: 0,
        code: network,
        message: `Unable to execute HTTP request: ${text} (Service: Amazon S3; Error Code: ${network})`,
        retryable: true,
      };
    }
  }

  let code = str(e.Code) || (typeof e.code === 'string' && !/^E[A-Z_]+$/.test(e.code) ? e.code : '') || name;
  let httpStatus = status ?? 0;
  const bodiless = str(e.Code) === '' ? BODILESS_NAMES[code] : undefined;
  if (bodiless !== undefined) {
    code = bodiless.code;
    if (httpStatus === 0) httpStatus = bodiless.status;
  }
  if (code === '' || code === 'Error')
    code = httpStatus >= 500 ? 'InternalError' : httpStatus > 0 ? `Http${httpStatus}` : 'UnknownError';

  const raw = str(e.message);
  const text = raw !== '' && raw !== 'UnknownError' && raw !== code ? raw : (DEFAULT_MESSAGES[code] ?? (raw || code));
  const requestId = str(e.$metadata?.requestId);
  const extId = str(e.$metadata?.extendedRequestId);
  const suffix = [
    'Service: Amazon S3',
    ...(httpStatus > 0 ? [`Status Code: ${httpStatus}`] : []),
    `Error Code: ${code}`,
    ...(requestId ? [`Request ID: ${requestId}`] : []),
    ...(extId ? [`S3 Extended Request ID: ${extId}`] : []),
  ].join('; ');
  return { httpStatus, code, message: `${text} (${suffix})`, retryable: isRetryable(httpStatus, code) };
}

export function isRetryable(httpStatus: number, code: string): boolean {
  if (RETRYABLE_STATUS.has(httpStatus)) return true;
  if (RETRYABLE_CODES.has(code) || code.startsWith('Throttl') || code.startsWith('RequestThrottled')) return true;
  if (httpStatus === 0 && (NETWORK_CODES.has(code) || code === 'TimeoutError' || code === 'AbortError')) return true;
  return false;
}

/** The network-level error code, or undefined if this is not a network failure. */
function networkCode(e: SdkErrorLike): string | undefined {
  for (let cur: unknown = e, depth = 0; typeof cur === 'object' && cur !== null && depth < 4; depth++) {
    const c = cur as SdkErrorLike;
    const code = str(c.code);
    if (NETWORK_CODES.has(code)) return code;
    const name = str(c.name);
    if (name === 'TimeoutError' || name === 'AbortError' || name === 'RequestTimeout') return name;
    const message = str(c.message);
    if (/socket hang up/i.test(message)) return 'ECONNRESET';
    const inMessage = /\b(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND)\b/.exec(message);
    if (inMessage?.[1] !== undefined) return inMessage[1];
    cur = c.cause;
  }
  return undefined;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
