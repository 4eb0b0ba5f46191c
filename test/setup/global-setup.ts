// Global setup of the `integration` vitest project: starts the real S3 servers ONCE for the whole run
// and provides their plain connection info to the tests (see test/helpers/provided.ts):
//   inject('ceph')   Ceph RGW (scripts/ceph/start-ceph.sh), or null if it could not start outside CI
//   inject('s3rver') s3rver as a child process, data under tmp/s3rver/<pid>/
// Before that, src/ is compiled to dist/ if it changed (scripts/build.mjs --if-stale).
// Ceph that cannot start is a failure under CI=true (never a silent skip); outside CI it is a loud
// warning, and every test that needs Ceph fails with "Ceph RGW is not available: <reason>".
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import type {} from '../helpers/provided.ts'; // the ProvidedContext declarations
import { isAlive, REPO_ROOT, startCeph, startS3rver, type S3Server, type S3ServerInfo } from '../helpers/s3-servers.ts';

function info(s: S3Server): S3ServerInfo {
  return {
    name: s.name,
    endpoint: s.endpoint,
    accessKeyId: s.accessKeyId,
    secretAccessKey: s.secretAccessKey,
    region: s.region,
  };
}

/** tmp/s3rver/<pid>: this run's s3rver data; dirs of runs that are gone are removed. */
function s3rverDir(): string {
  const base = path.join(REPO_ROOT, 'tmp', 's3rver');
  if (existsSync(base)) {
    for (const entry of readdirSync(base)) {
      const pid = /^\d+$/.test(entry) ? Number(entry) : NaN;
      if (Number.isNaN(pid) || pid === process.pid || !isAlive(pid)) {
        rmSync(path.join(base, entry), { recursive: true, force: true });
      }
    }
  }
  return path.join(base, String(process.pid));
}

function warn(lines: string[]): void {
  const bar = '!'.repeat(100);
  console.warn(['', bar, ...lines.map((l) => `!!! ${l}`), bar, ''].join('\n'));
}

/**
 * S3BATCH_TEST_CEPH=<endpoint>,<accessKey>,<secretKey> reuses a Ceph RGW that is already running
 * (for example one started by hand with scripts/ceph/start-ceph.sh) instead of starting one: several
 * test runs on one machine can then share a cluster. It is not stopped at the end.
 */
function externalCeph(): S3Server | undefined {
  const spec = process.env.S3BATCH_TEST_CEPH;
  if (spec === undefined || spec === '') return undefined;
  const [endpoint, accessKeyId, secretAccessKey] = spec.split(',');
  if (!endpoint || !accessKeyId || !secretAccessKey)
    throw new Error('S3BATCH_TEST_CEPH must be <endpoint>,<accessKey>,<secretKey>');
  return {
    name: 'ceph',
    endpoint,
    accessKeyId,
    secretAccessKey,
    region: 'us-east-1',
    startupMs: 0,
    stop: async () => {},
  };
}

export default async function setup({ provide }: TestProject): Promise<() => Promise<void>> {
  // The e2e tests spawn bin/s3batch.mjs, which runs dist/: compile src/ first when it changed since
  // (scripts/test.sh does it too; this covers `npx vitest run test/e2e/…`).
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'build.mjs'), '--if-stale'], { stdio: 'inherit' });
  const dir = s3rverDir();
  const external = externalCeph();
  const [cephRes, s3rverRes] = await Promise.allSettled([
    external ? Promise.resolve(external) : startCeph(),
    startS3rver(dir),
  ]);

  const started: S3Server[] = [];
  if (cephRes.status === 'fulfilled') started.push(cephRes.value);
  if (s3rverRes.status === 'fulfilled') started.push(s3rverRes.value);
  const teardown = async () => {
    const results = await Promise.allSettled(started.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length)
      throw new AggregateError(
        failed.map((f) => f.reason),
        'stopping the test S3 servers failed',
      );
  };

  if (s3rverRes.status === 'rejected') {
    await teardown();
    throw s3rverRes.reason;
  }
  const s3rver = s3rverRes.value;
  provide('s3rver', info(s3rver));

  if (cephRes.status === 'fulfilled') {
    const ceph = cephRes.value;
    provide('ceph', info(ceph));
    provide('cephUnavailableReason', null);
    console.log(
      `[global-setup] Ceph RGW ${ceph.endpoint} ready in ${(ceph.startupMs / 1000).toFixed(2)} s; ` +
        `s3rver ${s3rver.endpoint} ready in ${(s3rver.startupMs / 1000).toFixed(2)} s`,
    );
  } else {
    const reason = cephRes.reason instanceof Error ? cephRes.reason.message : String(cephRes.reason);
    if (process.env.CI === 'true') {
      await teardown();
      throw new Error(`Ceph RGW could not start, and under CI that is a failure:\n${reason}`, {
        cause: cephRes.reason,
      });
    }
    warn([
      'Ceph RGW could not start: every test that needs it will FAIL (they are not skipped).',
      'If its Debian packages are missing: bash scripts/ensure-test-deps.sh (as root), then re-run.',
      ...reason.split('\n'),
    ]);
    provide('ceph', null);
    provide('cephUnavailableReason', reason);
  }

  return teardown;
}
