/**
 * Who calls the JSON API (`/api/v1`): the same access keys as the S3 Control API, presented in
 * one of three ways, tried in this order:
 *  1. the `s3batch_session` cookie (web sign-in, session.ts); requests that change state must
 *     then be `content-type: application/json`, which a cross-site form cannot send (CSRF);
 *  2. `Authorization: AWS4-HMAC-SHA256 …`, verified exactly as on the S3 Control API (service s3,
 *     any region, x-amz-content-sha256 over the raw body bytes);
 *  3. `Authorization: Basic base64(accessKeyId:secretAccessKey)`, the secret compared in constant time.
 * No credentials: 401 Unauthorized (with `WWW-Authenticate: Basic` unless the web page asked, by
 * `x-requested-with: s3batch-web`, so the browser shows no dialog of its own). Bad credentials:
 * 403. The account is the key's; an `x-amz-account-id` naming another account is 403 (one that is
 * not 12 digits, 400).
 *
 * Requests without a signature are decided in onRequest, before their body is read; SigV4 needs
 * the body and is checked in preHandler. Route plugins get the account with `opts.accountOf(req)`.
 * Every failed authentication (wrong Basic secret, bad signature, forged cookie, failed sign-in)
 * counts towards the limit of auth-limiter.ts: over it, 429 TooManyRequestsException + Retry-After.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { S3BatchError, isS3BatchError } from '../../domain/errors.ts';
import { jsonTooDeep, limitedBodyParser, routeBodyLimit } from '../body-limit.ts';
import type { AccessKey, AccessKeyStore } from './access-keys.ts';
import { createAuthLimiter, retryAfterOf, type AuthLimiter } from './auth-limiter.ts';
import { SESSION_COOKIE, clearedSessionCookie, readCookie, type Session, type SessionTokens } from './session.ts';
import type { SigV4Verifier } from './sigv4-verifier.ts';

/** The account a JSON API request acts for; rejects (401/403) when the caller is not authenticated. */
export type AccountOf = (req: FastifyRequest) => Promise<string>;

export interface ApiCaller {
  readonly accessKeyId: string;
  readonly accountId: string;
  readonly via: 'session' | 'sigv4' | 'basic';
  /** The session, when the caller signed in with the cookie. */
  readonly session?: Session;
}

/** Where the JSON API lives; only requests under it are authenticated here. */
const API_PREFIX = '/api/v1';

/**
 * Routes anyone may call, as `METHOD path` (the route's pattern). A route can also opt out with
 * the route option `config: { public: true }`.
 */
export const PUBLIC_API_ROUTES = new Set<string>([
  'GET /api/v1/openapi.json',
  'POST /api/v1/session',
  // Signing out only clears the cookie; it works even when the session already expired.
  'DELETE /api/v1/session',
]);

/** The header the web page sends so that a 401 carries no WWW-Authenticate (no browser dialog). */
const WEB_CLIENT_HEADER = 'x-requested-with';
const WEB_CLIENT_VALUE = 's3batch-web';
const BASIC_CHALLENGE = 'Basic realm="s3batch"';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const AUTH_REQUIRED =
  'Authentication required: sign in (POST /api/v1/session), or send an s3batch API access key with HTTP Basic (accessKeyId:secretAccessKey) or an AWS Signature Version 4 (service s3)';
const BAD_KEY = 'The access key id or secret access key is not valid';

export interface ApiAuthOptions {
  readonly keys: AccessKeyStore;
  readonly verifier: SigV4Verifier;
  readonly sessions: SessionTokens;
  /** The limit on failed authentication, shared with the verifier's; default a limiter of its own. */
  readonly limiter?: AuthLimiter;
}

export interface ApiAuth {
  readonly accountOf: AccountOf;
  /** The authenticated caller (resolved once per request). */
  callerOf(req: FastifyRequest): Promise<ApiCaller>;
  /** The key when `secretAccessKey` is its secret (constant-time), else undefined. */
  checkSecret(accessKeyId: string, secretAccessKey: string): AccessKey | undefined;
  readonly sessions: SessionTokens;
  /** The limit on failed authentication (POST /session counts its failures here too). */
  readonly limiter: AuthLimiter;
  /**
   * Installs authentication on the app (before the /api/v1 route plugins are registered): a JSON
   * body parser that keeps the raw bytes for SigV4, and the hooks that resolve the caller of every
   * /api/v1 route that is not public before its handler runs.
   */
  install(app: FastifyInstance): void;
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * True when the request came over https: directly, or as a trusted proxy in front says. fastify's
 * `req.protocol` reads X-Forwarded-Proto only when the peer is a proxy trusted by the trustProxy
 * setting; from anyone else the header is ignored (a client could forge it).
 */
export function isHttps(req: FastifyRequest): boolean {
  return req.protocol.toLowerCase() === 'https';
}

/** True for routes under /api/v1 that need a caller. */
function needsCaller(req: FastifyRequest): boolean {
  const route = req.routeOptions;
  if (route.url === undefined || !route.url.startsWith(API_PREFIX)) return false;
  if ((route.config as { public?: unknown } | undefined)?.public === true) return false;
  return !PUBLIC_API_ROUTES.has(`${req.method} ${route.url}`);
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();
/** Compared with when the key id is unknown, so that both cases take the same time. */
const NO_SECRET = sha256('no such key');

export function createApiAuth(opts: ApiAuthOptions): ApiAuth {
  const resolved = new WeakMap<FastifyRequest, Promise<ApiCaller>>();
  const rawBodies = new WeakMap<FastifyRequest, Buffer>();
  const limiter = opts.limiter ?? createAuthLimiter({ isKnownKey: (id) => opts.keys.get(id) !== undefined });

  function checkSecret(accessKeyId: string, secretAccessKey: string): AccessKey | undefined {
    const key = opts.keys.get(accessKeyId);
    const same = timingSafeEqual(sha256(secretAccessKey), key === undefined ? NO_SECRET : sha256(key.secretAccessKey));
    return key !== undefined && same ? key : undefined;
  }

  /** 'forged': a token that is not ours; 'invalid': one that expired or was signed out. */
  function fromSession(req: FastifyRequest, token: string): ApiCaller | 'invalid' | 'forged' {
    const check = opts.sessions.verify(token);
    if (!check.ok) return check.reason === 'invalid' ? 'forged' : 'invalid';
    const method = req.method.toUpperCase();
    if (STATE_CHANGING.has(method)) {
      const type = (header(req, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/json') {
        throw new S3BatchError(
          'AccessDenied',
          `A ${method} signed in with the session cookie must have content-type application/json (protection against cross-site requests)`,
        );
      }
    }
    return {
      accessKeyId: check.session.accessKeyId,
      accountId: check.session.accountId,
      via: 'session',
      session: check.session,
    };
  }

  function fromBasic(req: FastifyRequest, value: string): ApiCaller {
    const encoded = value.slice('basic '.length).trim();
    const decoded = /^[A-Za-z0-9+/]+={0,2}$/.test(encoded) ? Buffer.from(encoded, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const keyId = colon > 0 ? decoded.slice(0, colon) : undefined;
    limiter.check(req.ip, keyId);
    if (colon <= 0) {
      limiter.fail(req.ip, undefined);
      throw new S3BatchError(
        'AccessDenied',
        'Malformed Basic credentials: expected base64(accessKeyId:secretAccessKey)',
      );
    }
    const key = checkSecret(decoded.slice(0, colon), decoded.slice(colon + 1));
    if (key === undefined) {
      limiter.fail(req.ip, keyId);
      throw new S3BatchError('AccessDenied', BAD_KEY);
    }
    return { accessKeyId: key.accessKeyId, accountId: key.accountId, via: 'basic' };
  }

  async function fromSigV4(req: FastifyRequest): Promise<ApiCaller> {
    const body = rawBodies.get(req) ?? (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
    const caller = await opts.verifier.verify({
      method: req.method,
      url: req.raw.url ?? req.url,
      headers: req.headers,
      body,
      client: req.ip,
    });
    return { ...caller, via: 'sigv4' };
  }

  /** The caller, by the first kind of credentials the request carries. */
  async function resolve(req: FastifyRequest): Promise<ApiCaller> {
    let caller: ApiCaller | undefined;
    const token = readCookie(header(req, 'cookie'), SESSION_COOKIE);
    const session = token === undefined || token === '' ? undefined : fromSession(req, token);
    if (typeof session === 'object') caller = session;
    const authorization = header(req, 'authorization')?.trim() ?? '';
    if (caller === undefined && authorization !== '') {
      const scheme = authorization.split(/\s/, 1)[0]?.toLowerCase();
      if (scheme === 'aws4-hmac-sha256') caller = await fromSigV4(req);
      else if (scheme === 'basic') caller = fromBasic(req, authorization);
      else
        throw new S3BatchError(
          'Unauthorized',
          `Unsupported authorization scheme: use Basic or AWS4-HMAC-SHA256. ${AUTH_REQUIRED}`,
        );
    }
    if (caller === undefined) {
      // A forged cookie is a failed attempt only when nothing else on the request authenticated it
      // (a browser still sending an old cookie next to valid Basic or SigV4 credentials is no attacker).
      if (session === 'forged') {
        limiter.check(req.ip, undefined);
        limiter.fail(req.ip, undefined);
      }
      throw new S3BatchError(
        'Unauthorized',
        session === 'invalid' || session === 'forged'
          ? `Your session has expired or is no longer valid: sign in again. ${AUTH_REQUIRED}`
          : AUTH_REQUIRED,
      );
    }
    const named = header(req, 'x-amz-account-id');
    if (named !== undefined && named !== '' && !/^\d{12}$/.test(named))
      throw new S3BatchError('InvalidRequest', 'x-amz-account-id must be a 12-digit account id');
    if (named !== undefined && named !== '' && named !== caller.accountId) {
      throw new S3BatchError(
        'AccessDenied',
        `Access key ${caller.accessKeyId} belongs to account ${caller.accountId} and cannot act for account ${named}`,
      );
    }
    return caller;
  }

  function callerOf(req: FastifyRequest): Promise<ApiCaller> {
    let p = resolved.get(req);
    if (p === undefined) {
      p = resolve(req);
      resolved.set(req, p);
    }
    return p;
  }

  function install(app: FastifyInstance): void {
    const parseJson = app.getDefaultJsonParser('error', 'error');
    app.removeContentTypeParser('application/json');
    // Read up to the route's bodyLimit; a larger body is read on and dropped, then 413 (body-limit.ts).
    app.addContentTypeParser(
      'application/json',
      limitedBodyParser(routeBodyLimit, (req, raw, done) => {
        rawBodies.set(req, raw);
        // A DELETE signed in with the cookie carries content-type application/json and no body.
        if (raw.length === 0 && req.method === 'DELETE') return done(null, undefined);
        const deep = jsonTooDeep(raw); // refused before JSON.parse spends the thread on it
        if (deep !== undefined) return done(deep, undefined);
        parseJson(req, raw as unknown as string, done);
      }),
    );
    app.addHook('onRequest', async (req, reply) => {
      if (!needsCaller(req)) return;
      // A signature covers the body: it is checked once the body is read (preHandler).
      if (/^\s*aws4-hmac-sha256/i.test(header(req, 'authorization') ?? '')) return;
      await callerOf(req).catch((err: unknown) => onAuthError(req, reply, err));
    });
    app.addHook('preHandler', async (req, reply) => {
      if (!needsCaller(req)) return;
      await callerOf(req).catch((err: unknown) => onAuthError(req, reply, err));
    });
  }

  return {
    accountOf: async (req) => (await callerOf(req)).accountId,
    callerOf,
    checkSecret,
    sessions: opts.sessions,
    limiter,
    install,
  };
}

/** Adds the 401 challenge and drops a session cookie that no longer works, then rethrows. */
function onAuthError(req: FastifyRequest, reply: FastifyReply, err: unknown): never {
  const retryAfter = retryAfterOf(err);
  if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
  if (isS3BatchError(err) && err.code === 'Unauthorized') {
    if (header(req, WEB_CLIENT_HEADER) !== WEB_CLIENT_VALUE) void reply.header('www-authenticate', BASIC_CHALLENGE);
    if (readCookie(header(req, 'cookie'), SESSION_COOKIE))
      void reply.header('set-cookie', clearedSessionCookie(isHttps(req)));
  }
  throw err;
}
