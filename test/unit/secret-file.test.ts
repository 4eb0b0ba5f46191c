import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOrCreateSecret } from '../../src/storage/secret-file.ts';

describe('loadOrCreateSecret', () => {
  it('makes a secret once (mode 0600) and reads the same one back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'secret-'));
    const path = join(dir, 'sub', 'k.key');
    const first = await loadOrCreateSecret(path);
    expect(first).toHaveLength(32);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect((await loadOrCreateSecret(path)).equals(first)).toBe(true);
    const [a, b] = await Promise.all([
      loadOrCreateSecret(join(dir, 'race.key')),
      loadOrCreateSecret(join(dir, 'race.key')),
    ]);
    expect(a.equals(b)).toBe(true);
  });

  it('refuses a file of the wrong length with a clear configuration error', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'secret-')), 'k.key');
    writeFileSync(path, 'short');
    await expect(loadOrCreateSecret(path)).rejects.toMatchObject({
      code: 'InvalidConfiguration',
      message: expect.stringMatching(/must hold 32 bytes \(it holds 5\)/),
    });
  });
});
