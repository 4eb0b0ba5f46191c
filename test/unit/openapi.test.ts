/**
 * The OpenAPI description (src/api/rest/openapi.ts) cannot drift from the server: the app that
 * startServer composes (the one `s3batch serve` runs; its S3 endpoint is never contacted here)
 * registers exactly the /api/v1 routes the document describes, the document has the OpenAPI 3.1
 * shape (every $ref resolves, every path parameter is declared, operation ids are unique), and the
 * server hands it out at GET /api/v1/openapi.json without credentials.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_TABLE } from '../../src/domain/errors.ts';
import { OPENAPI_DOCUMENT, type Operation } from '../../src/api/rest/openapi.ts';
import type { RunningServer } from '../../src/main.ts';
import { startOfflineServer } from '../helpers/offline-server.ts';

let server: RunningServer;

beforeAll(async () => {
  server = await startOfflineServer('s3batch-openapi-');
});

afterAll(async () => {
  await server?.close();
});

/**
 * `METHOD /path` of every route in fastify's printRoutes tree (commonPrefix: false), e.g.
 *   ├── /api/v1/jobs (GET, HEAD, POST)
 *   │   └── /:id (GET, HEAD)
 * Each line's depth is its column ÷ 4; a node's path is its parent's plus its own segment.
 */
function routesOf(tree: string): Set<string> {
  const out = new Set<string>();
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([^)]*)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    const path = (stack[depth - 1] ?? '') + m[2]!;
    stack.length = depth;
    stack.push(path);
    for (const method of (m[3] ?? '').split(',').map((s) => s.trim())) {
      if (method !== '' && method !== '-') out.add(`${method} ${path}`);
    }
  }
  return out;
}

const METHODS = ['get', 'post', 'put', 'delete'] as const;

function documented(): Set<string> {
  const out = new Set<string>();
  for (const [path, item] of Object.entries(OPENAPI_DOCUMENT.paths)) {
    for (const m of METHODS) if (item[m]) out.add(`${m.toUpperCase()} /api/v1${path.replace(/\{(\w+)\}/g, ':$1')}`);
  }
  return out;
}

function operations(): [string, string, Operation][] {
  return Object.entries(OPENAPI_DOCUMENT.paths).flatMap(([path, item]) =>
    METHODS.flatMap((m) => (item[m] ? [[path, m, item[m]] as [string, string, Operation]] : [])),
  );
}

describe('routesOf (printRoutes parser)', () => {
  it('reads nested nodes, several methods and parameters', () => {
    const tree = [
      '└── /',
      '    ├── api/v1/jobs (GET, HEAD, POST)',
      '    │   └── /:id (GET, HEAD)',
      '    │       └── /report/files/:name (GET)',
      '    └── healthz (GET)',
    ].join('\n');
    expect([...routesOf(tree)].sort()).toEqual(
      [
        'GET /api/v1/jobs',
        'GET /api/v1/jobs/:id',
        'GET /api/v1/jobs/:id/report/files/:name',
        'GET /healthz',
        'HEAD /api/v1/jobs',
        'HEAD /api/v1/jobs/:id',
        'POST /api/v1/jobs',
      ].sort(),
    );
  });
});

describe('the OpenAPI document', () => {
  it('describes every /api/v1 route the server registers, and no other', () => {
    const registered = [...routesOf(server.app.printRoutes({ commonPrefix: false }))]
      // HEAD is fastify's automatic twin of each GET.
      .filter((r) => r.includes(' /api/v1/') && !r.startsWith('HEAD '));
    expect(registered.length).toBeGreaterThan(10);
    expect(
      registered.filter((r) => !documented().has(r)),
      'registered but not in openapi.ts',
    ).toEqual([]);
    expect(
      [...documented()].filter((r) => !registered.includes(r)),
      'in openapi.ts but not registered',
    ).toEqual([]);
  });

  it('has the OpenAPI 3.1 shape: info, paths, responses, unique operation ids, declared path parameters', () => {
    const doc = JSON.parse(JSON.stringify(OPENAPI_DOCUMENT)) as typeof OPENAPI_DOCUMENT;
    expect(doc).toEqual(OPENAPI_DOCUMENT); // nothing that JSON cannot carry (undefined, functions)
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toBeTruthy();
    const ids = operations().map(([, , op]) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [path, method, op] of operations()) {
      expect(path.startsWith('/'), path).toBe(true);
      expect(Object.keys(op.responses).length, `${method} ${path}`).toBeGreaterThan(0);
      for (const status of Object.keys(op.responses))
        expect(status, `${method} ${path}`).toMatch(/^[1-5]\d\d$|^default$/);
      const declared = (op.parameters ?? [])
        .map((p) => ('$ref' in p ? doc.components.parameters[p.$ref.split('/').pop()!]! : p))
        .filter((p) => p.in === 'path')
        .map((p) => p.name);
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      expect(declared.sort(), `${method} ${path}`).toEqual(inPath.sort());
      // Every operation is public ([]) or takes the document's schemes.
      for (const req of op.security ?? doc.security)
        for (const name of Object.keys(req)) expect(doc.components.securitySchemes).toHaveProperty(name);
    }
  });

  it('resolves every $ref', () => {
    const refs: string[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v !== null && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === '$ref' && typeof x === 'string') refs.push(x);
          else walk(x);
        }
      }
    };
    walk(OPENAPI_DOCUMENT);
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) {
      expect(ref).toMatch(/^#\/components\//);
      let node: unknown = OPENAPI_DOCUMENT;
      for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown>)[part];
      expect(node, ref).toBeTypeOf('object');
    }
  });

  it('lists every error code of ERROR_TABLE and describes the three ways to authenticate', () => {
    const error = OPENAPI_DOCUMENT.components.schemas.Error as {
      properties: { error: { properties: { code: { enum: string[] } } } };
    };
    expect(error.properties.error.properties.code.enum).toEqual(
      expect.arrayContaining([...Object.keys(ERROR_TABLE), 'NotFound', 'InternalError']),
    );
    expect(error.properties.error.properties.code.enum).toEqual(
      expect.arrayContaining(['ReportNotFound', 'ReportUnavailable']),
    );
    expect(OPENAPI_DOCUMENT.components.securitySchemes).toMatchObject({
      sessionCookie: { type: 'apiKey', in: 'cookie', name: 's3batch_session' },
      basic: { type: 'http', scheme: 'basic' },
      sigV4: { type: 'apiKey', in: 'header', name: 'Authorization' },
    });
    const sse = operations().filter(
      ([, , op]) =>
        op.responses['200'] && 'content' in op.responses['200'] && op.responses['200'].content?.['text/event-stream'],
    );
    expect(sse.map(([p]) => p).sort()).toEqual(['/events', '/jobs/{id}/events']);
    for (const [, , op] of sse)
      expect(Object.keys(op['x-sse-events'] ?? {})).toEqual(expect.arrayContaining(['status', 'progress']));
    const account = sse.find(([p]) => p === '/events')?.[2]['x-sse-events'];
    expect(account?.removed).toMatchObject({
      type: 'object',
      properties: { JobId: { type: 'string' } },
      required: ['JobId'],
    });
  });

  it('is served at GET /api/v1/openapi.json without credentials', async () => {
    const res = await fetch(`${server.url}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(OPENAPI_DOCUMENT)));
  });
});
