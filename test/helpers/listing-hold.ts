// A proxy in front of an S3 server that holds chosen requests until release(): by default every
// ListObjectsV2 continuation request (the second and later pages of a listing), so a generator
// job's listing stays incomplete for as long as a test needs, with its first page listed and
// running; or any request a test picks (an inventory report's data file, say).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ListingHold {
  readonly endpoint: string;
  /** Requests held now. */
  held(): number;
  /** Forwards the held requests and, from then on, every request. */
  release(): void;
  close(): Promise<void>;
}

/** A ListObjectsV2 request for a page after the first. */
export function isListingContinuation(req: http.IncomingMessage): boolean {
  const url = req.url ?? '';
  return req.method === 'GET' && url.includes('list-type=2') && url.includes('continuation-token=');
}

/** A proxy in front of `target` that holds the requests `hold` picks (listing continuations by default) until release(). */
export async function startListingHold(
  target: string,
  hold: (req: http.IncomingMessage) => boolean = isListingContinuation,
): Promise<ListingHold> {
  const t = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let released = false;
  const waiting: (() => void)[] = [];
  const forward = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const up = http.request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers, agent },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  };
  const server = http.createServer((req, res) => {
    if (!released && hold(req)) {
      waiting.push(() => forward(req, res));
      return;
    }
    forward(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held: () => waiting.length,
    release: () => {
      released = true;
      for (const w of waiting.splice(0)) w();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}
