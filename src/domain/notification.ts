/**
 * Webhook notifications (docs/notifications.md), the pure part: which events there are, the
 * per-account registration and its validation, the delivery records the outbox and the per-job
 * delivery log keep, and the backoff decision after a failed attempt. No I/O.
 *
 * A delivery is one event for one URL. It is `pending` until an attempt gets a 2xx answer
 * (`delivered`) or until the next attempt would start after the delivery's deadline
 * (created + the server's maximum age; then `failed`). Its body is fixed when the event happens,
 * so every attempt sends the same bytes; the signature covers a fresh timestamp per attempt.
 */
import { backoffDelay } from './backoff.ts';
import { invalid, shownUrl } from './field-checks.ts';
import { isTerminal, type JobStatus } from './job-status.ts';

/** `status`: a status change to a non-terminal status; `end`: to Complete, Failed or Cancelled. */
export const NOTIFY_EVENTS = ['status', 'end'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

export function notifyEventOf(to: JobStatus): NotifyEvent {
  return isTerminal(to) ? 'end' : 'status';
}

export interface Webhook {
  readonly Url: string;
  readonly Events: readonly NotifyEvent[];
}

/** Webhooks an account may register. */
export const MAX_WEBHOOKS = 10;
/** Longest webhook URL. */
export const MAX_URL_LENGTH = 2048;

/** Throws InvalidRequest unless `url` is an absolute http(s) URL without credentials or fragment. */
export function checkWebhookUrlSyntax(url: unknown, where: string): string {
  if (typeof url !== 'string' || url.length === 0 || url.length > MAX_URL_LENGTH)
    invalid(`${where} must be an http:// or https:// URL of 1 to ${MAX_URL_LENGTH} characters`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return invalid(`${where} is not a valid URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') invalid(`${where} must be an http:// or https:// URL`);
  if (u.username || u.password) invalid(`${where} must not carry credentials (user:password@)`);
  if (u.hash) invalid(`${where} must not have a fragment (#…)`);
  return url;
}

/** PUT /api/v1/notifications' body → the account's webhooks (InvalidRequest naming the bad member). */
export function parseWebhooks(body: Record<string, unknown>): Webhook[] {
  for (const key of Object.keys(body)) {
    if (key !== 'Webhooks') invalid(`${JSON.stringify(key)} is not a member: the body has Webhooks`);
  }
  const list = body.Webhooks;
  if (!Array.isArray(list)) invalid('Webhooks must be a list of {"Url": "https://…", "Events": ["status", "end"]}');
  if (list.length > MAX_WEBHOOKS) invalid(`Webhooks has ${list.length} entries; at most ${MAX_WEBHOOKS}`);
  const seen = new Set<string>();
  return list.map((item: unknown, i): Webhook => {
    const where = `Webhooks[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) invalid(`${where} must be an object`);
    const o = item as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (key !== 'Url' && key !== 'Events') invalid(`"${where}.${key}" is not a member: a webhook has Url, Events`);
    }
    const Url = checkWebhookUrlSyntax(o.Url, `${where}.Url`);
    if (seen.has(Url)) invalid(`${where}.Url is listed twice`);
    seen.add(Url);
    const events = o.Events ?? [...NOTIFY_EVENTS];
    if (!Array.isArray(events) || events.length === 0)
      invalid(`${where}.Events must be a non-empty list of ${NOTIFY_EVENTS.join(', ')}`);
    for (const e of events) {
      if (!(NOTIFY_EVENTS as readonly unknown[]).includes(e))
        invalid(`${where}.Events: ${JSON.stringify(e)} is not an event; the events are ${NOTIFY_EVENTS.join(', ')}`);
    }
    const Events = NOTIFY_EVENTS.filter((e) => (events as unknown[]).includes(e));
    return { Url, Events };
  });
}

export interface DeliveryAttempt {
  readonly At: string;
  /** The receiver's HTTP status; null when no answer came (refused, timed out, refused by policy). */
  readonly StatusCode: number | null;
  readonly Error?: string;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed';

/** One event for one URL: the outbox entry while pending, the delivery log's entry for ever after. */
export interface Delivery {
  readonly EventId: string;
  readonly JobId: string;
  readonly AccountId: string;
  readonly Event: NotifyEvent;
  readonly Status: JobStatus;
  /** `job` (the job's s3batch:notify tag) or `account` (a registered webhook). */
  readonly Source: 'job' | 'account';
  /** The URL called (kept whole for the calls; shownUrl() in views). */
  readonly Url: string;
  readonly CreatedAt: string;
  State: DeliveryState;
  /** Attempts made in total (Attempts keeps the last MAX_ATTEMPTS_KEPT). */
  AttemptCount: number;
  Attempts: DeliveryAttempt[];
  /** Pending: when the next attempt is due. */
  NextAttemptAt?: string | undefined;
  /** Pending: the JSON body every attempt sends. */
  Body?: string | undefined;
  /** Failed: why s3batch gave up. */
  GaveUpReason?: string | undefined;
}

export const MAX_ATTEMPTS_KEPT = 20;

export interface NotifyRetry {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** A delivery is given up when its next attempt would start later than this after the event. */
  readonly maxAgeMs: number;
}

/**
 * Records an attempt on `d` and decides what follows: delivered on a 2xx, else the next attempt
 * after a backoff (exponential, full jitter) or, past the deadline, failed.
 */
export function recordAttempt(
  d: Delivery,
  attempt: DeliveryAttempt,
  retry: NotifyRetry,
  now: Date,
  random: () => number = Math.random,
): void {
  d.AttemptCount += 1;
  d.Attempts.push(attempt);
  if (d.Attempts.length > MAX_ATTEMPTS_KEPT) d.Attempts.splice(0, d.Attempts.length - MAX_ATTEMPTS_KEPT);
  const ok = attempt.StatusCode !== null && attempt.StatusCode >= 200 && attempt.StatusCode < 300;
  if (ok) {
    settle(d, 'delivered');
    return;
  }
  // Not an infinite loop of zero delays: the floor of 1 ms keeps attempts in order of time.
  const delay = Math.max(
    1,
    backoffDelay(
      d.AttemptCount,
      { maxAttempts: Number.MAX_SAFE_INTEGER, baseDelayMs: retry.baseDelayMs, maxDelayMs: retry.maxDelayMs },
      random,
    ),
  );
  const next = now.getTime() + delay;
  if (next > Date.parse(d.CreatedAt) + retry.maxAgeMs) {
    settle(d, 'failed', `no 2xx answer within ${Math.round(retry.maxAgeMs / 1000)} s of the event`);
    return;
  }
  d.NextAttemptAt = new Date(next).toISOString();
}

/** Ends a delivery: its body and schedule go, its attempts stay for the log. */
export function settle(d: Delivery, state: 'delivered' | 'failed', reason?: string): void {
  d.State = state;
  d.NextAttemptAt = undefined;
  d.Body = undefined;
  if (reason !== undefined) d.GaveUpReason = reason;
}

/** The delivery as the JSON API shows it: no body, the URL without its query. */
export function deliveryView(d: Delivery): Record<string, unknown> {
  return {
    EventId: d.EventId,
    Event: d.Event,
    Status: d.Status,
    Source: d.Source,
    Url: shownUrl(d.Url),
    CreatedAt: d.CreatedAt,
    State: d.State,
    AttemptCount: d.AttemptCount,
    Attempts: d.Attempts,
    ...(d.NextAttemptAt !== undefined ? { NextAttemptAt: d.NextAttemptAt } : {}),
    ...(d.GaveUpReason !== undefined ? { GaveUpReason: d.GaveUpReason } : {}),
  };
}
