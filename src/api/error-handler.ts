/**
 * One error handler for the JSON routes: S3BatchError → its status and stable code; fastify's own
 * client errors (bad JSON, body too large, …) → 4xx with a stable code; anything else → 500
 * with the message hidden (it is logged).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isS3BatchError } from '../domain/errors.ts';

export interface JsonError {
  error: { code: string; message: string; requestId: string };
}

export function jsonErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (isS3BatchError(err)) {
    // 502: the storage behind s3batch failed (ReportUnavailable); its code is what the caller needs.
    const hide = err.status >= 500 && err.status !== 502;
    if (hide) request.log.error({ err }, 'internal error');
    void reply.status(err.status).send({
      error: { code: err.code, message: hide ? 'Internal error' : err.message, requestId: request.id },
    } satisfies JsonError);
    return;
  }
  const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
  if (status < 500) {
    const code = err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err instanceof SyntaxError
      ? 'MalformedJSON'
      : err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'RequestTooLarge'
        : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'UnsupportedMediaType'
          : 'BadRequest';
    void reply.status(status).send({ error: { code, message: err.message, requestId: request.id } } satisfies JsonError);
    return;
  }
  request.log.error({ err }, 'internal error');
  void reply.status(500).send({ error: { code: 'InternalError', message: 'Internal error', requestId: request.id } } satisfies JsonError);
}
