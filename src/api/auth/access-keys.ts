/**
 * The access keys the S3 Control API accepts: access key id → { secret, account }. Keys come from
 * a keys file (`--api-keys-file` / S3BATCH_API_KEYS_FILE) and/or one pair in the environment
 * (S3BATCH_API_ACCESS_KEY_ID + S3BATCH_API_SECRET_ACCESS_KEY, for the default account). When
 * neither is configured, s3batch generates one pair for the default account, keeps it in
 * `<dataDir>/api-keys.json` (mode 0600) and reuses it at every later start.
 *
 * Keys file format (the generated file has the same shape):
 *   {"keys":[{"accessKeyId":"…","secretAccessKey":"…","accountId":"111122223333"}]}
 */
import { randomInt } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { S3BatchError } from '../../domain/errors.ts';

export interface AccessKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The 12-digit account the key acts for. */
  readonly accountId: string;
}

export interface AccessKeyStore {
  /** The key with this id, or undefined when s3batch does not know it. */
  get(accessKeyId: string): AccessKey | undefined;
  readonly size: number;
}

/** What the configuration says about API keys (the Config fields of the same names). */
export interface ApiKeySettings {
  readonly dataDir: string;
  readonly defaultAccountId: string;
  readonly apiKeysFile?: string | undefined;
  readonly apiAccessKeyId?: string | undefined;
  readonly apiSecretAccessKey?: string | undefined;
}

/** The pair s3batch generated (or found from an earlier start) when no keys are configured. */
export interface GeneratedAccessKey {
  readonly key: AccessKey;
  /** True when it was created by this start, false when reused from `path`. */
  readonly isNew: boolean;
  readonly path: string;
}

export interface ResolvedAccessKeys {
  readonly store: AccessKeyStore;
  /** Set only when no keys were configured and the generated pair is in use. */
  readonly generated?: GeneratedAccessKey | undefined;
}

/** File name of the generated pair under the data folder. */
export const GENERATED_KEYS_FILE = 'api-keys.json';

// The access key id is the first field of the SigV4 Credential (`id/date/region/service/aws4_request`),
// so it may not hold '/', ',', '=' or spaces; AWS ids are 16–128 word characters.
const ACCESS_KEY_ID = /^\w{3,128}$/;
// Printable ASCII without spaces; long enough not to be guessed (AWS secrets have 40 characters).
const SECRET = /^[\x21-\x7e]{16,128}$/;
const ACCOUNT_ID = /^\d{12}$/;

/**
 * Checks one key entry; `where` names its source for the message (a file and entry index, or
 * the environment variables). The message never contains the secret.
 */
export function validateAccessKey(entry: unknown, where: string): AccessKey {
  const fail = (what: string): never => {
    throw new S3BatchError('InvalidConfiguration', `Invalid API access key in ${where}: ${what}`);
  };
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    return fail('expected an object with accessKeyId, secretAccessKey and accountId');
  const e = entry as Record<string, unknown>;
  const unknown = Object.keys(e).filter((k) => !['accessKeyId', 'secretAccessKey', 'accountId'].includes(k));
  if (unknown.length > 0)
    fail(
      `unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')} (expected accessKeyId, secretAccessKey, accountId)`,
    );
  const { accessKeyId, secretAccessKey, accountId } = e;
  if (typeof accessKeyId !== 'string' || !ACCESS_KEY_ID.test(accessKeyId)) {
    fail(`accessKeyId ${JSON.stringify(accessKeyId)} must be 3 to 128 letters, digits or underscores`);
  }
  if (typeof secretAccessKey !== 'string' || !SECRET.test(secretAccessKey)) {
    // Say what is wrong without repeating the value: it may be a real secret with a typo.
    fail(
      `secretAccessKey of ${JSON.stringify(accessKeyId)} must be a string of 16 to 128 printable ASCII characters without spaces`,
    );
  }
  if (typeof accountId !== 'string' || !ACCOUNT_ID.test(accountId)) {
    fail(
      `accountId ${JSON.stringify(accountId)} of ${JSON.stringify(accessKeyId)} must be a 12-digit account id (a string)`,
    );
  }
  return Object.freeze({
    accessKeyId: accessKeyId as string,
    secretAccessKey: secretAccessKey as string,
    accountId: accountId as string,
  });
}

/** Parses the text of a keys file strictly: `{"keys":[…]}` with at least one valid entry. */
export function parseAccessKeysFile(text: string, path: string): AccessKey[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new S3BatchError(
      'InvalidConfiguration',
      `API keys file ${path} is not valid JSON: ${(err as Error).message}`,
    );
  }
  if (
    typeof doc !== 'object' ||
    doc === null ||
    Array.isArray(doc) ||
    !Array.isArray((doc as { keys?: unknown }).keys)
  ) {
    throw new S3BatchError(
      'InvalidConfiguration',
      `API keys file ${path} must hold {"keys":[{"accessKeyId":…,"secretAccessKey":…,"accountId":…}]}`,
    );
  }
  const extra = Object.keys(doc).filter((k) => k !== 'keys');
  if (extra.length > 0) {
    throw new S3BatchError(
      'InvalidConfiguration',
      `API keys file ${path}: unknown top-level field(s) ${extra.map((k) => JSON.stringify(k)).join(', ')} (expected only "keys")`,
    );
  }
  const entries = (doc as { keys: unknown[] }).keys;
  if (entries.length === 0) throw new S3BatchError('InvalidConfiguration', `API keys file ${path} lists no keys`);
  return entries.map((entry, i) => validateAccessKey(entry, `${path}, keys[${i}]`));
}

export async function loadAccessKeysFile(path: string): Promise<AccessKey[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new S3BatchError(
      'InvalidConfiguration',
      `Cannot read API keys file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return parseAccessKeysFile(text, path);
}

/** An in-memory store; refuses the same access key id twice (naming both sources). */
export function createAccessKeyStore(keys: Iterable<{ key: AccessKey; source: string }>): AccessKeyStore {
  const byId = new Map<string, { key: AccessKey; source: string }>();
  for (const k of keys) {
    const seen = byId.get(k.key.accessKeyId);
    if (seen !== undefined) {
      throw new S3BatchError(
        'InvalidConfiguration',
        `API access key id ${JSON.stringify(k.key.accessKeyId)} is given twice: in ${seen.source} and in ${k.source}`,
      );
    }
    byId.set(k.key.accessKeyId, k);
  }
  return Object.freeze({
    get: (accessKeyId: string) => byId.get(accessKeyId)?.key,
    size: byId.size,
  });
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomString(alphabet: string, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

/** A fresh key pair shaped like AWS's: a 20-character id and a 40-character secret. */
export function generateAccessKey(accountId: string): AccessKey {
  return Object.freeze({
    accessKeyId: `S3B${randomString(UPPER_DIGITS, 17)}`,
    secretAccessKey: randomString(ALNUM, 40),
    accountId,
  });
}

async function writeKeysFile(path: string, key: AccessKey): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await rm(tmp, { force: true });
  try {
    // mode applies only when the file is created: the secret is never readable by others, even briefly.
    await writeFile(tmp, `${JSON.stringify({ keys: [key] }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new S3BatchError(
      'InvalidConfiguration',
      `Cannot write the generated API keys file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/**
 * The generated key pair of the default account: read from `<dataDir>/api-keys.json` when an
 * earlier start wrote it, otherwise created and written there (mode 0600). If the default
 * account changed since, the same pair is kept and re-bound to the new default account.
 */
export async function ensureGeneratedAccessKey(dataDir: string, accountId: string): Promise<GeneratedAccessKey> {
  const path = join(dataDir, GENERATED_KEYS_FILE);
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new S3BatchError(
        'InvalidConfiguration',
        `Cannot read the generated API keys file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  if (text !== undefined) {
    const keys = parseAccessKeysFile(text, path);
    if (keys.length !== 1)
      throw new S3BatchError(
        'InvalidConfiguration',
        `Generated API keys file ${path} must hold exactly one key (it holds ${keys.length}); to configure several keys use --api-keys-file`,
      );
    const stored = keys[0] as AccessKey;
    if (stored.accountId === accountId) {
      await chmod(path, 0o600).catch(() => undefined);
      return { key: stored, isNew: false, path };
    }
    const rebound = Object.freeze({ ...stored, accountId });
    await writeKeysFile(path, rebound);
    return { key: rebound, isNew: false, path };
  }
  await mkdir(dataDir, { recursive: true });
  const key = generateAccessKey(accountId);
  await writeKeysFile(path, key);
  return { key, isNew: true, path };
}

/**
 * Builds the store from the configuration: the keys file and the environment pair when either is
 * given (both may be), else the generated pair of the default account.
 */
export async function resolveApiAccessKeys(settings: ApiKeySettings): Promise<ResolvedAccessKeys> {
  const keys: { key: AccessKey; source: string }[] = [];
  if (settings.apiKeysFile !== undefined) {
    for (const [i, key] of (await loadAccessKeysFile(settings.apiKeysFile)).entries()) {
      keys.push({ key, source: `${settings.apiKeysFile}, keys[${i}]` });
    }
  }
  if ((settings.apiAccessKeyId === undefined) !== (settings.apiSecretAccessKey === undefined)) {
    throw new S3BatchError(
      'InvalidConfiguration',
      'Give both S3BATCH_API_ACCESS_KEY_ID and S3BATCH_API_SECRET_ACCESS_KEY, or neither',
    );
  }
  if (settings.apiAccessKeyId !== undefined) {
    const source = 'S3BATCH_API_ACCESS_KEY_ID / S3BATCH_API_SECRET_ACCESS_KEY';
    const key = validateAccessKey(
      {
        accessKeyId: settings.apiAccessKeyId,
        secretAccessKey: settings.apiSecretAccessKey,
        accountId: settings.defaultAccountId,
      },
      source,
    );
    keys.push({ key, source });
  }
  if (keys.length > 0) return { store: createAccessKeyStore(keys) };
  const generated = await ensureGeneratedAccessKey(settings.dataDir, settings.defaultAccountId);
  return { store: createAccessKeyStore([{ key: generated.key, source: generated.path }]), generated };
}
