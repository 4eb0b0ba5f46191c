/**
 * The embedded default: an s3rver process on a folder under the data folder, so s3batch runs
 * with nothing else installed. It runs as a child process because s3rver's continuation tokens
 * need OpenSSL's legacy provider, which must not be switched on for the whole engine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3BatchError } from '../domain/errors.ts';
import { createFileOnce } from './secret-file.ts';

/** The embedded S3's key pair: made for each data folder, the only one it accepts. */
export interface LocalS3Keys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface LocalS3 {
  readonly endpoint: string;
  readonly directory: string;
  readonly keys: LocalS3Keys;
  /** Where the keys are kept (mode 0600), for users who talk to the embedded S3 themselves. */
  readonly keysFile: string;
  stop(): Promise<void>;
}

/** Reads the key pair at `path`, or makes and stores a new one (mode 0600). */
export async function loadOrCreateLocalS3Keys(path: string): Promise<LocalS3Keys> {
  try {
    const stored = JSON.parse(await readFile(path, 'utf8')) as Partial<LocalS3Keys>;
    if (typeof stored.accessKeyId === 'string' && typeof stored.secretAccessKey === 'string') {
      return { accessKeyId: stored.accessKeyId, secretAccessKey: stored.secretAccessKey };
    }
    throw new S3BatchError(
      'InvalidConfiguration',
      `${path} must hold {"accessKeyId": …, "secretAccessKey": …}; delete it and s3batch makes a new pair`,
    );
  } catch (err) {
    if (err instanceof S3BatchError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new S3BatchError('InvalidConfiguration', `Cannot read ${path}: ${(err as Error).message}`);
    }
  }
  const keys: LocalS3Keys = {
    accessKeyId: `LOCALS3${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64url'),
  };
  await mkdir(dirname(path), { recursive: true });
  // Whole or not at all: two servers starting on one folder at once cannot both write it, and the
  // loser reads the winner's complete file (createFileOnce).
  return (await createFileOnce(path, `${JSON.stringify(keys, null, 2)}\n`)) ? keys : loadOrCreateLocalS3Keys(path);
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

export async function startLocalS3(options: {
  directory: string;
  /** The key pair's file; made on first use. */
  keysFile: string;
  host?: string;
  port?: number;
}): Promise<LocalS3> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port || (await freePort(host));
  await mkdir(options.directory, { recursive: true });
  const keys = await loadOrCreateLocalS3Keys(options.keysFile);
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
      // the guard accepts only requests signed by this pair (it reads the file, so the secret is not in argv)
      env: { ...process.env, S3BATCH_LOCAL_S3_KEYS_FILE: options.keysFile },
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
    keys,
    keysFile: options.keysFile,
    stop: () =>
      new Promise<void>((resolveStop) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolveStop();
        child.once('exit', () => resolveStop());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}
