/**
 * Web sign-in for the JSON API (`/api/v1/session`): POST signs in with an access key and sets the
 * `s3batch_session` cookie, GET says who is signed in, DELETE signs out (clears the cookie).
 * Failed sign-ins are limited per remote address (10 a minute, then 429 until the minute is over):
 * `req.ip`, which is the X-Forwarded-For client only when the peer is a trusted proxy (trustProxy).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { S3BatchError } from '../../domain/errors.ts';
import { isHttps, type ApiAuth } from '../auth/api-auth.ts';
import { clearedSessionCookie, sessionCookie, type Session } from '../auth/session.ts';

export interface SessionRouteOptions {
  readonly auth: ApiAuth;
  /** Failed sign-ins allowed per remote address and window; default 10 a minute. */
  readonly maxFailedLogins?: number;
  readonly failedLoginWindowMs?: number;
  readonly now?: () => number;
}

/** Counts failures per address in fixed windows; memory is bounded by `maxAddresses`. */
export class FailedAttempts {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxAddresses = 10_000,
  ) {}

  /** Seconds until `address` may try again, or 0 when it may try now. */
  blockedFor(address: string): number {
    const w = this.windows.get(address);
    const t = this.now();
    if (w === undefined || w.resetAt <= t) return 0;
    return w.count >= this.max ? Math.ceil((w.resetAt - t) / 1000) : 0;
  }

  fail(address: string): void {
    const t = this.now();
    const w = this.windows.get(address);
    if (w !== undefined && w.resetAt > t) {
      w.count++;
      return;
    }
    if (this.windows.size >= this.maxAddresses) {
      for (const [a, v] of this.windows) if (v.resetAt <= t) this.windows.delete(a);
      // Still full: forget the oldest window (Map keeps insertion order).
      if (this.windows.size >= this.maxAddresses) this.windows.delete(this.windows.keys().next().value as string);
    }
    this.windows.delete(address);
    this.windows.set(address, { count: 1, resetAt: t + this.windowMs });
  }
}

const sessionView = (s: Session): Record<string, string> => ({
  AccessKeyId: s.accessKeyId,
  AccountId: s.accountId,
  ExpiresAt: new Date(s.exp).toISOString(),
});

export async function sessionRoutes(app: FastifyInstance, opts: SessionRouteOptions): Promise<void> {
  const { auth } = opts;
  const failures = new FailedAttempts(opts.maxFailedLogins ?? 10, opts.failedLoginWindowMs ?? 60_000, opts.now);

  // Sign-in needs no credentials: a small body limit keeps anyone from making it parse megabytes.
  app.post('/session', { bodyLimit: 16 * 1024 }, async (req: FastifyRequest, reply) => {
    const wait = failures.blockedFor(req.ip);
    if (wait > 0) {
      void reply.header('retry-after', String(wait));
      throw new S3BatchError(
        'TooManyRequestsException',
        `Too many failed sign-ins from this address: try again in ${wait} s`,
      );
    }
    const b = req.body;
    if (typeof b !== 'object' || b === null || Array.isArray(b))
      throw new S3BatchError(
        'MalformedJSON',
        'The request body must be a JSON object {"accessKeyId","secretAccessKey"}',
      );
    const { accessKeyId, secretAccessKey } = b as Record<string, unknown>;
    if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string') {
      throw new S3BatchError('InvalidRequest', 'accessKeyId and secretAccessKey are required strings');
    }
    const key =
      accessKeyId.length <= 128 && secretAccessKey.length <= 128
        ? auth.checkSecret(accessKeyId, secretAccessKey)
        : undefined;
    if (key === undefined) {
      failures.fail(req.ip);
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
    void reply.header('set-cookie', clearedSessionCookie(isHttps(req)));
    return reply.status(204).send();
  });
}
