/**
 * The options `s3batch serve` and `s3batch worker` share (a worker takes the storage, function and
 * log ones), defined once: the flag, its help text with its environment variable, and how the
 * parsed options become ConfigFlags for config.ts.
 */
import type { Command } from 'commander';
import type { ConfigFlags } from '../../config.ts';
import { DEFAULT_JOB_RETENTION_DAYS } from '../../domain/job-lifetime.ts';

export const SERVER_OPTIONS = {
  local: ['--local', 'start an embedded local S3 server (s3rver) under the data folder [S3BATCH_LOCAL]'],
  host: ['--host <host>', 'address to listen on [S3BATCH_HOST] (default 127.0.0.1)'],
  port: ['--port <port>', 'port to listen on, 0 for any free port [S3BATCH_PORT] (default 8080)'],
  dataDir: [
    '--data-dir <dir>',
    'folder for the job store, spools and the local S3 [S3BATCH_DATA_DIR] (default ./.s3batch)',
  ],
  endpoint: ['--endpoint <url>', 'S3 endpoint URL, e.g. http://127.0.0.1:9000 [S3BATCH_S3_ENDPOINT] (default: AWS S3)'],
  region: ['--region <region>', 'S3 region [S3BATCH_S3_REGION] (default us-east-1)'],
  accessKeyId: ['--access-key-id <id>', 'S3 access key id [S3BATCH_S3_ACCESS_KEY_ID]'],
  secretAccessKey: ['--secret-access-key <secret>', 'S3 secret access key [S3BATCH_S3_SECRET_ACCESS_KEY]'],
  pathStyle: ['--path-style', 'use path-style S3 URLs [S3BATCH_S3_PATH_STYLE] (default on with --endpoint)'],
  noPathStyle: ['--no-path-style', 'use virtual-hosted-style S3 URLs'],
  storageProfiles: [
    '--storage-profiles <file>',
    'JSON file of named S3 endpoints that jobs select by RoleArn [S3BATCH_STORAGE_PROFILES_FILE]',
  ],
  localS3Port: [
    '--local-s3-port <port>',
    'port of the embedded S3 server [S3BATCH_LOCAL_S3_PORT] (default: any free port)',
  ],
  maxConcurrentTasks: [
    '--max-concurrent-tasks <n>',
    'global budget of concurrent tasks [S3BATCH_MAX_CONCURRENT_TASKS] (default 256)',
  ],
  jobConcurrency: ['--job-concurrency <n>', 'concurrent tasks of one job [S3BATCH_JOB_CONCURRENCY] (default 64)'],
  workers: [
    '--workers <n>',
    'worker threads that run the tasks; 0 runs them in the main thread [S3BATCH_WORKERS] (default: one per core)',
  ],
  workerSpreadBusy: [
    '--worker-spread-busy <fraction>',
    'a job takes one more worker thread while each of its threads is busy this fraction of the time; ' +
      '0: every job on all threads at once [S3BATCH_WORKER_SPREAD_BUSY] (default 0.8)',
  ],
  chunkSize: ['--chunk-size <n>', 'manifest rows per chunk (unit of resume) [S3BATCH_CHUNK_SIZE] (default 1000)'],
  multipartCopyThreshold: [
    '--multipart-copy-threshold <bytes>',
    'copy objects larger than this with multipart copy [S3BATCH_MULTIPART_COPY_THRESHOLD] (default 5 GiB)',
  ],
  maxTasksPerJob: [
    '--max-tasks-per-job <n>',
    'largest manifest a job may list; larger ones fail with ManifestTooLarge [S3BATCH_MAX_TASKS_PER_JOB] (default 20000000000)',
  ],
  createJobRate: [
    '--create-job-rate <n>',
    'CreateJob requests per second per account, in bursts of 5× that; over it TooManyRequestsException [S3BATCH_CREATE_JOB_RATE] (default 10)',
  ],
  jobRetentionDays: [
    '--job-retention-days <days>',
    `days a finished job stays visible before its record is deleted; fractions allowed [S3BATCH_JOB_RETENTION_DAYS] (default ${DEFAULT_JOB_RETENTION_DAYS})`,
  ],
  trustProxy: [
    '--trust-proxy <value>',
    'behind a reverse proxy: false, true, or comma-separated proxy addresses/CIDRs whose X-Forwarded-For/-Proto are believed (client address for the sign-in limit, https for the Secure cookie) [S3BATCH_TRUST_PROXY] (default false)',
  ],
  allowUnsignedPayload: [
    '--allow-unsigned-payload',
    'accept SigV4 requests with x-amz-content-sha256: UNSIGNED-PAYLOAD; their body is then not signed and could be swapped in transit [S3BATCH_ALLOW_UNSIGNED_PAYLOAD] (default off; the AWS SDKs and CLI sign the payload)',
  ],
  maxFailedAuth: [
    '--max-failed-auth <n>',
    'failed authentications allowed a minute per client address and per access key (Basic, SigV4, cookies, sign-ins); over it 429 with Retry-After [S3BATCH_MAX_FAILED_AUTH] (default 10)',
  ],
  requestTimeoutSeconds: [
    '--request-timeout-seconds <seconds>',
    'seconds a client may take to send a whole request, headers and body; then 408 and the connection is closed [S3BATCH_REQUEST_TIMEOUT_SECONDS] (default 30)',
  ],
  redis: [
    '--redis <url>',
    'scale-out mode: job state in this Redis, tasks run by `s3batch worker` processes (docs/deployment.md), e.g. redis://host:6379/0 [S3BATCH_REDIS_URL] (default: none, one process)',
  ],
  redisPrefix: [
    '--redis-prefix <prefix>',
    'prefix of every s3batch key in Redis [S3BATCH_REDIS_PREFIX] (default s3batch:)',
  ],
  advertiseUrl: [
    '--advertise-url <url>',
    'with --redis: the URL the other serve instances forward requests to while this one leads [S3BATCH_ADVERTISE_URL] (default: http://<host>:<port> as it listens)',
  ],
  logLevel: ['--log-level <level>', 'debug, info, warn, error or silent [S3BATCH_LOG_LEVEL] (default info)'],
  logFormat: [
    '--log-format <format>',
    'json (one JSON object per line, for log shippers) or pretty (for people) [S3BATCH_LOG_FORMAT] (default: pretty when stdout is a terminal, else json)',
  ],
  apiKeysFile: [
    '--api-keys-file <file>',
    'JSON file of S3 Control API access keys {"keys":[{accessKeyId,secretAccessKey,accountId}]} [S3BATCH_API_KEYS_FILE] (also S3BATCH_API_ACCESS_KEY_ID + S3BATCH_API_SECRET_ACCESS_KEY; neither: a pair generated into <data-dir>/api-keys.json)',
  ],
  lambdaEndpoint: [
    '--lambda-endpoint <url>',
    'Lambda-compatible endpoint for LambdaInvoke [S3BATCH_LAMBDA_ENDPOINT] (default: AWS Lambda)',
  ],
  lambdaRegion: ['--lambda-region <region>', 'Lambda region [S3BATCH_LAMBDA_REGION] (default: the S3 region)'],
  lambdaAccessKeyId: [
    '--lambda-access-key-id <id>',
    'Lambda access key id [S3BATCH_LAMBDA_ACCESS_KEY_ID] (default: the S3 keys)',
  ],
  lambdaSecretAccessKey: [
    '--lambda-secret-access-key <secret>',
    'Lambda secret access key [S3BATCH_LAMBDA_SECRET_ACCESS_KEY]',
  ],
  functionTimeout: [
    '--function-timeout <seconds>',
    'time limit of one HTTP-function invocation [S3BATCH_FUNCTION_TIMEOUT_SECONDS] (default 60)',
  ],
  functionUrls: [
    '--function-urls <prefixes>',
    'HTTP functions LambdaInvoke jobs may call: comma-separated URL prefixes, or none [S3BATCH_FUNCTION_URLS] (default: any URL)',
  ],
  notifyMaxAge: [
    '--notify-max-age <seconds>',
    'webhooks: retry a delivery until this long after its event [S3BATCH_NOTIFY_MAX_AGE_SECONDS] (default 3600)',
  ],
  notifyRetryBaseMs: [
    '--notify-retry-base-ms <ms>',
    "webhooks: bound of the first retry's delay, doubling after it [S3BATCH_NOTIFY_RETRY_BASE_MS] (default 1000)",
  ],
  notifyRetryMaxMs: [
    '--notify-retry-max-ms <ms>',
    "webhooks: bound of any retry's delay [S3BATCH_NOTIFY_RETRY_MAX_MS] (default 300000)",
  ],
  notifyTimeout: [
    '--notify-timeout <seconds>',
    'webhooks: time limit of one delivery attempt [S3BATCH_NOTIFY_TIMEOUT_SECONDS] (default 10)',
  ],
} as const satisfies Record<string, readonly [string, string]>;

export type ServerOption = keyof typeof SERVER_OPTIONS;

/** Adds the options named, in that order. */
export function addServerOptions(command: Command, names: readonly ServerOption[]): Command {
  for (const name of names) {
    const [flags, description] = SERVER_OPTIONS[name];
    command.option(flags, description);
  }
  return command;
}

/** The S3 storage, function and log options: what a worker needs to run any job's tasks. */
export const TASK_OPTIONS: readonly ServerOption[] = [
  'endpoint',
  'region',
  'accessKeyId',
  'secretAccessKey',
  'pathStyle',
  'noPathStyle',
  'storageProfiles',
  'multipartCopyThreshold',
  'logLevel',
  'logFormat',
  'lambdaEndpoint',
  'lambdaRegion',
  'lambdaAccessKeyId',
  'lambdaSecretAccessKey',
  'functionTimeout',
  'functionUrls',
];

/** Parsed options (commander's names) → ConfigFlags; options a command does not have stay undefined. */
export function configFlagsFrom(opts: Record<string, string | boolean | undefined>): ConfigFlags {
  return {
    local: opts.local,
    host: opts.host,
    port: opts.port,
    dataDir: opts.dataDir,
    endpoint: opts.endpoint,
    region: opts.region,
    accessKeyId: opts.accessKeyId,
    secretAccessKey: opts.secretAccessKey,
    forcePathStyle: opts.pathStyle,
    storageProfilesFile: opts.storageProfiles,
    localS3Port: opts.localS3Port,
    maxConcurrentTasks: opts.maxConcurrentTasks,
    jobConcurrency: opts.jobConcurrency,
    workers: opts.workers,
    workerSpreadBusy: opts.workerSpreadBusy,
    chunkSize: opts.chunkSize,
    multipartCopyThresholdBytes: opts.multipartCopyThreshold,
    logLevel: opts.logLevel,
    logFormat: opts.logFormat,
    maxTasksPerJob: opts.maxTasksPerJob,
    jobRetentionDays: opts.jobRetentionDays,
    createJobRatePerSecond: opts.createJobRate,
    apiKeysFile: opts.apiKeysFile,
    lambdaEndpoint: opts.lambdaEndpoint,
    lambdaRegion: opts.lambdaRegion,
    lambdaAccessKeyId: opts.lambdaAccessKeyId,
    lambdaSecretAccessKey: opts.lambdaSecretAccessKey,
    functionTimeoutSeconds: opts.functionTimeout,
    functionUrls: opts.functionUrls,
    notifyMaxAgeSeconds: opts.notifyMaxAge,
    notifyRetryBaseMs: opts.notifyRetryBaseMs,
    notifyRetryMaxMs: opts.notifyRetryMaxMs,
    notifyTimeoutSeconds: opts.notifyTimeout,
    trustProxy: opts.trustProxy,
    allowUnsignedPayload: opts.allowUnsignedPayload,
    maxFailedAuth: opts.maxFailedAuth,
    requestTimeoutSeconds: opts.requestTimeoutSeconds,
    redisUrl: opts.redis,
    redisPrefix: opts.redisPrefix,
    advertiseUrl: opts.advertiseUrl,
  };
}
