/**
 * The package as users get it: `npm pack` (its prepack builds dist/ from a clean folder), the
 * tarball's contents (what users need, no tests or sources), `npm install -g --prefix <tmp>` of
 * it (dependencies from the npm registry, the local npm cache first), then the installed
 * `s3batch --help` and `s3batch serve --local` through one finished job whose report is in the
 * embedded S3.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobRequest, putManifest, readReport } from '../helpers/jobs.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { putObjects, REPO_ROOT } from '../helpers/s3-servers.ts';
import { embeddedS3Client, startServerProcess, tempDataDir, type ServerProcess } from '../helpers/server-process.ts';

const INSTALL_TIMEOUT_MS = 300_000;

/** Runs a command to its end (async: the test runner stays responsive); rejects on a non-zero exit. */
function run(command: string, args: readonly string[], cwd: string, timeoutMs = INSTALL_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')} ended with ${code ?? signal}:\n${out}`));
    });
  });
}

let work: string;
let tarball: string;
let prefix: string;
let server: ServerProcess | undefined;

beforeAll(async () => {
  work = tempDataDir('s3batch-package-');
  await run('npm', ['pack', '--pack-destination', work], REPO_ROOT);
  const packed = readdirSync(work).filter((f) => f.endsWith('.tgz'));
  expect(packed).toHaveLength(1);
  tarball = path.join(work, packed[0]!);
  prefix = path.join(work, 'prefix');
  await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], work);
}, INSTALL_TIMEOUT_MS * 2);

afterAll(async () => {
  await server?.kill('SIGTERM');
});

describe('the npm package', () => {
  it('holds bin/, the compiled dist/ with the web page, and the README; no sources, tests or build state', () => {
    const r = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const files = r.stdout.split('\n').filter((f) => f !== '');
    for (const f of [
      'package/package.json',
      'package/README.md',
      'package/bin/s3batch.mjs',
      'package/dist/cli/main.js',
      'package/dist/main.js',
      'package/dist/web/index.html',
      'package/dist/web/app.js',
    ]) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => !/^package\/(dist|bin)\//.test(f)).sort()).toEqual([
      'package/README.md',
      'package/package.json',
    ]);
    expect(files.filter((f) => f.endsWith('.ts') || f.includes('.tsbuildinfo') || f.includes('.build-stamp'))).toEqual(
      [],
    );
  });

  it('installs with npm install -g; the installed s3batch --help prints the usage', () => {
    const bin = path.join(prefix, 'bin', 's3batch');
    expect(existsSync(bin)).toBe(true);
    // Started as a user's shell starts it: the file itself, its #!/usr/bin/env node line.
    const r = spawnSync(bin, ['--help'], { cwd: work, encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Usage: s3batch');
    expect(r.stdout).toMatch(/^\s+serve /m);
    expect(r.stdout).toMatch(/^\s+create-job /m);
    // No TypeScript in the installed package: nothing for tsx to load.
    expect(existsSync(path.join(prefix, 'lib', 'node_modules', 's3batch', 'src'))).toBe(false);
  });

  it('the installed s3batch serve --local runs a job to Complete and writes its report', async () => {
    server = await startServerProcess({
      bin: path.join(prefix, 'bin', 's3batch'),
      dataDir: tempDataDir('s3batch-package-data-'),
    });
    expect(server.s3Endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const local = embeddedS3Client(server);
    try {
      await putObjects(local, 's3batch-demo', ['package/1.txt', 'package/2.txt']);
      const m = await putManifest(local, 's3batch-demo', 'package-manifest.csv', [
        { bucket: 's3batch-demo', key: 'package/1.txt' },
        { bucket: 's3batch-demo', key: 'package/2.txt' },
      ]);
      const api = new JsonApi(server.url);
      const { JobId } = await api.createJob(
        jobRequest({
          manifestBucket: 's3batch-demo',
          manifestKey: 'package-manifest.csv',
          etag: m.etag,
          operation: { S3PutObjectTagging: { TagSet: [{ Key: 'installed', Value: 'yes' }] } },
          reportBucket: 's3batch-demo',
          reportPrefix: 'reports',
          confirmationRequired: false,
        }),
      );
      const done = await api.waitFor(JobId, 'Complete');
      expect(done.Job.ProgressSummary.NumberOfTasksSucceeded).toBe(2);
      const report = await readReport(local, 's3batch-demo', 'reports', JobId);
      expect(report.rows.map((r) => r[3])).toEqual(['succeeded', 'succeeded']);
      // The web page's static files come from the installed dist/web/.
      const page = await fetch(`${server.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html');
    } finally {
      local.destroy();
    }
  });
});
