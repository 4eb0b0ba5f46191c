/**
 * The notification settings of an account and the delivery log of a job (docs/notifications.md),
 * behind the JSON API's `/api/v1/notifications` and `/api/v1/jobs/:id/notifications`. Account
 * isolation comes from BatchService.getJob (another account's job is NotFoundException).
 */
import { deliveryView, parseWebhooks, type Webhook } from '../domain/notification.ts';
import type { NotificationStore } from '../storage/notification-store.ts';
import type { BatchService } from './batch-service.ts';

export interface NotificationSettingsView {
  Webhooks: { Url: string; Events: string[] }[];
  /** The account's signing secret (null until a webhook or an s3batch:notify job needs one). */
  Secret: string | null;
}

export class NotificationService {
  constructor(
    private readonly store: NotificationStore,
    private readonly batch: BatchService,
    /** Throws InvalidRequest when the URL policy refuses the URL (notify/webhook-url-policy.ts). */
    private readonly checkUrl: (url: string, where: string) => void,
  ) {}

  settings(accountId: string): NotificationSettingsView {
    return {
      Webhooks: this.store.webhooks(accountId).map(viewOf),
      Secret: this.store.secret(accountId, false) ?? null,
    };
  }

  /** Replaces the account's webhooks; makes its secret when it has none. */
  putWebhooks(accountId: string, body: Record<string, unknown>): NotificationSettingsView {
    const hooks = parseWebhooks(body);
    for (const [i, h] of hooks.entries()) this.checkUrl(h.Url, `Webhooks[${i}].Url`);
    this.store.setWebhooks(accountId, hooks);
    this.store.secret(accountId, true);
    return this.settings(accountId);
  }

  /** Removes the account's webhooks (the secret stays: jobs with s3batch:notify still sign with it). */
  deleteWebhooks(accountId: string): void {
    this.store.setWebhooks(accountId, []);
  }

  rotateSecret(accountId: string): { Secret: string } {
    return { Secret: this.store.rotateSecret(accountId) };
  }

  jobDeliveries(accountId: string, jobId: string): { JobId: string; Deliveries: Record<string, unknown>[] } {
    this.batch.getJob(accountId, jobId);
    return { JobId: jobId, Deliveries: this.store.deliveries(jobId).map(deliveryView) };
  }
}

function viewOf(w: Webhook): { Url: string; Events: string[] } {
  // The registered URL is shown whole to its own account (it may carry a token it chose).
  return { Url: w.Url, Events: [...w.Events] };
}
