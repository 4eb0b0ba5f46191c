/**
 * The JSON API of webhook notifications (docs/notifications.md): the account's webhooks and
 * signing secret, and a job's delivery log. Thin: parse, call NotificationService, answer.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { S3BatchError } from '../../domain/errors.ts';
import type { NotificationService } from '../../service/notification-service.ts';
import type { AccountOf } from '../auth/api-auth.ts';

export interface NotificationRouteOptions {
  readonly notifications: NotificationService;
  readonly accountOf: AccountOf;
}

function objectBody(req: FastifyRequest): Record<string, unknown> {
  if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
    throw new S3BatchError('MalformedJSON', 'The request body must be a JSON object');
  }
  return req.body as Record<string, unknown>;
}

export async function notificationRoutes(app: FastifyInstance, opts: NotificationRouteOptions): Promise<void> {
  const { notifications, accountOf } = opts;

  app.get('/notifications', async (req) => notifications.settings(await accountOf(req)));

  app.put('/notifications', async (req) => notifications.putWebhooks(await accountOf(req), objectBody(req)));

  app.delete('/notifications', async (req, reply) => {
    notifications.deleteWebhooks(await accountOf(req));
    return reply.status(204).send();
  });

  app.post('/notifications/secret', async (req) => notifications.rotateSecret(await accountOf(req)));

  app.get<{ Params: { id: string } }>('/jobs/:id/notifications', async (req) =>
    notifications.jobDeliveries(await accountOf(req), req.params.id),
  );
}
