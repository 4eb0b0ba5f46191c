/**
 * Webhook notifications, the pure and local parts (docs/notifications.md): the account's webhooks
 * as PUT /api/v1/notifications takes them, the s3batch:notify tag, the retry decision after an
 * attempt, the signature a receiver verifies, the store that keeps the outbox over a restart, and
 * `s3batch create-job --notify`.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { requestFromFlags } from '../../src/cli/create-job-request.ts';
import { CliError } from '../../src/cli/cli-errors.ts';
import { S3BatchError } from '../../src/domain/errors.ts';
import { parseJobExtensions } from '../../src/domain/job-extensions.ts';
import {
  deliveryView,
  MAX_ATTEMPTS_KEPT,
  notifyEventOf,
  parseWebhooks,
  recordAttempt,
  type Delivery,
} from '../../src/domain/notification.ts';
import { signatureOf, verifyWebhook } from '../../src/notify/signature.ts';
import { checkWebhookUrl } from '../../src/notify/webhook-url-policy.ts';
import { parseFunctionUrlPolicy } from '../../src/operations/lambda/function-url-policy.ts';
import {
  fileNotificationPersistence,
  MAX_JOBS_LOGGED,
  MAX_PENDING,
  NotificationStore,
  type NotificationBatch,
} from '../../src/storage/notification-store.ts';

function invalid(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(S3BatchError);
    expect((err as S3BatchError).code).toBe('InvalidRequest');
    return (err as Error).message;
  }
  throw new Error('expected InvalidRequest');
}

const T0 = new Date('2026-12-07T12:00:00.000Z');
const RETRY = { baseDelayMs: 1000, maxDelayMs: 60_000, maxAgeMs: 3_600_000 };

function delivery(over: Partial<Delivery> = {}): Delivery {
  return {
    EventId: 'e1',
    JobId: 'j1',
    AccountId: '111122223333',
    Event: 'end',
    Status: 'Complete',
    Source: 'job',
    Url: 'https://hooks.example.com/s3batch?token=secret',
    CreatedAt: T0.toISOString(),
    State: 'pending',
    AttemptCount: 0,
    Attempts: [],
    NextAttemptAt: T0.toISOString(),
    Body: '{"EventId":"e1"}',
    ...over,
  };
}

describe('account webhooks (PUT /api/v1/notifications)', () => {
  it('takes up to 10 webhooks, events default to both and keep their canonical order', () => {
    expect(
      parseWebhooks({
        Webhooks: [
          { Url: 'https://a.example.com/h' },
          { Url: 'http://b.example.com/h?k=v', Events: ['end', 'status'] },
        ],
      }),
    ).toEqual([
      { Url: 'https://a.example.com/h', Events: ['status', 'end'] },
      { Url: 'http://b.example.com/h?k=v', Events: ['status', 'end'] },
    ]);
    expect(parseWebhooks({ Webhooks: [] })).toEqual([]);
  });

  it.each([
    [{}, /must be a list/],
    [{ Webhooks: {} }, /must be a list/],
    [{ Webhooks: [], Other: 1 }, /"Other" is not a member/],
    [{ Webhooks: ['https://a.example.com'] }, /Webhooks\[0\] must be an object/],
    [{ Webhooks: [{ Url: 'ftp://a.example.com' }] }, /http:\/\/ or https:\/\//],
    [{ Webhooks: [{ Url: 'https://u:p@a.example.com' }] }, /credentials/],
    [{ Webhooks: [{ Url: 'https://a.example.com/#x' }] }, /fragment/],
    [{ Webhooks: [{ Url: 'nope' }] }, /not a valid URL/],
    [{ Webhooks: [{ Url: `https://a.example.com/${'x'.repeat(2048)}` }] }, /1 to 2048 characters/],
    [{ Webhooks: [{ Url: 'https://a.example.com', Events: [] }] }, /non-empty list/],
    [{ Webhooks: [{ Url: 'https://a.example.com', Events: ['start'] }] }, /"start" is not an event/],
    [{ Webhooks: [{ Url: 'https://a.example.com', Secret: 's' }] }, /"Webhooks\[0\]\.Secret" is not a member/],
    [{ Webhooks: [{ Url: 'https://a.example.com' }, { Url: 'https://a.example.com' }] }, /listed twice/],
    [{ Webhooks: Array.from({ length: 11 }, (_, i) => ({ Url: `https://a.example.com/${i}` })) }, /at most 10/],
  ])('refuses %j', (body, message) => {
    expect(invalid(() => parseWebhooks(body as Record<string, unknown>))).toMatch(message);
  });

  it('the URL policy of --function-urls decides, with the member named', () => {
    const policy = parseFunctionUrlPolicy('https://hooks.example.com/s3batch/');
    checkWebhookUrl(policy, 'https://hooks.example.com/s3batch/a?x=1', 'Webhooks[0].Url');
    expect(invalid(() => checkWebhookUrl(policy, 'https://hooks.example.com.evil.example/s3batch/', 'W'))).toMatch(
      /^W https:\/\/hooks\.example\.com\.evil\.example\/s3batch\/ is not a URL this server may call \(allowed: /,
    );
    expect(invalid(() => checkWebhookUrl(parseFunctionUrlPolicy('none'), 'https://a.example.com', 'W'))).toMatch(
      /outgoing calls are disabled/,
    );
  });
});

describe('the s3batch:notify tag', () => {
  it('names the job webhook; a bad URL is InvalidRequest at CreateJob', () => {
    expect(parseJobExtensions([{ Key: 's3batch:notify', Value: 'https://h.example.com/x' }]).notifyUrl).toBe(
      'https://h.example.com/x',
    );
    expect(invalid(() => parseJobExtensions([{ Key: 's3batch:notify', Value: 'mailto:a@b.c' }]))).toMatch(
      /Tag s3batch:notify must be an http/,
    );
  });

  it('status changes to a terminal status are the end event', () => {
    expect(notifyEventOf('Complete')).toBe('end');
    expect(notifyEventOf('Failed')).toBe('end');
    expect(notifyEventOf('Cancelled')).toBe('end');
    expect(notifyEventOf('Active')).toBe('status');
    expect(notifyEventOf('Suspended')).toBe('status');
  });
});

describe('recordAttempt: retries with backoff until a 2xx or the deadline', () => {
  it('a 2xx delivers and drops the body and schedule', () => {
    const d = delivery();
    recordAttempt(d, { At: T0.toISOString(), StatusCode: 204 }, RETRY, T0);
    expect(d).toMatchObject({ State: 'delivered', AttemptCount: 1, NextAttemptAt: undefined, Body: undefined });
  });

  it('a failure schedules the next attempt within the exponential bound (full jitter)', () => {
    const d = delivery();
    recordAttempt(d, { At: T0.toISOString(), StatusCode: 500 }, RETRY, T0, () => 0.999);
    expect(d.State).toBe('pending');
    expect(Date.parse(d.NextAttemptAt!) - T0.getTime()).toBe(999);
    recordAttempt(d, { At: T0.toISOString(), StatusCode: null, Error: 'ECONNREFUSED' }, RETRY, T0, () => 0.999);
    expect(Date.parse(d.NextAttemptAt!) - T0.getTime()).toBe(1998);
    // jitter 0: still a delay of at least 1 ms, so attempts stay ordered in time
    recordAttempt(d, { At: T0.toISOString(), StatusCode: 503 }, RETRY, T0, () => 0);
    expect(Date.parse(d.NextAttemptAt!) - T0.getTime()).toBe(1);
    expect(d.Body).toBe('{"EventId":"e1"}');
  });

  it('gives up when the next attempt would start after the deadline', () => {
    const d = delivery();
    recordAttempt(d, { At: T0.toISOString(), StatusCode: 500 }, RETRY, T0, () => 0.5);
    expect(d.State).toBe('pending');
    const late = new Date(T0.getTime() + RETRY.maxAgeMs - 10);
    recordAttempt(d, { At: late.toISOString(), StatusCode: 500 }, RETRY, late, () => 0.5);
    expect(d).toMatchObject({ State: 'failed', AttemptCount: 2, Body: undefined, NextAttemptAt: undefined });
    expect(d.GaveUpReason).toMatch(/no 2xx answer within 3600 s of the event/);
  });

  it('keeps the last attempts only, and counts them all', () => {
    const d = delivery();
    for (let i = 0; i < MAX_ATTEMPTS_KEPT + 5; i++) {
      recordAttempt(d, { At: new Date(T0.getTime() + i).toISOString(), StatusCode: 500 + (i % 2) }, RETRY, T0);
    }
    expect(d.AttemptCount).toBe(MAX_ATTEMPTS_KEPT + 5);
    expect(d.Attempts).toHaveLength(MAX_ATTEMPTS_KEPT);
    expect(d.Attempts[0]!.At).toBe(new Date(T0.getTime() + 5).toISOString());
  });

  it('the view hides the body and the query of the URL', () => {
    const view = deliveryView(delivery());
    expect(view.Url).toBe('https://hooks.example.com/s3batch');
    expect(view).not.toHaveProperty('Body');
  });
});

describe('the signature', () => {
  it('is HMAC-SHA256 over "<timestamp>.<body>"; a receiver refuses another body, timestamp or an old one', () => {
    const secret = 'whsec_test';
    const body = '{"EventId":"e1","Status":"Complete"}';
    const sig = signatureOf(secret, '1796644800', body);
    // What a receiver computes, with nothing of s3batch's code.
    expect(sig).toBe(`sha256=${createHmac('sha256', secret).update(`1796644800.${body}`).digest('hex')}`);
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    const h = { signature: sig, timestamp: '1796644800' };
    expect(verifyWebhook(secret, h, body, 1796644800 + 10)).toBe(true);
    expect(verifyWebhook('whsec_other', h, body, 1796644800)).toBe(false);
    expect(verifyWebhook(secret, h, `${body} `, 1796644800)).toBe(false);
    expect(verifyWebhook(secret, { ...h, timestamp: '1796644801' }, body, 1796644800)).toBe(false);
    expect(verifyWebhook(secret, h, body, 1796644800 + 301)).toBe(false);
    expect(verifyWebhook(secret, { signature: undefined, timestamp: '1' }, body, 1)).toBe(false);
  });
});

describe('NotificationStore', () => {
  const ACCOUNT = '111122223333';

  it('keeps webhooks, the secret, the outbox and the logs in its files across a reopen', async () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 's3batch-notify-store-')), 'notifications');
    const store = await NotificationStore.open(fileNotificationPersistence(dir));
    store.setWebhooks(ACCOUNT, [{ Url: 'https://a.example.com', Events: ['end'] }]);
    const secret = store.secret(ACCOUNT, true);
    expect(store.secret(ACCOUNT, true)).toBe(secret);
    expect(store.secret('999988887777', false)).toBeUndefined();
    store.add(delivery());
    store.add(delivery({ EventId: 'e2', State: 'delivered', Body: undefined, NextAttemptAt: undefined }));
    store.add(delivery({ JobId: 'j2', EventId: 'e3' }));
    expect(store.pendingSize).toBe(2);
    await store.close();
    expect(readdirSync(path.join(dir, 'jobs')).sort()).toEqual(['j1.json', 'j2.json']);
    expect(JSON.parse(readFileSync(path.join(dir, 'accounts.json'), 'utf8'))).toMatchObject({ [ACCOUNT]: { secret } });

    const again = await NotificationStore.open(fileNotificationPersistence(dir));
    expect(again.webhooks(ACCOUNT)).toEqual([{ Url: 'https://a.example.com', Events: ['end'] }]);
    expect(again.secret(ACCOUNT, false)).toBe(secret);
    expect(again.pending().map((d) => d.EventId)).toEqual(['e1', 'e3']);
    expect(again.deliveries('j1').map((d) => d.EventId)).toEqual(['e1', 'e2']);
    again.removeJob('j1');
    expect(again.pendingSize).toBe(1);
    expect(again.deliveries('j1')).toEqual([]);
    await again.close();
    expect(readdirSync(path.join(dir, 'jobs'))).toEqual(['j2.json']);
  });

  it('writes only what changed: one job log per change of that job, the accounts apart', async () => {
    const batches: NotificationBatch[] = [];
    const store = await NotificationStore.open({
      name: 'recorder',
      load: async () => ({ jobs: [] }),
      save: async (b) => void batches.push(b),
    });
    for (let i = 0; i < 50; i++) store.add(delivery({ JobId: `job-${i}`, EventId: `e-${i}` }));
    await store.flush();
    batches.length = 0;
    const d = store.deliveries('job-7')[0]!;
    recordAttempt(d, { At: T0.toISOString(), StatusCode: 200 }, RETRY, T0);
    store.updated(d);
    await store.flush();
    expect(batches).toHaveLength(1);
    expect(batches[0]!.accounts).toBeUndefined();
    expect([...batches[0]!.jobs.keys()]).toEqual(['job-7']);
    store.rotateSecret(ACCOUNT);
    await store.flush();
    expect(batches[1]!.jobs.size).toBe(0);
    expect(batches[1]!.accounts).toContain(ACCOUNT);
  });

  it('marks a failed write again: the next write carries it', async () => {
    let fail = true;
    const batches: NotificationBatch[] = [];
    const errors: unknown[] = [];
    const store = await NotificationStore.open(
      {
        name: 'flaky',
        load: async () => ({ jobs: [] }),
        save: async (b) => {
          if (fail) throw new Error('disk full');
          batches.push(b);
        },
      },
      (err) => errors.push(err),
    );
    store.add(delivery());
    await store.flush();
    expect(errors).toHaveLength(1);
    fail = false;
    store.add(delivery({ JobId: 'j2', EventId: 'e2' }));
    await store.flush();
    expect([...batches[0]!.jobs.keys()].sort()).toEqual(['j1', 'j2']);
  });

  it('keeps the logs of the newest jobs, never dropping a pending delivery, and bounds the outbox', async () => {
    const store = await NotificationStore.open(undefined);
    const settledOne = { State: 'delivered' as const, Body: undefined, NextAttemptAt: undefined };
    store.add(delivery({ JobId: 'pending-job' }));
    for (let i = 0; i < MAX_JOBS_LOGGED; i++)
      store.add(delivery({ JobId: `job-${i}`, EventId: `e-${i}`, ...settledOne }));
    expect(store.deliveries('pending-job')).toHaveLength(1);
    expect(store.deliveries('job-0')).toEqual([]);
    expect(store.deliveries(`job-${MAX_JOBS_LOGGED - 1}`)).toHaveLength(1);

    for (let i = 1; i < MAX_PENDING; i++) store.add(delivery({ JobId: 'pending-job', EventId: `p-${i}` }));
    expect(store.pendingSize).toBe(MAX_PENDING);
    const overflow = delivery({ JobId: 'other', EventId: 'over' });
    store.add(overflow);
    expect(overflow).toMatchObject({ State: 'failed', GaveUpReason: expect.stringMatching(/outbox is full/) });
    expect(store.pendingSize).toBe(MAX_PENDING);
  });

  it('refuses a stored state it cannot read with InvalidConfiguration', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's3batch-notify-store-'));
    writeFileSync(path.join(dir, 'accounts.json'), '[1]');
    await expect(NotificationStore.open(fileNotificationPersistence(dir))).rejects.toMatchObject({
      code: 'InvalidConfiguration',
    });
  });
});

describe('s3batch create-job --notify', () => {
  const flags = { manifest: 's3://b/m.csv', manifestEtag: 'e', operation: 'delete-tags', report: false } as const;

  it('sets the s3batch:notify job tag next to the --job-tag ones', () => {
    const request = requestFromFlags({ ...flags, jobTag: ['team=data'], notify: 'https://h.example.com/x' })(
      '111122223333',
    );
    expect(request.Tags).toEqual([
      { Key: 'team', Value: 'data' },
      { Key: 's3batch:notify', Value: 'https://h.example.com/x' },
    ]);
  });

  it('refuses the webhook given twice, before any connection', () => {
    expect(() =>
      requestFromFlags({ ...flags, jobTag: ['s3batch:notify=https://a.example.com'], notify: 'https://b.example.com' }),
    ).toThrow(CliError);
  });
});
