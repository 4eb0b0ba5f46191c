/**
 * The scale-out mode's refusals and its behaviour when Redis goes away (docs/deployment.md#failures):
 * `serve` and `worker` as subprocesses, a real redis-server, Ceph RGW. A bad Redis URL and a Redis
 * that is down at start end the process at once with a message naming the URL (its password
 * hidden); a Redis lost mid-job for longer than the leader's lease makes the leader give up the
 * lead, and once Redis is back (from its AOF) the job completes with nothing lost.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli, shellEnv } from '../helpers/cli-process.ts';
import { JsonApi } from '../helpers/json-api.ts';
import {
  healthRole,
  objectsWithManifest,
  reportedKeys,
  taggingRequest,
  useScaleOutOnCeph,
} from '../helpers/scale-out.ts';
import { TEST_API_KEY } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';
import { s3Flags } from '../helpers/worker-process.ts';

const so = useScaleOutOnCeph(20);

function cliEnv(): NodeJS.ProcessEnv {
  const home = mkdtempSync(path.join(os.tmpdir(), 's3batch-so-errors-'));
  return {
    ...shellEnv(home),
    S3BATCH_API_ACCESS_KEY_ID: TEST_API_KEY.accessKeyId,
    S3BATCH_API_SECRET_ACCESS_KEY: TEST_API_KEY.secretAccessKey,
  };
}

async function run(args: string[]) {
  const env = cliEnv();
  return runCli(args, { cwd: env.HOME!, env, killAfterMs: 30_000 });
}

describe('scale-out: bad Redis settings', () => {
  for (const command of ['serve', 'worker'] as const) {
    const portFlag = command === 'serve' ? ['--port', '0'] : [];
    it(`${command}: a malformed --redis URL is refused at once, naming it without its password`, async () => {
      const r = await run([
        command,
        '--redis',
        'http://user:hunter2@redis.example:6379/0',
        ...portFlag,
        ...s3Flags(so.ceph),
      ]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/redis/i);
      expect(r.stderr).toContain('redis.example');
      expect(r.stderr).not.toContain('hunter2');
    });

    it(`${command}: a Redis that is down at start ends it with a clear error, not a hang`, async () => {
      const r = await run([command, '--redis', 'redis://127.0.0.1:1/0', ...portFlag, ...s3Flags(so.ceph)]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/cannot reach Redis/i);
      expect(r.stderr).toContain('127.0.0.1:1');
    });
  }

  it('serve: --local is refused with --redis (workers elsewhere could not reach the embedded S3)', async () => {
    const r = await run(['serve', '--local', '--redis', 'redis://127.0.0.1:1/0', '--port', '0']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--local');
  });
});

describe('scale-out: Redis lost mid-job', () => {
  it('the leader gives up the lead with a clear message; with Redis back, a new serve completes the job', async () => {
    const d = await so.deployment();
    const api = new JsonApi(d.serves[0]!.url);
    const src = await objectsWithManifest(so.s3, 'so-lost', 160);
    const { JobId } = await api.createJob(
      taggingRequest(src, 'v', { Tags: [{ Key: 's3batch:max-requests-per-second', Value: '20' }] }, 'rep'),
    );
    await until(
      async () => ((await api.describe(JobId)).Job.ProgressSummary?.NumberOfTasksSucceeded ?? 0) >= 20,
      'progress before Redis goes',
      { timeoutMs: 60_000, everyMs: 50 },
    );
    await d.redis.kill();
    // Longer than the lease: the leader must stop acting as one.
    const serve = d.serves[0]!;
    await until(() => serve.child.exitCode !== null, 'the leader to give up', { timeoutMs: 30_000, everyMs: 100 });
    expect(serve.output()).toMatch(/lead/i);
    expect(serve.output()).toMatch(/redis/i);
    await d.redis.restart();
    const next = await d.startServe();
    // It listens as a standby (503 while nobody leads) and takes the lead once the old lease is gone.
    await until(async () => (await healthRole(next.url)) === 'leader', 'the new serve to lead', {
      timeoutMs: 30_000,
      everyMs: 100,
    });
    const again = new JsonApi(next.url);
    const done = await again.waitFor(JobId, ['Complete', 'Failed', 'Cancelled'], 180_000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\nthe new serve printed:\n${next.output()}`);
    });
    expect(done.Job.Status).toBe('Complete');
    expect(done.Job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 160, NumberOfTasksFailed: 0 });
    expect(await reportedKeys(so.s3, src.bucket, 'rep', JobId)).toEqual(src.keys);
    // The workers rode the outage out.
    for (const w of d.workers) expect(w.child.exitCode).toBeNull();
  });
});
