/**
 * A real Redis for the scale-out mode's tests: Debian's `redis-server` (scripts/ensure-test-deps.sh
 * installs it), one per caller, in its own temporary folder, with `appendonly yes` (AOF fsync every
 * second, as docs/deployment.md asks of production) and `maxmemory-policy noeviction` (BullMQ's
 * requirement). The port is a free one the OS picked; `restart()` starts it again on the same port
 * and folder, so it reloads its AOF, as after a crash.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const REDIS_SERVER_BIN = '/usr/bin/redis-server';

export interface TestRedis {
  /** `redis://127.0.0.1:<port>/0` */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Stops the server as a crash would (SIGKILL): what the AOF held survives a restart. */
  kill(): Promise<void>;
  /** Starts it again on the same port and folder (after kill() or stop()). */
  restart(): Promise<void>;
  /** Stops it and removes its folder. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.setTimeout(500);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      answer += d.toString();
      if (answer.includes('\r\n')) {
        socket.destroy();
        resolve(answer.startsWith('+PONG'));
      }
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(false));
  });
}

function launch(port: number, dir: string): ChildProcess {
  const child = spawn(
    REDIS_SERVER_BIN,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--maxmemory-policy',
      'noeviction',
      '--save',
      '',
      '--daemonize',
      'no',
      '--logfile',
      path.join(dir, 'redis.log'),
    ],
    { stdio: 'ignore' },
  );
  child.unref();
  return child;
}

async function waitReady(child: ChildProcess, port: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} on port ${port}`);
    if (await ping(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not answer on port ${port} within 15 s`);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts a Redis of its own for the caller; call stop() in afterAll. */
export async function startRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 's3batch-redis-'));
  let child: ChildProcess | undefined;
  let port = 0;
  // A port another process takes between freePort() and redis' bind makes redis exit: try again.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    child = launch(port, dir);
    try {
      await waitReady(child, port);
      break;
    } catch (err) {
      if (attempt >= 4) throw err;
    }
  }
  const kill = async (): Promise<void> => {
    if (!child) return;
    const c = child;
    child = undefined;
    c.kill('SIGKILL');
    await exited(c);
  };
  process.once('exit', () => child?.kill('SIGKILL'));
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    dir,
    kill,
    async restart() {
      await kill();
      child = launch(port, dir);
      await waitReady(child, port);
    },
    async stop() {
      if (child) {
        const c = child;
        child = undefined;
        c.kill('SIGTERM');
        await exited(c);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
