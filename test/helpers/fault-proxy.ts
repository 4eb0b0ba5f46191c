// A fault-injecting HTTP proxy in front of a real S3 server, for retry tests. It forwards every
// request unchanged (Host header included, so SigV4 still verifies) except those that `fault`
// picks: they get a 503 SlowDown answer or a reset connection, before reaching the server.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'slowdown' | 'reset' | undefined;

export interface FaultProxy {
  readonly endpoint: string;
  readonly injected: { slowdown: number; reset: number; forwarded: number };
  close(): Promise<void>;
}

export async function startFaultProxy(target: string, fault: (req: http.IncomingMessage, n: number) => Fault): Promise<FaultProxy> {
  const t = new URL(target);
  const injected = { slowdown: 0, reset: 0, forwarded: 0 };
  let n = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
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
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
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
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    injected,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}
