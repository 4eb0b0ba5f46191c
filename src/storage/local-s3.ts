/**
 * The embedded default: an s3rver process on a folder under the data folder, so s3batch runs
 * with nothing else installed. It runs as a child process because s3rver's continuation tokens
 * need OpenSSL's legacy provider, which must not be switched on for the whole engine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { S3BatchError } from '../domain/errors.ts';

export const LOCAL_S3_ACCESS_KEY = 'S3RVER';
export const LOCAL_S3_SECRET_KEY = 'S3RVER';

export interface LocalS3 {
  readonly endpoint: string;
  readonly directory: string;
  stop(): Promise<void>;
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

async function waitUntilUp(url: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new S3BatchError(
        'InvalidConfiguration',
        `The embedded S3 server exited (code ${child.exitCode}): ${output().slice(-2000)}`,
      );
    }
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill('SIGKILL');
  throw new S3BatchError(
    'InvalidConfiguration',
    `The embedded S3 server did not answer on ${url} within ${timeoutMs} ms: ${output().slice(-2000)}`,
  );
}

/** Preloaded into the embedded S3: it exits when its stdin (a pipe from the server) reaches its end. */
const EXIT_WITH_PARENT =
  'data:text/javascript,process.stdin.on("end",()=>process.exit(0));process.stdin.on("data",()=>{});';

export async function startLocalS3(options: { directory: string; host?: string; port?: number }): Promise<LocalS3> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port || (await freePort(host));
  await mkdir(options.directory, { recursive: true });
  // s3rver's command line behind a guard that keeps every file it touches inside options.directory
  // (local-s3-guard.cjs, copied next to this module by the build)
  const bin = fileURLToPath(new URL('./local-s3-guard.cjs', import.meta.url));
  const child = spawn(
    process.execPath,
    [
      '--openssl-legacy-provider',
      '--import',
      EXIT_WITH_PARENT,
      bin,
      '-d',
      options.directory,
      '-a',
      host,
      '-p',
      String(port),
      '-s',
    ],
    {
      // stdin is a pipe from this process: when this process dies, even by SIGKILL, the pipe closes
      // and EXIT_WITH_PARENT ends the embedded S3 instead of leaving it running.
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const collect = (b: Buffer): void => {
    out = (out + b.toString()).slice(-8000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const endpoint = `http://${host}:${port}`;
  await waitUntilUp(endpoint, child, () => out, 15_000);
  return {
    endpoint,
    directory: options.directory,
    stop: () =>
      new Promise<void>((resolveStop) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolveStop();
        child.once('exit', () => resolveStop());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}
