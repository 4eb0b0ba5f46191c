/**
 * Sends webhooks on job status changes (docs/notifications.md). It listens to the engine's
 * `job:status` events; each event becomes one delivery per URL that wants it (the job's
 * `s3batch:notify` tag, the account's registered webhooks), added to the outbox in the store at
 * once (written as it happens), so a restart sends it later. Deliveries are POSTed from this process.
 *
 * Invariants:
 *  - The engine is never blocked: the event handler only builds the body and stores the delivery;
 *    sending happens later, from a timer.
 *  - At most `concurrency` requests are in flight; a delivery is never sent twice at once
 *    (`inFlight` holds its id while its request runs).
 *  - Each attempt ends in the store (recordAttempt) before the next one of the same delivery can start.
 *  - After `stop()` no request starts; those in flight are aborted and their outcome is not recorded
 *    (the delivery stays pending and is sent again after a restart).
 */
import { randomUUID } from 'node:crypto';
import { shownUrl } from '../domain/field-checks.ts';
import type { JobRecord } from '../domain/job.ts';
import { parseJobExtensions } from '../domain/job-extensions.ts';
import {
  notifyEventOf,
  recordAttempt,
  settle,
  type Delivery,
  type DeliveryAttempt,
  type NotifyRetry,
} from '../domain/notification.ts';
import type { EngineEvents, JobRemovedEvent, JobStatusEvent } from '../engine/events.ts';
import type { NotificationStore } from '../storage/notification-store.ts';
import {
  ATTEMPT_HEADER,
  EVENT_HEADER,
  EVENT_ID_HEADER,
  SIGNATURE_HEADER,
  signatureOf,
  TIMESTAMP_HEADER,
} from './signature.ts';

export interface NotifierOptions {
  readonly store: NotificationStore;
  readonly events: EngineEvents;
  /** The job's record (its tags name the job's own webhook). */
  jobOf(jobId: string): JobRecord | undefined;
  /** The JSON API's job view (api/rest/job-view.ts), sent in the body. */
  viewOf(accountId: string, jobId: string): unknown;
  /** The URL policy (--function-urls): checked when a delivery is made and again before each attempt. */
  allowed(url: string): boolean;
  readonly retry: NotifyRetry;
  /** Time limit of one attempt. */
  readonly timeoutMs: number;
  /** Requests in flight at most. */
  readonly concurrency: number;
  now(): Date;
  readonly log: { warn(obj: object, msg: string): void };
  readonly random?: () => number;
}

const POLICY_REFUSED = 'the URL is not allowed by this server (--function-urls)';

export class Notifier {
  private readonly inFlight = new Map<string, AbortController>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private readonly running = new Set<Promise<void>>();
  private readonly onStatus = (e: JobStatusEvent): void => this.enqueue(e);
  private readonly onRemoved = (e: JobRemovedEvent): void => this.opts.store.removeJob(e.jobId);

  constructor(private readonly opts: NotifierOptions) {}

  /** Subscribes to the events (before the engine starts, so no change is missed) and sends what is pending. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.opts.events.on('job:status', this.onStatus);
    this.opts.events.on('job:removed', this.onRemoved);
    this.pump();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.opts.events.off('job:status', this.onStatus);
    this.opts.events.off('job:removed', this.onRemoved);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const ctl of this.inFlight.values()) ctl.abort();
    await Promise.allSettled([...this.running]);
    await this.opts.store.flush();
  }

  /** The event → deliveries, stored; never throws into the engine. */
  private enqueue(e: JobStatusEvent): void {
    try {
      const job = this.opts.jobOf(e.jobId);
      if (!job) return;
      const event = notifyEventOf(e.to);
      const targets: { url: string; source: 'job' | 'account' }[] = [];
      let jobUrl: string | undefined;
      try {
        jobUrl = parseJobExtensions(job.tags).notifyUrl;
      } catch {
        jobUrl = undefined; // tags were checked at CreateJob / PutJobTagging; a record from elsewhere is skipped
      }
      if (jobUrl !== undefined) targets.push({ url: jobUrl, source: 'job' });
      for (const w of this.opts.store.webhooks(e.accountId)) {
        if (w.Events.includes(event) && w.Url !== jobUrl) targets.push({ url: w.Url, source: 'account' });
      }
      if (targets.length === 0) return;
      const view = this.opts.viewOf(e.accountId, e.jobId);
      const now = this.opts.now().toISOString();
      for (const t of targets) {
        const EventId = randomUUID();
        const body = JSON.stringify({
          EventId,
          EventType: `s3batch:job:${event}`,
          Time: e.at,
          AccountId: e.accountId,
          JobId: e.jobId,
          PreviousStatus: e.from,
          Status: e.to,
          View: view,
        });
        const d: Delivery = {
          EventId,
          JobId: e.jobId,
          AccountId: e.accountId,
          Event: event,
          Status: e.to,
          Source: t.source,
          Url: t.url,
          CreatedAt: now,
          State: 'pending',
          AttemptCount: 0,
          Attempts: [],
          NextAttemptAt: now,
          Body: body,
        };
        if (!this.opts.allowed(t.url)) settle(d, 'failed', POLICY_REFUSED);
        this.opts.store.add(d);
      }
      this.pump();
    } catch (err) {
      this.opts.log.warn({ err, jobId: e.jobId }, `notifications: the event of job ${e.jobId} was not queued`);
    }
  }

  /** Starts due deliveries up to the concurrency; sets the timer for the next one due. */
  private pump(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlight.size >= this.opts.concurrency) return; // an ending attempt pumps again
    const nowMs = this.opts.now().getTime();
    const waiting = this.opts.store
      .pending()
      .filter((d) => !this.inFlight.has(d.EventId))
      .map((d) => ({ d, due: Date.parse(d.NextAttemptAt ?? d.CreatedAt) }))
      .sort((a, b) => a.due - b.due);
    for (const { d, due } of waiting) {
      if (due > nowMs) {
        this.timer = setTimeout(() => this.pump(), Math.min(due - nowMs, 2 ** 31 - 1));
        this.timer.unref();
        return;
      }
      if (this.inFlight.size >= this.opts.concurrency) return; // an ending attempt pumps again
      const ctl = new AbortController();
      this.inFlight.set(d.EventId, ctl);
      const run = this.attempt(d, ctl.signal).finally(() => {
        this.inFlight.delete(d.EventId);
        this.running.delete(run);
        this.pump();
      });
      this.running.add(run);
    }
  }

  private async attempt(d: Delivery, stop: AbortSignal): Promise<void> {
    const at = this.opts.now().toISOString();
    let attempt: DeliveryAttempt;
    if (!this.opts.allowed(d.Url)) {
      settle(d, 'failed', POLICY_REFUSED);
      this.opts.store.updated(d);
      return;
    }
    const body = d.Body ?? '';
    const timestamp = String(Math.floor(Date.parse(at) / 1000));
    try {
      const secret = this.opts.store.secret(d.AccountId, true);
      const res = await fetch(d.Url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 's3batch-webhook/1',
          [EVENT_HEADER]: d.Event,
          [EVENT_ID_HEADER]: d.EventId,
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: signatureOf(secret, timestamp, body),
          [ATTEMPT_HEADER]: String(d.AttemptCount + 1),
        },
        body,
        redirect: 'manual', // a redirect is not followed: it could lead outside the URL policy
        signal: AbortSignal.any([stop, AbortSignal.timeout(this.opts.timeoutMs)]),
      });
      // The answer's body is not needed: drop it so the connection is freed.
      await res.body?.cancel().catch(() => undefined);
      attempt = { At: at, StatusCode: res.status };
    } catch (err) {
      if (stop.aborted) return; // stopping: the delivery stays pending for the next start
      attempt = { At: at, StatusCode: null, Error: errorText(err) };
    }
    if (this.stopped) return;
    recordAttempt(d, attempt, this.opts.retry, this.opts.now(), this.opts.random);
    this.opts.store.updated(d);
    if (d.State === 'failed') {
      this.opts.log.warn(
        { jobId: d.JobId, eventId: d.EventId, url: shownUrl(d.Url), attempts: d.AttemptCount },
        `notifications: gave up on ${shownUrl(d.Url)} for job ${d.JobId}: ${d.GaveUpReason ?? ''}`,
      );
    }
  }
}

function errorText(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'timed out';
  const code = e?.cause?.code;
  if (code) return code;
  return e?.cause?.message ?? e?.message ?? String(err);
}
