/**
 * Errors of the S3 Control API (`/v20180820`) in the `ErrorResponse` envelope (docs/s3control-api.md#error-envelope),
 * with the codes of the AWS model so the SDKs raise typed exceptions (NotFoundException, …).
 *
 * - S3BatchError → its status and code; validation codes are first mapped onto the code the model
 *   lists for the operation (`modelledError`), e.g. ListJobs answers InvalidRequestException.
 * - fastify's own client errors (body too large, bad content type, …) → their 4xx, S3-style code.
 * - anything else → 500 InternalServiceException with the message hidden (it is logged).
 * Every answer carries `x-amz-request-id` (fastify's request id) and `x-amz-id-2`.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isS3BatchError, S3BatchError, type ErrorCode } from '../../domain/errors.ts';
import { errorResponse } from './xml-responses.ts';

export type S3ControlOperation =
  | 'CreateJob'
  | 'DescribeJob'
  | 'ListJobs'
  | 'UpdateJobPriority'
  | 'UpdateJobStatus'
  | 'GetJobTagging'
  | 'PutJobTagging'
  | 'DeleteJobTagging';

/** Codes that mean "the request's arguments are invalid", whatever layer raised them. */
const VALIDATION_CODES: ReadonlySet<ErrorCode> = new Set([
  'InvalidRequest',
  'InvalidRequestException',
  'BadRequestException',
]);

/**
 * The validation exception the model lists for each operation. CreateJob keeps S3's
 * `InvalidRequest` (docs/s3control-api.md#error-envelope: semantic validation failures; the SDK raises it as a service
 * exception named InvalidRequest); the tagging operations model no validation exception at all,
 * so they keep the code too.
 */
const MODELLED_VALIDATION_CODE: Readonly<Record<S3ControlOperation, ErrorCode | undefined>> = {
  CreateJob: undefined,
  ListJobs: 'InvalidRequestException',
  DescribeJob: 'BadRequestException',
  UpdateJobPriority: 'BadRequestException',
  UpdateJobStatus: 'BadRequestException',
  GetJobTagging: undefined,
  PutJobTagging: undefined,
  DeleteJobTagging: undefined,
};

/** The error as the model wants it for this operation (validation codes renamed, others unchanged). */
export function modelledError(operation: S3ControlOperation, err: unknown): unknown {
  if (!isS3BatchError(err) || !VALIDATION_CODES.has(err.code)) return err;
  const code = MODELLED_VALIDATION_CODE[operation];
  if (code === undefined || code === err.code) return err;
  return new S3BatchError(code, err.message, { cause: err });
}

/** Sets the two request-id headers of every answer (onRequest: errors and 404s get them too). */
export function setRequestIdHeaders(request: FastifyRequest, reply: FastifyReply): void {
  void reply.header('x-amz-request-id', request.id);
  // AWS's x-amz-id-2 is an opaque base64 host token; ours is random per request, never derived from a secret.
  void reply.header('x-amz-id-2', randomBytes(24).toString('base64'));
}

export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
): void {
  if (typeof reply.getHeader('x-amz-id-2') !== 'string') setRequestIdHeaders(request, reply);
  const hostId = String(reply.getHeader('x-amz-id-2'));
  void reply
    .status(status)
    .header('content-type', 'application/xml')
    .send(errorResponse({ code, message, requestId: request.id, hostId }));
}

/** fastify's client errors → an S3-style code (the status stays fastify's). */
function fastifyClientCode(err: FastifyError): string {
  return err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'MaxMessageLengthExceeded' : 'InvalidRequest';
}

/** The error handler of the /v20180820 scope. */
export function s3ControlErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (isS3BatchError(err)) {
    if (err.status >= 500) {
      request.log.error({ err }, 'internal error');
      sendError(request, reply, 500, 'InternalServiceException', 'We encountered an internal error. Please try again.');
      return;
    }
    sendError(request, reply, err.status, err.code, err.message);
    return;
  }
  const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
  if (status >= 400 && status < 500) {
    sendError(request, reply, status, fastifyClientCode(err), err.message);
    return;
  }
  request.log.error({ err }, 'internal error');
  sendError(request, reply, 500, 'InternalServiceException', 'We encountered an internal error. Please try again.');
}
