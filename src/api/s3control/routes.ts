/**
 * The S3 Control job API (`/v20180820/jobs…`, docs/s3control-api.md#routes): the eight job operations in REST-XML,
 * byte-compatible with the AWS SDKs and the aws CLI, on the same service facade as the JSON API.
 *
 * Per request, in this scope: the raw body is kept as a Buffer whatever its content type
 * (botocore sends none, the JS SDK application/xml); SigV4 is verified over it; then the account:
 * `x-amz-account-id` is required (12 digits), an all-digit first host label (the SDKs prefix the
 * endpoint host with the account id, docs/s3control-api.md#account-id) must equal it, and the access key must belong to
 * it. Only then does the route parse its input and call the service.
 */
import { DUPLICATE_OF_HEADER } from '../rest/create-job-checks.ts';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { S3BatchError } from '../../domain/errors.ts';
import { invalid } from '../../domain/field-checks.ts';
import { parseMaxResults } from '../../domain/list-page.ts';
import type { BatchService } from '../../service/batch-service.ts';
import { retryAfterOf } from '../auth/auth-limiter.ts';
import { assertCallerAccount, credentialKeyId, type SigV4Verifier } from '../auth/sigv4-verifier.ts';
import { limitedBodyParser } from '../body-limit.ts';
import { echoedPath } from '../error-handler.ts';
import {
  modelledError,
  s3ControlErrorHandler,
  sendError,
  setRequestIdHeaders,
  type S3ControlOperation,
} from './error-envelope.ts';
import { hasNonXmlChar, MAX_XML_BODY_BYTES, parseCreateJobRequest, parsePutJobTaggingRequest } from './xml-requests.ts';
import {
  createJobResult,
  describeJobResult,
  getJobTaggingResult,
  listJobsResult,
  updateJobPriorityResult,
  updateJobStatusResult,
} from './xml-responses.ts';

export interface S3ControlOptions {
  readonly service: BatchService;
  readonly verifier: SigV4Verifier;
}

const ACCOUNT_ID = /^\d{12}$/;
const JOB_ID = /^[a-zA-Z0-9\-_]{5,36}$/;
const EMPTY = Buffer.alloc(0);
/** Paths of this API; another method on one of them is MethodNotAllowed rather than NotFound. */
const KNOWN_PATH = /^\/v20180820\/jobs(?:\/[^/]+(?:\/(?:priority|status|tagging))?)?\/?$/;

type Query = Record<string, string | string[] | undefined>;
type IdRequest = FastifyRequest<{ Params: { id: string }; Querystring: Query }>;

/** The one value of a query parameter (a repeated one is refused). */
function single(query: Query, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v)) invalid(`The query parameter ${name} may be given only once`);
  return v;
}

function jobId(req: IdRequest): string {
  const id = req.params.id;
  if (!JOB_ID.test(id)) invalid('The job id must be 5 to 36 characters of a-z, A-Z, 0-9, - and _');
  return id;
}

/** The account-id label in front of the host, if the host has one (IP literals never do). */
export function hostAccountLabel(host: string | undefined): string | undefined {
  if (host === undefined || host.startsWith('[')) return undefined;
  const name = host.replace(/:\d*$/, '').replace(/\.$/, '');
  if (isIP(name) !== 0) return undefined;
  const labels = name.split('.');
  const first = labels[0];
  return labels.length > 1 && first !== undefined && /^\d+$/.test(first) ? first : undefined;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export async function s3ControlRoutes(app: FastifyInstance, opts: S3ControlOptions): Promise<void> {
  const { service, verifier } = opts;
  const accounts = new WeakMap<FastifyRequest, string>();

  app.removeAllContentTypeParsers();
  // Larger bodies are refused (413) before any XML is read, once they have arrived (up to a bound,
  // body-limit.ts) so that the client gets the whole ErrorResponse rather than a broken pipe.
  app.addContentTypeParser(
    '*',
    limitedBodyParser(
      () => MAX_XML_BODY_BYTES,
      (_req, body, done) => done(null, body),
    ),
  );
  app.setErrorHandler(s3ControlErrorHandler);
  app.addHook('onRequest', async (req, reply) => setRequestIdHeaders(req, reply));
  // A request with no SigV4 Authorization header (none, presigned, V2) is refused before its body is
  // read: the verifier refuses it without looking at a body. So is a SigV4 one whose Credential names
  // no access key of s3batch (or none at all): the verifier refuses it (InvalidAccessKeyId, or the
  // malformed header) before it gets to the body, so its client gets 403 rather than the 413 of an
  // over-limit body, and the server reads nothing for it. A known key's request is checked with its
  // body (preHandler); one over the body limit is 413 before its signature is checked (README).
  app.addHook('onRequest', async (req, reply) => {
    const authorization = headerValue(req.headers, 'authorization') ?? '';
    const url = req.raw.url ?? req.url;
    if (/^\s*aws4-hmac-sha256/i.test(authorization)) {
      const keyId = credentialKeyId(authorization);
      if (keyId !== undefined && verifier.knows(keyId)) return;
      await verifier
        .verify({ method: req.method, url, headers: req.headers, body: EMPTY, client: req.ip })
        .catch((err: unknown) => {
          const wait = retryAfterOf(err);
          if (wait !== undefined) void reply.header('retry-after', String(wait));
          throw err;
        });
      return;
    }
    await verifier.verify({ method: req.method, url, headers: req.headers, body: EMPTY });
  });

  // Authentication before anything reads the request: an unsigned request learns nothing, not
  // even whether a job or a route exists.
  app.addHook('preHandler', async (req, reply) => {
    const body = Buffer.isBuffer(req.body) ? req.body : EMPTY;
    const identity = await verifier
      .verify({ method: req.method, url: req.raw.url ?? req.url, headers: req.headers, body, client: req.ip })
      .catch((err: unknown) => {
        // Too many failed authentications (auth-limiter.ts): 429 TooManyRequestsException + Retry-After.
        const wait = retryAfterOf(err);
        if (wait !== undefined) void reply.header('retry-after', String(wait));
        throw err;
      });
    const headerAccount = headerValue(req.headers, 'x-amz-account-id');
    if (headerAccount === undefined || headerAccount === '') invalid('The x-amz-account-id header is required');
    if (!ACCOUNT_ID.test(headerAccount)) invalid('x-amz-account-id must be a 12-digit account id');
    const hostAccount = hostAccountLabel(req.headers.host);
    if (hostAccount !== undefined && hostAccount !== headerAccount) {
      invalid(`The account id in the host name (${hostAccount}) differs from x-amz-account-id (${headerAccount})`);
    }
    assertCallerAccount(identity, headerAccount); // a key acts only for its own account: AccessDenied
    accounts.set(req, headerAccount);
  });

  app.setNotFoundHandler((req, reply) => {
    const path = (req.raw.url ?? req.url).split('?')[0] ?? '';
    if (KNOWN_PATH.test(path))
      sendError(req, reply, 405, 'MethodNotAllowed', `The method ${req.method} is not allowed on ${echoedPath(path)}`);
    else sendError(req, reply, 404, 'NotFound', `No S3 Control operation at ${req.method} ${echoedPath(path)}`);
  });

  /** Runs one operation: its account, its errors in the model's codes, its XML answer (or an empty 200). */
  const operation =
    <R extends FastifyRequest>(
      name: S3ControlOperation,
      run: (req: R, account: string, reply: FastifyReply) => string | undefined | Promise<string | undefined>,
    ) =>
    async (req: R, reply: FastifyReply): Promise<FastifyReply> => {
      const account = accounts.get(req);
      if (account === undefined)
        throw new S3BatchError('InternalServiceException', 'request reached its handler without an account');
      let xml: string | undefined;
      try {
        xml = await run(req, account, reply);
      } catch (err) {
        throw modelledError(name, err);
      }
      if (xml === undefined) return reply.status(200).send();
      return reply.status(200).header('content-type', 'application/xml').send(xml);
    };

  const body = (req: FastifyRequest): Buffer => (Buffer.isBuffer(req.body) ? req.body : EMPTY);

  app.post(
    '/jobs',
    operation('CreateJob', async (req, account, reply) => {
      const out = await service.submitJob(account, parseCreateJobRequest(body(req)));
      // The SDKs ignore unknown headers: the duplicate warning reaches those that look (the s3batch CLI).
      if (out.Duplicate) void reply.header(DUPLICATE_OF_HEADER, out.Duplicate.JobId);
      return createJobResult({ JobId: out.JobId });
    }),
  );

  app.get(
    '/jobs',
    operation<FastifyRequest<{ Querystring: Query }>>('ListJobs', (req, account) => {
      const q = req.query;
      const raw = q.jobStatuses;
      const jobStatuses = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
      const maxResults = parseMaxResults(single(q, 'maxResults'));
      const nextToken = single(q, 'nextToken');
      return listJobsResult(
        service.listJobs(account, {
          jobStatuses,
          ...(nextToken !== undefined ? { nextToken } : {}),
          ...(maxResults !== undefined ? { maxResults } : {}),
        }),
      );
    }),
  );

  app.get(
    '/jobs/:id',
    operation<IdRequest>('DescribeJob', (req, account) =>
      describeJobResult({ Job: service.describeJob(account, jobId(req)) }),
    ),
  );

  app.post(
    '/jobs/:id/priority',
    operation<IdRequest>('UpdateJobPriority', (req, account) => {
      const id = jobId(req);
      const text = single(req.query, 'priority');
      if (text === undefined) invalid('The query parameter priority is required');
      // Digits become a number; anything else reaches the service's check as text and is refused there.
      const priority = /^\d{1,10}$/.test(text) ? Number(text) : text;
      return updateJobPriorityResult(service.updateJobPriority(account, id, priority));
    }),
  );

  app.post(
    '/jobs/:id/status',
    operation<IdRequest>('UpdateJobStatus', (req, account) => {
      const id = jobId(req);
      const requested = single(req.query, 'requestedJobStatus');
      if (requested === undefined) invalid('The query parameter requestedJobStatus is required (Ready or Cancelled)');
      const reason = single(req.query, 'statusUpdateReason');
      // Stored and echoed in XML, which cannot carry these characters (xml-requests.ts refuses them in bodies too).
      if (reason !== undefined && hasNonXmlChar(reason)) {
        invalid('statusUpdateReason must not contain control characters other than tab, line feed and carriage return');
      }
      return updateJobStatusResult(service.updateJobStatus(account, id, requested, reason));
    }),
  );

  app.get(
    '/jobs/:id/tagging',
    operation<IdRequest>('GetJobTagging', (req, account) =>
      getJobTaggingResult(service.getJobTagging(account, jobId(req))),
    ),
  );

  app.put(
    '/jobs/:id/tagging',
    operation<IdRequest>('PutJobTagging', (req, account) => {
      const id = jobId(req);
      const { Tags } = parsePutJobTaggingRequest(body(req));
      service.putJobTagging(account, id, Tags);
      return undefined;
    }),
  );

  app.delete(
    '/jobs/:id/tagging',
    operation<IdRequest>('DeleteJobTagging', (req, account) => {
      service.deleteJobTagging(account, jobId(req));
      return undefined;
    }),
  );
}
