/**
 * The JSON API, version 1 (`/api/v1`): the S3 Control job operations in JSON, in the model's
 * shape. The account is the authenticated caller's (opts.accountOf, src/api/auth/api-auth.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { S3BatchError } from '../../domain/errors.ts';
import { parseMaxResults } from '../../domain/list-page.ts';
import type { BatchService } from '../../service/batch-service.ts';
import type { AccountOf } from '../auth/api-auth.ts';
import { createJobAnswer, DUPLICATE_OF_HEADER, splitCreateJobChecks } from './create-job-checks.ts';
import { checkKnownMembers, type JsonBodyName } from './json-members.ts';
import { parseJobListQuery, queryJobs } from './job-list-query.ts';
import { jobView } from './job-view.ts';

export interface RestOptions {
  readonly service: BatchService;
  /** The caller's account (api-auth.ts): rejects with 401/403 when the request is not authenticated. */
  readonly accountOf: AccountOf;
}

type IdParams = { Params: { id: string } };

export async function restRoutes(app: FastifyInstance, opts: RestOptions): Promise<void> {
  const { service } = opts;
  // The account is resolved once per request before the handler runs; handlers read it synchronously.
  const accounts = new WeakMap<FastifyRequest, string>();
  app.addHook('preHandler', async (req) => {
    accounts.set(req, await opts.accountOf(req));
  });
  const account = (req: FastifyRequest): string => {
    const acct = accounts.get(req);
    if (acct === undefined)
      throw new S3BatchError('InternalServiceException', 'request reached its handler without an account');
    return acct;
  };
  // A JSON object with only the members its operation has (json-members.ts), before any semantic check.
  const body = (req: FastifyRequest, name: JsonBodyName): Record<string, unknown> => {
    if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
      throw new S3BatchError('MalformedJSON', 'The request body must be a JSON object');
    }
    const b = req.body as Record<string, unknown>;
    checkKnownMembers(b, name);
    return b;
  };

  app.post('/jobs', async (req, reply) => {
    // SkipAccessCheck and RejectDuplicates steer the checks; the rest is the model's request.
    const { request, checks } = splitCreateJobChecks(body(req, 'CreateJob'));
    const out = await service.submitJob(account(req), request, checks);
    if (out.Duplicate) void reply.header(DUPLICATE_OF_HEADER, out.Duplicate.JobId);
    return reply.status(201).send(createJobAnswer(out));
  });

  app.get<{
    Querystring: {
      status?: string | string[];
      jobStatuses?: string | string[];
      nextToken?: string;
      maxResults?: string;
      search?: unknown;
      sort?: unknown;
      order?: unknown;
    };
  }>('/jobs', async (req) => {
    const q = req.query;
    const raw = q.jobStatuses ?? q.status;
    const statuses =
      raw === undefined ? [] : (Array.isArray(raw) ? raw : [raw]).flatMap((s) => s.split(',')).filter(Boolean);
    const maxResults = parseMaxResults(q.maxResults);
    // search / sort / order (the web page): filtered, sorted, each item with its Tags.
    const query = parseJobListQuery(q);
    if (query) {
      return queryJobs(service, account(req), query, {
        jobStatuses: statuses,
        ...(q.nextToken !== undefined ? { nextToken: q.nextToken } : {}),
        ...(maxResults !== undefined ? { maxResults } : {}),
      });
    }
    return service.listJobs(account(req), {
      jobStatuses: statuses,
      ...(q.nextToken !== undefined ? { nextToken: q.nextToken } : {}),
      ...(maxResults !== undefined ? { maxResults } : {}),
    });
  });

  app.get<IdParams>('/jobs/:id', async (req) => jobView(service, account(req), req.params.id));

  app.post<IdParams>('/jobs/:id/status', async (req) => {
    const b = body(req, 'UpdateJobStatus');
    const reason = b.StatusUpdateReason;
    if (reason !== undefined && typeof reason !== 'string')
      throw new S3BatchError('BadRequestException', 'StatusUpdateReason must be a string');
    return service.updateJobStatus(account(req), req.params.id, b.RequestedJobStatus, reason);
  });

  // A user's pause and resume (s3batch extension, docs/job-lifecycle.md#user-pause); the body is optional.
  const optionalBody = (req: FastifyRequest, name: JsonBodyName): Record<string, unknown> =>
    req.body === undefined || req.body === null ? {} : body(req, name);
  app.post<IdParams>('/jobs/:id/pause', async (req) =>
    service.pauseJob(account(req), req.params.id, optionalBody(req, 'PauseJob').Reason),
  );
  app.post<IdParams>('/jobs/:id/resume', async (req) =>
    service.resumeJob(account(req), req.params.id, optionalBody(req, 'ResumeJob').Reason),
  );

  app.post<IdParams>('/jobs/:id/priority', async (req) => {
    return service.updateJobPriority(account(req), req.params.id, body(req, 'UpdateJobPriority').Priority);
  });

  app.get<IdParams>('/jobs/:id/tagging', async (req) => service.getJobTagging(account(req), req.params.id));

  app.put<IdParams>('/jobs/:id/tagging', async (req, reply) => {
    // Tags is required (PutJobTagging): a missing or misspelt member must not silently remove every tag.
    const tags = body(req, 'PutJobTagging').Tags;
    if (tags === undefined || tags === null)
      throw new S3BatchError('InvalidRequest', 'Tags is required (an empty list removes every tag)');
    service.putJobTagging(account(req), req.params.id, tags);
    return reply.status(204).send();
  });

  app.delete<IdParams>('/jobs/:id/tagging', async (req, reply) => {
    service.deleteJobTagging(account(req), req.params.id);
    return reply.status(204).send();
  });
}
