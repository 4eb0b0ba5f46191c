/**
 * The s3batch CLI as a subprocess (node bin/s3batch.mjs), as a user's shell runs it: the
 * environment it gets, a runner that collects stdout/stderr and the exit, and a wait for output
 * while it still runs (watch).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './s3-servers.ts';
import type { TestApiKey } from './server-process.ts';

export const CLI_BIN = path.join(REPO_ROOT, 'bin', 's3batch.mjs');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  readonly child: ChildProcess;
  readonly done: Promise<CliResult>;
  /** Resolves once stdout matches; rejects after `timeoutMs` or when the CLI exits without it. */
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<void>;
}

export interface CliOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  readonly input?: string | undefined;
  /** SIGKILL the process after this long (a hung CLI fails its test instead of the run). */
  readonly killAfterMs?: number;
}

/**
 * Only what a user's shell would have: PATH and HOME (XDG_CONFIG_HOME below it: no profiles file unless
 * a test writes one), and the AWS SDK's Node 20 warning silenced (tests assert stderr; users see it).
 */
export function shellEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** The S3BATCH_* variables that point the CLI at a server with a key. */
export function serverEnv(
  url: string,
  key: Pick<TestApiKey, 'accessKeyId' | 'secretAccessKey' | 'accountId'>,
): NodeJS.ProcessEnv {
  return {
    S3BATCH_ENDPOINT_URL: url,
    S3BATCH_ACCOUNT_ID: key.accountId,
    S3BATCH_API_ACCESS_KEY_ID: key.accessKeyId,
    S3BATCH_API_SECRET_ACCESS_KEY: key.secretAccessKey,
  };
}

/** Starts `command` (node with CLI_BIN, or a wrapper such as script(1)). */
export function startCli(command: string, args: readonly string[], opts: CliOptions): RunningCli {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env,
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  child.stdout!.on('data', (b: Buffer) => {
    stdout += b.toString();
    for (const w of waiters.splice(0)) {
      if (w.re.test(stdout)) w.resolve();
      else waiters.push(w);
    }
  });
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  const timer = opts.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    done,
    waitForOutput: (re, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(stdout)) return resolve();
        const giveUp = setTimeout(
          () => reject(new Error(`no ${re} in the CLI's output within ${timeoutMs} ms:\n${stdout}\n${stderr}`)),
          timeoutMs,
        );
        waiters.push({
          re,
          resolve: () => {
            clearTimeout(giveUp);
            resolve();
          },
        });
        void done.then(() => {
          if (!re.test(stdout)) reject(new Error(`the CLI exited without printing ${re}:\n${stdout}\n${stderr}`));
        });
      }),
  };
}

/** Runs `s3batch <args>` to its end. */
export function runCli(args: readonly string[], opts: CliOptions): Promise<CliResult> {
  return startCli(process.execPath, [CLI_BIN, ...args], opts).done;
}
