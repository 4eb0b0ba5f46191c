/**
 * CreateJob's checks at submit (docs/job-lifecycle.md#checks-at-submit) in the scale-out mode, end
 * to end on Ceph RGW with a real redis-server, two `serve --redis` and one `worker` subprocess:
 * requests sent to the standby reach the leader, which refuses a missing manifest and warns of a
 * duplicate (answer and header pass through the standby); after the leader is SIGKILLed, the new
 * leader, which loaded the jobs from Redis, still warns of the job that ran, and refuses on request.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { basicAuth, JsonApi } from '../helpers/json-api.ts';
import { healthRole, objectsWithManifest, taggingRequest, useScaleOutOnCeph } from '../helpers/scale-out.ts';
import { TEST_API_KEY } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';

const so = useScaleOutOnCeph(50);

async function post(url: string, body: unknown) {
  const res = await fetch(`${url}/api/v1/jobs`, {
    method: 'POST',
    headers: {
      'x-amz-account-id': TEST_API_KEY.accountId,
      authorization: basicAuth(TEST_API_KEY),
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    duplicateOf: res.headers.get('x-s3batch-duplicate-of'),
    json: (await res.json()) as {
      JobId?: string;
      Warnings?: { Code: string; JobId: string }[];
      error?: { code: string; message: string };
    },
  };
}

describe('scale-out: checks at submit', () => {
  it('refuses a missing manifest, warns of a duplicate through the standby, and after a takeover', async () => {
    const d = await so.deployment({ serves: 2, workers: 1 });
    const [leader, standby] = d.serves as [(typeof d.serves)[0], (typeof d.serves)[0]];
    const src = await objectsWithManifest(so.s3, 'so-checks', 20);
    const request = taggingRequest(src, 'checks');

    const missing = await post(standby.url, {
      ...request,
      Manifest: {
        ...(request.Manifest as object),
        Location: { ObjectArn: `arn:aws:s3:::${src.bucket}/none.csv`, ETag: src.etag },
      },
    });
    expect(missing.status).toBe(400);
    expect(missing.json.error?.code).toBe('AccessCheckFailed');
    expect(missing.json.error?.message).toContain(`arn:aws:s3:::${src.bucket}/none.csv: NoSuchKey`);

    const first = await post(standby.url, request);
    expect(first.status).toBe(201);
    const api = new JsonApi(standby.url);
    expect((await api.waitFor(first.json.JobId!, ['Complete', 'Failed'], 120_000)).Job.Status).toBe('Complete');
    const second = await post(standby.url, { ...request, ConfirmationRequired: true });
    expect(second.status).toBe(201);
    expect(second.duplicateOf).toBe(first.json.JobId);
    expect(second.json.Warnings?.[0]).toMatchObject({ Code: 'DuplicateJob', JobId: first.json.JobId });

    await api.waitFor(second.json.JobId!, 'Suspended', 60_000);
    // The leader's store writes to Redis in batches: kill it only once the record is there.
    const redis = new Redis(d.redis.url);
    so.cleanup(async () => redis.disconnect());
    await until(async () => (await redis.exists(`s3batch:job:${second.json.JobId}`)) === 1, 'the record in Redis', {
      timeoutMs: 15_000,
      everyMs: 20,
    });
    await leader.kill('SIGKILL');
    await until(async () => (await healthRole(standby.url)) === 'leader', 'the standby leads', {
      timeoutMs: 30_000,
      everyMs: 200,
    });
    // The new leader's index, loaded from Redis: the newest match is the (live) second job.
    const third = await post(standby.url, { ...request, ConfirmationRequired: true });
    expect(third.status).toBe(201);
    expect(third.duplicateOf).toBe(second.json.JobId);
    const refused = await post(standby.url, { ...request, RejectDuplicates: true });
    expect(refused.status).toBe(409);
    expect(refused.json.error?.code).toBe('DuplicateJob');
  });
});
