/** `s3batch serve`: runs the engine and its HTTP APIs until SIGINT/SIGTERM. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type Config, type ConfigFlags } from '../../config.ts';
import type { RunningServer } from '../../main.ts';
import { DEFAULT_ENDPOINT_URL } from '../client-config.ts';
import { addServerOptions, configFlagsFrom, type ServerOption } from './server-options.ts';

/** serve's options, in the order of its help. */
const SERVE_OPTIONS: readonly ServerOption[] = [
  'local',
  'host',
  'port',
  'dataDir',
  'endpoint',
  'region',
  'accessKeyId',
  'secretAccessKey',
  'pathStyle',
  'noPathStyle',
  'storageProfiles',
  'localS3Port',
  'maxConcurrentTasks',
  'jobConcurrency',
  'workers',
  'workerSpreadBusy',
  'chunkSize',
  'multipartCopyThreshold',
  'maxTasksPerJob',
  'createJobRate',
  'jobRetentionDays',
  'trustProxy',
  'allowUnsignedPayload',
  'maxFailedAuth',
  'requestTimeoutSeconds',
  'redis',
  'redisPrefix',
  'advertiseUrl',
  'logLevel',
  'logFormat',
  'apiKeysFile',
  'lambdaEndpoint',
  'lambdaRegion',
  'lambdaAccessKeyId',
  'lambdaSecretAccessKey',
  'functionTimeout',
  'functionUrls',
  'notifyMaxAge',
  'notifyRetryBaseMs',
  'notifyRetryMaxMs',
  'notifyTimeout',
];

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
  addServerOptions(program.command('serve').description('Run the s3batch server (engine + HTTP API)'), SERVE_OPTIONS)
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
      const flags: ConfigFlags = configFlagsFrom(opts);
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
