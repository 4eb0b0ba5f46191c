/**
 * A standby `s3batch serve` in the scale-out mode (docs/deployment.md#roles): it holds no job state
 * and runs no engine, so it hands every request to the instance that leads (its URL is in the
 * leader lock), byte for byte: method, path, headers (Host included, which SigV4 signs) and body
 * stream through, and so does the answer, server-sent events included. A load balancer may thus
 * send requests to any instance.
 *
 * Its own answers: `/healthz` (this instance's role and the leader it forwards to), and, while no
 * leader answers (a takeover takes up to 10 s), 503 ServiceUnavailable with Retry-After: in the S3
 * Control API's `ErrorResponse` envelope under `/v20180820`, else the JSON API's error shape. The
 * AWS SDKs retry a 503 by themselves.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { errorResponse } from '../api/s3control/xml-responses.ts';

/** The leader to forward to (`self`: it is this instance, which is not serving yet), or undefined while there is none. */
export type LeaderLookup = () => Promise<{ readonly url: string; readonly self: boolean } | undefined>;

export interface StandbyProxy {
  readonly url: string;
  close(): Promise<void>;
}

/** Connection-level headers a proxy must not pass on (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
]);

const RETRY_AFTER_SECONDS = 2;

/** How a standby names itself in the Via header of what it forwards (and recognises a loop by). */
const VIA_NAME = 's3batch-standby';

function passable(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers))
    if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
  return out;
}

let requestCounter = 0;

function unavailable(req: http.IncomingMessage, res: http.ServerResponse, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const requestId = `standby-${process.pid}-${++requestCounter}`;
  const s3control = (req.url ?? '').startsWith('/v20180820');
  const body = s3control
    ? errorResponse({ code: 'ServiceUnavailable', message, requestId })
    : JSON.stringify({ error: { code: 'ServiceUnavailable', message, requestId } });
  res.writeHead(503, {
    'content-type': s3control ? 'application/xml' : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'retry-after': String(RETRY_AFTER_SECONDS),
    'x-amz-request-id': requestId,
  });
  res.end(body);
  // The request's body was not read: drain it so the connection can be reused.
  req.resume();
}

/** A request target the proxy passes on: a path (`/…`), never a URL or `//host` that names another server. */
function isOriginPath(url: string | undefined): url is string {
  return url?.startsWith('/') === true && !url.startsWith('//');
}

function forward(req: http.IncomingMessage, res: http.ServerResponse, leader: string, self: string): void {
  // Only the leader's own URL says where the request goes: the request line gives the path alone.
  const base = new URL(leader);
  const headers = passable(req.headers);
  const via = `1.1 ${VIA_NAME} ${self}`;
  headers.via = headers.via ? `${String(headers.via)}, ${via}` : via;
  // The client's address, for a leader that trusts the standbys (--trust-proxy): its limit on failed
  // sign-ins counts per client, not per standby.
  const client = req.socket.remoteAddress ?? '';
  const forwardedFor = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = forwardedFor ? `${String(forwardedFor)}, ${client}` : client;
  const request = base.protocol === 'https:' ? https.request : http.request;
  const upstream = request(
    {
      protocol: base.protocol,
      hostname: base.hostname,
      port: base.port,
      method: req.method,
      path: req.url,
      headers,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, passable(answer.headers));
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    },
  );
  upstream.on('error', (err) =>
    unavailable(req, res, `The leader at ${leader} does not answer (${err.message}); retry shortly`),
  );
  // A client that goes away ends the forwarded request too (an SSE stream, a long download).
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
}

function badRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
  const body = JSON.stringify({
    error: { code: 'BadRequest', message: 'The request target must be a path starting with a single /' },
  });
  res.writeHead(400, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
  req.resume();
}

/**
 * Listens on `host:port` and forwards to the leader `lookup()` names, never to this instance itself
 * (a lock that names it: it is taking the lead, or just lost it). `self`: its advertised URL (for Via).
 */
export async function startStandbyProxy(options: {
  readonly host: string;
  readonly port: number;
  /** This instance's advertised URL (known once it listens: see `url`). */
  readonly self: () => string;
  readonly lookup: LeaderLookup;
}): Promise<StandbyProxy> {
  const server = http.createServer((req, res) => {
    if (!isOriginPath(req.url)) {
      badRequest(req, res);
      return;
    }
    const path = req.url.split('?')[0];
    void options
      .lookup()
      .then((leader) => {
        if (path === '/healthz') {
          const body = JSON.stringify({ status: 'ok', role: 'standby', leader: leader?.url ?? null });
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
          res.end(body);
          req.resume();
          return;
        }
        if (leader === undefined || leader.self)
          unavailable(req, res, 'No s3batch server leads right now (a takeover takes up to 10 s); retry shortly');
        else if (String(req.headers.via ?? '').includes(VIA_NAME))
          // Forwarded by a standby to a URL that reached a standby again: the leader's advertised URL is wrong.
          unavailable(
            req,
            res,
            `The leader's advertised URL ${leader.url} leads to a standby: set --advertise-url to an address the other serve instances reach`,
          );
        else forward(req, res, leader.url, options.self());
      })
      .catch((err: unknown) => unavailable(req, res, `The leader cannot be found: ${(err as Error).message}`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    // The port is free as soon as the server stops listening: the leader's server may take it at once.
    // Idle keep-alive connections close now; requests still in flight (a forwarded event stream) get
    // a moment to end, then their connections close too.
    close: () =>
      new Promise<void>((resolve) => {
        server.close();
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 1_000).unref();
        resolve();
      }),
  };
}
