/** `s3batch serve`: runs the engine and its HTTP APIs until SIGINT/SIGTERM. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type Config, type ConfigFlags } from '../../config.ts';
import { DEFAULT_JOB_RETENTION_DAYS } from '../../domain/job-lifetime.ts';
import type { RunningServer } from '../../main.ts';
import { DEFAULT_ENDPOINT_URL } from '../client-config.ts';

/**
 * How to reach the S3 Control API: the generated key pair when no key is configured. Its secret
 * is printed only with --local (a try-it setup); otherwise the file that holds it is named.
 */
function s3ControlLines(server: RunningServer, config: Config): string[] {
  const lines = [`  S3 Control: ${server.url}/v20180820/jobs (aws s3control / AWS SDK S3ControlClient, SigV4)`];
  const generated = server.generatedApiKey;
  if (!generated) return lines;
  const { accessKeyId, secretAccessKey, accountId } = generated.key;
  if (!config.local) {
    lines.push(`  API key:    ${accessKeyId} (account ${accountId}); its secret is in ${generated.path}`);
    return lines;
  }
  const endpoint = `http://localhost:${new URL(server.url).port}`;
  return [
    ...lines,
    '',
    `  ---- API key for the S3 Control API, the JSON API and the web page (generated, kept in ${generated.path}) ----`,
    `  access key id:      ${accessKeyId}`,
    `  secret access key:  ${secretAccessKey}`,
    `  account id:         ${accountId}`,
    `  aws CLI (needs "127.0.0.1 ${accountId}.localhost" in /etc/hosts: the aws CLI puts the account id in front of the host):`,
    `  AWS_ACCESS_KEY_ID=${accessKeyId} AWS_SECRET_ACCESS_KEY=${secretAccessKey} aws s3control list-jobs --account-id ${accountId} --endpoint-url ${endpoint} --region us-east-1`,
    '  ---------------------------------------------------------------------',
  ];
}

/**
 * How to drive this server with the s3batch CLI: a first command with the flags it needs here. The
 * CLI finds a generated key by itself in ./.s3batch (run from the folder the server started in);
 * keys from a keys file or the environment have to be given to it.
 */
function cliLine(server: RunningServer, config: Config): string {
  const flags = server.url === DEFAULT_ENDPOINT_URL ? '' : ` --endpoint-url ${server.url}`;
  if (!server.generatedApiKey) {
    return `  CLI:        s3batch list-jobs${flags}  (with S3BATCH_API_ACCESS_KEY_ID and S3BATCH_API_SECRET_ACCESS_KEY set to an API key; s3batch --help)`;
  }
  const dataDir = config.dataDir === resolve('.s3batch') ? '' : ` --data-dir ${config.dataDir}`;
  return `  CLI:        npx s3batch list-jobs${flags}${dataDir}  (from this folder it finds the key by itself; npx s3batch --help lists every verb)`;
}

/**
 * `serve --redis`: listens as a standby at once and leads when it gets the lock (server/scale-out.ts).
 * It exits 1 when it loses the lead (a supervisor starts it again, as a standby), 0 on SIGINT/SIGTERM.
 */
async function serveScaledOut(config: Config): Promise<void> {
  const { startScaleOutServer } = await import('../../server/scale-out.ts');
  const { loggerFor } = await import('../../logging.ts');
  const { redactRedisUrl } = await import('../../storage/redis/connection.ts');
  const logger = loggerFor(config);
  const server = await startScaleOutServer(config, logger);
  let stopping = false;
  const exit = (code: number): void => {
    // A Redis that does not answer must not hold the exit: what matters is in Redis and S3 already.
    const timer = setTimeout(() => process.exit(code), 5_000);
    timer.unref();
    server.close().then(
      () => process.exit(code),
      () => process.exit(code),
    );
  };
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: stopping (in-flight tasks finish; another serve takes the lead)…\n`);
    exit(0);
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  void server.ended.then((reason) => {
    if (stopping) return;
    stopping = true;
    logger.error({}, `${reason}: exiting, so that a supervisor starts this instance again as a standby`);
    process.stderr.write(`s3batch serve: ${reason}; exiting (start it again: it comes back as a standby)\n`);
    exit(1);
  });
  process.stderr.write(
    [
      `s3batch listening on ${server.url} (scale-out mode, Redis ${redactRedisUrl(config.redisUrl as string)})`,
      '  Role:       standby until it takes the lead (a standby forwards every request to the leader)',
      `  JSON API:   ${server.url}/api/v1/jobs`,
      `  S3 Control: ${server.url}/v20180820/jobs`,
      `  Web:        ${server.url}/`,
      '  Tasks run in `s3batch worker --redis …` processes (docs/deployment.md)',
    ].join('\n') + '\n',
  );
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the s3batch server (engine + HTTP API)')
    .option('--local', 'start an embedded local S3 server (s3rver) under the data folder [S3BATCH_LOCAL]')
    .option('--host <host>', 'address to listen on [S3BATCH_HOST] (default 127.0.0.1)')
    .option('--port <port>', 'port to listen on, 0 for any free port [S3BATCH_PORT] (default 8080)')
    .option(
      '--data-dir <dir>',
      'folder for the job store, spools and the local S3 [S3BATCH_DATA_DIR] (default ./.s3batch)',
    )
    .option('--endpoint <url>', 'S3 endpoint URL, e.g. http://127.0.0.1:9000 [S3BATCH_S3_ENDPOINT] (default: AWS S3)')
    .option('--region <region>', 'S3 region [S3BATCH_S3_REGION] (default us-east-1)')
    .option('--access-key-id <id>', 'S3 access key id [S3BATCH_S3_ACCESS_KEY_ID]')
    .option('--secret-access-key <secret>', 'S3 secret access key [S3BATCH_S3_SECRET_ACCESS_KEY]')
    .option('--path-style', 'use path-style S3 URLs [S3BATCH_S3_PATH_STYLE] (default on with --endpoint)')
    .option('--no-path-style', 'use virtual-hosted-style S3 URLs')
    .option(
      '--storage-profiles <file>',
      'JSON file of named S3 endpoints that jobs select by RoleArn [S3BATCH_STORAGE_PROFILES_FILE]',
    )
    .option('--local-s3-port <port>', 'port of the embedded S3 server [S3BATCH_LOCAL_S3_PORT] (default: any free port)')
    .option(
      '--max-concurrent-tasks <n>',
      'global budget of concurrent tasks [S3BATCH_MAX_CONCURRENT_TASKS] (default 256)',
    )
    .option('--job-concurrency <n>', 'concurrent tasks of one job [S3BATCH_JOB_CONCURRENCY] (default 64)')
    .option(
      '--workers <n>',
      'worker threads that run the tasks; 0 runs them in the main thread [S3BATCH_WORKERS] (default: one per core)',
    )
    .option(
      '--worker-spread-busy <fraction>',
      'a job takes one more worker thread while each of its threads is busy this fraction of the time; ' +
        '0: every job on all threads at once [S3BATCH_WORKER_SPREAD_BUSY] (default 0.8)',
    )
    .option('--chunk-size <n>', 'manifest rows per chunk (unit of resume) [S3BATCH_CHUNK_SIZE] (default 1000)')
    .option(
      '--multipart-copy-threshold <bytes>',
      'copy objects larger than this with multipart copy [S3BATCH_MULTIPART_COPY_THRESHOLD] (default 5 GiB)',
    )
    .option(
      '--max-tasks-per-job <n>',
      'largest manifest a job may list; larger ones fail with ManifestTooLarge [S3BATCH_MAX_TASKS_PER_JOB] (default 20000000000)',
    )
    .option(
      '--create-job-rate <n>',
      'CreateJob requests per second per account, in bursts of 5× that; over it TooManyRequestsException [S3BATCH_CREATE_JOB_RATE] (default 10)',
    )
    .option(
      '--job-retention-days <days>',
      `days a finished job stays visible before its record is deleted; fractions allowed [S3BATCH_JOB_RETENTION_DAYS] (default ${DEFAULT_JOB_RETENTION_DAYS})`,
    )
    .option(
      '--trust-proxy <value>',
      'behind a reverse proxy: false, true, or comma-separated proxy addresses/CIDRs whose X-Forwarded-For/-Proto are believed (client address for the sign-in limit, https for the Secure cookie) [S3BATCH_TRUST_PROXY] (default false)',
    )
    .option(
      '--allow-unsigned-payload',
      'accept SigV4 requests with x-amz-content-sha256: UNSIGNED-PAYLOAD; their body is then not signed and could be swapped in transit [S3BATCH_ALLOW_UNSIGNED_PAYLOAD] (default off; the AWS SDKs and CLI sign the payload)',
    )
    .option(
      '--max-failed-auth <n>',
      'failed authentications allowed a minute per client address and per access key (Basic, SigV4, cookies, sign-ins); over it 429 with Retry-After [S3BATCH_MAX_FAILED_AUTH] (default 10)',
    )
    .option(
      '--request-timeout-seconds <seconds>',
      'seconds a client may take to send a whole request, headers and body; then 408 and the connection is closed [S3BATCH_REQUEST_TIMEOUT_SECONDS] (default 30)',
    )
    .option(
      '--redis <url>',
      'scale-out mode: job state in this Redis, tasks run by `s3batch worker` processes (docs/deployment.md), e.g. redis://host:6379/0 [S3BATCH_REDIS_URL] (default: none, one process)',
    )
    .option('--redis-prefix <prefix>', 'prefix of every s3batch key in Redis [S3BATCH_REDIS_PREFIX] (default s3batch:)')
    .option(
      '--advertise-url <url>',
      'with --redis: the URL the other serve instances forward requests to while this one leads [S3BATCH_ADVERTISE_URL] (default: http://<host>:<port> as it listens)',
    )
    .option('--log-level <level>', 'debug, info, warn, error or silent [S3BATCH_LOG_LEVEL] (default info)')
    .option(
      '--log-format <format>',
      'json (one JSON object per line, for log shippers) or pretty (for people) [S3BATCH_LOG_FORMAT] (default: pretty when stdout is a terminal, else json)',
    )
    .option(
      '--api-keys-file <file>',
      'JSON file of S3 Control API access keys {"keys":[{accessKeyId,secretAccessKey,accountId}]} [S3BATCH_API_KEYS_FILE] (also S3BATCH_API_ACCESS_KEY_ID + S3BATCH_API_SECRET_ACCESS_KEY; neither: a pair generated into <data-dir>/api-keys.json)',
    )
    .option(
      '--lambda-endpoint <url>',
      'Lambda-compatible endpoint for LambdaInvoke [S3BATCH_LAMBDA_ENDPOINT] (default: AWS Lambda)',
    )
    .option('--lambda-region <region>', 'Lambda region [S3BATCH_LAMBDA_REGION] (default: the S3 region)')
    .option('--lambda-access-key-id <id>', 'Lambda access key id [S3BATCH_LAMBDA_ACCESS_KEY_ID] (default: the S3 keys)')
    .option('--lambda-secret-access-key <secret>', 'Lambda secret access key [S3BATCH_LAMBDA_SECRET_ACCESS_KEY]')
    .option(
      '--function-timeout <seconds>',
      'time limit of one HTTP-function invocation [S3BATCH_FUNCTION_TIMEOUT_SECONDS] (default 60)',
    )
    .option(
      '--function-urls <prefixes>',
      'HTTP functions LambdaInvoke jobs may call: comma-separated URL prefixes, or none [S3BATCH_FUNCTION_URLS] (default: any URL)',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ s3batch serve --local
      try it: embedded S3 + local job store under ./.s3batch
  $ s3batch serve --endpoint http://127.0.0.1:9000 --access-key-id KEY --secret-access-key SECRET
      work on a MinIO / Ceph RGW / any S3-compatible store
  $ S3BATCH_PORT=9090 S3BATCH_DATA_DIR=/var/lib/s3batch s3batch serve
      AWS S3 with the default credential chain, settings from the environment
  $ s3batch serve --redis redis://redis.internal:6379/0 --endpoint https://s3.internal --api-keys-file keys.json
      scale-out mode: run it on two machines, and \`s3batch worker\` on as many as needed (docs/deployment.md)`,
    )
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      const flags: ConfigFlags = {
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
        trustProxy: opts.trustProxy,
        allowUnsignedPayload: opts.allowUnsignedPayload,
        maxFailedAuth: opts.maxFailedAuth,
        requestTimeoutSeconds: opts.requestTimeoutSeconds,
        redisUrl: opts.redis,
        redisPrefix: opts.redisPrefix,
        advertiseUrl: opts.advertiseUrl,
      };
      const config = loadConfig(flags);
      if (config.redisUrl !== undefined) return serveScaledOut(config);
      // Loaded here, not at the top: the job verbs (every other command) then start without the
      // server's modules (fastify, s3rver, the engine), about a second less per CLI call.
      const { LOCAL_DEMO_BUCKET, startServer } = await import('../../main.ts');
      const { loggerFor } = await import('../../logging.ts');
      const logger = loggerFor(config);
      // Signals are handled from before the start: a SIGTERM while the server starts (the embedded
      // S3 is up, the port not yet) stops it cleanly once started, instead of killing the process
      // with its resources open.
      let server: Awaited<ReturnType<typeof startServer>> | undefined;
      let stopping = false;
      const stop = (running: NonNullable<typeof server>): void => {
        running.close().then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`error while stopping: ${(err as Error).message}\n`);
            process.exit(1);
          },
        );
      };
      const shutdown = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`${signal}: stopping (in-flight tasks finish, jobs resume at the next start)…\n`);
        if (server) stop(server);
      };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      server = await startServer(config, logger);
      if (stopping) return stop(server);
      const lines = [
        `s3batch listening on ${server.url}`,
        `  JSON API:   ${server.url}/api/v1/jobs`,
        `  S3:         ${server.s3Endpoint ?? 'AWS S3'}${server.localS3 ? ` (embedded, data in ${server.localS3.directory}, keys in ${server.localS3.keysFile}, bucket ${LOCAL_DEMO_BUCKET})` : ''}`,
        `  Job store:  ${config.dataDir}/jobs.json (live jobs), ${config.dataDir}/jobs.archive.jsonl (ended jobs)`,
        ...s3ControlLines(server, config),
        // The web Jobs page and the JSON API take the same access keys as the S3 Control API.
        `  Web:        ${server.url}/  (sign in with ${server.generatedApiKey ? 'the API key above' : 'an API access key'})`,
        cliLine(server, config),
      ];
      // stdout carries the log (fastify's 'Server listening at' is its line); this note for people goes to stderr.
      process.stderr.write(`${lines.join('\n')}\n`);
    });
}
