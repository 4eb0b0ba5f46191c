/**
 * A server secret kept in the data folder (mode 0600), made on first use: the key that signs
 * ListJobs page tokens, so tokens stay valid across restarts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
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
  // 'wx': two servers starting on one folder at once cannot both write it; the loser reads it.
  try {
    await writeFile(path, secret, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateSecret(path, bytes);
    throw new S3BatchError('InvalidConfiguration', `Cannot write ${path}: ${(err as Error).message}`);
  }
}
