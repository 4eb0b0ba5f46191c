/**
 * The standby's forwarding (server/standby-proxy.ts) between real sockets: a node:http server plays
 * the leader and records what reaches it. The whole scale-out path (a real leader `serve` behind a
 * standby) is in test/e2e/scale-out-failover.test.ts.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { S3ControlClient, ListJobsCommand } from '@aws-sdk/client-s3-control';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandbyProxy, type StandbyProxy } from '../../src/server/standby-proxy.ts';

/** Sends `text` as is on a new connection and returns the whole answer (fetch cannot send an absolute-form target). */
function rawRequest(port: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.on('data', (d: Buffer) => {
      answer += d.toString();
    });
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('standby proxy', () => {
  let leader: http.Server;
  let leaderUrl = '';
  const seen: Seen[] = [];
  let current: { url: string; self: boolean } | undefined;
  let proxy: StandbyProxy;

  beforeAll(async () => {
    leader = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        if (req.url === '/events') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write('data: one\n\n');
          setTimeout(() => res.end('data: two\n\n'), 100);
          return;
        }
        res.writeHead(201, { 'content-type': 'application/json', 'x-leader': 'yes' });
        res.end(JSON.stringify({ ok: true }));
      });
    });
    await new Promise<void>((r) => leader.listen(0, '127.0.0.1', () => r()));
    leaderUrl = `http://127.0.0.1:${(leader.address() as AddressInfo).port}`;
    proxy = await startStandbyProxy({
      host: '127.0.0.1',
      port: 0,
      self: () => 'http://standby.invalid:1',
      lookup: async () => current,
    });
  });

  afterAll(async () => {
    await proxy.close();
    await new Promise<void>((r) => leader.close(() => r()));
  });

  it('forwards method, path, query, headers (Host included) and body, and the answer back', async () => {
    current = { url: leaderUrl, self: false };
    const res = await fetch(`${proxy.url}/api/v1/jobs?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Basic abc', host: 'api.example:8080' },
      body: JSON.stringify({ a: 1 }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-leader')).toBe('yes');
    expect(await res.json()).toEqual({ ok: true });
    const got = seen.at(-1);
    expect(got?.method).toBe('POST');
    expect(got?.url).toBe('/api/v1/jobs?x=1');
    expect(got?.headers.authorization).toBe('Basic abc');
    expect(got?.headers.host).toBe(new URL(proxy.url).host);
    expect(got?.headers.via).toContain('s3batch-standby');
    expect(got?.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(got?.body).toBe('{"a":1}');
  });

  it('streams server-sent events as they come', async () => {
    current = { url: leaderUrl, self: false };
    const res = await fetch(`${proxy.url}/events`);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(await res.text()).toBe('data: one\n\ndata: two\n\n');
  });

  it('answers 503 ServiceUnavailable while no leader is known: JSON, and XML on the S3 Control API', async () => {
    current = undefined;
    const json = await fetch(`${proxy.url}/api/v1/jobs`);
    expect(json.status).toBe(503);
    expect(json.headers.get('retry-after')).toBe('2');
    expect(((await json.json()) as { error: { code: string } }).error.code).toBe('ServiceUnavailable');

    // The unchanged AWS SDK parses the envelope into a typed error (its retries are turned off here)
    // (ensure-test-deps puts 111122223333.localhost in /etc/hosts: the SDK prefixes the host with the account.)
    const client = new S3ControlClient({
      endpoint: `http://localhost:${new URL(proxy.url).port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
    const err = await client.send(new ListJobsCommand({ AccountId: '111122223333' })).then(
      () => undefined,
      (e: unknown) => e as { name: string; $metadata: { httpStatusCode: number } },
    );
    expect(err?.name).toBe('ServiceUnavailable');
    expect(err?.$metadata.httpStatusCode).toBe(503);
    client.destroy();
  });

  it('never forwards to itself, and answers 503 when the leader does not answer', async () => {
    current = { url: 'http://standby.invalid:1', self: true };
    expect((await fetch(`${proxy.url}/api/v1/jobs`)).status).toBe(503);
    current = { url: 'http://127.0.0.1:1', self: false };
    const res = await fetch(`${proxy.url}/api/v1/jobs`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('does not answer');
  });

  it('refuses a request target that is not a path (absolute URLs, //host) instead of sending it elsewhere', async () => {
    current = { url: leaderUrl, self: false };
    const before = seen.length;
    for (const target of ['http://169.254.169.254/latest/meta-data/', '//internal.example:8080/x', '//[']) {
      const answer = await rawRequest(
        new URL(proxy.url).port,
        `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).toContain('"code":"BadRequest"');
    }
    expect(seen.length).toBe(before);
    // The proxy still serves.
    expect((await fetch(`${proxy.url}/healthz`)).status).toBe(200);
  });

  it('answers 503 instead of looping when the leader it forwards to is a standby too', async () => {
    current = { url: leaderUrl, self: false };
    const res = await fetch(`${proxy.url}/api/v1/jobs`, { headers: { via: '1.1 s3batch-standby http://other:8080' } });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('--advertise-url');
  });

  it('answers /healthz itself, naming its role and the leader', async () => {
    current = { url: leaderUrl, self: false };
    const before = seen.length;
    const res = await fetch(`${proxy.url}/healthz`);
    expect(await res.json()).toEqual({ status: 'ok', role: 'standby', leader: leaderUrl });
    expect(seen.length).toBe(before);
  });
});
