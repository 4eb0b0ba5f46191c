/**
 * The configuration loader: the only module that reads process.env. Flags win over S3BATCH_*
 * environment variables, which win over defaults. The result is validated once and frozen.
 */
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { S3BatchError } from './domain/errors.ts';
import { isHttpUrl } from './domain/field-checks.ts';
import { DEFAULT_JOB_RETENTION_DAYS, DEFAULT_SUSPENDED_TIMEOUT_DAYS } from './domain/job-lifetime.ts';

export interface StorageConfig {
  /** S3 endpoint URL; undefined means AWS S3 itself (or the embedded local S3 with --local). */
  readonly endpoint?: string | undefined;
  readonly region: string;
  readonly accessKeyId?: string | undefined;
  readonly secretAccessKey?: string | undefined;
  readonly forcePathStyle: boolean;
}

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** Run the embedded local S3 server (s3rver) under <dataDir>/local-s3. */
  readonly local: boolean;
  readonly localS3Port: number;
  readonly storage: StorageConfig;
  /** JSON file of named storage profiles that jobs select by RoleArn (storage/storage-profiles.ts). */
  readonly storageProfilesFile?: string | undefined;
  /** Account used by the JSON API when a request names none. */
  readonly defaultAccountId: string;
  readonly partition: string;
  readonly maxConcurrentTasks: number;
  readonly jobConcurrency: number;
  /**
   * Worker threads that run the tasks (execution/threads.ts); 0 runs them in the main thread.
   * Default: one per core.
   */
  readonly workers: number;
  /**
   * A job spreads to one more worker thread when each thread it runs on is busy (event loop and
   * CPU) this fraction of a second (0 to 1); 0 spreads every job over the threads at once. Default 0.8.
   */
  readonly workerSpreadBusy: number;
  readonly chunkSize: number;
  readonly maxTasksPerJob: number;
  readonly multipartCopyThresholdBytes: number;
  readonly multipartCopyPartBytes: number;
  readonly retryMaxAttempts: number;
  readonly confirmationRequiredByDefault: boolean;
  /** Days a job may wait in Suspended before it fails with ConfirmationTimeout. */
  readonly suspendedTimeoutDays: number;
  /** Days a finished job (Complete, Cancelled, Failed) is kept before its record is deleted; fractions allowed. */
  readonly jobRetentionDays: number;
  /** CreateJob requests per second per account (bursts of 5× that); over it, TooManyRequestsException. */
  readonly createJobRatePerSecond: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** `json` lines or `pretty` ones (src/logging.ts); undefined: pretty on a TTY, JSON otherwise. */
  readonly logFormat?: 'json' | 'pretty' | undefined;
  /** S3 Control API access keys (src/api/auth/access-keys.ts): a JSON keys file… */
  readonly apiKeysFile?: string | undefined;
  /** …and/or one key pair for the default account. Neither: a generated pair in <dataDir>/api-keys.json. */
  readonly apiAccessKeyId?: string | undefined;
  readonly apiSecretAccessKey?: string | undefined;
  /** LambdaInvoke: a Lambda-compatible endpoint (undefined = AWS Lambda in lambdaRegion). */
  readonly lambdaEndpoint?: string | undefined;
  /** Undefined = the S3 region. */
  readonly lambdaRegion?: string | undefined;
  /** Undefined = the S3 storage credentials (then the AWS default credential chain). */
  readonly lambdaAccessKeyId?: string | undefined;
  readonly lambdaSecretAccessKey?: string | undefined;
  /** LambdaInvoke with an http(s) URL: seconds one invocation may take. */
  readonly functionTimeoutSeconds: number;
  /** HTTP functions jobs may call: comma-separated URL prefixes, or `none`; absent ⇒ any URL. */
  readonly functionUrls?: string | undefined;
  /** Webhooks (docs/notifications.md): a delivery is retried until this many seconds after its event. */
  readonly notifyMaxAgeSeconds: number;
  /** Webhooks: the upper bound of the first retry's delay (exponential with full jitter after it). */
  readonly notifyRetryBaseMs: number;
  /** Webhooks: the upper bound of any retry's delay. */
  readonly notifyRetryMaxMs: number;
  /** Webhooks: seconds one delivery attempt may take. */
  readonly notifyTimeoutSeconds: number;
  /** Seconds between two `: ping` comments on idle server-sent-event streams (proxies close silent ones). */
  readonly sseHeartbeatSeconds: number;
  /** Seconds a client may take to send a whole request (headers and body); then 408 and the connection closes. */
  readonly requestTimeoutSeconds: number;
  /**
   * Which reverse proxies' X-Forwarded-For / X-Forwarded-Proto to believe (fastify's trustProxy):
   * false (none, the default), true (any peer), or comma-separated addresses / CIDRs of the proxies.
   */
  readonly trustProxy: boolean | string;
  /**
   * Accept SigV4 requests whose `x-amz-content-sha256` is `UNSIGNED-PAYLOAD` (the body is then not
   * covered by the signature and could be swapped in transit); default false.
   */
  readonly allowUnsignedPayload: boolean;
  /**
   * Failed authentications allowed a minute per client address and per access key (every kind:
   * Basic, SigV4, forged cookies, sign-ins); over it 429 with Retry-After. Default 10.
   */
  readonly maxFailedAuth: number;
  /**
   * The scale-out mode (docs/deployment.md): job state in this Redis, chunks run by `s3batch worker`
   * processes through a BullMQ queue. Undefined: one process, lowdb under the data folder.
   */
  readonly redisUrl?: string | undefined;
  /** Prefix of every s3batch key in Redis (several deployments may share one database). */
  readonly redisPrefix: string;
  /** With --redis: the URL other `serve` instances forward requests to while this one leads. */
  readonly advertiseUrl?: string | undefined;
}

/** Options as the CLI's flags give them (strings or booleans), keyed like Config (and WorkerConfig). */
export type ConfigFlags = Partial<
  Record<keyof Config | keyof StorageConfig | keyof typeof ENV, string | boolean | number | undefined>
>;

/** Each setting: its flag key, its environment variable, its default, its parser. */
export const ENV = {
  host: 'S3BATCH_HOST',
  port: 'S3BATCH_PORT',
  dataDir: 'S3BATCH_DATA_DIR',
  local: 'S3BATCH_LOCAL',
  localS3Port: 'S3BATCH_LOCAL_S3_PORT',
  endpoint: 'S3BATCH_S3_ENDPOINT',
  region: 'S3BATCH_S3_REGION',
  accessKeyId: 'S3BATCH_S3_ACCESS_KEY_ID',
  secretAccessKey: 'S3BATCH_S3_SECRET_ACCESS_KEY',
  forcePathStyle: 'S3BATCH_S3_PATH_STYLE',
  storageProfilesFile: 'S3BATCH_STORAGE_PROFILES_FILE',
  defaultAccountId: 'S3BATCH_ACCOUNT_ID',
  maxConcurrentTasks: 'S3BATCH_MAX_CONCURRENT_TASKS',
  jobConcurrency: 'S3BATCH_JOB_CONCURRENCY',
  workers: 'S3BATCH_WORKERS',
  workerSpreadBusy: 'S3BATCH_WORKER_SPREAD_BUSY',
  chunkSize: 'S3BATCH_CHUNK_SIZE',
  maxTasksPerJob: 'S3BATCH_MAX_TASKS_PER_JOB',
  multipartCopyThresholdBytes: 'S3BATCH_MULTIPART_COPY_THRESHOLD',
  multipartCopyPartBytes: 'S3BATCH_MULTIPART_COPY_PART_SIZE',
  retryMaxAttempts: 'S3BATCH_RETRY_MAX_ATTEMPTS',
  confirmationRequiredByDefault: 'S3BATCH_CONFIRMATION_REQUIRED_BY_DEFAULT',
  suspendedTimeoutDays: 'S3BATCH_SUSPENDED_TIMEOUT_DAYS',
  jobRetentionDays: 'S3BATCH_JOB_RETENTION_DAYS',
  createJobRatePerSecond: 'S3BATCH_CREATE_JOB_RATE',
  logLevel: 'S3BATCH_LOG_LEVEL',
  logFormat: 'S3BATCH_LOG_FORMAT',
  apiKeysFile: 'S3BATCH_API_KEYS_FILE',
  apiAccessKeyId: 'S3BATCH_API_ACCESS_KEY_ID',
  apiSecretAccessKey: 'S3BATCH_API_SECRET_ACCESS_KEY',
  lambdaEndpoint: 'S3BATCH_LAMBDA_ENDPOINT',
  lambdaRegion: 'S3BATCH_LAMBDA_REGION',
  lambdaAccessKeyId: 'S3BATCH_LAMBDA_ACCESS_KEY_ID',
  lambdaSecretAccessKey: 'S3BATCH_LAMBDA_SECRET_ACCESS_KEY',
  functionTimeoutSeconds: 'S3BATCH_FUNCTION_TIMEOUT_SECONDS',
  functionUrls: 'S3BATCH_FUNCTION_URLS',
  notifyMaxAgeSeconds: 'S3BATCH_NOTIFY_MAX_AGE_SECONDS',
  notifyRetryBaseMs: 'S3BATCH_NOTIFY_RETRY_BASE_MS',
  notifyRetryMaxMs: 'S3BATCH_NOTIFY_RETRY_MAX_MS',
  notifyTimeoutSeconds: 'S3BATCH_NOTIFY_TIMEOUT_SECONDS',
  sseHeartbeatSeconds: 'S3BATCH_SSE_HEARTBEAT_SECONDS',
  requestTimeoutSeconds: 'S3BATCH_REQUEST_TIMEOUT_SECONDS',
  trustProxy: 'S3BATCH_TRUST_PROXY',
  allowUnsignedPayload: 'S3BATCH_ALLOW_UNSIGNED_PAYLOAD',
  maxFailedAuth: 'S3BATCH_MAX_FAILED_AUTH',
  redisUrl: 'S3BATCH_REDIS_URL',
  redisPrefix: 'S3BATCH_REDIS_PREFIX',
  advertiseUrl: 'S3BATCH_ADVERTISE_URL',
  // `s3batch worker`: WorkerConfig
  workerConcurrency: 'S3BATCH_WORKER_CONCURRENCY',
  workerChunks: 'S3BATCH_WORKER_CHUNKS',
  workerName: 'S3BATCH_WORKER_NAME',
  workerDrainSeconds: 'S3BATCH_WORKER_DRAIN_SECONDS',
  workerThreads: 'S3BATCH_WORKER_THREADS',
} as const;

type Key = keyof typeof ENV;

function bad(key: Key, value: unknown, expected: string): never {
  throw new S3BatchError(
    'InvalidConfiguration',
    `Invalid ${key} (flag) / ${ENV[key]} (env): ${JSON.stringify(value)} — expected ${expected}`,
  );
}

function pick(key: Key, flags: ConfigFlags, env: NodeJS.ProcessEnv): string | boolean | number | undefined {
  const f = flags[key];
  if (f !== undefined) return f;
  const e = env[ENV[key]];
  return e === undefined || e === '' ? undefined : e;
}

function int(
  key: Key,
  flags: ConfigFlags,
  env: NodeJS.ProcessEnv,
  def: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const v = pick(key, flags, env);
  if (v === undefined) return def;
  // Decimal digits only: Number() would read '' or '  ' as 0 (a random port), '0x1F' and '1e3' too.
  const text = String(v).trim();
  const n = typeof v === 'number' ? v : /^[+-]?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) bad(key, v, `an integer from ${min} to ${max}`);
  return n;
}

/** A decimal number (fractions allowed), e.g. a retention of 0.0001 days in a test. */
function decimal(key: Key, flags: ConfigFlags, env: NodeJS.ProcessEnv, def: number, min: number, max: number): number {
  const v = pick(key, flags, env);
  if (v === undefined) return def;
  const text = String(v).trim();
  const n = typeof v === 'number' ? v : /^\d+(\.\d+)?$|^\.\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(n) || n < min || n > max) bad(key, v, `a number from ${min} to ${max} (fractions allowed)`);
  return n;
}

function bool(key: Key, flags: ConfigFlags, env: NodeJS.ProcessEnv, def: boolean): boolean {
  const v = pick(key, flags, env);
  if (v === undefined) return def;
  if (typeof v === 'boolean') return v;
  const s = String(v).trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  return bad(key, v, 'true or false');
}

/** A Redis key prefix: printable, no spaces, at most 64 characters; `s3batch:` by default. */
function redisPrefix(flags: ConfigFlags, env: NodeJS.ProcessEnv): string {
  const prefix = str('redisPrefix', flags, env) ?? 's3batch:';
  if (!/^[\x21-\x7e]{1,64}$/.test(prefix)) bad('redisPrefix', prefix, 'up to 64 printable characters without spaces');
  return prefix;
}

function str(key: Key, flags: ConfigFlags, env: NodeJS.ProcessEnv): string | undefined {
  const v = pick(key, flags, env);
  return v === undefined ? undefined : String(v);
}

function httpUrl(key: Key, flags: ConfigFlags, env: NodeJS.ProcessEnv): string | undefined {
  const v = str(key, flags, env);
  if (v !== undefined && !/^https?:\/\/[^/]/i.test(v)) bad(key, v, 'an http:// or https:// URL');
  return v;
}

/** proxy-addr's names for address ranges, accepted by fastify's trustProxy next to addresses and CIDRs. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** One trusted proxy: an IP address, `address/prefix`, `ipv4/netmask`, or a range name. */
function isProxyAddress(entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry)) return true;
  const slash = entry.indexOf('/');
  const ip = slash < 0 ? entry : entry.slice(0, slash);
  const family = isIP(ip);
  if (family === 0) return false;
  if (slash < 0) return true;
  const suffix = entry.slice(slash + 1);
  if (/^\d{1,3}$/.test(suffix)) return Number(suffix) <= (family === 4 ? 32 : 128);
  return family === 4 && isIP(suffix) === 4;
}

/**
 * trustProxy: `false`/`true`, or comma-separated proxy addresses/CIDRs (kept as one normalized
 * string, the form fastify takes). A hop count is refused: the fastify in use ignores hop counts
 * (it cannot check the peer is a proxy), so `1` would silently trust nothing.
 */
function trustProxy(flags: ConfigFlags, env: NodeJS.ProcessEnv): boolean | string {
  const v = pick('trustProxy', flags, env);
  if (v === undefined) return false;
  if (typeof v === 'boolean') return v;
  const text = String(v).trim();
  const lower = text.toLowerCase();
  if (['true', 'false'].includes(lower)) return lower === 'true';
  const expected = 'false, true, or comma-separated proxy addresses/CIDRs (e.g. 127.0.0.1,10.0.0.0/8)';
  if (typeof v === 'number' || /^\d+$/.test(text))
    bad(
      'trustProxy',
      v,
      `${expected}; hop counts are not supported (fastify ignores them), give the proxies' addresses`,
    );
  const entries = text.split(',').map((e) => e.trim());
  if (entries.some((e) => !isProxyAddress(e))) bad('trustProxy', v, expected);
  return entries.join(',');
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const endpoint = str('endpoint', flags, env);
  if (endpoint !== undefined && !isHttpUrl(endpoint)) bad('endpoint', endpoint, 'an http:// or https:// URL');
  const local = bool('local', flags, env, false);
  if (local && endpoint !== undefined) {
    throw new S3BatchError(
      'InvalidConfiguration',
      '--local starts an embedded S3 server: do not also give an S3 endpoint',
    );
  }
  const accountId = str('defaultAccountId', flags, env) ?? '000000000000';
  if (!/^\d{12}$/.test(accountId)) bad('defaultAccountId', accountId, 'a 12-digit account id');
  const logLevel = str('logLevel', flags, env) ?? 'info';
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel))
    bad('logLevel', logLevel, 'debug, info, warn, error or silent');
  const logFormat = str('logFormat', flags, env);
  if (logFormat !== undefined && logFormat !== 'json' && logFormat !== 'pretty')
    bad('logFormat', logFormat, 'json or pretty');
  const partSize = int('multipartCopyPartBytes', flags, env, 64 * MiB, 5 * MiB, 5 * GiB);
  const apiKeysFile = str('apiKeysFile', flags, env);
  const config: Config = {
    host: str('host', flags, env) ?? '127.0.0.1',
    port: int('port', flags, env, 8080, 0, 65535),
    dataDir: resolve(str('dataDir', flags, env) ?? '.s3batch'),
    local,
    localS3Port: int('localS3Port', flags, env, 0, 0, 65535),
    storage: {
      endpoint,
      region: str('region', flags, env) ?? 'us-east-1',
      accessKeyId: str('accessKeyId', flags, env),
      secretAccessKey: str('secretAccessKey', flags, env),
      // Path-style is what self-hosted stores need; AWS S3 itself takes virtual-hosted style.
      forcePathStyle: bool('forcePathStyle', flags, env, endpoint !== undefined || local),
    },
    storageProfilesFile: ((f) => (f === undefined ? undefined : resolve(f)))(str('storageProfilesFile', flags, env)),
    defaultAccountId: accountId,
    partition: 'aws',
    maxConcurrentTasks: int('maxConcurrentTasks', flags, env, 256, 1, 100_000),
    jobConcurrency: int('jobConcurrency', flags, env, 64, 1, 10_000),
    workers: int('workers', flags, env, availableParallelism(), 0, 256),
    workerSpreadBusy: decimal('workerSpreadBusy', flags, env, 0.8, 0, 1),
    chunkSize: int('chunkSize', flags, env, 1000, 1, 1_000_000),
    maxTasksPerJob: int('maxTasksPerJob', flags, env, 20_000_000_000, 1),
    multipartCopyThresholdBytes: int('multipartCopyThresholdBytes', flags, env, 5 * GiB, 5 * MiB, 5 * GiB),
    multipartCopyPartBytes: partSize,
    retryMaxAttempts: int('retryMaxAttempts', flags, env, 5, 1, 20),
    confirmationRequiredByDefault: bool('confirmationRequiredByDefault', flags, env, true),
    suspendedTimeoutDays: int('suspendedTimeoutDays', flags, env, DEFAULT_SUSPENDED_TIMEOUT_DAYS, 1, 3650),
    jobRetentionDays: decimal('jobRetentionDays', flags, env, DEFAULT_JOB_RETENTION_DAYS, 0.00001, 36_500),
    createJobRatePerSecond: int('createJobRatePerSecond', flags, env, 10, 1, 100_000),
    logLevel: logLevel as Config['logLevel'],
    logFormat,
    apiKeysFile: apiKeysFile === undefined ? undefined : resolve(apiKeysFile),
    apiAccessKeyId: str('apiAccessKeyId', flags, env),
    apiSecretAccessKey: str('apiSecretAccessKey', flags, env),
    lambdaEndpoint: httpUrl('lambdaEndpoint', flags, env),
    lambdaRegion: str('lambdaRegion', flags, env),
    lambdaAccessKeyId: str('lambdaAccessKeyId', flags, env),
    lambdaSecretAccessKey: str('lambdaSecretAccessKey', flags, env),
    functionTimeoutSeconds: int('functionTimeoutSeconds', flags, env, 60, 1, 900),
    functionUrls: str('functionUrls', flags, env),
    notifyMaxAgeSeconds: int('notifyMaxAgeSeconds', flags, env, 3600, 1, 7 * 86_400),
    notifyRetryBaseMs: int('notifyRetryBaseMs', flags, env, 1000, 1, 3_600_000),
    notifyRetryMaxMs: int('notifyRetryMaxMs', flags, env, 300_000, 1, 3_600_000),
    notifyTimeoutSeconds: int('notifyTimeoutSeconds', flags, env, 10, 1, 300),
    sseHeartbeatSeconds: int('sseHeartbeatSeconds', flags, env, 15, 1, 3600),
    requestTimeoutSeconds: int('requestTimeoutSeconds', flags, env, 30, 1, 3600),
    trustProxy: trustProxy(flags, env),
    allowUnsignedPayload: bool('allowUnsignedPayload', flags, env, false),
    maxFailedAuth: int('maxFailedAuth', flags, env, 10, 1, 1_000_000),
    redisUrl: str('redisUrl', flags, env),
    redisPrefix: redisPrefix(flags, env),
    advertiseUrl: httpUrl('advertiseUrl', flags, env),
  };
  if ((config.lambdaAccessKeyId === undefined) !== (config.lambdaSecretAccessKey === undefined)) {
    throw new S3BatchError(
      'InvalidConfiguration',
      `Give both ${ENV.lambdaAccessKeyId} and ${ENV.lambdaSecretAccessKey} (the Lambda key pair), or neither (then the S3 credentials are used)`,
    );
  }
  if ((config.apiAccessKeyId === undefined) !== (config.apiSecretAccessKey === undefined)) {
    throw new S3BatchError(
      'InvalidConfiguration',
      `Give both ${ENV.apiAccessKeyId} and ${ENV.apiSecretAccessKey} (the S3 Control API key pair), or neither`,
    );
  }
  if ((config.storage.accessKeyId === undefined) !== (config.storage.secretAccessKey === undefined)) {
    throw new S3BatchError(
      'InvalidConfiguration',
      'Give both an S3 access key id and a secret access key, or neither (then the AWS default credential chain is used)',
    );
  }
  return Object.freeze(config);
}

/** `s3batch worker`: the storage, function and Redis settings of Config, and its own. */
export interface WorkerConfig {
  readonly config: Config;
  /** Tasks at once over every chunk of the process (default 16). */
  readonly concurrency: number;
  /** Chunks at once (default 1). */
  readonly chunks: number;
  /** Its name in the workers hash and /metrics; undefined: `<hostname>-<pid>`. */
  readonly name?: string | undefined;
  /** After SIGTERM, seconds the running chunks may take to finish before they are stopped (default 20). */
  readonly drainSeconds: number;
  /** Event loops (worker threads) of the process, each with its own BullMQ worker and a share of `concurrency` (default 1). */
  readonly threads: number;
}

export function loadWorkerConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const concurrency = int('workerConcurrency', flags, env, 16, 1, 100_000);
  const name = str('workerName', flags, env);
  if (name !== undefined && !/^[A-Za-z0-9_.:@-]{1,128}$/.test(name))
    bad('workerName', name, 'letters, digits and `_.:@-` (1 to 128 of them)');
  return Object.freeze({
    // Each task client keeps enough sockets for the worker's tasks (taskMaxSockets).
    config: loadConfig({ ...flags, maxConcurrentTasks: flags.maxConcurrentTasks ?? concurrency }, env),
    concurrency,
    chunks: int('workerChunks', flags, env, 1, 1, 1_000),
    name,
    drainSeconds: int('workerDrainSeconds', flags, env, 20, 0, 86_400),
    threads: Math.min(int('workerThreads', flags, env, 1, 1, 256), concurrency),
  });
}
