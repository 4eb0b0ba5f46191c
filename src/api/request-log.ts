/**
 * Request ids and the request log line of the HTTP app.
 *
 * Every request has an id: the caller's (or its proxy's) `x-request-id` when it is a plain token,
 * else a new one. It is `reqId` on each log line of the request, the `x-request-id` header of the
 * answer, and on the S3 Control API also `x-amz-request-id` and the ErrorResponse's `<RequestId>`.
 *
 * One line per request, when it ends: method, URL (credentials in a presigned query replaced, see
 * src/logging.ts), status and time, at `info`; health and metrics probes at `debug`, so a scraper
 * does not fill the log. `debug` also logs each request as it comes in.
 */
import { randomUUID } from 'node:crypto';
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

/** An id from outside is taken only as a plain token, so it cannot forge log lines or headers. */
const ACCEPTED_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** fastify's genReqId: the caller's `x-request-id` if it is a plain token, else 16 random hex digits. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  if (typeof given === 'string' && ACCEPTED_ID.test(given)) return given;
  return randomUUID().replaceAll('-', '').slice(0, 16).toUpperCase();
}

/** Routes polled by probes and scrapers: their lines are `debug`. */
const PROBES = new Set(['/healthz', '/metrics']);

export class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const fields = { req: request, res: reply, responseTime: Math.round(reply.elapsedTime * 10) / 10 };
    if (error) reply.log.error({ ...fields, err: error }, 'request errored');
    else if (PROBES.has(request.url)) reply.log.debug(fields, 'request completed');
    else reply.log.info(fields, 'request completed');
  }
}
