/**
 * loadConfig(flags, env): defaults, flag > env > default, refusals naming the setting's
 * environment variable. Every test passes its own env object, never process.env.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV, loadConfig, type Config, type ConfigFlags } from '../../src/config.ts';
import { isS3BatchError, type ErrorCode } from '../../src/domain/errors.ts';

function refusal(flags: ConfigFlags, env: NodeJS.ProcessEnv = {}): { code: ErrorCode; message: string } {
  try {
    loadConfig(flags, env);
  } catch (err) {
    if (!isS3BatchError(err)) throw err;
    return { code: err.code, message: err.message };
  }
  throw new Error(`loadConfig accepted ${JSON.stringify({ flags, env })}`);
}

describe('loadConfig defaults', () => {
  it('gives a complete, frozen config from nothing', () => {
    const c = loadConfig({}, {});
    expect(Object.isFrozen(c)).toBe(true);
    expect(c).toEqual({
      host: '127.0.0.1',
      port: 8080,
      dataDir: resolve('.s3batch'),
      local: false,
      localS3Port: 0,
      storage: {
        endpoint: undefined,
        region: 'us-east-1',
        accessKeyId: undefined,
        secretAccessKey: undefined,
        forcePathStyle: false,
      },
      defaultAccountId: '000000000000',
      partition: 'aws',
      maxConcurrentTasks: 256,
      jobConcurrency: 64,
      workers: availableParallelism(),
      workerSpreadBusy: 0.8,
      chunkSize: 1000,
      maxTasksPerJob: 20_000_000_000,
      multipartCopyThresholdBytes: 5 * 1024 ** 3,
      multipartCopyPartBytes: 64 * 1024 ** 2,
      retryMaxAttempts: 5,
      confirmationRequiredByDefault: true,
      suspendedTimeoutDays: 30,
      jobRetentionDays: 90,
      createJobRatePerSecond: 10,
      logLevel: 'info',
      functionTimeoutSeconds: 60,
      notifyMaxAgeSeconds: 3600,
      notifyRetryBaseMs: 1000,
      notifyRetryMaxMs: 300_000,
      notifyTimeoutSeconds: 10,
      sseHeartbeatSeconds: 15,
      requestTimeoutSeconds: 30,
      trustProxy: false,
      allowUnsignedPayload: false,
      maxFailedAuth: 10,
      redisPrefix: 's3batch:',
    } satisfies Config);
  });

  it('does not read process.env when an env object is given', () => {
    const saved = process.env.S3BATCH_PORT;
    process.env.S3BATCH_PORT = '9999';
    try {
      expect(loadConfig({}, {}).port).toBe(8080);
    } finally {
      if (saved === undefined) delete process.env.S3BATCH_PORT;
      else process.env.S3BATCH_PORT = saved;
    }
  });

  it('turns path-style on by default with an endpoint or --local, off for AWS S3', () => {
    expect(loadConfig({ endpoint: 'http://127.0.0.1:7480' }, {}).storage.forcePathStyle).toBe(true);
    expect(loadConfig({}, { S3BATCH_S3_ENDPOINT: 'https://s3.example.com' }).storage.forcePathStyle).toBe(true);
    expect(loadConfig({ local: true }, {}).storage.forcePathStyle).toBe(true);
    expect(loadConfig({}, {}).storage.forcePathStyle).toBe(false);
    // and an explicit setting wins
    expect(loadConfig({ endpoint: 'http://127.0.0.1:7480', forcePathStyle: false }, {}).storage.forcePathStyle).toBe(
      false,
    );
    expect(
      loadConfig({ endpoint: 'http://127.0.0.1:7480' }, { S3BATCH_S3_PATH_STYLE: 'no' }).storage.forcePathStyle,
    ).toBe(false);
  });

  it('resolves dataDir to an absolute path', () => {
    expect(loadConfig({ dataDir: 'rel/dir' }, {}).dataDir).toBe(resolve('rel/dir'));
  });
});

describe('loadConfig precedence: flag > env > default', () => {
  it('reads every setting from its S3BATCH_* variable', () => {
    const c = loadConfig(
      {},
      {
        S3BATCH_HOST: '0.0.0.0',
        S3BATCH_PORT: '9000',
        S3BATCH_DATA_DIR: '/var/lib/s3batch',
        S3BATCH_S3_ENDPOINT: 'http://ceph:7480',
        S3BATCH_S3_REGION: 'eu-west-1',
        S3BATCH_S3_ACCESS_KEY_ID: 'AK',
        S3BATCH_S3_SECRET_ACCESS_KEY: 'SK',
        S3BATCH_ACCOUNT_ID: '111122223333',
        S3BATCH_MAX_CONCURRENT_TASKS: '32',
        S3BATCH_JOB_CONCURRENCY: '8',
        S3BATCH_CHUNK_SIZE: ' 500 ',
        S3BATCH_MAX_TASKS_PER_JOB: '1000000',
        S3BATCH_MULTIPART_COPY_THRESHOLD: String(100 * 1024 ** 2),
        S3BATCH_MULTIPART_COPY_PART_SIZE: String(8 * 1024 ** 2),
        S3BATCH_RETRY_MAX_ATTEMPTS: '3',
        S3BATCH_CONFIRMATION_REQUIRED_BY_DEFAULT: 'false',
        S3BATCH_SUSPENDED_TIMEOUT_DAYS: '7',
        S3BATCH_JOB_RETENTION_DAYS: '30',
        S3BATCH_LOG_LEVEL: 'warn',
        S3BATCH_SSE_HEARTBEAT_SECONDS: '2',
        S3BATCH_REQUEST_TIMEOUT_SECONDS: '5',
      },
    );
    expect(c).toMatchObject({
      host: '0.0.0.0',
      port: 9000,
      dataDir: '/var/lib/s3batch',
      storage: {
        endpoint: 'http://ceph:7480',
        region: 'eu-west-1',
        accessKeyId: 'AK',
        secretAccessKey: 'SK',
        forcePathStyle: true,
      },
      defaultAccountId: '111122223333',
      maxConcurrentTasks: 32,
      jobConcurrency: 8,
      chunkSize: 500,
      maxTasksPerJob: 1_000_000,
      multipartCopyThresholdBytes: 100 * 1024 ** 2,
      multipartCopyPartBytes: 8 * 1024 ** 2,
      retryMaxAttempts: 3,
      confirmationRequiredByDefault: false,
      suspendedTimeoutDays: 7,
      jobRetentionDays: 30,
      logLevel: 'warn',
      sseHeartbeatSeconds: 2,
      requestTimeoutSeconds: 5,
    });
  });

  it('a flag wins over the env variable', () => {
    const env = {
      S3BATCH_PORT: '9000',
      S3BATCH_S3_REGION: 'eu-west-1',
      S3BATCH_LOCAL: 'true',
      S3BATCH_LOG_LEVEL: 'debug',
    };
    const c = loadConfig({ port: '7000', region: 'ap-south-1', local: false, logLevel: 'error' }, env);
    expect(c).toMatchObject({ port: 7000, storage: { region: 'ap-south-1' }, local: false, logLevel: 'error' });
  });

  it('numbers given as numbers (programmatic flags) are taken as they are', () => {
    expect(loadConfig({ port: 0, chunkSize: 7 }, { S3BATCH_PORT: '9000' })).toMatchObject({ port: 0, chunkSize: 7 });
  });

  it('an empty env variable counts as unset', () => {
    expect(loadConfig({}, { S3BATCH_PORT: '', S3BATCH_S3_ENDPOINT: '', S3BATCH_LOCAL: '' })).toMatchObject({
      port: 8080,
      local: false,
      storage: { endpoint: undefined },
    });
  });

  it.each([
    ['1', true],
    ['true', true],
    ['YES', true],
    ['on', true],
    ['0', false],
    ['false', false],
    ['No', false],
    ['off', false],
  ])('boolean %j → %s', (text, value) => {
    expect(loadConfig({}, { S3BATCH_CONFIRMATION_REQUIRED_BY_DEFAULT: text }).confirmationRequiredByDefault).toBe(
      value,
    );
  });
});

describe('loadConfig refuses (InvalidConfiguration naming the env variable)', () => {
  it.each<[string, keyof typeof ENV, string]>([
    ['a port that is not a number', 'port', 'eighty'],
    ['a port with trailing garbage', 'port', '8080x'],
    ['a port out of range', 'port', '65536'],
    ['a negative port', 'port', '-1'],
    ['a fractional port', 'port', '80.5'],
    // a blank value must not become 0 (port 0 = a random port), nor may hex or exponents slip through
    ['a blank port', 'port', '   '],
    ['a hexadecimal port', 'port', '0x1F90'],
    ['a chunk size with an exponent', 'chunkSize', '1e3'],
    ['a chunk size of 0', 'chunkSize', '0'],
    ['a multipart part size under 5 MiB', 'multipartCopyPartBytes', String(1024 ** 2)],
    ['a multipart threshold over 5 GiB', 'multipartCopyThresholdBytes', String(6 * 1024 ** 3)],
    ['retry attempts over 20', 'retryMaxAttempts', '21'],
    ['a boolean that is not one', 'confirmationRequiredByDefault', 'maybe'],
    ['a local flag that is not a boolean', 'local', 'sure'],
    ['a path-style flag that is not a boolean', 'forcePathStyle', '2'],
    ['an endpoint that is not a URL', 'endpoint', 'ceph:7480:x'],
    ['an endpoint without a scheme', 'endpoint', '127.0.0.1:7480'],
    ['an endpoint with another scheme', 'endpoint', 'ftp://127.0.0.1'],
    ['an account id of 11 digits', 'defaultAccountId', '12345678901'],
    ['an unknown log level', 'logLevel', 'verbose'],
    ['an unknown log format', 'logFormat', 'yaml'],
  ])('%s', (_name, key, value) => {
    const fromEnv = refusal({}, { [ENV[key]]: value });
    expect(fromEnv.code).toBe('InvalidConfiguration');
    expect(fromEnv.message).toContain(ENV[key]);
    const fromFlag = refusal({ [key]: value });
    expect(fromFlag.code).toBe('InvalidConfiguration');
    expect(fromFlag.message).toContain(ENV[key]);
  });

  it('the log format: --log-format or S3BATCH_LOG_FORMAT, unset by default (then chosen by the TTY)', () => {
    expect(loadConfig({}, {}).logFormat).toBeUndefined();
    expect(loadConfig({}, { S3BATCH_LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(loadConfig({ logFormat: 'pretty' }, { S3BATCH_LOG_FORMAT: 'json' }).logFormat).toBe('pretty');
  });

  it('a valid flag hides an invalid env value (the env variable is never read)', () => {
    expect(loadConfig({ port: '8081' }, { S3BATCH_PORT: 'eighty' }).port).toBe(8081);
  });

  it('--local together with an S3 endpoint', () => {
    expect(refusal({ local: true, endpoint: 'http://127.0.0.1:7480' }).code).toBe('InvalidConfiguration');
    expect(refusal({ local: true }, { S3BATCH_S3_ENDPOINT: 'http://127.0.0.1:7480' }).code).toBe(
      'InvalidConfiguration',
    );
    expect(refusal({}, { S3BATCH_LOCAL: '1', S3BATCH_S3_ENDPOINT: 'http://127.0.0.1:7480' }).code).toBe(
      'InvalidConfiguration',
    );
  });

  it('an access key id without a secret, or a secret without a key id', () => {
    expect(refusal({ accessKeyId: 'AK' }).code).toBe('InvalidConfiguration');
    expect(refusal({}, { S3BATCH_S3_SECRET_ACCESS_KEY: 'SK' }).code).toBe('InvalidConfiguration');
    expect(refusal({ accessKeyId: 'AK' }, { S3BATCH_S3_SECRET_ACCESS_KEY: '' }).code).toBe('InvalidConfiguration');
    expect(loadConfig({ accessKeyId: 'AK' }, { S3BATCH_S3_SECRET_ACCESS_KEY: 'SK' }).storage).toMatchObject({
      accessKeyId: 'AK',
      secretAccessKey: 'SK',
    });
  });
});

describe('job retention', () => {
  it('takes fractional days (a testing aid: seconds-scale retention) and rejects zero, negatives and junk', () => {
    expect(loadConfig({}, { S3BATCH_JOB_RETENTION_DAYS: '0.5' }).jobRetentionDays).toBe(0.5);
    expect(loadConfig({ jobRetentionDays: '.0001' }, {}).jobRetentionDays).toBe(0.0001);
    for (const v of ['0', '-1', '1e3', 'abc']) {
      expect(() => loadConfig({}, { S3BATCH_JOB_RETENTION_DAYS: v })).toThrow(
        expect.objectContaining({
          code: 'InvalidConfiguration',
          message: expect.stringContaining('S3BATCH_JOB_RETENTION_DAYS'),
        }),
      );
    }
  });
});

describe('trust proxy', () => {
  it('is false by default and takes true/false or comma-separated proxy addresses and CIDRs (flag or env)', () => {
    expect(loadConfig({}, {}).trustProxy).toBe(false);
    expect(loadConfig({}, { S3BATCH_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ trustProxy: 'FALSE' }, { S3BATCH_TRUST_PROXY: 'true' }).trustProxy).toBe(false);
    expect(loadConfig({ trustProxy: true }, {}).trustProxy).toBe(true);
    expect(loadConfig({ trustProxy: '127.0.0.1' }, {}).trustProxy).toBe('127.0.0.1');
    expect(
      loadConfig({}, { S3BATCH_TRUST_PROXY: ' 10.0.0.0/8, ::1 ,192.168.0.0/255.255.0.0,fd00::/8,loopback' }).trustProxy,
    ).toBe('10.0.0.0/8,::1,192.168.0.0/255.255.0.0,fd00::/8,loopback');
  });

  it('refuses hop counts (fastify ignores them), bad addresses, prefixes out of range and empty entries', () => {
    const hop = refusal({}, { S3BATCH_TRUST_PROXY: '2' });
    expect(hop).toMatchObject({
      code: 'InvalidConfiguration',
      message: expect.stringContaining('hop counts are not supported'),
    });
    expect(hop.message).toContain('S3BATCH_TRUST_PROXY');
    expect(refusal({ trustProxy: 1 }).message).toContain('hop counts are not supported');
    for (const v of [
      'yes',
      'proxy.example.com',
      '10.0.0.0/33',
      '::1/129',
      '10.0.0.1,',
      '10.0.0.0/ff00::',
      '300.1.2.3',
    ]) {
      expect(refusal({ trustProxy: v }), v).toMatchObject({
        code: 'InvalidConfiguration',
        message: expect.stringContaining('S3BATCH_TRUST_PROXY'),
      });
    }
  });
});
