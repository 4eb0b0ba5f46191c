/**
 * Request ids and the request log line (src/api/request-log.ts) on a real fastify instance, driven
 * with inject() (no socket), logging through the real logger into an array.
 */
import Fastify from 'fastify';
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestLog, requestIdOf } from '../../src/api/request-log.ts';
import { createLogger, type LogLevel } from '../../src/logging.ts';

const withHeader = (value: string | string[] | undefined): IncomingMessage =>
  ({ headers: value === undefined ? {} : { 'x-request-id': value } }) as unknown as IncomingMessage;

describe('requestIdOf', () => {
  it('keeps a plain token from x-request-id', () => {
    for (const id of ['abc', 'proxy-id.42', 'f3a1c2d4:7', 'A'.repeat(128), '0123456789ABCDEF']) {
      expect(requestIdOf(withHeader(id))).toBe(id);
    }
  });

  it('makes its own 16 hex digits when there is none or it is not a plain token', () => {
    for (const value of [undefined, '', 'a b', 'a\tb', 'x'.repeat(129), 'ä', 'a,b', '{"x":1}', ['a', 'b']]) {
      expect(requestIdOf(withHeader(value))).toMatch(/^[0-9A-F]{16}$/);
    }
    expect(requestIdOf(withHeader(undefined))).not.toBe(requestIdOf(withHeader(undefined)));
  });
});

describe('RequestLog', () => {
  const apps: ReturnType<typeof Fastify>[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  async function app(level: LogLevel) {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({
      level,
      format: 'json',
      destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
    });
    const fastify = Fastify({ loggerInstance: logger, logController: new RequestLog(), genReqId: requestIdOf });
    apps.push(fastify);
    fastify.get('/healthz', async () => ({ status: 'ok' }));
    fastify.get('/metrics', async () => '');
    fastify.post('/jobs', async (_req, reply) => reply.status(201).send({ JobId: 'J' }));
    await fastify.ready();
    return { fastify, lines };
  }

  it('logs one info line per request when it ends: reqId, method, URL, status, time', async () => {
    const { fastify, lines } = await app('info');
    await fastify.inject({
      method: 'POST',
      url: '/jobs?X-Amz-Signature=secret0123',
      headers: { 'x-request-id': 'given-1', authorization: 'Basic c2VjcmV0' },
      payload: {},
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      reqId: 'given-1',
      msg: 'request completed',
      req: { method: 'POST', url: '/jobs?X-Amz-Signature=[Redacted]' },
      res: { statusCode: 201 },
    });
    expect(typeof lines[0]!.responseTime).toBe('number');
    expect(JSON.stringify(lines)).not.toMatch(/secret0123|c2VjcmV0/);
  });

  it('health and metrics probes log at debug only; debug also logs each request as it comes in', async () => {
    const quiet = await app('info');
    await quiet.fastify.inject({ method: 'GET', url: '/healthz' });
    await quiet.fastify.inject({ method: 'GET', url: '/metrics' });
    expect(quiet.lines).toEqual([]);

    const loud = await app('debug');
    await loud.fastify.inject({ method: 'GET', url: '/healthz' });
    expect(loud.lines.map((l) => [l.level, l.msg])).toEqual([
      ['debug', 'incoming request'],
      ['debug', 'request completed'],
    ]);
    expect(loud.lines[0]!.reqId).toBe(loud.lines[1]!.reqId);
    expect(loud.lines[0]!.reqId).toMatch(/^[0-9A-F]{16}$/);
  });
});
