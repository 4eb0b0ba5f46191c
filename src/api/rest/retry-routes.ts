/**
 * Retry failed (docs/job-lifecycle.md#retry-failed), s3batch extension of the JSON API:
 *
 *   POST /jobs/:id/retry  { Codes?, ConfirmationRequired?, Priority?, Description? }
 *     → 201, the new job's view (as GET /jobs/:id) and `RetryManifest` {ObjectArn, ETag, Tasks}
 */
import type { FastifyInstance } from 'fastify';
import { S3BatchError } from '../../domain/errors.ts';
import type { BatchService } from '../../service/batch-service.ts';
import { parseRetryCodes, type RetryFailed } from '../../service/retry-failed.ts';
import type { AccountOf } from '../auth/api-auth.ts';
import { checkKnownMembers } from './json-members.ts';
import { jobView } from './job-view.ts';

export interface RetryRoutesOptions {
  readonly service: BatchService;
  readonly retries: RetryFailed;
  readonly accountOf: AccountOf;
}

export async function retryRoutes(app: FastifyInstance, opts: RetryRoutesOptions): Promise<void> {
  app.post<{ Params: { id: string } }>('/jobs/:id/retry', async (req, reply) => {
    const account = await opts.accountOf(req);
    // An empty body retries every failed task.
    const raw = req.body ?? {};
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new S3BatchError('MalformedJSON', 'The request body must be a JSON object');
    const b = raw as Record<string, unknown>;
    checkKnownMembers(b, 'RetryFailedTasks');
    if (b.ConfirmationRequired !== undefined && typeof b.ConfirmationRequired !== 'boolean')
      throw new S3BatchError('InvalidRequest', 'ConfirmationRequired must be true or false');
    if (b.Priority !== undefined && (typeof b.Priority !== 'number' || !Number.isInteger(b.Priority)))
      throw new S3BatchError('InvalidRequest', 'Priority must be a whole number');
    if (b.Description !== undefined && typeof b.Description !== 'string')
      throw new S3BatchError('InvalidRequest', 'Description must be a string');
    const out = await opts.retries.retry(account, req.params.id, {
      codes: parseRetryCodes(b.Codes),
      ConfirmationRequired: b.ConfirmationRequired as boolean | undefined,
      Priority: b.Priority as number | undefined,
      Description: b.Description as string | undefined,
    });
    const view = jobView(opts.service, account, out.JobId);
    return reply.status(201).send({
      ...view,
      RetryManifest: { ObjectArn: out.Manifest.ObjectArn, ETag: out.Manifest.ETag, Tasks: out.Tasks },
    });
  });
}
