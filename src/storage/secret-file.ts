/**
 * A server secret kept in the data folder (mode 0600), made on first use: the key that signs
 * ListJobs page tokens, so tokens stay valid across restarts.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { S3BatchError } from '../domain/errors.ts';

/** Reads the `bytes`-long secret at `path`, or makes and stores a new one. */
export async function loadOrCreateSecret(path: string, bytes = 32): Promise<Buffer> {
  try {
    const stored = await readFile(path);
    if (stored.length === bytes) return stored;
    throw new S3BatchError(
      'InvalidConfiguration',
      `${path} must hold ${bytes} bytes (it holds ${stored.length}); delete it and s3batch makes a new one`,
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (err instanceof S3BatchError) throw err;
      throw new S3BatchError('InvalidConfiguration', `Cannot read ${path}: ${(err as Error).message}`);
    }
  }
  const secret = randomBytes(bytes);
  await mkdir(dirname(path), { recursive: true });
  return (await createFileOnce(path, secret)) ? secret : loadOrCreateSecret(path, bytes);
}

/**
 * Creates `path` (mode 0600) holding `data`, whole or not at all: it is written to a temporary file
 * first and then linked to `path`, which fails when `path` exists. True when this call created it;
 * false when another process (a second server starting on the same folder) did first: the caller
 * reads the winner's file, which is complete. (Creating `path` itself with 'wx' and then writing it
 * let the loser read it empty or half written.) InvalidConfiguration when it cannot be written.
 */
export async function createFileOnce(path: string, data: string | Buffer): Promise<boolean> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data, { mode: 0o600, flag: 'wx' });
    try {
      await link(tmp, path);
    } catch (err) {
      // A file system without hard links: create it exclusively and write it (the earlier way).
      if (!['EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
      await writeFile(path, data, { mode: 0o600, flag: 'wx' });
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new S3BatchError('InvalidConfiguration', `Cannot write ${path}: ${(err as Error).message}`);
  } finally {
    await rm(tmp, { force: true });
  }
}
