/**
 * Where the CLI's job verbs find the server and their key: the configuration loader of the client
 * side (like src/config.ts for the server, it is given the environment; only bin → main passes
 * process.env). Each setting is taken from the first of
 *
 *   1. flags      --endpoint-url --account-id --access-key-id --secret-access-key --region
 *   2. env        S3BATCH_ENDPOINT_URL S3BATCH_ACCOUNT_ID S3BATCH_API_ACCESS_KEY_ID
 *                 S3BATCH_API_SECRET_ACCESS_KEY S3BATCH_REGION
 *   3. a profile  --profile / S3BATCH_PROFILE (else "default") in the profiles file
 *                 (S3BATCH_PROFILES_FILE, else $XDG_CONFIG_HOME or ~/.config → s3batch/profiles.json):
 *                 {"profiles":{"name":{"endpointUrl","accountId","accessKeyId","secretAccessKey","region"}}}
 *   4. the server's own keys on this machine: the keys file of S3BATCH_API_KEYS_FILE, else the pair
 *      `s3batch serve` generated in <data dir>/api-keys.json (--data-dir / S3BATCH_DATA_DIR, else
 *      ./.s3batch), with http://127.0.0.1:8080 and region us-east-1.
 *
 * The account is the one named (flags, env, profile) or the keys file's; else connect() asks the
 * server whom the key belongs to (GET /api/v1/session), and 000000000000 when it cannot tell.
 *
 * The key pair is taken whole from one place (an id from the flags and a secret from a profile
 * would be a mistake nobody means); the other settings are picked one by one.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { GENERATED_KEYS_FILE, parseAccessKeysFile, type AccessKey } from '../api/auth/access-keys.ts';
import { S3BatchError } from '../domain/errors.ts';
import { isObject } from '../domain/field-checks.ts';

/** The connection flags of every job verb (commander's camelCase keys). */
export interface ConnectionFlags {
  readonly endpointUrl?: string | undefined;
  readonly accountId?: string | undefined;
  readonly accessKeyId?: string | undefined;
  readonly secretAccessKey?: string | undefined;
  readonly region?: string | undefined;
  readonly profile?: string | undefined;
  readonly dataDir?: string | undefined;
}

/** Everything needed to talk to one s3batch server as one account. */
export interface ClientSettings {
  /** Base URL, no trailing slash, e.g. http://127.0.0.1:8080 */
  readonly endpointUrl: string;
  readonly accountId: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  /** Where the key pair came from, for messages ("flags", "environment", "profile x in f", a file). */
  readonly keySource: string;
  /**
   * False when no flag, variable, profile or keys file named the account and `accountId` is the
   * default 000000000000: connect() then asks the server which account the key acts for.
   */
  readonly accountIdGiven: boolean;
}

const CLIENT_ENV = {
  endpointUrl: 'S3BATCH_ENDPOINT_URL',
  accountId: 'S3BATCH_ACCOUNT_ID',
  accessKeyId: 'S3BATCH_API_ACCESS_KEY_ID',
  secretAccessKey: 'S3BATCH_API_SECRET_ACCESS_KEY',
  region: 'S3BATCH_REGION',
  profile: 'S3BATCH_PROFILE',
  profilesFile: 'S3BATCH_PROFILES_FILE',
  apiKeysFile: 'S3BATCH_API_KEYS_FILE',
  dataDir: 'S3BATCH_DATA_DIR',
} as const;

export const DEFAULT_ENDPOINT_URL = 'http://127.0.0.1:8080';
const DEFAULT_REGION = 'us-east-1';
/** The server's default account (its S3BATCH_ACCOUNT_ID default). */
const DEFAULT_ACCOUNT_ID = '000000000000';

/** One profile of the profiles file; every field optional. */
export interface Profile {
  readonly endpointUrl?: string;
  readonly accountId?: string;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly region?: string;
}

const PROFILE_FIELDS = ['endpointUrl', 'accountId', 'accessKeyId', 'secretAccessKey', 'region'] as const;
const ACCOUNT_ID = /^\d{12}$/;

function invalid(message: string): never {
  throw new S3BatchError('InvalidConfiguration', message);
}

/** The profiles file's default path: $XDG_CONFIG_HOME/s3batch/profiles.json, else ~/.config/…. */
export function defaultProfilesFile(env: NodeJS.ProcessEnv, home = os.homedir()): string {
  const base =
    env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(home, '.config');
  return join(base, 's3batch', 'profiles.json');
}

/** Parses a profiles file strictly; the message names the file and field, never a secret. */
function parseProfilesFile(text: string, path: string): Map<string, Profile> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return invalid(`Profiles file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc) || !isObject(doc.profiles)) {
    return invalid(
      `Profiles file ${path} must hold {"profiles":{"<name>":{"endpointUrl","accountId","accessKeyId","secretAccessKey","region"}}}`,
    );
  }
  const extra = Object.keys(doc).filter((k) => k !== 'profiles');
  if (extra.length > 0)
    invalid(
      `Profiles file ${path}: unknown top-level field(s) ${extra.map((k) => JSON.stringify(k)).join(', ')} (expected only "profiles")`,
    );
  const profiles = new Map<string, Profile>();
  for (const [name, entry] of Object.entries(doc.profiles)) {
    const where = `profile ${JSON.stringify(name)} in ${path}`;
    if (!isObject(entry)) invalid(`${where} must be an object`);
    const unknown = Object.keys(entry).filter((k) => !(PROFILE_FIELDS as readonly string[]).includes(k));
    if (unknown.length > 0)
      invalid(
        `${where}: unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')} (expected ${PROFILE_FIELDS.join(', ')})`,
      );
    for (const k of PROFILE_FIELDS) {
      if (entry[k] !== undefined && (typeof entry[k] !== 'string' || entry[k] === ''))
        invalid(`${where}: ${k} must be a non-empty string`);
    }
    profiles.set(name, entry as Profile);
  }
  return profiles;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return invalid(`Cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * The profile to use: the named one (flag, then S3BATCH_PROFILE) must exist; "default" is used
 * only when the file has it.
 */
async function loadProfile(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv,
): Promise<{ profile: Profile; where: string } | undefined> {
  const named = flags.profile ?? nonEmpty(env[CLIENT_ENV.profile]);
  const file = nonEmpty(env[CLIENT_ENV.profilesFile]) ?? defaultProfilesFile(env);
  const text = await readOptional(file);
  if (text === undefined) {
    if (named !== undefined)
      invalid(
        `Profile ${JSON.stringify(named)} was asked for, but the profiles file ${file} does not exist (set ${CLIENT_ENV.profilesFile} to use another file)`,
      );
    return undefined;
  }
  const profiles = parseProfilesFile(text, file);
  const name = named ?? 'default';
  const profile = profiles.get(name);
  if (profile === undefined) {
    if (named === undefined) return undefined;
    const known = [...profiles.keys()];
    return invalid(
      `No profile ${JSON.stringify(named)} in ${file} (it has ${known.length === 0 ? 'none' : known.map((k) => JSON.stringify(k)).join(', ')})`,
    );
  }
  return { profile, where: `profile ${JSON.stringify(name)} in ${file}` };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

/** A pair given in one layer must be whole. */
function pairOf(
  id: string | undefined,
  secret: string | undefined,
  idName: string,
  secretName: string,
): { accessKeyId: string; secretAccessKey: string } | undefined {
  if (id === undefined && secret === undefined) return undefined;
  if (id === undefined || secret === undefined) invalid(`Give both ${idName} and ${secretName}, or neither`);
  return { accessKeyId: id, secretAccessKey: secret };
}

/** The key of the server on this machine: S3BATCH_API_KEYS_FILE (the account's key), else <data dir>/api-keys.json. */
async function localServerKey(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv,
  cwd: string,
  accountId: string | undefined,
): Promise<{ key: AccessKey; where: string } | { tried: string }> {
  const keysFile = nonEmpty(env[CLIENT_ENV.apiKeysFile]);
  if (keysFile !== undefined) {
    const path = resolve(cwd, keysFile);
    const text = await readOptional(path);
    if (text === undefined) invalid(`${CLIENT_ENV.apiKeysFile} names ${path}, which does not exist`);
    const keys = parseAccessKeysFile(text, path);
    const key = accountId === undefined ? keys[0] : keys.find((k) => k.accountId === accountId);
    if (key === undefined) invalid(`${path} has no key of account ${accountId}`);
    return { key, where: path };
  }
  const dataDir = resolve(cwd, flags.dataDir ?? nonEmpty(env[CLIENT_ENV.dataDir]) ?? '.s3batch');
  const path = join(dataDir, GENERATED_KEYS_FILE);
  const text = await readOptional(path);
  if (text === undefined) return { tried: path };
  const keys = parseAccessKeysFile(text, path);
  return { key: keys[0] as AccessKey, where: path };
}

function checkEndpoint(url: string, where: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return invalid(`Endpoint URL ${JSON.stringify(url)} (${where}) is not a URL; expected e.g. http://127.0.0.1:8080`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    invalid(`Endpoint URL ${JSON.stringify(url)} (${where}) must start with http:// or https://`);
  return url.replace(/\/+$/, '');
}

/** Resolves the connection settings (see the header for the order). `cwd` locates ./.s3batch. */
export async function resolveClientSettings(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv,
  cwd: string = process.cwd(),
): Promise<ClientSettings> {
  const loaded = await loadProfile(flags, env);
  const profile = loaded?.profile ?? {};
  const fromEnv = (k: keyof typeof CLIENT_ENV): string | undefined => nonEmpty(env[CLIENT_ENV[k]]);

  const pick = (k: 'endpointUrl' | 'accountId' | 'region'): { value: string; where: string } | undefined => {
    if (flags[k] !== undefined)
      return { value: flags[k] as string, where: `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` };
    const e = fromEnv(k);
    if (e !== undefined) return { value: e, where: CLIENT_ENV[k] };
    if (profile[k] !== undefined) return { value: profile[k] as string, where: loaded?.where ?? '' };
    return undefined;
  };

  let key: { accessKeyId: string; secretAccessKey: string } | undefined;
  let keySource = '';
  let keyAccount: string | undefined;
  const layers: [string, string | undefined, string | undefined, string, string][] = [
    ['flags', flags.accessKeyId, flags.secretAccessKey, '--access-key-id', '--secret-access-key'],
    [
      'environment',
      fromEnv('accessKeyId'),
      fromEnv('secretAccessKey'),
      CLIENT_ENV.accessKeyId,
      CLIENT_ENV.secretAccessKey,
    ],
    [
      loaded?.where ?? '',
      profile.accessKeyId,
      profile.secretAccessKey,
      `accessKeyId (${loaded?.where ?? ''})`,
      `secretAccessKey (${loaded?.where ?? ''})`,
    ],
  ];
  for (const [source, id, secret, idName, secretName] of layers) {
    key = pairOf(id, secret, idName, secretName);
    if (key !== undefined) {
      keySource = source;
      break;
    }
  }
  const account = pick('accountId');
  if (key === undefined) {
    const local = await localServerKey(flags, env, cwd, account?.value);
    if ('tried' in local) {
      return invalid(
        [
          'No API key to call the s3batch server with. Give one of:',
          '  --access-key-id AK --secret-access-key SK (flags)',
          `  ${CLIENT_ENV.accessKeyId} + ${CLIENT_ENV.secretAccessKey} (environment)`,
          `  --profile NAME / ${CLIENT_ENV.profile} with a profiles file (${nonEmpty(env[CLIENT_ENV.profilesFile]) ?? defaultProfilesFile(env)}, or ${CLIENT_ENV.profilesFile}):`,
          '    {"profiles":{"default":{"endpointUrl":"http://127.0.0.1:8080","accountId":"000000000000","accessKeyId":"…","secretAccessKey":"…"}}}',
          `  ${CLIENT_ENV.apiKeysFile} (the server's keys file)`,
          `  ${local.tried}: the pair \`s3batch serve\` generates in its data folder (run from the folder you started the server in, or give --data-dir / ${CLIENT_ENV.dataDir})`,
        ].join('\n'),
      );
    }
    key = local.key;
    keySource = local.where;
    keyAccount = local.key.accountId;
  }

  const accountId = account?.value ?? keyAccount ?? DEFAULT_ACCOUNT_ID;
  if (!ACCOUNT_ID.test(accountId))
    invalid(`Account id ${JSON.stringify(accountId)} (${account?.where ?? keySource}) must be 12 digits`);
  const endpoint = pick('endpointUrl');
  const endpointUrl = checkEndpoint(endpoint?.value ?? DEFAULT_ENDPOINT_URL, endpoint?.where ?? 'default');
  const regionPick = pick('region');
  if (regionPick !== undefined && !/^[a-z0-9-]+$/i.test(regionPick.value))
    invalid(`Region ${JSON.stringify(regionPick.value)} (${regionPick.where}) must be a region name such as us-east-1`);
  const region = regionPick?.value ?? DEFAULT_REGION;
  const accountIdGiven = account !== undefined || keyAccount !== undefined;
  return Object.freeze({
    endpointUrl,
    accountId,
    accessKeyId: key.accessKeyId,
    secretAccessKey: key.secretAccessKey,
    region,
    keySource,
    accountIdGiven,
  });
}
