/**
 * A POST of a large body over node:http, the way a client that keeps sending does: all at once with
 * Content-Length, or chunked in 64 KiB pieces that wait for 'drain'. It rejects on any socket error
 * (a `write EPIPE` is what the body-limit tests guard against), so a refusal that does not reach the
 * client whole fails the test.
 */
import http from 'node:http';

export interface PostAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type BodyMode = 'content-length' | 'chunked';

/** POSTs `body` to `urlPath` on the server at `serverUrl`; `agent` default: a new connection (agent: false). */
export function postBody(
  serverUrl: string,
  urlPath: string,
  headers: Record<string, string>,
  body: Buffer,
  mode: BodyMode,
  agent: http.Agent | false = false,
): Promise<PostAnswer> {
  const url = new URL(serverUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: urlPath,
        agent,
        headers: { ...headers, ...(mode === 'content-length' ? { 'content-length': String(body.length) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (mode === 'content-length') {
      req.end(body);
      return;
    }
    let offset = 0;
    const write = (): void => {
      while (offset < body.length) {
        const piece = body.subarray(offset, offset + 64 * 1024);
        offset += piece.length;
        if (!req.write(piece)) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    write();
  });
}
