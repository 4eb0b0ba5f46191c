/** The s3batch command as a subprocess: help, and bad arguments are clear errors with exit code 2. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/s3-servers.ts';
import { tempDataDir } from '../helpers/server-process.ts';

const BIN = path.join(REPO_ROOT, 'bin', 's3batch.mjs');
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: tempDataDir('s3batch-cli-'),
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('s3batch CLI', () => {
  it('serve --help documents every flag with its env variable and examples', () => {
    const r = run('serve', '--help');
    expect(r.code).toBe(0);
    for (const flag of [
      '--local',
      '--port',
      '--data-dir',
      '--endpoint',
      '--access-key-id',
      '--job-concurrency',
      '--chunk-size',
      '--log-level',
      '--log-format',
    ]) {
      expect(r.out).toContain(flag);
    }
    expect(r.out).toContain('S3BATCH_S3_ENDPOINT');
    expect(r.out).toContain('S3BATCH_LOG_FORMAT');
    expect(r.out).toContain('Examples:');
  });

  it.each([
    [['serve', '--port', 'abc'], /S3BATCH_PORT/],
    [['serve', '--endpoint', 'ftp://x'], /http:\/\/ or https:\/\//],
    [['serve', '--local', '--endpoint', 'http://127.0.0.1:1'], /--local/],
    [['serve', '--access-key-id', 'only-the-id'], /secret/],
    [['serve', '--log-level', 'loud'], /S3BATCH_LOG_LEVEL/],
    [['serve', '--log-format', 'yaml'], /S3BATCH_LOG_FORMAT.*json or pretty/],
    [['no-such-command'], /unknown command/],
    // fetch (the JSON API calls: the key's account, report downloads) refuses some ports outright.
    [
      [
        'list-jobs',
        '--endpoint-url',
        'http://127.0.0.1:6000',
        '--access-key-id',
        'AKIDEXAMPLE',
        '--secret-access-key',
        'secret-key-000000000001',
      ],
      /EndpointPortBlocked: .*port 6000/,
    ],
  ])('%j exits 2 with a clear message', (args, message) => {
    const r = run(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/\n\s+at /); // no stack trace for a user error
  });
});
