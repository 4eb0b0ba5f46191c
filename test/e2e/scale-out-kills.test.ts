import { describe, expect, it } from 'vitest';
import { JsonApi } from '../helpers/json-api.ts';
import {
  healthRole,
  objectsWithManifest,
  reportedKeys,
  taggingRequest,
  useScaleOutOnCeph,
} from '../helpers/scale-out.ts';
import { until } from '../helpers/until.ts';

const so = useScaleOutOnCeph(20);
const deployment = so.deployment;

/** A tagging job over `count` objects at `rate` requests/s: long enough to be hit mid-way. */
async function slowJob(api: JsonApi, prefix: string, count: number, rate: number) {
  const src = await objectsWithManifest(so.s3, prefix, count);
  const { JobId } = await api.createJob(
    taggingRequest(src, 'v', { Tags: [{ Key: 's3batch:max-requests-per-second', Value: String(rate) }] }, 'rep'),
  );
  return { JobId, bucket: src.bucket, keys: src.keys };
}

/** The job ends Complete with every task once in its counts and its report. */
async function expectExact(api: JsonApi, job: { JobId: string; bucket: string; keys: string[] }, timeoutMs: number) {
  const done = await api.waitFor(job.JobId, ['Complete', 'Failed', 'Cancelled'], timeoutMs);
  expect(done.Job.Status).toBe('Complete');
  expect(done.Job.ProgressSummary).toMatchObject({
    TotalNumberOfTasks: job.keys.length,
    NumberOfTasksSucceeded: job.keys.length,
    NumberOfTasksFailed: 0,
  });
  expect(await reportedKeys(so.s3, job.bucket, 'rep', job.JobId)).toEqual(job.keys);
}

const succeeded = async (api: JsonApi, id: string): Promise<number> =>
  (await api.describe(id)).Job.ProgressSummary?.NumberOfTasksSucceeded ?? 0;

describe('scale-out under failures', () => {
  it('loses and doubles nothing when workers are SIGKILLed 10 times mid-job', async () => {
    const d = await deployment();
    const api = new JsonApi(d.serves[0]!.url);
    const job = await slowJob(api, 'so-kill', 400, 40);
    let next = 4;
    for (let k = 0; k < 10; k++) {
      const before = await succeeded(api, job.JobId);
      await until(async () => (await succeeded(api, job.JobId)) > before, `progress before kill ${k + 1}`, {
        timeoutMs: 60_000,
        everyMs: 50,
      });
      const victim = d.workers[k % d.workers.length]!;
      await victim.kill('SIGKILL');
      d.workers[k % d.workers.length] = await d.startWorker(`w${next++}`);
    }
    await expectExact(api, job, 240_000);
  });

  it('goes on to Complete when the leading serve is SIGKILLed while a standby runs', async () => {
    const d = await deployment({ serves: 2 });
    const [leader, standby] = d.serves as [(typeof d.serves)[0], (typeof d.serves)[0]];
    // Requests to the standby reach the leader.
    const viaStandby = new JsonApi(standby.url);
    const job = await slowJob(viaStandby, 'so-failover', 200, 25);
    await until(async () => (await succeeded(viaStandby, job.JobId)) >= 20, 'progress before the kill', {
      timeoutMs: 60_000,
      everyMs: 50,
    });
    await leader.kill('SIGKILL');
    // The standby takes the lead and answers itself; the job goes on.
    await until(async () => (await healthRole(standby.url)) === 'leader', 'the standby leads', {
      timeoutMs: 30_000,
      everyMs: 200,
    });
    await expectExact(viaStandby, job, 180_000);
  });

  it('goes on when Redis is SIGKILLed mid-job and restarted from its AOF', async () => {
    const d = await deployment();
    const api = new JsonApi(d.serves[0]!.url);
    const job = await slowJob(api, 'so-redis', 200, 25);
    await until(async () => (await succeeded(api, job.JobId)) >= 40, 'progress before the restart', {
      timeoutMs: 60_000,
      everyMs: 50,
    });
    await d.redis.restart();
    await expectExact(api, job, 180_000);
    // Everyone reconnected: the serve and all three workers are still running.
    expect(d.serves[0]!.child.exitCode).toBeNull();
    for (const w of d.workers) expect(w.child.exitCode).toBeNull();
  });
});
