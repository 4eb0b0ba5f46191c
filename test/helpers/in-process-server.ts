// The server that `s3batch serve` runs (startServer), in this process, on an S3 server of the global setup.
import { type ConfigFlags, loadConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/main.ts';
import type { S3ServerInfo } from './s3-servers.ts';

/**
 * Starts it on a free port with its data in `dataDir`, on `s3` with its keys, its log silent, and `flags`
 * besides (no environment variables).
 */
export function startServerOn(s3: S3ServerInfo, dataDir: string, flags: ConfigFlags = {}): Promise<RunningServer> {
  return startServer(
    loadConfig(
      {
        port: 0,
        dataDir,
        endpoint: s3.endpoint,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        logLevel: 'silent',
        ...flags,
      },
      {},
    ),
  );
}
