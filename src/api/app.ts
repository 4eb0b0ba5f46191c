/**
 * The HTTP application as a fastify plugin tree, built by `buildApp()` and separate from the
 * code that listens (main.ts), so tests can run it on any port.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { S3BatchError } from '../domain/errors.ts';
import type { JobStatus } from '../domain/job-status.ts';
import type { EngineEvents } from '../engine/events.ts';
import type { BatchService } from '../service/batch-service.ts';
import type { NotificationService } from '../service/notification-service.ts';
import type { ReportFiles } from '../service/report-files.ts';
import type { RetryFailed } from '../service/retry-failed.ts';
import type { ApiAuth } from './auth/api-auth.ts';
import type { SigV4Verifier } from './auth/sigv4-verifier.ts';
import { drainUnreadBody, JSON_BODY_LIMIT, limitedBodyParser, routeBodyLimit } from './body-limit.ts';
import { clientErrorHandler, echoedPath, jsonErrorHandler } from './error-handler.ts';
import { createMetrics, metricsRoutes, type MetricsSources } from './metrics/metrics.ts';
import { JobEventHub } from './rest/event-hub.ts';
import { eventRoutes, progressSnapshot } from './rest/event-routes.ts';
import { openApiRoutes } from './rest/openapi.ts';
import { REQUEST_ID_HEADER, RequestLog, requestIdOf } from './request-log.ts';
import { notificationRoutes } from './rest/notification-routes.ts';
import { historyRoutes } from './rest/history-routes.ts';
import { reportRoutes } from './rest/report-routes.ts';
import { restRoutes } from './rest/routes.ts';
import { retryRoutes } from './rest/retry-routes.ts';
import { sessionRoutes } from './rest/session-routes.ts';
import { sendError } from './s3control/error-envelope.ts';
import { s3ControlRoutes } from './s3control/routes.ts';
import { webRoutes } from './web/web-routes.ts';

/** Longest path segment (a job id, a report file name) the router takes; longer is 414 UriTooLong. */
const MAX_PARAM_LENGTH = 100;

/**
 * How long a client may take to send a whole request (headers and body) by default; past it Node
 * answers 408 and closes the connection (config.requestTimeoutSeconds, `--request-timeout-seconds`).
 * fastify turns Node's own (300 s) off: then a client that stops mid-body holds its request, and
 * `close()` waits for it, for ever. The headers have the same bound.
 */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * How often Node looks for requests past their timeout (its `connectionsCheckingInterval`, 30 s by
 * default): a stalled request is answered 408 at most this long after its timeout.
 */
export const CONNECTIONS_CHECKING_INTERVAL_MS = 1_000;

export interface AppOptions {
  readonly service: BatchService;
  /** The server's logger (src/logging.ts); each request logs through a child with its `reqId`. */
  readonly logger: FastifyBaseLogger;
  /** Verifies SigV4 on the S3 Control API (`/v20180820`) against the configured access keys. */
  readonly verifier: SigV4Verifier;
  /** The engine's events: live job status and progress (SSE) and task outcomes (/metrics). */
  readonly events: EngineEvents;
  /** Number of jobs per status now, for the jobs-by-status gauge of /metrics. */
  jobStatusCounts(): ReadonlyMap<JobStatus, number>;
  /** Worker threads running tasks now, for /metrics (none: tasks run in the main thread). */
  readonly workerThreads?: (() => number) | undefined;
  readonly workerTasks?: MetricsSources['workerTasks'];
  /** Scale-out mode: `/healthz` says this instance leads (a standby answers it itself: standby-proxy.ts). */
  readonly leader?: boolean | undefined;
  /** Interval of the SSE streams' `: ping` comment (default 15 s). */
  readonly sseHeartbeatMs?: number | undefined;
  /** Authenticates the JSON API (`/api/v1`): session cookie, SigV4 or Basic with the same access keys. */
  readonly apiAuth: ApiAuth;
  /** Completion report files, read from the report buckets (`/api/v1/jobs/:id/report…`). */
  readonly reports: ReportFiles;
  /** Retry failed (`POST /api/v1/jobs/:id/retry`): new jobs over the failed tasks of ended ones. */
  readonly retries: RetryFailed;
  /** Webhook settings and delivery logs (`/api/v1/notifications`, `/api/v1/jobs/:id/notifications`). */
  readonly notifications?: NotificationService | undefined;
  /**
   * fastify's trustProxy (config.trustProxy): which peers' X-Forwarded-For / -Proto to believe, for
   * `req.ip` (the sign-in limit) and `req.protocol` (the session cookie's Secure flag). Default false.
   */
  readonly trustProxy?: boolean | string | undefined;
  /** How long a client may take to send its request's headers and body (default REQUEST_TIMEOUT_MS). */
  readonly requestTimeoutMs?: number | undefined;
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const requestTimeout = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const app = Fastify({
    loggerInstance: opts.logger,
    logController: new RequestLog(),
    bodyLimit: JSON_BODY_LIMIT,
    requestTimeout,
    http: { connectionsCheckingInterval: Math.min(CONNECTIONS_CHECKING_INTERVAL_MS, requestTimeout) },
    trustProxy: opts.trustProxy ?? false,
    genReqId: requestIdOf,
    clientErrorHandler,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // A URL fastify cannot decode (`%zz`) fails before routing: on the S3 Control API it still gets
    // the ErrorResponse envelope and the request-id headers. A path segment over maxParamLength is
    // 414 UriTooLong with a short fixed message (fastify's own repeats the whole URL).
    frameworkErrors: (err, req, reply) => {
      void reply.header(REQUEST_ID_HEADER, req.id);
      const s3control = req.url.startsWith('/v20180820');
      if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
        const tooLong = new S3BatchError(
          'UriTooLong',
          `The request URL is longer than the server accepts (${MAX_PARAM_LENGTH} characters per path segment)`,
        );
        if (s3control) sendError(req, reply, tooLong.status, tooLong.code, tooLong.message);
        else jsonErrorHandler(tooLong, req, reply);
      } else if (s3control) sendError(req, reply, 400, 'InvalidURI', err.message);
      else jsonErrorHandler(err, req, reply);
    },
  });
  // Node's default headers timeout (60 s) would outlast a shorter whole-request timeout.
  app.server.headersTimeout = requestTimeout;
  app.addHook('onRequest', async (req, reply) => void reply.header(REQUEST_ID_HEADER, req.id));
  if (!opts.trustProxy) {
    // X-Forwarded-For without --trust-proxy: likely a reverse proxy in front, so every client has
    // its address for the failed-auth limits. Said once; the header is still not believed.
    let warned = false;
    app.addHook('onRequest', async (req) => {
      if (warned || req.headers['x-forwarded-for'] === undefined) return;
      warned = true;
      app.log.warn(
        { peer: req.socket.remoteAddress },
        'requests carry X-Forwarded-For but --trust-proxy is not set: every client shares the address of the ' +
          'peer (a reverse proxy?) for the failed-authentication limits; set --trust-proxy <proxy addresses>',
      );
    });
  }
  // A refusal sent before the body was read (401, 403, 415, …) waits for that body to be read and
  // dropped (up to a bound), so that the client, still sending, gets the whole answer (body-limit.ts).
  app.addHook('onSend', async (req, reply) => {
    await drainUnreadBody(req, reply);
  });
  app.setErrorHandler(jsonErrorHandler);
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({
      error: { code: 'NotFound', message: `No route for ${req.method} ${echoedPath(req.url)}`, requestId: req.id },
    });
  });
  app.get('/healthz', async () => (opts.leader ? { status: 'ok', role: 'leader' } : { status: 'ok' }));
  // fastify's plain-text parser, with an over-limit body read on and dropped before the 413 (body-limit.ts);
  // application/json gets the same reader in apiAuth.install.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(
    'text/plain',
    limitedBodyParser(routeBodyLimit, (_req, body, done) => done(null, body.toString('utf8'))),
  );
  // Every JSON API route plugin gets the caller's account through the same accountOf; routes not
  // listed public in api-auth.ts (or marked `config: { public: true }`) need a caller.
  opts.apiAuth.install(app);
  const { accountOf } = opts.apiAuth;
  await app.register(sessionRoutes, { prefix: '/api/v1', auth: opts.apiAuth });
  await app.register(restRoutes, { prefix: '/api/v1', service: opts.service, accountOf });
  // Live status and progress (server-sent events), and /metrics (no auth, no job ids in it).
  const hub = new JobEventHub({
    events: opts.events,
    snapshot: (account, jobId) => progressSnapshot(opts.service, account, jobId, new Date()),
    intervalMs: 250,
    onError: (err) => app.log.warn({ err }, 'event stream: a subscriber failed'),
  });
  await app.register(eventRoutes, {
    prefix: '/api/v1',
    service: opts.service,
    accountOf,
    hub,
    heartbeatMs: opts.sseHeartbeatMs,
  });
  const metrics = createMetrics({
    events: opts.events,
    jobStatusCounts: opts.jobStatusCounts,
    sseStreams: () => hub.size,
    workerThreads: opts.workerThreads,
    workerTasks: opts.workerTasks,
  });
  await app.register(metricsRoutes, { metrics });
  await app.register(reportRoutes, { prefix: '/api/v1', reports: opts.reports, accountOf });
  // A job's tasks/s over its life (the web page's chart).
  await app.register(historyRoutes, { prefix: '/api/v1', service: opts.service, accountOf });
  await app.register(retryRoutes, { prefix: '/api/v1', service: opts.service, retries: opts.retries, accountOf });
  if (opts.notifications) {
    await app.register(notificationRoutes, { prefix: '/api/v1', notifications: opts.notifications, accountOf });
  }
  // The OpenAPI 3.1 description of everything under /api/v1 (public).
  await app.register(openApiRoutes, { prefix: '/api/v1' });
  await app.register(s3ControlRoutes, { prefix: '/v20180820', service: opts.service, verifier: opts.verifier });
  // The web Jobs page (src/web/): `/` and `/web/<file>`, over the JSON API above.
  await app.register(webRoutes, {});
  return app;
}
