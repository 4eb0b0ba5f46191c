/**
 * Every error s3batch reports to a caller, in one table: a stable string code, the HTTP status
 * it maps to on the APIs, and whether it is the caller's fault. Tests assert codes, not wording.
 */
export const ERROR_TABLE = {
  // request validation (S3 Control API model codes first)
  BadRequestException: { status: 400 },
  InvalidRequest: { status: 400 },
  InvalidRequestException: { status: 400 },
  InvalidNextTokenException: { status: 400 },
  MalformedXML: { status: 400 },
  MalformedJSON: { status: 400 },
  TooManyTagsException: { status: 400 },
  NotFoundException: { status: 404 },
  JobStatusException: { status: 409 },
  IdempotencyException: { status: 409 },
  TooManyRequestsException: { status: 429 },
  Unauthorized: { status: 401 },
  AccessDenied: { status: 403 },
  SignatureDoesNotMatch: { status: 403 },
  InvalidAccessKeyId: { status: 403 },
  RequestTimeTooSkewed: { status: 403 },
  // x-amz-content-sha256: UNSIGNED-PAYLOAD while the server does not allow it (--allow-unsigned-payload)
  UnsignedPayloadNotAllowed: { status: 403 },
  MethodNotAllowed: { status: 405 },
  // a path segment (e.g. a job id) over the router's limit: answered before routing, on both APIs
  UriTooLong: { status: 414 },
  // manifest and job-level failure codes (docs/errors.md#job-failure-codes): carried by FailureReasons, not HTTP
  InvalidManifestContent: { status: 400 },
  ManifestNotFound: { status: 404 },
  ManifestAccessDenied: { status: 403 },
  ManifestETagMismatch: { status: 412 },
  ManifestTooLarge: { status: 400 },
  ManifestChecksumMismatch: { status: 400 },
  ManifestGenerationEmpty: { status: 400 },
  ManifestGenerationFailed: { status: 400 },
  InvalidJobConfiguration: { status: 400 },
  ReportLocationNotWritable: { status: 403 },
  // completion report downloads (JSON API): no report (yet) or no such file; the report bucket failed
  ReportNotFound: { status: 404 },
  ReportUnavailable: { status: 502 },
  // retry of a job's failed tasks (JSON API, CLI, web; docs/job-lifecycle.md#retry-failed)
  RetryJobNotEnded: { status: 409 },
  RetryNoReport: { status: 409 },
  RetryNoFailedTasks: { status: 409 },
  RetryCodesMatchNothing: { status: 409 },
  // the scale-out mode (--redis): a standby serve has no leader to forward to right now; retry
  ServiceUnavailable: { status: 503 },
  // configuration
  InvalidConfiguration: { status: 500 },
  // internal
  IllegalTransition: { status: 500 },
  InternalServiceException: { status: 500 },
} as const satisfies Record<string, { status: number }>;

export type ErrorCode = keyof typeof ERROR_TABLE;

export class S3BatchError extends Error {
  override readonly name = 'S3BatchError';
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = ERROR_TABLE[code].status;
  }
}

/** Recognised by name as well as instanceof (errors may cross module copies). */
export function isS3BatchError(err: unknown): err is S3BatchError {
  return err instanceof S3BatchError || (err instanceof Error && err.name === 'S3BatchError' && 'code' in err);
}

/** A manifest problem: always carries the 1-based manifest line it was found on, when known. */
export class ManifestError extends S3BatchError {
  readonly line: number | undefined;
  constructor(
    code:
      | 'InvalidManifestContent'
      | 'ManifestNotFound'
      | 'ManifestAccessDenied'
      | 'ManifestETagMismatch'
      | 'ManifestTooLarge'
      | 'ManifestChecksumMismatch'
      | 'ManifestGenerationEmpty'
      | 'ManifestGenerationFailed',
    message: string,
    line?: number,
  ) {
    super(code, line === undefined ? message : `Line ${line}: ${message}`);
    this.line = line;
  }
}

/** The job size cap (S3BATCH_MAX_TASKS_PER_JOB): one message for every manifest source. */
export function manifestTooLarge(maxTasks: number): ManifestError {
  return new ManifestError(
    'ManifestTooLarge',
    `The manifest lists more than ${maxTasks.toLocaleString('en-US')} objects, the most this server allows in one job (S3BATCH_MAX_TASKS_PER_JOB / serve --max-tasks-per-job)`,
  );
}
