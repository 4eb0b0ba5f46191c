/**
 * `s3batch worker` as a real subprocess (the way users run it on each machine of the scale-out
 * mode), for end-to-end tests that start several and SIGKILL them mid-job.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT, type S3ServerInfo } from './s3-servers.ts';

const BIN = path.join(REPO_ROOT, 'bin', 's3batch.mjs');
const EXIT_WHEN_ORPHANED = path.join(REPO_ROOT, 'test', 'helpers', 'exit-when-orphaned.cjs');

export interface WorkerProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Everything it printed so far (stdout + stderr). */
  output(): string;
  /** Sends the signal and waits for the process to exit; resolves with its exit code (null: by signal). */
  kill(signal: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code once it exits by itself. */
  readonly exited: Promise<number | null>;
}

export interface WorkerProcessOptions {
  readonly redisUrl: string;
  readonly s3: S3ServerInfo;
  readonly name: string;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Resolve once it printed its ready line (default true); false: right after the spawn. */
  readonly waitReady?: boolean;
}

/** The storage flags `serve` and `worker` share, for a test S3 server. */
export function s3Flags(s3: S3ServerInfo): string[] {
  return [
    '--endpoint',
    s3.endpoint,
    '--access-key-id',
    s3.accessKeyId,
    '--secret-access-key',
    s3.secretAccessKey,
    '--region',
    s3.region,
  ];
}

export async function startWorkerProcess(options: WorkerProcessOptions): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    [
      '--require',
      EXIT_WHEN_ORPHANED,
      BIN,
      'worker',
      '--redis',
      options.redisUrl,
      '--name',
      options.name,
      '--log-level',
      'warn',
      ...s3Flags(options.s3),
      ...(options.args ?? []),
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
  );
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => {
    out += t;
  });
  child.stderr!.setEncoding('utf8').on('data', (t: string) => {
    out += t;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  if (options.waitReady !== false) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`s3batch worker did not get ready in 30 s:\n${out}`)), 30_000);
      const onData = (): void => {
        if (/worker \S+ ready/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`s3batch worker exited with ${code} before it was ready:\n${out}`));
      });
    });
  }
  return {
    name: options.name,
    child,
    output: () => out,
    exited,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
