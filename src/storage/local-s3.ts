/**
 * The embedded default: an s3rver process on a folder under the data folder, so s3batch runs
 * with nothing else installed. It runs as a child process because s3rver's continuation tokens
 * need OpenSSL's legacy provider, which must not be switched on for the whole engine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
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

/**
 * Resolves with the port the embedded S3 listens on, once it reports it (local-s3-guard.cjs sends
 * {"listening": {"port"}} over the IPC channel). Only this message counts as up: an HTTP probe could be
 * answered by another process on that port, such as an embedded S3 left by an earlier s3batch.
 */
function listeningPort(
  child: ChildProcess,
  wanted: { host: string; port: number },
  output: () => string,
  timeoutMs: number,
): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('close', onClose);
      child.off('error', onError);
    };
    const onMessage = (message: unknown): void => {
      const port = (message as { listening?: { port?: unknown } } | null)?.listening?.port;
      if (typeof port !== 'number') return;
      done();
      resolvePort(port);
    };
    const onClose = (code: number | null, signal: NodeJS.Signals | null): void => {
      done();
      const printed = output();
      reject(
        /EADDRINUSE/.test(printed)
          ? new S3BatchError(
              'InvalidConfiguration',
              `Port ${wanted.port} on ${wanted.host} is already in use (perhaps by an embedded S3 that an earlier ` +
                's3batch left running): choose another with --local-s3-port or S3BATCH_LOCAL_S3_PORT, or leave it ' +
                'unset for any free port',
            )
          : new S3BatchError(
              'InvalidConfiguration',
              `The embedded S3 server exited (${signal ?? `code ${code}`}): ${printed.slice(-2000)}`,
            ),
      );
    };
    const onError = (err: Error): void => {
      done();
      child.kill('SIGKILL');
      reject(new S3BatchError('InvalidConfiguration', `The embedded S3 server did not start: ${err.message}`));
    };
    const timer = setTimeout(() => {
      done();
      child.kill('SIGKILL');
      reject(
        new S3BatchError(
          'InvalidConfiguration',
          `The embedded S3 server did not listen within ${timeoutMs} ms: ${output().slice(-2000)}`,
        ),
      );
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('close', onClose);
    child.once('error', onError);
  });
}

export async function startLocalS3(options: {
  directory: string;
  /** The key pair's file; made on first use. */
  keysFile: string;
  host?: string;
  port?: number;
}): Promise<LocalS3> {
  const host = options.host ?? '127.0.0.1';
  // 0: the embedded S3 listens on a port the OS picks and reports it (no port probed here and then
  // taken by another process before the embedded S3 binds it).
  const wantedPort = options.port ?? 0;
  await mkdir(options.directory, { recursive: true });
  const keys = await loadOrCreateLocalS3Keys(options.keysFile);
  // s3rver's command line behind a guard that keeps every file it touches inside options.directory
  // (local-s3-guard.cjs, copied next to this module by the build)
  const bin = fileURLToPath(new URL('./local-s3-guard.cjs', import.meta.url));
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', bin, '-d', options.directory, '-a', host, '-p', String(wantedPort), '-s'],
    {
      // The IPC channel: the guard reports its port on it and exits when it closes, which the kernel does
      // when this process dies, even by SIGKILL (local-s3-guard.cjs): the embedded S3 never outlives it.
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
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
  const port = await listeningPort(child, { host, port: wantedPort }, () => out, 15_000);
  // The channel stays open (its end stops the embedded S3) but does not keep this process alive.
  child.channel?.unref();
  const endpoint = `http://${host}:${port}`;
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
