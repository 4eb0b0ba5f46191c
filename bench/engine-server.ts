// `s3batch serve` as a subprocess, the way users run it: like test/helpers/server-process.ts, plus
// node options for the server process (--cpu-prof is not allowed in NODE_OPTIONS). Like the test
// servers it accepts TEST_API_KEY (account 111122223333), the key JsonApi sends.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT, type S3ServerInfo } from '../test/helpers/s3-servers.ts';
import { TEST_API_KEY } from '../test/helpers/server-process.ts';

const BIN = path.join(REPO_ROOT, 'bin', 's3batch.mjs');
const EXIT_WHEN_ORPHANED = path.join(REPO_ROOT, 'test', 'helpers', 'exit-when-orphaned.cjs');

export interface EngineServer {
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** The last 16 KiB the server printed (stdout + stderr), for failure messages. */
  output(): string;
  /** SIGTERM (graceful: in-flight tasks finish, --cpu-prof is written), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export async function startEngineServer(args: {
  s3: S3ServerInfo;
  dataDir: string;
  serveArgs: readonly string[];
  nodeArgs?: readonly string[];
}): Promise<EngineServer> {
  const { s3 } = args;
  const child = spawn(
    process.execPath,
    [
      ...(args.nodeArgs ?? []),
      '--require',
      EXIT_WHEN_ORPHANED,
      BIN,
      'serve',
      '--port',
      '0',
      '--data-dir',
      args.dataDir,
      '--log-level',
      'warn',
      '--endpoint',
      s3.endpoint,
      '--access-key-id',
      s3.accessKeyId,
      '--secret-access-key',
      s3.secretAccessKey,
      '--region',
      s3.region,
      ...args.serveArgs,
    ],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        S3BATCH_API_ACCESS_KEY_ID: TEST_API_KEY.accessKeyId,
        S3BATCH_API_SECRET_ACCESS_KEY: TEST_API_KEY.secretAccessKey,
        S3BATCH_ACCOUNT_ID: TEST_API_KEY.accountId,
      },
    },
  );
  let out = '';
  const keep = (b: Buffer): void => {
    out = (out + b.toString()).slice(-16384);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`s3batch serve did not start in 30 s:\n${out}`));
    }, 30_000);
    const onData = (): void => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        resolve(m[1]!);
      }
    };
    // The banner is on stderr (stdout carries the log).
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`s3batch serve exited (${signal ?? `code ${code}`}) before listening:\n${out}`));
    });
  });
  return {
    url,
    pid: child.pid!,
    child,
    output: () => out,
    stop: async (graceMs = 15_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
