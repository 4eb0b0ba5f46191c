/**
 * Connecting to the Redis of the scale-out mode (`--redis URL`, issue 14). The URL is checked before
 * any connection: `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS; port 1–65535
 * (default 6379), db a whole number (default 0), no query or fragment. A bad URL, a Redis that does
 * not answer within the connect timeout (default 5 s), a refused password or a db out of range are
 * InvalidConfiguration with a message naming the URL, its password replaced by `***`; never a hang.
 *
 * Clients are ioredis with `maxRetriesPerRequest: null` (BullMQ requires it): once connected, a
 * command sent while Redis is down waits for the reconnection (ioredis retries forever, backing off
 * to 2 s) instead of failing, so a Redis restart loses no write.
 *
 * `redisSettingsWarnings` names the settings BullMQ and the job store rely on
 * (docs/deployment.md): `maxmemory-policy noeviction` (an evicted key is lost state) and
 * `appendonly yes` (without it a Redis restart loses everything). A managed Redis that refuses
 * CONFIG GET gets no warning.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { S3BatchError } from '../../domain/errors.ts';

/** What a Redis URL names. */
export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly tls: boolean;
  readonly username: string | undefined;
  readonly password: string | undefined;
}

export interface OpenRedisOptions {
  /** The connection's name in CLIENT LIST (characters other than letters, digits, `.`, `_`, `:`, `-` become `-`). */
  readonly name: string;
  /** How long the first connection may take before the error (default 5,000 ms). */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;

/**
 * The URL with its password (if any) replaced by `***`: for every message and log line. The user
 * part runs to the URL's last `@`, so a password holding `@`, `#`, `?` or `/` is hidden whole.
 */
export function redactRedisUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(.*)@([^@]*)$/is.exec(url);
  if (!m) return url;
  const userinfo = m[2] as string;
  const colon = userinfo.indexOf(':');
  return colon < 0 ? url : `${m[1]}${userinfo.slice(0, colon)}:***@${m[3]}`;
}

/** Parses and checks a Redis URL; InvalidConfiguration naming what is wrong. */
export function parseRedisUrl(url: string): RedisTarget {
  const bad = (why: string): never => {
    throw new S3BatchError('InvalidConfiguration', `Invalid Redis URL ${redactRedisUrl(url)}: ${why}`);
  };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return bad('not a URL (expected redis://host:port/db)');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    bad(`the scheme must be redis:// or rediss://, not ${parsed.protocol}//`);
  if (parsed.hostname === '') bad('no host');
  if (parsed.search !== '' || parsed.hash !== '') bad('s3batch takes no query or fragment in the Redis URL');
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) bad(`port ${parsed.port} is out of range`);
  const path = parsed.pathname;
  let db = 0;
  if (path !== '' && path !== '/') {
    const digits = path.slice(1);
    if (!/^\d{1,5}$/.test(digits)) bad(`the path must be a database number (/0, /1, …), not ${path}`);
    db = Number(digits);
  }
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    db,
    tls: parsed.protocol === 'rediss:',
    username: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
    password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
  };
}

/** A client for the URL, not connected yet (`lazyConnect`); the URL is checked first. */
export function createRedis(url: string, { name }: Pick<OpenRedisOptions, 'name'>): Redis {
  const target = parseRedisUrl(url);
  const options: RedisOptions = {
    host: target.host,
    port: target.port,
    db: target.db,
    connectionName: name.replace(/[^A-Za-z0-9._:-]/g, '-'),
    maxRetriesPerRequest: null,
    lazyConnect: true,
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(target.tls ? { tls: {} } : {}),
  };
  return new Redis(options);
}

/** Errors that no retry cures: reported at once rather than at the timeout. */
const FATAL = /WRONGPASS|NOAUTH|invalid password|invalid username|DB index is out of range|NOPERM/i;

/**
 * Connects `redis` (made by createRedis) and resolves once it answers; InvalidConfiguration naming
 * the URL and the last error when it does not within `timeoutMs`, or at once for a refused
 * password or db. The client is disconnected on failure.
 */
export async function connectChecked(redis: Redis, url: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  let lastError: Error | undefined;
  const shown = redactRedisUrl(url);
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      redis.off('error', onError);
      redis.off('ready', onReady);
      if (err) {
        redis.disconnect();
        reject(err);
      } else resolve();
    };
    const fail = (why: string): void =>
      done(new S3BatchError('InvalidConfiguration', `Cannot reach Redis at ${shown}: ${why}`, { cause: lastError }));
    const onError = (err: Error): void => {
      lastError = err;
      if (FATAL.test(err.message)) fail(err.message);
    };
    const onReady = (): void => done();
    const timer = setTimeout(
      () => fail(`${lastError ? describe(lastError) : 'no answer'} (for ${Math.round(timeoutMs / 1000)} s)`),
      timeoutMs,
    );
    redis.on('error', onError);
    redis.on('ready', onReady);
    if (redis.status === 'ready') done();
    else if (redis.status === 'wait') redis.connect().catch(() => undefined); // errors come as 'error' events
  });
  // Once connected, errors are reconnections (ioredis retries): an 'error' listener keeps them from
  // being thrown as unhandled 'error' events. The store and the lock report what matters.
  if (redis.listenerCount('error') === 0) redis.on('error', () => undefined);
}

/** The error's code when it has one (ECONNREFUSED, ENOTFOUND, …), else its message. */
function describe(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code !== undefined && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}

/** createRedis + connectChecked: a connected client, or InvalidConfiguration within `timeoutMs`. */
export async function openRedis(url: string, options: OpenRedisOptions): Promise<Redis> {
  const redis = createRedis(url, options);
  await connectChecked(redis, url, options.timeoutMs);
  return redis;
}

/**
 * Warnings about the Redis settings s3batch relies on (none when they are right, or when CONFIG
 * GET is refused, as on managed Redis services).
 */
export async function redisSettingsWarnings(redis: Redis, url: string): Promise<string[]> {
  const shown = redactRedisUrl(url);
  const get = async (name: string): Promise<string | undefined> => {
    try {
      const reply = (await redis.config('GET', name)) as unknown;
      return Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : undefined;
    } catch {
      return undefined;
    }
  };
  const warnings: string[] = [];
  const policy = await get('maxmemory-policy');
  if (policy !== undefined && policy !== 'noeviction')
    warnings.push(
      `Redis at ${shown} has maxmemory-policy ${policy}: set it to noeviction, or Redis may evict s3batch's state`,
    );
  const aof = await get('appendonly');
  if (aof !== undefined && aof !== 'yes')
    warnings.push(
      `Redis at ${shown} has appendonly ${aof}: set appendonly yes, or a Redis restart loses s3batch's state`,
    );
  return warnings;
}
