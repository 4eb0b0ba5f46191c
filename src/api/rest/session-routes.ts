/**
 * Web sign-in for the JSON API (`/api/v1/session`): POST signs in with an access key and sets the
 * `s3batch_session` cookie, GET says who is signed in, DELETE signs out: clears the cookie and
 * ends every session of that access key on the server (session.ts, session epochs).
 * Failed sign-ins count towards the one limit on failed authentication (auth-limiter.ts: per
 * remote address and per access key, 10 a minute, then 429 + Retry-After until the minute is
 * over): `req.ip`, which is the X-Forwarded-For client only when the peer is a trusted proxy.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { S3BatchError } from '../../domain/errors.ts';
import { isHttps, type ApiAuth } from '../auth/api-auth.ts';
import { retryAfterOf } from '../auth/auth-limiter.ts';
import { SESSION_COOKIE, clearedSessionCookie, readCookie, sessionCookie, type Session } from '../auth/session.ts';
import { checkKnownMembers } from './json-members.ts';

/** The failed-attempt counter, now shared by every kind of authentication (one home: auth-limiter.ts). */
export { FailedAttempts } from '../auth/auth-limiter.ts';

export interface SessionRouteOptions {
  readonly auth: ApiAuth;
}

const sessionView = (s: Session): Record<string, string> => ({
  AccessKeyId: s.accessKeyId,
  AccountId: s.accountId,
  ExpiresAt: new Date(s.exp).toISOString(),
});

export async function sessionRoutes(app: FastifyInstance, opts: SessionRouteOptions): Promise<void> {
  const { auth } = opts;
  const { limiter } = auth;
  /** limiter.check, with the Retry-After of a 429 set on the reply. */
  const checkLimit = (req: FastifyRequest, reply: FastifyReply, accessKeyId: string | undefined): void => {
    try {
      limiter.check(req.ip, accessKeyId);
    } catch (err) {
      const wait = retryAfterOf(err);
      if (wait !== undefined) void reply.header('retry-after', String(wait));
      throw err;
    }
  };

  // Sign-in needs no credentials: a small body limit keeps anyone from making it parse megabytes.
  app.post('/session', { bodyLimit: 16 * 1024 }, async (req: FastifyRequest, reply) => {
    checkLimit(req, reply, undefined);
    const b = req.body;
    if (typeof b !== 'object' || b === null || Array.isArray(b))
      throw new S3BatchError(
        'MalformedJSON',
        'The request body must be a JSON object {"accessKeyId","secretAccessKey"}',
      );
    checkKnownMembers(b as Record<string, unknown>, 'CreateSession');
    const { accessKeyId, secretAccessKey } = b as Record<string, unknown>;
    if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string') {
      throw new S3BatchError('InvalidRequest', 'accessKeyId and secretAccessKey are required strings');
    }
    const keyId = accessKeyId.length <= 128 ? accessKeyId : undefined;
    checkLimit(req, reply, keyId);
    const key =
      keyId !== undefined && secretAccessKey.length <= 128 ? auth.checkSecret(keyId, secretAccessKey) : undefined;
    if (key === undefined) {
      limiter.fail(req.ip, keyId);
      throw new S3BatchError('AccessDenied', 'The access key id or secret access key is not valid');
    }
    const { token, session } = auth.sessions.issue(key.accessKeyId);
    void reply.header('set-cookie', sessionCookie(token, Math.floor(auth.sessions.lifetimeMs / 1000), isHttps(req)));
    void reply.header('cache-control', 'no-store');
    return sessionView(session);
  });

  app.get('/session', async (req, reply) => {
    const caller = await auth.callerOf(req);
    void reply.header('cache-control', 'no-store');
    return {
      AccessKeyId: caller.accessKeyId,
      AccountId: caller.accountId,
      ExpiresAt: caller.session ? new Date(caller.session.exp).toISOString() : null,
      Via: caller.via,
    };
  });

  app.delete('/session', async (req, reply) => {
    // A valid cookie: end every session of its key on the server, so that a copy stops working too.
    const token = readCookie(
      Array.isArray(req.headers.cookie) ? req.headers.cookie[0] : req.headers.cookie,
      SESSION_COOKIE,
    );
    const check = token === undefined || token === '' ? undefined : auth.sessions.verify(token);
    // The browser's cookie is cleared even when the revocation cannot be stored (the answer is then a 500).
    void reply.header('set-cookie', clearedSessionCookie(isHttps(req)));
    if (check?.ok === true) await auth.sessions.revoke(check.session.accessKeyId);
    return reply.status(204).send();
  });
}
