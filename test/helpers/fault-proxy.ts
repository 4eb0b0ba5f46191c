// A fault-injecting HTTP proxy in front of a real S3 server, for retry tests. It forwards every
// request unchanged (Host header included, so SigV4 still verifies) except those that `fault`
// picks: they get a 503 SlowDown answer or a reset connection, before reaching the server.
// With `options.watch`, the requests it selects are recorded (arrival times, how many were in
// flight at once) and may be held `latencyMs` before forwarding, so concurrency becomes visible.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'slowdown' | 'reset' | undefined;

export interface FaultProxy {
  readonly endpoint: string;
  readonly injected: { slowdown: number; reset: number; forwarded: number };
  /** Requests selected by `options.watch`: arrival times (ms, Date.now()) and concurrency. */
  readonly watched: { arrivals: number[]; inFlight: number; maxInFlight: number };
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** Which requests to record in `watched`. */
  readonly watch?: (req: http.IncomingMessage) => boolean;
  /** Extra latency of a watched request before it is answered or forwarded. */
  readonly latencyMs?: number;
}

export async function startFaultProxy(
  target: string,
  fault: (req: http.IncomingMessage, n: number) => Fault,
  options: FaultProxyOptions = {},
): Promise<FaultProxy> {
  const t = new URL(target);
  const injected = { slowdown: 0, reset: 0, forwarded: 0 };
  const watched = { arrivals: [] as number[], inFlight: 0, maxInFlight: 0 };
  let n = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    if (options.watch?.(req)) {
      watched.arrivals.push(Date.now());
      watched.inFlight++;
      watched.maxInFlight = Math.max(watched.maxInFlight, watched.inFlight);
      // 'close' fires once: when the answer is sent or the connection dies (a reset).
      res.once('close', () => watched.inFlight--);
      if (options.latencyMs) {
        setTimeout(() => handle(req, res), options.latencyMs);
        return;
      }
    }
    handle(req, res);
  });
  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const f = fault(req, n++);
    if (f === 'reset') {
      injected.reset++;
      req.socket.destroy();
      return;
    }
    if (f === 'slowdown') {
      injected.slowdown++;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
      );
      return;
    }
    injected.forwarded++;
    const upstream = http.request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers, agent },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    injected,
    watched,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}
