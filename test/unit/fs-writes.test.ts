/** The shared fs write rules (src/storage/fs-writes.ts): fsyncDir's two error policies. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsyncDir, isErrno } from '../../src/storage/fs-writes.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3batch-fs-writes-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fsyncDir', () => {
  it('syncs an existing directory under either policy', async () => {
    await expect(fsyncDir(dir, 'strict')).resolves.toBeUndefined();
    await expect(fsyncDir(dir, 'best-effort')).resolves.toBeUndefined();
  });

  it("'strict' reports an error a platform limit does not explain; 'best-effort' never throws", async () => {
    const missing = join(dir, 'missing');
    const err = await fsyncDir(missing, 'strict').catch((e: unknown) => e);
    expect(isErrno(err, 'ENOENT')).toBe(true);
    await expect(fsyncDir(missing, 'best-effort')).resolves.toBeUndefined();
  });
});
