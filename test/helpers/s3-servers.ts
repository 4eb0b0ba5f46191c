// Real S3 servers for the integration tests, and small helpers to use them.
//
// - Ceph RGW: a throw-away single-node cluster (scripts/ceph/start-ceph.sh), the production S3 implementation.
// - s3rver: the embedded S3 emulator, always as a child process with --openssl-legacy-provider (its
//   ListObjectsV2 continuation tokens are DES-encrypted: 500 on Node >= 17 without it).
//
// test/setup/global-setup.ts starts both once per integration run and provides their connection info
// (see ./provided.ts: inject('ceph') / inject('s3rver'), requireCeph()).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

/** Plain, serialisable connection info of an S3 server (what the global setup provides to tests). */
export interface S3ServerInfo {
  name: 'ceph' | 's3rver';
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

/** A running S3 server started by this module. */
export interface S3Server extends S3ServerInfo {
  /** Wall-clock milliseconds from spawn to answering HTTP. */
  startupMs: number;
  /** Stops the server and waits until its processes are gone. Idempotent. */
  stop(): Promise<void>;
}

export interface StartCephOptions {
  /** Cluster dir, wiped on start. Default: <repo>/tmp/ceph (or env CEPH_DIR). */
  cephDir?: string;
  /** Default: env RGW_PORT or 17480. */
  rgwPort?: number;
  /** Default: env MON_PORT or 13300. */
  monPort?: number;
  /** First port of the OSD messenger range (100 ports). Default: env PORT_MIN or 16800. */
  portMin?: number;
  /**
   * If the RGW/MON port is held by a process that is not a leftover of this cluster, pick a free port
   * instead of failing. Default: true unless rgwPort/monPort are given.
   */
  autoPorts?: boolean;
  /** Extra storage classes to register; undefined = the script's default list, [] = none (saves ~0.5 s). */
  storageClasses?: string[];
  /** Give up after this long. Default 120 s. */
  timeoutMs?: number;
}

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CEPH_SCRIPTS = path.join(REPO_ROOT, 'scripts', 'ceph');
const EXIT_WITH_PARENT = path.join(REPO_ROOT, 'test', 'helpers', 'exit-with-parent.cjs');
const REGION = 'us-east-1';
/** Exit code of start-ceph.sh when its dir belongs to another live test run. */
const EXIT_DIR_IN_USE = 3;

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n').trim();
}

/** True when a process with this pid exists (EPERM: it exists but is not ours). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function runCephScript(
  script: 'start-ceph.sh' | 'stop-ceph.sh',
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(CEPH_SCRIPTS, script), ...args], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n${script} did not finish in ${timeoutMs} ms: killed`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // 'close', not 'exit': all output read. The daemons write to their own log files, so they do not
    // hold these pipes open.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function stopCephSync(cephDir: string, wipe: boolean): void {
  spawnSync('bash', [path.join(CEPH_SCRIPTS, 'stop-ceph.sh'), '--kill', ...(wipe ? ['--wipe'] : [])], {
    env: { ...process.env, CEPH_DIR: cephDir },
    stdio: 'ignore',
    timeout: 30_000,
  });
}

/** Stops and removes the private cluster dirs (tmp/ceph-<pid>) of test runs that are gone. */
function reapStaleRunDirs(): void {
  const tmp = path.join(REPO_ROOT, 'tmp');
  if (!existsSync(tmp)) return;
  for (const entry of readdirSync(tmp)) {
    const m = /^ceph-(\d+)$/.exec(entry);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && !isAlive(pid)) stopCephSync(path.join(tmp, entry), true);
  }
}

/**
 * Starts a throw-away Ceph RGW (1 mon, 1 in-memory OSD, radosgw) on 127.0.0.1 through
 * scripts/ceph/start-ceph.sh, which first stops whatever a previous (killed) run left in the same dir.
 * Rejects with the script's diagnostics if it does not come up.
 */
export async function startCeph(opts: StartCephOptions = {}): Promise<S3Server> {
  const t0 = performance.now();
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const explicitPorts = opts.rgwPort !== undefined || opts.monPort !== undefined;
  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    OWNER_PID: String(process.pid),
    AUTO_PORTS: (opts.autoPorts ?? !explicitPorts) ? '1' : '0',
  };
  if (opts.rgwPort !== undefined) baseEnv.RGW_PORT = String(opts.rgwPort);
  if (opts.monPort !== undefined) baseEnv.MON_PORT = String(opts.monPort);
  if (opts.portMin !== undefined) baseEnv.PORT_MIN = String(opts.portMin);
  if (opts.storageClasses !== undefined) baseEnv.STORAGE_CLASSES = opts.storageClasses.join(' ');

  let cephDir = opts.cephDir ?? process.env.CEPH_DIR ?? path.join(REPO_ROOT, 'tmp', 'ceph');
  let privateDir = false;
  let res = await runCephScript('start-ceph.sh', [], { ...baseEnv, CEPH_DIR: cephDir }, timeoutMs);
  if (res.code === EXIT_DIR_IN_USE && opts.cephDir === undefined && process.env.CEPH_DIR === undefined) {
    // Another test run of this checkout is using tmp/ceph right now: run a cluster of our own beside it.
    reapStaleRunDirs();
    cephDir = path.join(REPO_ROOT, 'tmp', `ceph-${process.pid}`);
    privateDir = true;
    res = await runCephScript('start-ceph.sh', [], { ...baseEnv, CEPH_DIR: cephDir, AUTO_PORTS: '1' }, timeoutMs);
  }

  const ready = /^READY ([\d.]+)$/m.exec(res.stdout);
  const conn = /^S3_ENDPOINT=(\S+) S3_ACCESS_KEY=(\S+) S3_SECRET_KEY=(\S+)/m.exec(res.stdout);
  if (res.code !== 0 || !ready || !conn) {
    stopCephSync(cephDir, privateDir);
    const how = res.signal ? `signal ${res.signal}` : `exit code ${res.code}`;
    throw new Error(
      `scripts/ceph/start-ceph.sh failed (${how}, CEPH_DIR=${cephDir}):\n${tail(res.stderr)}\n${tail(res.stdout, 5)}`,
    );
  }

  // A watchdog in its own session holds a pipe from this process: when this process ends without
  // calling stop() (a crash, SIGKILL, process.exit) the pipe closes and the watchdog stops the daemons.
  // stop() closes the pipe itself and waits for the watchdog, so there is one stopper, never two at once.
  const watchdog = spawn(
    'bash',
    [
      '-c',
      'trap "" INT HUP TERM; cat >/dev/null; exec bash "$0" --kill "$@"',
      path.join(CEPH_SCRIPTS, 'stop-ceph.sh'),
      ...(privateDir ? ['--wipe'] : []),
    ],
    { cwd: REPO_ROOT, env: { ...process.env, CEPH_DIR: cephDir }, stdio: ['pipe', 'ignore', 'ignore'], detached: true },
  );
  const watchdogDone = new Promise<boolean>((resolve) => {
    watchdog.on('exit', (code) => resolve(code === 0));
    watchdog.on('error', () => resolve(false));
  });
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void }).unref?.();

  let stopping: Promise<void> | undefined;
  return {
    name: 'ceph',
    endpoint: conn[1]!,
    accessKeyId: conn[2]!,
    secretAccessKey: conn[3]!,
    region: REGION,
    startupMs: Math.round(performance.now() - t0),
    stop() {
      stopping ??= (async () => {
        watchdog.stdin.end();
        const timer = setTimeout(() => watchdog.kill('SIGKILL'), 60_000);
        const ok = await watchdogDone;
        clearTimeout(timer);
        if (ok) return;
        const r = await runCephScript(
          'stop-ceph.sh',
          ['--kill', ...(privateDir ? ['--wipe'] : [])],
          { ...process.env, CEPH_DIR: cephDir },
          60_000,
        );
        if (r.code !== 0) throw new Error(`stop-ceph.sh failed (exit ${r.code}): ${tail(r.stderr)}`);
      })();
      return stopping;
    },
  };
}

/** Resolves when something answers HTTP on the endpoint (any status), rejects after timeoutMs. */
async function waitForHttp(endpoint: string, timeoutMs: number, alive: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = alive();
    if (dead) throw new Error(dead);
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get(endpoint, { timeout: 1000, agent: false }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing answers HTTP at ${endpoint} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts s3rver as a child process (`node --openssl-legacy-provider .../s3rver.js -d <dir> -a 127.0.0.1 -p <port> -s`)
 * that exits when this process does, even if stop() is never called.
 * port 0 (the default) lets the OS pick a free port; s3rver prints the one it got.
 * Keys: S3RVER / S3RVER (s3rver does not verify signatures).
 */
export async function startS3rver(dir: string, port = 0): Promise<S3Server> {
  const t0 = performance.now();
  mkdirSync(dir, { recursive: true });
  const require = createRequire(import.meta.url);
  const bin = path.join(path.dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--openssl-legacy-provider',
      '--require',
      EXIT_WITH_PARENT,
      bin,
      '-d',
      dir,
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '-s',
    ],
    // stdin: a pipe that only closes when this process ends (see exit-with-parent.cjs)
    { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  let exited: string | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = `s3rver exited (${signal ?? `code ${code}`})`;
      resolve();
    });
  });
  child.on('error', (e) => (exited = `s3rver could not be spawned: ${e.message}`));
  // keep draining (a full pipe would block the child), keep only the tail for diagnostics
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out = (out + d).slice(-8192)));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-8192)));

  const fail = (msg: string): never => {
    child.kill('SIGKILL');
    throw new Error(`s3rver did not start: ${msg}\nstdout: ${tail(out, 10)}\nstderr: ${tail(err, 20)}`);
  };

  // "S3rver listening on 127.0.0.1:PORT" (printed even with -s)
  const deadline = Date.now() + 30_000;
  let listenPort: number | undefined;
  while (listenPort === undefined) {
    const m = /S3rver listening on [^\s:]+:(\d+)/.exec(out);
    if (m) listenPort = Number(m[1]);
    else if (exited) fail(exited);
    else if (Date.now() > deadline) fail('no "S3rver listening on" line in 30 s');
    else await new Promise((r) => setTimeout(r, 20));
  }
  const endpoint = `http://127.0.0.1:${listenPort}`;
  try {
    await waitForHttp(endpoint, 15_000, () => exited);
  } catch (e) {
    fail((e as Error).message);
  }
  // A test that forgets stop() must not keep the run alive; the child still exits with this process.
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  (child.stderr as unknown as { unref?: () => void }).unref?.();

  let stopping: Promise<void> | undefined;
  return {
    name: 's3rver',
    endpoint,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    region: REGION,
    startupMs: Math.round(performance.now() - t0),
    stop() {
      stopping ??= (async () => {
        if (exited) return;
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exitPromise;
        clearTimeout(t);
      })();
      return stopping;
    },
  };
}

/** An S3 client for a test server: path-style, checksums only when required (see the README of the servers). */
export function makeS3Client(server: S3ServerInfo): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    forcePathStyle: true,
    // SDK defaults send streamed bodies aws-chunked: RGW answers 411, s3rver stores the chunk framing.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** A unique, valid bucket name `<prefix>-<12 hex>` (prefix lower-cased, cleaned, at most 40 chars). */
export function uniqueBucketName(prefix = 't'): string {
  let p = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  if (!/^[a-z0-9]/.test(p)) p = `t${p}`.slice(0, 40);
  return `${p}-${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}

/** Creates a bucket with a unique name (see uniqueBucketName) and returns the name. */
export async function createTestBucket(client: S3Client, prefix = 't'): Promise<string> {
  const bucket = uniqueBucketName(prefix);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

export type ObjectBody = string | Uint8Array;

/**
 * Uploads the keys with at most `concurrency` requests in flight. The body defaults to the key itself;
 * a function gives each key its own body.
 */
export async function putObjects(
  client: S3Client,
  bucket: string,
  keys: string[],
  body?: ObjectBody | ((key: string) => ObjectBody),
  concurrency = 32,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++]!;
      const b = body === undefined ? key : typeof body === 'function' ? body(key) : body;
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: b }));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, keys.length)) }, worker));
}
