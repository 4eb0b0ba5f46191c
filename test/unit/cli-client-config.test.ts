/**
 * Where the CLI finds its server and key (src/cli/client-config.ts): flags, then env, then a
 * profile, then the local server's generated api-keys.json; each test has its own temp folder
 * and env object, never process.env.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultProfilesFile, resolveClientSettings, type ConnectionFlags } from '../../src/cli/client-config.ts';
import { isS3BatchError } from '../../src/domain/errors.ts';

const KEY_A = { accessKeyId: 'AKIDFLAGS000000001', secretAccessKey: 'secret-flags-000000000001' };
const KEY_P = { accessKeyId: 'AKIDPROFILE0000001', secretAccessKey: 'secret-profile-0000000001' };
const GENERATED = {
  accessKeyId: 'S3BGENERATED0000001',
  secretAccessKey: 'secret-generated-00000001',
  accountId: '222233334444',
};

function workDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 's3batch-client-config-'));
}

/** A folder with ./.s3batch/api-keys.json as `s3batch serve` writes it. */
function withGeneratedKey(dir: string): string {
  mkdirSync(path.join(dir, '.s3batch'));
  writeFileSync(path.join(dir, '.s3batch', 'api-keys.json'), JSON.stringify({ keys: [GENERATED] }));
  return dir;
}

function profilesFile(dir: string, profiles: unknown): string {
  const file = path.join(dir, 'profiles.json');
  writeFileSync(file, JSON.stringify(profiles));
  return file;
}

async function configError(flags: ConnectionFlags, env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  try {
    await resolveClientSettings(flags, env, cwd);
  } catch (err) {
    expect(isS3BatchError(err) && err.code).toBe('InvalidConfiguration');
    return (err as Error).message;
  }
  throw new Error('expected InvalidConfiguration');
}

describe('CLI connection settings', () => {
  it('last resort: http://127.0.0.1:8080 with the pair and account of ./.s3batch/api-keys.json', async () => {
    const dir = withGeneratedKey(workDir());
    expect(await resolveClientSettings({}, { HOME: dir }, dir)).toEqual({
      endpointUrl: 'http://127.0.0.1:8080',
      accountId: GENERATED.accountId,
      accessKeyId: GENERATED.accessKeyId,
      secretAccessKey: GENERATED.secretAccessKey,
      region: 'us-east-1',
      keySource: path.join(dir, '.s3batch', 'api-keys.json'),
      accountIdGiven: true,
    });
  });

  it("--data-dir and S3BATCH_DATA_DIR point at another data folder; S3BATCH_API_KEYS_FILE at the server's keys file", async () => {
    const dir = withGeneratedKey(workDir());
    const elsewhere = workDir();
    expect(
      (await resolveClientSettings({ dataDir: path.join(dir, '.s3batch') }, { HOME: elsewhere }, elsewhere))
        .accessKeyId,
    ).toBe(GENERATED.accessKeyId);
    expect(
      (await resolveClientSettings({}, { HOME: elsewhere, S3BATCH_DATA_DIR: path.join(dir, '.s3batch') }, elsewhere))
        .accessKeyId,
    ).toBe(GENERATED.accessKeyId);
    const keysFile = path.join(elsewhere, 'keys.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [GENERATED, { ...KEY_A, accountId: '111122223333' }] }));
    const s = await resolveClientSettings(
      { accountId: '111122223333' },
      { HOME: elsewhere, S3BATCH_API_KEYS_FILE: keysFile },
      elsewhere,
    );
    expect([s.accessKeyId, s.accountId]).toEqual([KEY_A.accessKeyId, '111122223333']);
  });

  it('flags win over env, env over the profile, the profile over the generated key', async () => {
    const dir = withGeneratedKey(workDir());
    const file = profilesFile(dir, {
      profiles: {
        default: { endpointUrl: 'http://profile:1', accountId: '999988887777', ...KEY_P, region: 'eu-west-1' },
      },
    });
    const env = { HOME: dir, S3BATCH_PROFILES_FILE: file };
    const fromProfile = await resolveClientSettings({}, env, dir);
    expect(fromProfile).toMatchObject({
      endpointUrl: 'http://profile:1',
      accountId: '999988887777',
      ...KEY_P,
      region: 'eu-west-1',
    });
    expect(fromProfile.keySource).toBe(`profile "default" in ${file}`);
    const fromEnv = await resolveClientSettings(
      {},
      {
        ...env,
        S3BATCH_ENDPOINT_URL: 'http://env:2/',
        S3BATCH_API_ACCESS_KEY_ID: 'AKIDENV00000000001',
        S3BATCH_API_SECRET_ACCESS_KEY: 'secret-env-00000000000001',
      },
      dir,
    );
    expect(fromEnv).toMatchObject({
      endpointUrl: 'http://env:2',
      accessKeyId: 'AKIDENV00000000001',
      accountId: '999988887777',
      keySource: 'environment',
    });
    const fromFlags = await resolveClientSettings(
      { endpointUrl: 'https://flag:3', accountId: '111122223333', ...KEY_A, region: 'us-west-2' },
      { ...env, S3BATCH_ENDPOINT_URL: 'http://env:2' },
      dir,
    );
    expect(fromFlags).toMatchObject({
      endpointUrl: 'https://flag:3',
      accountId: '111122223333',
      ...KEY_A,
      region: 'us-west-2',
      keySource: 'flags',
    });
  });

  it('a key without an account id: 000000000000, marked as not given (connect() then asks the server)', async () => {
    const dir = workDir();
    const s = await resolveClientSettings(KEY_A, { HOME: dir }, dir);
    expect([s.accountId, s.accountIdGiven]).toEqual(['000000000000', false]);
    expect(
      (await resolveClientSettings({ ...KEY_A, accountId: '000000000000' }, { HOME: dir }, dir)).accountIdGiven,
    ).toBe(true);
  });

  it('--profile / S3BATCH_PROFILE choose a profile; the default file is under $XDG_CONFIG_HOME or ~/.config', async () => {
    const dir = workDir();
    mkdirSync(path.join(dir, '.config', 's3batch'), { recursive: true });
    const file = path.join(dir, '.config', 's3batch', 'profiles.json');
    writeFileSync(file, JSON.stringify({ profiles: { ci: { ...KEY_P, endpointUrl: 'http://ci:9' } } }));
    expect(defaultProfilesFile({}, dir)).toBe(file);
    expect(defaultProfilesFile({ XDG_CONFIG_HOME: '/xdg' }, dir)).toBe('/xdg/s3batch/profiles.json');
    const s = await resolveClientSettings(
      {},
      { XDG_CONFIG_HOME: path.join(dir, '.config'), S3BATCH_PROFILE: 'ci' },
      dir,
    );
    expect([s.endpointUrl, s.accessKeyId]).toEqual(['http://ci:9', KEY_P.accessKeyId]);
  });

  it('no key anywhere: one message naming every way to give one', async () => {
    const dir = workDir();
    const message = await configError({}, { HOME: dir }, dir);
    for (const way of [
      '--access-key-id',
      '--secret-access-key',
      'S3BATCH_API_ACCESS_KEY_ID',
      'S3BATCH_API_SECRET_ACCESS_KEY',
      '--profile',
      'S3BATCH_PROFILE',
      'S3BATCH_PROFILES_FILE',
      'S3BATCH_API_KEYS_FILE',
      path.join(dir, '.s3batch', 'api-keys.json'),
      '--data-dir',
    ]) {
      expect(message).toContain(way);
    }
  });

  it.each([
    [{ accessKeyId: 'AKIDONLY0000000001' }, {}, /Give both --access-key-id and --secret-access-key/],
    [
      {},
      { S3BATCH_API_SECRET_ACCESS_KEY: 'x' },
      /Give both S3BATCH_API_ACCESS_KEY_ID and S3BATCH_API_SECRET_ACCESS_KEY/,
    ],
    [{ ...KEY_A, accountId: '12' }, {}, /Account id "12" \(--account-id\) must be 12 digits/],
    [{ ...KEY_A, endpointUrl: 'ftp://x' }, {}, /must start with http:\/\/ or https:\/\//],
    // An empty region reached the SDK, which threw 'Region is missing' (exit 1, a stack trace).
    [{ ...KEY_A, region: '' }, {}, /Region "" \(--region\) must be a region name such as us-east-1/],
    [{ ...KEY_A, region: 'us east' }, {}, /Region "us east" \(--region\) must be a region name/],
    [{ ...KEY_A, endpointUrl: 'localhost 8080' }, {}, /is not a URL/],
    [{ profile: 'nope' }, {}, /Profile "nope" was asked for, but the profiles file .* does not exist/],
  ])('%j %j is a configuration error', async (flags, env, message) => {
    const dir = workDir();
    expect(await configError(flags, { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'cfg'), ...env }, dir)).toMatch(
      message,
    );
  });

  it('profiles files are checked strictly, without printing secrets', async () => {
    const dir = workDir();
    const env = (profiles: unknown) => ({ HOME: dir, S3BATCH_PROFILES_FILE: profilesFile(dir, profiles) });
    expect(await configError({ profile: 'x' }, env({ profiles: { a: KEY_P } }), dir)).toMatch(
      /No profile "x" in .* \(it has "a"\)/,
    );
    expect(await configError({}, env({ profiles: { default: { ...KEY_P, secret: 'hunter2' } } }), dir)).toMatch(
      /unknown field\(s\) "secret"/,
    );
    expect(await configError({}, env({ default: KEY_P }), dir)).toMatch(/must hold \{"profiles"/);
    expect(await configError({}, env({ profiles: { default: { ...KEY_P, secretAccessKey: 5 } } }), dir)).toMatch(
      /secretAccessKey must be a non-empty string/,
    );
    writeFileSync(path.join(dir, 'profiles.json'), '{"profiles":');
    expect(await configError({}, { HOME: dir, S3BATCH_PROFILES_FILE: path.join(dir, 'profiles.json') }, dir)).toMatch(
      /is not valid JSON/,
    );
  });
});
