// `s3batch serve --local` crashing: its embedded S3 (the s3rver child behind local-s3-guard.cjs) exits
// with it, found by pid in /proc rather than by port, and the next start on the same data folder works,
// with or without an embedded S3 left running there by an earlier s3batch, and keeps the objects.
// Linux only (/proc). Every process killed here is one this file started.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { makeS3Client, REPO_ROOT } from '../helpers/s3-servers.ts';
import {
  embeddedS3Client,
  embeddedS3Keys,
  type ServerProcess,
  startServerProcess,
  tempDataDir,
} from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';

const GUARD = path.join(REPO_ROOT, 'dist', 'storage', 'local-s3-guard.cjs');
const EXIT_WITH_PARENT = path.join(REPO_ROOT, 'test', 'helpers', 'exit-with-parent.cjs');
const BUCKET = 's3batch-demo';

/** A process as /proc shows it: its parent, its state (Z: exited, not yet reaped) and its start time. */
interface ProcStat {
  readonly ppid: number;
  readonly state: string;
  readonly start: string;
}

function procStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: the fields after it from its last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, ppid: Number(fields[1]), start: fields[19]! };
  } catch {
    return undefined;
  }
}

/** The embedded S3 processes whose parent is `parent`. */
function embeddedS3Children(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || procStat(Number(entry))?.ppid !== parent) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('local-s3-guard.cjs')) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** A running process, recognised by its pid and start time (a pid can be reused once it has exited). */
interface Running {
  readonly pid: number;
  readonly start: string;
}

function running(pid: number): Running {
  const stat = procStat(pid);
  if (!stat) throw new Error(`process ${pid} is not running`);
  return { pid, start: stat.start };
}

/** Whether that process still runs (a zombie has exited: nothing reaps orphans on some hosts). */
function alive(p: Running): boolean {
  const stat = procStat(p.pid);
  return stat !== undefined && stat.start === p.start && stat.state !== 'Z';
}

/** The one embedded S3 of a `--local` server. */
function embeddedS3Of(server: ServerProcess): Running {
  const pids = embeddedS3Children(server.child.pid!);
  expect(pids, server.output()).toHaveLength(1);
  return running(pids[0]!);
}

async function put(server: ServerProcess, key: string, body: string): Promise<void> {
  await embeddedS3Client(server).send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

async function get(server: ServerProcess, key: string): Promise<string> {
  const got = await embeddedS3Client(server).send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return got.Body!.transformToString();
}

/**
 * An embedded S3 that nothing stops, as an s3batch without the IPC watch left behind: the guard started by
 * hand on the data folder, with no channel to any server. It exits with this test process (EXIT_WITH_PARENT).
 */
async function startOrphan(dataDir: string): Promise<{ child: ChildProcess; endpoint: string }> {
  const child = spawn(
    process.execPath,
    [
      '--openssl-legacy-provider',
      '--require',
      EXIT_WITH_PARENT,
      GUARD,
      '-d',
      path.join(dataDir, 'local-s3'),
      '-a',
      '127.0.0.1',
      '-p',
      '0',
      '-s',
    ],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, S3BATCH_LOCAL_S3_KEYS_FILE: path.join(dataDir, 'local-s3-keys.json') },
    },
  );
  started.push(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (out += t));
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (out += t));
  await until(() => /listening on/.test(out) || child.exitCode !== null, 'the orphan to listen', {
    timeoutMs: 15_000,
    everyMs: 20,
  });
  const m = /S3rver listening on ([\d.]+):(\d+)/.exec(out);
  if (!m) throw new Error(`the orphan did not start:\n${out}`);
  return { child, endpoint: `http://${m[1]}:${m[2]}` };
}

const started: ChildProcess[] = [];
const servers: ServerProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.kill('SIGKILL');
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function serve(dataDir: string, args: string[] = []): Promise<ServerProcess> {
  const server = await startServerProcess({ dataDir, args });
  servers.push(server);
  return server;
}

const GONE = { timeoutMs: 10_000, everyMs: 50 };

describe('serve --local killed by SIGKILL', () => {
  it('its embedded S3 exits, and a restart on the same data folder serves the objects written before', async () => {
    const dataDir = tempDataDir('s3batch-crash-');
    dirs.push(dataDir);
    const first = await serve(dataDir);
    const firstS3 = embeddedS3Of(first);
    await put(first, 'before-the-crash.txt', 'written before the crash');

    await first.kill('SIGKILL');
    await until(() => !alive(firstS3), `the embedded S3 (pid ${firstS3.pid}) to exit`, GONE);

    const second = await serve(dataDir);
    const secondS3 = embeddedS3Of(second);
    expect(await get(second, 'before-the-crash.txt')).toBe('written before the crash');

    // SIGTERM stays a clean stop: exit code 0, and the embedded S3 stopped with it.
    await second.kill('SIGTERM');
    expect(second.child.exitCode, second.output()).toBe(0);
    await until(() => !alive(secondS3), `the embedded S3 (pid ${secondS3.pid}) to exit`, GONE);
  });

  it('three crashes in a row leave no embedded S3 behind', async () => {
    const dataDir = tempDataDir('s3batch-crash-');
    dirs.push(dataDir);
    for (let round = 0; round < 3; round++) {
      const server = await serve(dataDir);
      const s3 = embeddedS3Of(server);
      await put(server, `round-${round}.txt`, `round ${round}`);
      await server.kill('SIGKILL');
      await until(() => !alive(s3), `the embedded S3 of round ${round} (pid ${s3.pid}) to exit`, GONE);
    }
    const last = await serve(dataDir);
    for (let round = 0; round < 3; round++) expect(await get(last, `round-${round}.txt`)).toBe(`round ${round}`);
  });
});

describe('a start while an earlier embedded S3 still runs on the data folder', () => {
  it('starts on another port, serves the same objects, and leaves the other process alone', async () => {
    const dataDir = tempDataDir('s3batch-orphan-');
    dirs.push(dataDir);
    const first = await serve(dataDir);
    await put(first, 'before.txt', 'written before');
    await first.kill('SIGTERM');

    const orphan = await startOrphan(dataDir);
    const orphanProcess = running(orphan.child.pid!);
    const server = await serve(dataDir);
    expect(server.s3Endpoint).not.toBe(orphan.endpoint);
    expect(await get(server, 'before.txt')).toBe('written before');
    await put(server, 'after.txt', 'written after');
    expect(await get(server, 'after.txt')).toBe('written after');
    // One folder, two readers: the earlier process sees the new object whole too.
    const viaOrphan = makeS3Client({
      name: 's3rver',
      endpoint: orphan.endpoint,
      region: 'us-east-1',
      ...embeddedS3Keys(server),
    });
    const got = await viaOrphan.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'after.txt' }));
    expect(await got.Body!.transformToString()).toBe('written after');

    // Its own embedded S3 goes with it; the one it did not start is not its to stop.
    const ownS3 = embeddedS3Of(server);
    await server.kill('SIGKILL');
    await until(() => !alive(ownS3), `the embedded S3 (pid ${ownS3.pid}) to exit`, GONE);
    expect(alive(orphanProcess)).toBe(true);
  });

  it('with --local-s3-port set to the port that process holds: a clear refusal, not that process adopted', async () => {
    const dataDir = tempDataDir('s3batch-orphan-');
    dirs.push(dataDir);
    const first = await serve(dataDir);
    await first.kill('SIGTERM');
    const orphan = await startOrphan(dataDir);
    const port = new URL(orphan.endpoint).port;

    await expect(serve(dataDir, ['--local-s3-port', port])).rejects.toThrow(
      `Port ${port} on 127.0.0.1 is already in use (perhaps by an embedded S3 that an earlier s3batch left running)`,
    );
  });
});
