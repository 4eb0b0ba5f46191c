/**
 * The HTTP application as a fastify plugin tree, built by `buildApp()` and separate from the
 * code that listens (main.ts), so tests can run it on any port.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { BatchService } from '../service/batch-service.ts';
import { headerAccountOf } from './auth/api-auth.ts';
import type { SigV4Verifier } from './auth/sigv4-verifier.ts';
import { jsonErrorHandler } from './error-handler.ts';
import { restRoutes } from './rest/routes.ts';
import { sendError } from './s3control/error-envelope.ts';
import { s3ControlRoutes } from './s3control/routes.ts';

export interface AppOptions {
  readonly service: BatchService;
  readonly defaultAccountId: string;
  readonly logLevel: string;
  /** Verifies SigV4 on the S3 Control API (`/v20180820`) against the configured access keys. */
  readonly verifier: SigV4Verifier;
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logLevel === 'silent' ? false : { level: opts.logLevel === 'debug' ? 'debug' : 'warn' },
    bodyLimit: 10 * 1024 * 1024,
    genReqId: () => crypto.randomUUID().replaceAll('-', '').slice(0, 16).toUpperCase(),
    // A URL fastify cannot decode (`%zz`) fails before routing: on the S3 Control API it still gets
    // the ErrorResponse envelope and the request-id headers.
    frameworkErrors: (err, req, reply) => {
      if (req.url.startsWith('/v20180820')) sendError(req, reply, 400, 'InvalidURI', err.message);
      else jsonErrorHandler(err, req, reply);
    },
  });
  app.setErrorHandler(jsonErrorHandler);
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: { code: 'NotFound', message: `No route for ${req.method} ${req.url}`, requestId: req.id } });
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  // Every JSON API route plugin gets the caller's account through the same accountOf.
  const accountOf = headerAccountOf(opts.defaultAccountId);
  await app.register(restRoutes, { prefix: '/api/v1', service: opts.service, accountOf });
  await app.register(s3ControlRoutes, { prefix: '/v20180820', service: opts.service, verifier: opts.verifier });
  return app;
}
