/**
 * One error handler for the JSON routes: S3BatchError → its status and stable code; fastify's own
 * client errors (bad JSON, body too large, …) → 4xx with a stable code; anything else → 500
 * with the message hidden (it is logged).
 */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isS3BatchError, type S3BatchError } from '../domain/errors.ts';

export interface JsonError {
  error: { code: string; message: string; requestId: string };
}

/** The most of a request path a 404 or 405 message repeats back. */
export const ECHOED_PATH_CHARS = 200;

/**
 * A request path as a 404 or 405 message repeats it: without the query, cut to ECHOED_PATH_CHARS
 * with an ellipsis, so that a long URL (up to the 16 KiB header limit) is not sent back whole.
 */
export function echoedPath(url: string): string {
  const path = url.split('?')[0] ?? '';
  return path.length > ECHOED_PATH_CHARS ? `${path.slice(0, ECHOED_PATH_CHARS)}…` : path;
}

/**
 * A request Node's HTTP parser refuses before any route sees it (headers over 16 KiB, a malformed
 * request line, a request that took too long): the same `{"error":{code,message}}` shape as
 * every other error, instead of fastify's `{"error":"<status text>"}`. There is no request id.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, text, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [
          431,
          'Request Header Fields Too Large',
          'RequestTooLarge',
          'The request line and headers are larger than the server accepts (16 KiB)',
        ]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'RequestTimeout', 'The request was not received in time']
        : [400, 'Bad Request', 'BadRequest', 'The request is not valid HTTP'];
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${text}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

export function jsonErrorHandler(err: FastifyError | S3BatchError, request: FastifyRequest, reply: FastifyReply): void {
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
    const code =
      err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
      err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
      err instanceof SyntaxError
        ? 'MalformedJSON'
        : err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? 'RequestTooLarge'
          : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? 'UnsupportedMediaType'
            : 'BadRequest';
    void reply
      .status(status)
      .send({ error: { code, message: err.message, requestId: request.id } } satisfies JsonError);
    return;
  }
  request.log.error({ err }, 'internal error');
  void reply
    .status(500)
    .send({ error: { code: 'InternalError', message: 'Internal error', requestId: request.id } } satisfies JsonError);
}
