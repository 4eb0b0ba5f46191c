/**
 * API access keys: the keys file is read strictly (errors name the file and the entry, never the
 * secret), the environment pair belongs to the default account, and without either a pair is
 * generated once into <dataDir>/api-keys.json (mode 0600) and reused at the next start. Each test
 * works in its own temporary folder, kept when the test fails.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import {
  GENERATED_KEYS_FILE,
  createAccessKeyStore,
  ensureGeneratedAccessKey,
  loadAccessKeysFile,
  resolveApiAccessKeys,
  type ApiKeySettings,
} from '../../src/api/auth/access-keys.ts';
import { isS3BatchError, type ErrorCode } from '../../src/domain/errors.ts';

const SECRET_A = 'secretA/0000000000000000000000000000001';
const SECRET_B = 'secretB+0000000000000000000000000000002';
const KEY_A = { accessKeyId: 'AKIDFILE0000000000A1', secretAccessKey: SECRET_A, accountId: '111122223333' };
const KEY_B = { accessKeyId: 'AKIDFILE0000000000B2', secretAccessKey: SECRET_B, accountId: '444455556666' };

let dir: string;
let failed = false;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3batch-keys-'));
  failed = false;
  onTestFailed(() => {
    failed = true;
  });
});
afterEach(async () => {
  if (!failed) await rm(dir, { recursive: true, force: true });
});

async function keysFile(content: unknown): Promise<string> {
  const path = join(dir, 'keys.json');
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

async function refusal(p: Promise<unknown>): Promise<{ code: ErrorCode; message: string }> {
  try {
    await p;
  } catch (err) {
    if (!isS3BatchError(err)) throw err;
    expect(err.message).not.toContain(SECRET_A);
    expect(err.message).not.toContain(SECRET_B);
    return { code: err.code, message: err.message };
  }
  throw new Error('accepted');
}

const settings = (s: Partial<ApiKeySettings>): ApiKeySettings => ({
  dataDir: dir,
  defaultAccountId: '111122223333',
  ...s,
});

describe('keys file', () => {
  it('maps each access key id to its secret and account', async () => {
    const path = await keysFile({ keys: [KEY_A, KEY_B] });
    const { store, generated } = await resolveApiAccessKeys(settings({ apiKeysFile: path }));
    expect(generated).toBeUndefined();
    expect(store.size).toBe(2);
    expect(store.get(KEY_A.accessKeyId)).toEqual(KEY_A);
    expect(store.get(KEY_B.accessKeyId)).toEqual(KEY_B);
    expect(store.get('AKIDUNKNOWN')).toBeUndefined();
  });

  it.each([
    ['not JSON', '{"keys": [', /not valid JSON/],
    ['no keys array', { key: [KEY_A] }, /must hold \{"keys"/],
    ['an unknown top-level field', { keys: [KEY_A], extra: 1 }, /unknown top-level field/],
    ['an empty list', { keys: [] }, /lists no keys/],
    ['an entry that is not an object', { keys: [KEY_A, 'x'] }, /keys\[1\].*expected an object/],
    ['a bad access key id', { keys: [{ ...KEY_A, accessKeyId: 'has/slash' }] }, /keys\[0\].*accessKeyId "has\/slash"/],
    [
      'a missing secret',
      { keys: [{ accessKeyId: KEY_A.accessKeyId, accountId: KEY_A.accountId }] },
      /keys\[0\].*secretAccessKey/,
    ],
    ['a short secret', { keys: [{ ...KEY_A, secretAccessKey: 'short' }] }, /keys\[0\].*16 to 128/],
    [
      'a secret with a space',
      { keys: [KEY_B, { ...KEY_A, secretAccessKey: `${SECRET_A} x` }] },
      /keys\[1\].*secretAccessKey/,
    ],
    ['a numeric account id', { keys: [{ ...KEY_A, accountId: 111122223333 }] }, /keys\[0\].*12-digit/],
    ['a short account id', { keys: [{ ...KEY_A, accountId: '1234' }] }, /keys\[0\].*12-digit/],
    ['an unknown field', { keys: [{ ...KEY_A, region: 'x' }] }, /keys\[0\].*unknown field.*"region"/],
    [
      'the same key id twice',
      { keys: [KEY_A, { ...KEY_B, accessKeyId: KEY_A.accessKeyId }] },
      /given twice.*keys\[0\].*keys\[1\]/,
    ],
  ])('refuses %s with InvalidConfiguration naming the file and entry', async (_name, content, message) => {
    const path = await keysFile(content);
    const r = await refusal(resolveApiAccessKeys(settings({ apiKeysFile: path })));
    expect(r.code).toBe('InvalidConfiguration');
    expect(r.message).toContain(path);
    expect(r.message).toMatch(message);
  });

  it('refuses a file that does not exist', async () => {
    const r = await refusal(loadAccessKeysFile(join(dir, 'missing.json')));
    expect(r.code).toBe('InvalidConfiguration');
    expect(r.message).toMatch(/missing\.json.*ENOENT/);
  });
});

describe('environment key pair', () => {
  it('belongs to the default account, and combines with a keys file', async () => {
    const path = await keysFile({ keys: [KEY_B] });
    const { store, generated } = await resolveApiAccessKeys(
      settings({
        apiKeysFile: path,
        apiAccessKeyId: 'AKIDENV00000000001',
        apiSecretAccessKey: SECRET_A,
        defaultAccountId: '777788889999',
      }),
    );
    expect(generated).toBeUndefined();
    expect(store.get('AKIDENV00000000001')).toEqual({
      accessKeyId: 'AKIDENV00000000001',
      secretAccessKey: SECRET_A,
      accountId: '777788889999',
    });
    expect(store.get(KEY_B.accessKeyId)).toEqual(KEY_B);
  });

  it('refuses half a pair, a bad secret, and an id also in the keys file', async () => {
    expect((await refusal(resolveApiAccessKeys(settings({ apiAccessKeyId: 'AKIDENV00000000001' })))).code).toBe(
      'InvalidConfiguration',
    );
    const bad = await refusal(
      resolveApiAccessKeys(settings({ apiAccessKeyId: 'AKIDENV00000000001', apiSecretAccessKey: 'short' })),
    );
    expect(bad.message).toMatch(/S3BATCH_API_ACCESS_KEY_ID/);
    const path = await keysFile({ keys: [KEY_A] });
    const dup = await refusal(
      resolveApiAccessKeys(
        settings({ apiKeysFile: path, apiAccessKeyId: KEY_A.accessKeyId, apiSecretAccessKey: SECRET_B }),
      ),
    );
    expect(dup.message).toMatch(/given twice/);
  });
});

describe('generated key pair', () => {
  it('is created once with mode 0600, reused at the next start, and is the only key', async () => {
    const first = await resolveApiAccessKeys(settings({}));
    expect(first.generated?.isNew).toBe(true);
    const key = first.generated?.key;
    expect(key?.accountId).toBe('111122223333');
    expect(key?.accessKeyId).toMatch(/^S3B[A-Z0-9]{17}$/);
    expect(key?.secretAccessKey).toMatch(/^[A-Za-z0-9]{40}$/);
    const path = join(dir, GENERATED_KEYS_FILE);
    expect(first.generated?.path).toBe(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ keys: [key] });
    expect(first.store.size).toBe(1);
    expect(first.store.get(key?.accessKeyId ?? '')).toEqual(key);

    const second = await resolveApiAccessKeys(settings({}));
    expect(second.generated).toEqual({ key, isNew: false, path });
  });

  it('creates the data folder when it does not exist yet', async () => {
    const nested = join(dir, 'a', 'b');
    const g = await ensureGeneratedAccessKey(nested, '111122223333');
    expect(g.isNew).toBe(true);
    expect((await stat(join(nested, GENERATED_KEYS_FILE))).isFile()).toBe(true);
  });

  it('keeps the same pair for a new default account', async () => {
    const first = await ensureGeneratedAccessKey(dir, '111122223333');
    const second = await ensureGeneratedAccessKey(dir, '444455556666');
    expect(second.isNew).toBe(false);
    expect(second.key).toEqual({ ...first.key, accountId: '444455556666' });
    expect(JSON.parse(await readFile(second.path, 'utf8'))).toEqual({ keys: [second.key] });
    expect((await stat(second.path)).mode & 0o777).toBe(0o600);
  });

  it('is neither read nor written when keys are configured', async () => {
    const generated = await ensureGeneratedAccessKey(dir, '111122223333');
    const { store } = await resolveApiAccessKeys(
      settings({ apiAccessKeyId: 'AKIDENV00000000001', apiSecretAccessKey: SECRET_A }),
    );
    expect(store.size).toBe(1);
    expect(store.get(generated.key.accessKeyId)).toBeUndefined();
  });

  it('refuses a damaged generated file instead of replacing the key silently', async () => {
    await writeFile(join(dir, GENERATED_KEYS_FILE), '{"keys":[{"accessKeyId":"x"}]}');
    const r = await refusal(resolveApiAccessKeys(settings({})));
    expect(r.code).toBe('InvalidConfiguration');
    expect(r.message).toContain(GENERATED_KEYS_FILE);
  });
});

describe('createAccessKeyStore', () => {
  it('refuses one access key id from two sources, naming both', () => {
    expect(() =>
      createAccessKeyStore([
        { key: KEY_A, source: 'file one' },
        { key: { ...KEY_B, accessKeyId: KEY_A.accessKeyId }, source: 'file two' },
      ]),
    ).toThrow(/given twice: in file one and in file two/);
  });
});
