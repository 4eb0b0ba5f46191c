/**
 * Webhooks in the scale-out mode (docs/notifications.md#scale-out), end to end on Ceph RGW with a
 * real redis-server, two `serve --redis` (a leader and a standby) and one `worker`: a job's
 * webhook is delivered by the leader while the tasks run on the worker; the account's webhook,
 * registered through the standby and down for now, keeps its delivery pending; the leader stops,
 * the standby takes the lead with the state from Redis (the same webhooks and secret) and delivers
 * the pending event once its receiver is up.
 */
import { describe, expect, it } from 'vitest';
import { JsonApi } from '../helpers/json-api.ts';
import { healthRole, objectsWithManifest, taggingRequest, useScaleOutOnCeph } from '../helpers/scale-out.ts';
import { until } from '../helpers/until.ts';
import { deadPort, startWebhookReceiver } from '../helpers/webhook-receiver.ts';

const so = useScaleOutOnCeph(50);

interface Delivery {
  EventId: string;
  Event: string;
  Source: string;
  State: string;
  AttemptCount: number;
  Attempts: { StatusCode: number | null; Error?: string }[];
}

describe('scale-out: webhook notifications', () => {
  it('delivers from the leader, and the next leader sends what was pending (state in Redis)', async () => {
    const receiver = await startWebhookReceiver();
    so.cleanup(() => receiver.close());
    const port = await deadPort();
    const d = await so.deployment({
      serves: 2,
      workers: 1,
      serveArgs: ['--notify-retry-base-ms', '50', '--notify-retry-max-ms', '200'],
    });
    const [leader, standby] = d.serves as [(typeof d.serves)[0], (typeof d.serves)[0]];
    const api = new JsonApi(standby.url); // through the standby's proxy, then itself once it leads
    const settings = await api.call<{ Secret: string }>('PUT', '/notifications', {
      Webhooks: [{ Url: `http://127.0.0.1:${port}/account`, Events: ['end'] }],
    });
    const src = await objectsWithManifest(so.s3, 'so-notify', 60);
    const { JobId } = await api.createJob(
      taggingRequest(src, 'notified', { Tags: [{ Key: 's3batch:notify', Value: `${receiver.url}/job` }] }),
    );
    const done = await api.waitFor(JobId, ['Complete', 'Failed'], 120_000);
    expect(done.Job.Status).toBe('Complete');
    const log = async (): Promise<Delivery[]> =>
      (await api.call<{ Deliveries: Delivery[] }>('GET', `/jobs/${JobId}/notifications`)).Deliveries;
    let before: Delivery[] = [];
    await until(
      async () => {
        before = await log();
        const job = before.filter((x) => x.Source === 'job');
        const account = before.find((x) => x.Source === 'account');
        return (
          job.length === done.StatusHistory.length - 1 &&
          job.every((x) => x.State === 'delivered') &&
          account !== undefined &&
          account.AttemptCount >= 1
        );
      },
      'the job webhook delivered and a failed attempt to the account webhook',
      { timeoutMs: 60_000, everyMs: 100 },
    );
    const pending = before.find((x) => x.Source === 'account')!;
    expect(pending).toMatchObject({ Event: 'end', State: 'pending' });
    expect(pending.Attempts[0]).toMatchObject({ StatusCode: null, Error: 'ECONNREFUSED' });

    await leader.kill('SIGTERM');
    await until(async () => (await healthRole(standby.url)) === 'leader', 'the standby leads', {
      timeoutMs: 30_000,
      everyMs: 200,
    });
    expect(await api.call('GET', '/notifications')).toEqual({
      Webhooks: [{ Url: `http://127.0.0.1:${port}/account`, Events: ['end'] }],
      Secret: settings.Secret,
    });
    const late = await startWebhookReceiver(() => 200, port);
    so.cleanup(() => late.close());
    await until(
      async () => (await log()).find((x) => x.EventId === pending.EventId)?.State === 'delivered',
      'the pending delivery, sent by the new leader',
      { timeoutMs: 60_000, everyMs: 100 },
    );
    const got = late.received.filter((r) => r.headers['x-s3batch-event-id'] === pending.EventId);
    expect(got).toHaveLength(1);
    expect(JSON.parse(got[0]!.body)).toMatchObject({ JobId, Status: 'Complete' });
    // The job's own deliveries kept their log across the change of leader.
    expect((await log()).filter((x) => x.Source === 'job').every((x) => x.State === 'delivered')).toBe(true);
  });
});
