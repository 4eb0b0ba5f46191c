// `s3batch serve` as a real subprocess (the way users run it), for end-to-end tests that must be
// able to SIGKILL the server mid-job and start it again on the same data folder.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, type S3ServerInfo } from './s3-servers.ts';

const BIN = path.join(REPO_ROOT, 'bin', 's3batch.mjs');
const EXIT_WHEN_ORPHANED = path.join(REPO_ROOT, 'test', 'helpers', 'exit-when-orphaned.cjs');

export interface ServerProcess {
  readonly url: string;
  /** The S3 endpoint the server printed (the embedded one with --local). */
  readonly s3Endpoint: string | undefined;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** Everything the server printed so far (stdout + stderr), for failure messages. */
  output(): string;
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
    ? ['--endpoint', options.s3.endpoint, '--access-key-id', options.s3.accessKeyId, '--secret-access-key', options.s3.secretAccessKey, '--region', options.s3.region]
    : ['--local'];
  const child = spawn(
    process.execPath,
    ['--require', EXIT_WHEN_ORPHANED, BIN, 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn', ...s3Args, ...profileArgs, ...(options.args ?? [])],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
  );
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3batch serve did not start in 30 s:\n${out}`)), 30_000);
    const onData = (): void => {
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
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
    output: () => out,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
