/**
 * Request bodies read up to a size limit, with a complete answer when one is too large.
 *
 * fastify's own reader refuses a body over its limit as soon as it knows (at once when
 * Content-Length says so, else at the first byte too many) and closes the connection while the
 * client is still sending: the client's next write fails (EPIPE, ECONNRESET) and node:http, the
 * aws CLI, botocore and curl report that broken pipe instead of the 413.
 *
 * Here a body over its limit is read on and dropped until it ends, and only then refused (413, in
 * the API's own envelope, by its error handler). fastify closes the connection after a body error
 * once the answer is sent; by then nothing is left unread on it, so the client gets all of it.
 *
 * The bound: at most `discardBound(limit)` = max(4 × limit, 16 MiB) bytes of a body are read. A
 * body declared larger (Content-Length) is refused at once, and one that grows past the bound
 * (chunked) is refused there; that client is cut off and may see a broken pipe instead of the 413.
 * The app's request timeout (config.requestTimeoutSeconds, 30 s by default, app.ts) bounds how long
 * a slow or stalled body may take: Node then answers 408 and closes the connection, and the reader
 * here gets an error.
 *
 * Every other early refusal (401/403 decided before the body is read, 415 for a content type no
 * parser takes, 404, …) is answered while the body is still unread: `drainUnreadBody`, an onSend
 * hook of the whole app, reads and drops that body up to the same bound before the answer goes out,
 * with `connection: close`, so those answers reach the client whole too.
 */
import type { IncomingMessage } from 'node:http';
import { errorCodes, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * The JSON API's body limit (the app's bodyLimit; routes may set a lower one, e.g. sign-in 16 KiB).
 * The largest legal CreateJob body measured is 533 KiB (README, "Request limits"); 1 MiB keeps
 * the cost of parsing one request small.
 */
export const JSON_BODY_LIMIT = 1024 * 1024;

/**
 * The deepest nesting of arrays and objects a JSON body may have. A legal CreateJob is at most 7
 * deep (Operation.S3PutObjectAcl.AccessControlPolicy.AccessControlList.Grants[].Grantee); JSON.parse
 * of a 1 MiB body of 500,000 nested arrays takes 0.2-0.3 s of the one thread that serves everyone.
 */
export const MAX_JSON_DEPTH = 32;

/** The least an over-limit body is read up to before its client is cut off. */
export const MIN_DISCARD_BYTES = 16 * 1024 * 1024;

/** How many bytes of a body over `limit` are read (and dropped) so that its client gets the 413. */
export function discardBound(limit: number): number {
  return Math.max(4 * limit, MIN_DISCARD_BYTES);
}

type Done = (err: Error | null, body?: unknown) => void;

/**
 * Reads `payload` whole: `onBody(null, bytes)` when it is at most `limit` bytes; a 413
 * (FST_ERR_CTP_BODY_TOO_LARGE) when it is larger, after it ended or at the bound; a 400 when it
 * ends short of its Content-Length or the connection fails.
 */
export function readLimitedBody(
  payload: IncomingMessage,
  contentLength: string | undefined,
  limit: number,
  onBody: (err: Error | null, body?: Buffer) => void,
): void {
  const bound = discardBound(limit);
  const declared = contentLength === undefined ? Number.NaN : Number(contentLength);
  if (declared > bound) {
    onBody(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
    return;
  }
  let chunks: Buffer[] = [];
  let received = 0;
  let settled = false;
  const settle = (err: Error | null, body?: Buffer): void => {
    if (settled) return;
    settled = true;
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onError);
    chunks = [];
    onBody(err, body);
  };
  function onData(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    received += bytes.length;
    if (received > bound) settle(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
    else if (received <= limit) chunks.push(bytes);
    else chunks = []; // over the limit: read on, keep nothing
  }
  function onEnd(): void {
    if (received > limit) settle(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
    else if (!Number.isNaN(declared) && received !== declared)
      settle(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
    else settle(null, Buffer.concat(chunks, received));
  }
  function onError(err: Error & { statusCode?: number }): void {
    if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
    settle(err);
  }
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onError);
  payload.resume();
}

/**
 * A fastify content-type parser (`addContentTypeParser(type, limitedBodyParser(…))`, without
 * parseAs) that reads the body with readLimitedBody, up to `limitOf(request)` bytes, and hands the
 * bytes to `parse`.
 */
export function limitedBodyParser(
  limitOf: (req: FastifyRequest) => number,
  parse: (req: FastifyRequest, body: Buffer, done: Done) => void,
): (req: FastifyRequest, payload: IncomingMessage, done: Done) => void {
  return (req, payload, done) => {
    readLimitedBody(payload, req.headers['content-length'], limitOf(req), (err, body) => {
      if (err !== null || body === undefined) {
        done(err ?? new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH(), undefined);
        return;
      }
      try {
        parse(req, body, done);
      } catch (error) {
        done(error as Error, undefined);
      }
    });
  };
}

/** The route's body limit (its `bodyLimit`, else the server's). */
export const routeBodyLimit = (req: FastifyRequest): number => req.routeOptions.bodyLimit;

/**
 * onSend hook (app.ts): an answer about to be sent while its request's body is still unread (no
 * parser started on it) waits until that body has been read and dropped, up to
 * `discardBound(route's bodyLimit)`, and goes out with `connection: close`. A body declared larger
 * than the bound is not read; that client may see a broken pipe instead of the answer. Reading stops
 * at the bound, when the body ends, or when the connection fails (the request timeout: 408).
 */
export function drainUnreadBody(req: FastifyRequest, reply: FastifyReply): Promise<void> | undefined {
  const raw = req.raw;
  // A parser read or reads it (it drains an over-limit body itself), or there is no body.
  if (raw.complete || raw.readableFlowing !== null || raw.destroyed) return undefined;
  const length = raw.headers['content-length'];
  if (length === undefined && raw.headers['transfer-encoding'] === undefined) return undefined;
  if (length === '0') return undefined;
  void reply.header('connection', 'close');
  const bound = discardBound(req.routeOptions.bodyLimit);
  if (Number(length) > bound) return undefined;
  return new Promise((resolve) => {
    let received = 0;
    const done = (): void => {
      raw.removeListener('data', onData);
      raw.removeListener('end', done);
      raw.removeListener('error', done);
      raw.removeListener('close', done);
      resolve();
    };
    function onData(chunk: Buffer | string): void {
      received += chunk.length;
      if (received > bound) done();
    }
    raw.on('data', onData);
    raw.on('end', done);
    raw.on('error', done);
    raw.on('close', done);
    raw.resume();
  });
}

/**
 * A 400 MalformedJSON (fastify's FST_ERR_CTP_INVALID_JSON_BODY) when `body` nests arrays and
 * objects deeper than `MAX_JSON_DEPTH`, checked in one pass over the bytes before it is parsed;
 * undefined when it does not.
 */
export function jsonTooDeep(body: Buffer): Error | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) {
        const err = new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY();
        err.message = `The JSON body is nested more than ${MAX_JSON_DEPTH} levels deep`;
        return err;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return undefined;
}
