/**
 * loadConfig for the S3 Control API keys: S3BATCH_API_KEYS_FILE / --api-keys-file (resolved to an
 * absolute path), S3BATCH_API_ACCESS_KEY_ID + S3BATCH_API_SECRET_ACCESS_KEY (both or neither).
 * Every test passes its own env object, never process.env.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV, loadConfig } from '../../src/config.ts';
import { isS3BatchError } from '../../src/domain/errors.ts';

describe('loadConfig: S3 Control API keys', () => {
  it('names the environment variables', () => {
    expect(ENV.apiKeysFile).toBe('S3BATCH_API_KEYS_FILE');
    expect(ENV.apiAccessKeyId).toBe('S3BATCH_API_ACCESS_KEY_ID');
    expect(ENV.apiSecretAccessKey).toBe('S3BATCH_API_SECRET_ACCESS_KEY');
  });

  it('leaves all three unset by default (then a key pair is generated at start)', () => {
    const c = loadConfig({}, {});
    expect([c.apiKeysFile, c.apiAccessKeyId, c.apiSecretAccessKey]).toEqual([undefined, undefined, undefined]);
  });

  it('reads the keys file from the flag over the environment, as an absolute path', () => {
    expect(loadConfig({}, { S3BATCH_API_KEYS_FILE: 'conf/keys.json' }).apiKeysFile).toBe(resolve('conf/keys.json'));
    expect(
      loadConfig({ apiKeysFile: '/etc/s3batch/keys.json' }, { S3BATCH_API_KEYS_FILE: 'conf/keys.json' }).apiKeysFile,
    ).toBe('/etc/s3batch/keys.json');
  });

  it('reads the key pair from the environment', () => {
    const c = loadConfig(
      {},
      { S3BATCH_API_ACCESS_KEY_ID: 'AKIDENV00000000001', S3BATCH_API_SECRET_ACCESS_KEY: 'secret0000000000000001' },
    );
    expect([c.apiAccessKeyId, c.apiSecretAccessKey]).toEqual(['AKIDENV00000000001', 'secret0000000000000001']);
  });

  it.each([
    [{ S3BATCH_API_ACCESS_KEY_ID: 'AKIDENV00000000001' }],
    [{ S3BATCH_API_SECRET_ACCESS_KEY: 'secret0000000000000001' }],
  ])('refuses half a key pair (%o) with InvalidConfiguration naming both variables', (env) => {
    let err: unknown;
    try {
      loadConfig({}, env);
    } catch (e) {
      err = e;
    }
    expect(isS3BatchError(err) && err.code).toBe('InvalidConfiguration');
    expect((err as Error).message).toMatch(/S3BATCH_API_ACCESS_KEY_ID.*S3BATCH_API_SECRET_ACCESS_KEY/);
    expect((err as Error).message).not.toContain('secret0000000000000001');
  });
});
