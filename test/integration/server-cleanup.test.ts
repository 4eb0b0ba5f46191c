/**
 * startServer's one cleanup path (src/server/releasers.ts): a start that fails part-way releases
 * everything it made, the same way close() does. Each case runs startServer in a child process
 * (test/helpers/start-server-once.ts) that must then end by itself: nothing left running keeps
 * it alive, no socket or server is left open, and the embedded S3's port refuses connections.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/s3-servers.ts';
import { tempDataDir } from '../helpers/server-process.ts';

const CHILD = path.join(REPO_ROOT, 'test', 'helpers', 'start-server-once.ts');

interface ChildRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The JSON lines the child printed. */
  readonly lines: Record<string, unknown>[];
  readonly stderr: string;
}

/** Runs the child to its end; kills it (and the test fails on its exit) if it is still alive after 60 s. */
function runChild(flags: Record<string, unknown>): Promise<ChildRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(flags)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(killer);
      const lines = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, signal, lines, stderr });
    });
  });
}

function listening(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : 0);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A port nothing listens on now (the embedded S3 gets it). */
async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listening(server);
  await close(server);
  return port;
}

/** Resolves with the connection's outcome: 'refused' or 'connected'. */
function probe(port: number): Promise<'refused' | 'connected' | string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'ECONNREFUSED' ? 'refused' : (err.code ?? 'error')),
    );
  });
}

const blockers: Server[] = [];
afterEach(async () => {
  for (const b of blockers.splice(0)) await close(b);
});

describe('a failed start leaves nothing running', () => {
  it('a port already in use: InvalidConfiguration, every resource released, the embedded S3 stopped', async () => {
    const blocker = createServer();
    blockers.push(blocker);
    const port = await listening(blocker);
    const localS3Port = await freePort();
    const dataDir = tempDataDir('s3batch-cleanup-');
    const run = await runChild({ local: true, port, localS3Port, dataDir, logLevel: 'warn' });
    expect(run.signal, `the child had to be killed: something kept it alive\n${run.stderr}`).toBeNull();
    expect(run.code, run.stderr).toBe(0);
    expect(run.lines[0]).toEqual({
      code: 'InvalidConfiguration',
      message: `Port ${port} on 127.0.0.1 is already in use: choose another with --port or S3BATCH_PORT`,
    });
    expect(run.lines[1]).toEqual({ left: [] });
    // It got as far as the embedded S3 and the demo bucket, and stopped it.
    expect(existsSync(path.join(dataDir, 'local-s3', 's3batch-demo'))).toBe(true);
    expect(await probe(localS3Port)).toBe('refused');
  });

  it('an early throw after the embedded S3 started (bad storage profiles file): the embedded S3 stopped', async () => {
    const localS3Port = await freePort();
    const dataDir = tempDataDir('s3batch-cleanup-');
    const profiles = path.join(dataDir, 'profiles.json');
    writeFileSync(profiles, '{ not json');
    const run = await runChild({ local: true, port: 0, localS3Port, dataDir, storageProfilesFile: profiles });
    expect(run.signal, `the child had to be killed: something kept it alive\n${run.stderr}`).toBeNull();
    expect(run.code, run.stderr).toBe(0);
    expect(run.lines[0]).toMatchObject({
      code: 'InvalidConfiguration',
      message: expect.stringContaining(`Storage profiles ${profiles}`),
    });
    expect(run.lines[1]).toEqual({ left: [] });
    expect(existsSync(path.join(dataDir, 'local-s3'))).toBe(true); // the embedded S3 had started
    expect(await probe(localS3Port)).toBe('refused');
  });

  it('close() after a start that succeeded releases the same way', async () => {
    const localS3Port = await freePort();
    const run = await runChild({ local: true, port: 0, localS3Port, dataDir: tempDataDir('s3batch-cleanup-') });
    expect(run.signal, `the child had to be killed: something kept it alive\n${run.stderr}`).toBeNull();
    expect(run.code, run.stderr).toBe(0);
    expect(run.lines[0]).toEqual({ started: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
    expect(run.lines[1]).toEqual({ left: [] });
    expect(await probe(localS3Port)).toBe('refused');
  });
});
