// `s3batch serve` as a real subprocess (the way users run it), for end-to-end tests that must be
// able to SIGKILL the server mid-job and start it again on the same data folder.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { makeS3Client, REPO_ROOT, type S3ServerInfo } from './s3-servers.ts';

const BIN = path.join(REPO_ROOT, 'bin', 's3batch.mjs');

/** An s3batch API access key (what a keys file entry holds). */
export interface TestApiKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly accountId: string;
}

/**
 * The API key every server started here accepts (unless the test opts out with `testKey: false`),
 * for the JSON API and the S3 Control API. It is given as the S3BATCH_API_ACCESS_KEY_ID / _SECRET
 * pair, which s3batch binds to the default account: 111122223333 unless the test sets
 * S3BATCH_ACCOUNT_ID itself (then `server.apiKey` has that account). A keys file the test passes
 * (--api-keys-file / S3BATCH_API_KEYS_FILE) is merged with it.
 */
export const TEST_API_KEY: TestApiKey = Object.freeze({
  accessKeyId: 'S3BATCHTESTKEY00001',
  secretAccessKey: 's3batch-test-secret-0000000000000001',
  accountId: '111122223333',
});
const EXIT_WHEN_ORPHANED = path.join(REPO_ROOT, 'test', 'helpers', 'exit-when-orphaned.cjs');

export interface ServerProcess {
  readonly url: string;
  /** The S3 endpoint the server printed (the embedded one with --local). */
  readonly s3Endpoint: string | undefined;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** TEST_API_KEY with the account the server bound it to; undefined with `testKey: false`. */
  readonly apiKey: TestApiKey | undefined;
  /** Everything the server printed so far (stdout + stderr), for failure messages. */
  output(): string;
  /** What it printed on stdout (its log) so far. */
  stdout(): string;
  /** What it printed on stderr (the banner, warnings) so far. */
  stderr(): string;
  /** Sends the signal and waits for the process to exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

export interface ServerProcessOptions {
  /** The S3 server the engine works on; omit for `--local` (embedded s3rver). */
  readonly s3?: S3ServerInfo;
  readonly dataDir?: string;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** A storage profiles file's content: written to <dataDir>/profiles.json and passed as --storage-profiles. */
  readonly storageProfiles?: unknown;
  /** false: do not configure TEST_API_KEY (then, without other keys, the server generates a pair). */
  readonly testKey?: boolean;
  /** The Node.js binary that runs the server; default the one running the tests. */
  readonly node?: string;
  /** The s3batch command's script; default the repository's bin/s3batch.mjs (an installed package's bin also works). */
  readonly bin?: string;
}

/**
 * `--workers` for every server started here: S3BATCH_TEST_WORKERS (e.g. 0 or 2) runs the suite
 * with the tasks in the main thread or in that many worker threads; unset, the server's default
 * (one thread per core). A test that passes its own --workers keeps it.
 */
export function testWorkerArgs(args: readonly string[] = []): string[] {
  const workers = process.env.S3BATCH_TEST_WORKERS;
  return workers === undefined || workers === '' || args.includes('--workers') ? [] : ['--workers', workers];
}

export function tempDataDir(prefix = 's3batch-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function startServerProcess(options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? tempDataDir();
  const profileArgs: string[] = [];
  if (options.storageProfiles !== undefined) {
    const file = path.join(dataDir, 'profiles.json');
    writeFileSync(file, JSON.stringify(options.storageProfiles));
    profileArgs.push('--storage-profiles', file);
  }
  const s3Args = options.s3
    ? [
        '--endpoint',
        options.s3.endpoint,
        '--access-key-id',
        options.s3.accessKeyId,
        '--secret-access-key',
        options.s3.secretAccessKey,
        '--region',
        options.s3.region,
      ]
    : ['--local'];
  const accountId = options.env?.S3BATCH_ACCOUNT_ID ?? TEST_API_KEY.accountId;
  const ownPair = options.env?.S3BATCH_API_ACCESS_KEY_ID !== undefined;
  const apiKey = options.testKey === false || ownPair ? undefined : { ...TEST_API_KEY, accountId };
  const keyEnv: Record<string, string> = apiKey
    ? {
        S3BATCH_API_ACCESS_KEY_ID: apiKey.accessKeyId,
        S3BATCH_API_SECRET_ACCESS_KEY: apiKey.secretAccessKey,
        S3BATCH_ACCOUNT_ID: accountId,
      }
    : {};
  const child = spawn(
    options.node ?? process.execPath,
    [
      '--require',
      EXIT_WHEN_ORPHANED,
      options.bin ?? BIN,
      'serve',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--log-level',
      'warn',
      ...s3Args,
      ...profileArgs,
      ...testWorkerArgs(options.args),
      ...(options.args ?? []),
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...keyEnv, ...options.env } },
  );
  let out = '';
  let stdout = '';
  let stderr = '';
  // Decoded as UTF-8 across chunk boundaries (log lines hold non-ASCII text such as →).
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    out += text;
    stdout += text;
  });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    out += text;
    stderr += text;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3batch serve did not start in 30 s:\n${out}`)), 30_000);
    const onData = (): void => {
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
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
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3batch serve exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    url,
    s3Endpoint: /S3:\s+(http:\/\/\S+)/.exec(out)?.[1],
    dataDir,
    child,
    apiKey,
    output: () => out,
    stdout: () => stdout,
    stderr: () => stderr,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** The key pair of a `--local` server's embedded S3 (made per data folder, in <data-dir>/local-s3-keys.json). */
export function embeddedS3Keys(server: ServerProcess): { accessKeyId: string; secretAccessKey: string } {
  return JSON.parse(readFileSync(path.join(server.dataDir, 'local-s3-keys.json'), 'utf8')) as {
    accessKeyId: string;
    secretAccessKey: string;
  };
}

/** An S3 client for the embedded S3 of a `--local` server (s3rver behind s3batch's guard, its own key pair). */
export function embeddedS3Client(server: ServerProcess): S3Client {
  if (server.s3Endpoint === undefined) throw new Error(`the server printed no S3 endpoint:\n${server.output()}`);
  return makeS3Client({
    name: 's3rver',
    endpoint: server.s3Endpoint,
    region: 'us-east-1',
    ...embeddedS3Keys(server),
  });
}
