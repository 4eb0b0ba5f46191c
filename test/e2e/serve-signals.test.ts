// `s3batch serve --local` and signals, as a user's process manager sends them: the embedded S3 (a
// child process) never outlives the server, whether the server is SIGKILLed while running or gets
// SIGTERM while it is still starting.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/s3-servers.ts';
import { startServerProcess, tempDataDir } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';

const BIN = path.join(REPO_ROOT, 'bin', 's3batch.mjs');
const EXIT_WHEN_ORPHANED = path.join(REPO_ROOT, 'test', 'helpers', 'exit-when-orphaned.cjs');

/** Pids of live processes whose command line mentions `text` (here: a test's own data folder). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Whether something accepts connections on the endpoint's port. */
function accepts(endpoint: string): Promise<boolean> {
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) {
    for (const pid of processesMentioning(dir)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('serve --local and signals', () => {
  it('SIGKILL of the server: the embedded S3 exits too', async () => {
    const dataDir = tempDataDir('s3batch-signals-');
    dirs.push(dataDir);
    const server = await startServerProcess({ dataDir });
    const s3 = server.s3Endpoint!;
    expect(await accepts(s3)).toBe(true);
    expect(processesMentioning(dataDir).length).toBe(2); // the server and its embedded S3

    await server.kill('SIGKILL');
    const deadline = Date.now() + 10_000;
    while ((await accepts(s3)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await accepts(s3)).toBe(false);
    await until(() => processesMentioning(dataDir).length === 0, 'no process of the data folder left');
  });

  it('SIGTERM while the server starts: it stops cleanly (exit 0) and leaves no embedded S3', async () => {
    const dataDir = tempDataDir('s3batch-signals-');
    dirs.push(dataDir);
    const child = spawn(
      process.execPath,
      ['--require', EXIT_WHEN_ORPHANED, BIN, 'serve', '--local', '--port', '0', '--data-dir', dataDir],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, S3BATCH_LOG_LEVEL: 'warn' } },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (out += t));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    // The embedded S3's folder exists: startServer is running, the port is not listening yet.
    await until(() => existsSync(path.join(dataDir, 'local-s3')), 'the embedded S3 to start', { timeoutMs: 30_000 });
    expect(out).not.toMatch(/listening on/);
    child.kill('SIGTERM');

    expect(await exited, out).toBe(0);
    expect(out).toMatch(/SIGTERM: stopping/);
    await until(() => processesMentioning(dataDir).length === 0, 'no process of the data folder left');
  });
});
