/**
 * A user's pause in the scale-out mode (docs/job-lifecycle.md#user-pause), end to end on Ceph RGW
 * with a real redis-server, two `serve --redis` (a leader and a standby) and three `worker`
 * subprocesses: a rate-limited job paused through the standby stops on the workers, stays paused
 * when the leader goes and the standby takes the lead (the pause is in the job's record in Redis),
 * and runs to the end once resumed, every task once.
 */
import { GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { JsonApi, type JobView } from '../helpers/json-api.ts';
import {
  healthRole,
  objectsWithManifest,
  reportedKeys,
  taggingRequest,
  useScaleOutOnCeph,
} from '../helpers/scale-out.ts';
import { until } from '../helpers/until.ts';

const so = useScaleOutOnCeph(20);
type PauseView = JobView & { PausedBy: string | null; UserPause: { Reason: string | null } | null };

describe('scale-out: user pause and resume', () => {
  it('pauses on the workers, stays paused across a leader change, resumes to Complete', async () => {
    const d = await so.deployment({ serves: 2 });
    const [leader, standby] = d.serves as [(typeof d.serves)[0], (typeof d.serves)[0]];
    const api = new JsonApi(standby.url); // reaches the leader
    const src = await objectsWithManifest(so.s3, 'so-pause', 120);
    const { JobId } = await api.createJob(
      taggingRequest(src, 'p', { Tags: [{ Key: 's3batch:max-requests-per-second', Value: '10' }] }, 'rep'),
    );
    await api.waitUntil(JobId, 'progress', (v) => v.Job.ProgressSummary.NumberOfTasksSucceeded >= 5, 60_000);
    await api.call('POST', `/jobs/${JobId}/pause`, { Reason: 'scale-out pause' });
    await api.waitFor(JobId, 'Paused', 60_000);
    const paused = (await api.describe(JobId)) as PauseView;
    expect(paused.PausedBy).toBe('user');
    const done = paused.Job.ProgressSummary.NumberOfTasksSucceeded;
    expect(done).toBeLessThan(120);

    await leader.kill('SIGTERM');
    await until(async () => (await healthRole(standby.url)) === 'leader', 'the standby leads', {
      timeoutMs: 30_000,
      everyMs: 200,
    });
    const after = (await api.describe(JobId)) as PauseView;
    expect([after.Job.Status, after.PausedBy, after.UserPause?.Reason]).toEqual(['Paused', 'user', 'scale-out pause']);
    expect(after.Job.ProgressSummary.NumberOfTasksSucceeded).toBe(done);
    let tagged = 0;
    for (const key of src.keys) {
      const t = await so.s3.send(new GetObjectTaggingCommand({ Bucket: src.bucket, Key: key }));
      if (t.TagSet?.some((x) => x.Key === 'job' && x.Value === 'p')) tagged++;
    }
    expect(tagged).toBe(done); // the workers ran nothing of the job while it was paused

    await api.call('POST', `/jobs/${JobId}/resume`, {});
    const end = await api.waitFor(JobId, ['Complete', 'Failed', 'Cancelled'], 120_000);
    expect(end.Job.Status).toBe('Complete');
    expect(end.Job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 120, NumberOfTasksFailed: 0 });
    expect(await reportedKeys(so.s3, src.bucket, 'rep', JobId)).toEqual(src.keys);
  });
});
