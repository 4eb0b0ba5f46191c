/**
 * The web page's static routes (src/api/web/web-routes.ts) through fastify's inject: `/` and
 * `/web/<file>` with their content types, the Content-Security-Policy and nosniff headers, ETag
 * revalidation, 404 for names that are not in src/web (sub-folders, `..` however encoded), and no
 * reference to anything outside the server in the page's files (no external assets).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, WEB_DIR, webRoutes } from '../../src/api/web/web-routes.ts';

let app: FastifyInstance;

beforeAll(async () => {
  app = Fastify();
  await app.register(webRoutes, {});
  await app.ready();
});

afterAll(async () => {
  await app?.close();
});

describe('web routes', () => {
  it.each([
    ['/', 'text/html; charset=utf-8', 'index.html'],
    ['/web/app.js', 'text/javascript; charset=utf-8', 'app.js'],
    ['/web/list.js', 'text/javascript; charset=utf-8', 'list.js'],
    ['/web/app.css', 'text/css; charset=utf-8', 'app.css'],
    ['/web/favicon.svg', 'image/svg+xml', 'favicon.svg'],
  ])('%s is %s, the file as it is, with CSP, nosniff and an ETag', async (url, type, file) => {
    const res = await app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe(type);
    expect(res.body).toBe(readFileSync(join(WEB_DIR, file), 'utf8'));
    expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(res.headers['content-security-policy']).toMatch(/^default-src 'self'; script-src 'self';/);
    expect(res.headers['content-security-policy']).not.toContain('unsafe');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers.etag).toMatch(/^"[\w-]{27}"$/);
  });

  it('answers 304 to a matching If-None-Match, 200 to another', async () => {
    const first = await app.inject({ method: 'GET', url: '/web/app.js' });
    const etag = String(first.headers.etag);
    const again = await app.inject({
      method: 'GET',
      url: '/web/app.js',
      headers: { 'if-none-match': `"other", ${etag}` },
    });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect(again.headers.etag).toBe(etag);
    const changed = await app.inject({ method: 'GET', url: '/web/app.js', headers: { 'if-none-match': '"not-it"' } });
    expect(changed.statusCode).toBe(200);
  });

  it('answers HEAD like GET without a body', async () => {
    const res = await app.inject({ method: 'HEAD', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toBe('');
  });

  it.each([
    '/web/nope.js',
    '/web/',
    '/web/index.htm',
    '/web/sub/app.js',
    '/web/..%2fapi%2fweb%2fweb-routes.ts',
    '/web/%2e%2e%2f%2e%2e%2fpackage.json',
    '/web/..%5c..%5cpackage.json',
    '/web/../../package.json',
    '/web/%2e%2e/%2e%2e/package.json',
    '/web/app.js%00.png',
    '/index.html',
    '/app.js',
  ])('%s is 404 (only the files of src/web, by name)', async (url) => {
    const res = await app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain('"name": "s3batch"');
    expect(res.body).not.toContain('import');
  });

  it("the page's files reference nothing outside the server (no external assets, no inline script)", () => {
    for (const name of readdirSync(WEB_DIR)) {
      const text = readFileSync(join(WEB_DIR, name), 'utf8');
      // The SVG's XML namespace is a name, not a request.
      const urls = [...text.matchAll(/\b(?:https?:)?\/\/[\w.-]+\.[a-z]{2,}[^\s'"`)]*/gi)]
        .map((m) => m[0])
        .filter((u) => u !== 'http://www.w3.org/2000/svg');
      expect(urls, name).toEqual([]);
      expect(text, name).not.toMatch(/@import|url\(\s*['"]?(?!data:)[a-z]+:/i);
    }
    const html = readFileSync(join(WEB_DIR, 'index.html'), 'utf8');
    expect(html.match(/<script\b[^>]*>/g)).toEqual(['<script type="module" src="/web/app.js">']);
    expect(html).toMatch(/<script type="module" src="\/web\/app.js"><\/script>/); // no inline script body
    expect(html).not.toMatch(/\son[a-z]+=/i); // no inline event handlers
    expect(html).not.toMatch(/\sstyle=/i); // no inline styles (the CSP forbids them)
  });

  it('the sign-in form can never send the secret in a URL (a submit before app.js attached its handler)', () => {
    const html = readFileSync(join(WEB_DIR, 'index.html'), 'utf8');
    const forms = [...html.matchAll(/<form\b[^>]*>/g)].map((m) => m[0]);
    const signIn = forms.find((f) => f.includes('id="signin-form"'));
    expect(signIn, 'the sign-in form').toBeDefined();
    // Without a method the browser submits with GET: /?accessKeyId=…&secretAccessKey=… in the address bar and history.
    expect(signIn).toMatch(/\smethod="post"/i);
  });
});
