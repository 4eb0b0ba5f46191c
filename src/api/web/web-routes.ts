/**
 * The web Jobs page (src/web/): `/` answers index.html, `/web/<name>` the page's modules, style
 * and icon. No bundling: the files are served as they are in src/web/ (the build copies them to
 * dist/web/, next to the compiled code, so WEB_DIR works from both), read once when the
 * server starts (a changed file needs a restart), each with its content type, a strong ETag
 * (304 on If-None-Match) and `Cache-Control: no-cache`, so a browser revalidates and an upgrade
 * is seen at once.
 *
 * Only names found in that folder at start are served, looked up in a map: a path that names
 * anything else (`..`, encoded slashes, sub-folders) is a 404, never a read from disk. Every
 * answer carries a strict Content-Security-Policy (same-origin scripts, styles, images and
 * fetches; no inline script or style, no framing) and `X-Content-Type-Options: nosniff`.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

export interface WebOptions {
  /** The folder to serve; default src/web. */
  readonly dir?: string;
}

/** Reads the folder's servable files (by extension; sub-folders and other files are left out). */
async function loadAssets(dir: string): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const contentType = CONTENT_TYPES[extname(entry.name)];
    if (!entry.isFile() || contentType === undefined) continue;
    const body = await readFile(join(dir, entry.name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    assets.set(entry.name, { body, contentType, etag });
  }
  return assets;
}

export async function webRoutes(app: FastifyInstance, opts: WebOptions): Promise<void> {
  const assets = await loadAssets(opts.dir ?? WEB_DIR);
  const index = assets.get('index.html');
  if (!index) throw new Error(`The web page's index.html is missing from ${opts.dir ?? WEB_DIR}`);

  const send = (req: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply => {
    void reply
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .header('cache-control', 'no-cache')
      .header('etag', asset.etag);
    const match = req.headers['if-none-match'];
    if (match?.split(',').some((t) => t.trim() === asset.etag || t.trim() === '*')) {
      return reply.status(304).send();
    }
    return reply.type(asset.contentType).send(asset.body);
  };

  app.get('/', async (req, reply) => send(req, reply, index));
  app.get<{ Params: { name: string } }>('/web/:name', async (req, reply) => {
    const asset = assets.get(req.params.name);
    if (!asset) return reply.callNotFound();
    return send(req, reply, asset);
  });
}
