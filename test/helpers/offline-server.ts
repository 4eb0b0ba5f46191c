// The server that `s3batch serve` runs (startServer), in this process, for tests of what it composes
// (its routes, its HTTP server's settings): a fresh data folder, a free port, and an S3 endpoint
// (port 9, discard) that nothing here contacts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/main.ts';

/** Starts it; its `close()` also removes its data folder. */
export async function startOfflineServer(prefix = 's3batch-offline-'): Promise<RunningServer> {
  const dataDir = await mkdtemp(join(tmpdir(), prefix));
  const removeDataDir = () => rm(dataDir, { recursive: true, force: true });
  const config = loadConfig(
    {
      port: 0,
      host: '127.0.0.1',
      dataDir,
      endpoint: 'http://127.0.0.1:9',
      accessKeyId: 'AK',
      secretAccessKey: 'SK',
      logLevel: 'silent',
    },
    {},
  );
  const server = await startServer(config).catch(async (err: unknown) => {
    await removeDataDir();
    throw err;
  });
  return {
    ...server,
    close: async () => {
      try {
        await server.close();
      } finally {
        await removeDataDir();
      }
    },
  };
}
