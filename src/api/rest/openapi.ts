/**
 * The OpenAPI 3.1 description of the JSON API (`/api/v1`), served at `GET /api/v1/openapi.json`
 * (public). A typed object rather than a file, so enums come from the code that defines them
 * (statuses, operations, error codes); test/unit/openapi.test.ts checks that every route the app
 * registers under /api/v1 is described here and every path here is registered.
 */
import type { FastifyInstance } from 'fastify';
import { ERROR_TABLE } from '../../domain/errors.ts';
import { EXTENSION_OPERATION_NAMES, OPERATION_NAMES } from '../../domain/job-spec.ts';
import { ALL_STATUSES } from '../../domain/job-status.ts';

// ---- the subset of OpenAPI 3.1 this document uses ------------------------------------------

export type Schema = { readonly [k: string]: unknown };

export interface Parameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header' | 'cookie';
  readonly required?: boolean;
  readonly description?: string;
  readonly schema: Schema;
  readonly style?: string;
  readonly explode?: boolean;
}

export interface MediaType {
  readonly schema: Schema;
  readonly example?: unknown;
}

export interface Response {
  readonly description: string;
  readonly headers?: Readonly<Record<string, { readonly description?: string; readonly schema: Schema }>>;
  readonly content?: Readonly<Record<string, MediaType>>;
}

export type SecurityRequirement = Readonly<Record<string, readonly string[]>>;

export interface Operation {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly parameters?: readonly (Parameter | { readonly $ref: string })[];
  readonly requestBody?: { readonly required: boolean; readonly content: Readonly<Record<string, MediaType>> };
  readonly responses: Readonly<Record<string, Response | { readonly $ref: string }>>;
  /** `[]`: public. Absent: the document's default (any of the three schemes). */
  readonly security?: readonly SecurityRequirement[];
  /** Server-sent events: event name → the JSON schema of its `data:` line. */
  readonly 'x-sse-events'?: Readonly<Record<string, Schema>>;
}

export type HttpMethod = 'get' | 'post' | 'put' | 'delete';
export type PathItem = Partial<Record<HttpMethod, Operation>>;

export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: {
    readonly title: string;
    readonly version: string;
    readonly description: string;
    readonly license: { readonly name: string; readonly identifier: string };
  };
  readonly servers: readonly { readonly url: string; readonly description: string }[];
  readonly security: readonly SecurityRequirement[];
  readonly tags: readonly { readonly name: string; readonly description: string }[];
  readonly paths: Readonly<Record<string, PathItem>>;
  readonly components: {
    readonly schemas: Readonly<Record<string, Schema>>;
    readonly responses: Readonly<Record<string, Response>>;
    readonly parameters: Readonly<Record<string, Parameter>>;
    readonly securitySchemes: Readonly<Record<string, Schema>>;
  };
}

// ---- small builders ------------------------------------------------------------------------

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema, example?: unknown): Readonly<Record<string, MediaType>> => ({
  'application/json': example === undefined ? { schema } : { schema, example },
});
const ok = (description: string, schema: Schema): Response => ({ description, content: json(schema) });
const err = (name: string): { $ref: string } => ({ $ref: `#/components/responses/${name}` });
const str: Schema = { type: 'string' };
const int: Schema = { type: 'integer', minimum: 0 };
const bool: Schema = { type: 'boolean' };
const date: Schema = { type: 'string', format: 'date-time' };
const nullable = (schema: Schema): Schema => ({ oneOf: [schema, { type: 'null' }] });
const obj = (
  properties: Record<string, Schema>,
  required: readonly string[] = Object.keys(properties),
  extra: Schema = {},
): Schema => ({
  type: 'object',
  properties,
  ...(required.length > 0 ? { required } : {}),
  ...extra,
});
/**
 * A request body's object: no member beyond `properties` (src/api/rest/json-members.ts refuses one; a unit test,
 * test/unit/json-members.test.ts, checks that these properties are its members).
 */
const closed = (schema: Schema): Schema => ({ ...schema, additionalProperties: false });
const jobId = { $ref: '#/components/parameters/JobId' };
/** Errors every authenticated route can answer. */
const AUTH_ERRORS = { '401': err('Unauthorized'), '403': err('AccessDenied'), '429': err('TooManyRequests') };
const JOB_ERRORS = { ...AUTH_ERRORS, '404': err('NotFound') };

/** Codes the JSON error handler, the authentication and fastify produce besides ERROR_TABLE's. */
const OTHER_ERROR_CODES = [
  'BadRequest',
  'RequestTooLarge',
  'UnsupportedMediaType',
  'NotFound',
  'InternalError',
] as const;
const ERROR_CODES: readonly string[] = [...new Set([...Object.keys(ERROR_TABLE), ...OTHER_ERROR_CODES])];

const SSE_DESCRIPTION =
  'Server-sent events (text/event-stream). Each event is `event: <name>` then `data: <one line of JSON>`; ' +
  'a `: ping` comment every 15 s keeps proxies from closing the stream. `id:` lines are not sent. ' +
  'The event names and the JSON of their data are listed in `x-sse-events`.';

const progressEvent = obj(
  {
    JobId: str,
    Status: ref('JobStatus'),
    TotalNumberOfTasks: int,
    NumberOfTasksSucceeded: int,
    NumberOfTasksFailed: int,
    TasksPerSecond: { type: 'number', minimum: 0 },
    EtaSeconds: nullable({ type: 'number', minimum: 0 }),
    ElapsedTimeInActiveSeconds: int,
    Discovery: nullable(ref('Discovery')),
    FailuresByCode: ref('FailuresByCode'),
    PercentComplete: ref('PercentComplete'),
    BytesProcessed: nullable(int),
    AverageBytesPerSecond: nullable(int),
    BytesPerSecond: {
      ...nullable({ type: 'number', minimum: 0 }),
      description: 'Bytes processed per second over the last seconds; null when the operation moves no bytes.',
    },
  },
  undefined,
  { description: "At most every 250 ms while the job's counters change." },
);
const statusEvent = obj({ JobId: str, From: ref('JobStatus'), To: ref('JobStatus'), At: date }, undefined, {
  description: 'On each status change.',
});
const removedEvent = obj({ JobId: str }, undefined, {
  description:
    'The job was deleted: it had ended longer ago than the job retention period (--job-retention-days); from now on it does not exist.',
});

const downloadHeaders = {
  'Content-Disposition': { description: 'attachment; filename="<name>"', schema: str },
  'Content-Length': {
    description: "The object's size (not sent for /report/failed, which concatenates files).",
    schema: int,
  },
};

/** PauseJob and ResumeJob: the same request (an optional Reason) and answer (the job's status). */
function userPauseOperation(operationId: string, summary: string, description: string, answered: string): Operation {
  return {
    operationId,
    summary,
    description,
    tags: ['Jobs'],
    parameters: [jobId],
    requestBody: {
      required: false,
      content: json(closed(obj({ Reason: { type: 'string', maxLength: 256 } }, []))),
    },
    responses: {
      '200': ok(answered, obj({ JobId: str, Status: ref('JobStatus'), StatusUpdateReason: str }, ['JobId', 'Status'])),
      '400': err('BadRequest'),
      '409': err('Conflict'),
      ...JOB_ERRORS,
    },
  };
}

// ---- the document --------------------------------------------------------------------------

export const OPENAPI_DOCUMENT: OpenApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 's3batch JSON API',
    version: '1',
    description:
      'The S3 Batch Operations job operations of s3batch as JSON (the same jobs as the S3 Control API at /v20180820), ' +
      'live progress as server-sent events, and completion report downloads. Every route except this document and ' +
      '`POST /api/v1/session` needs a caller: the session cookie of a web sign-in, an AWS Signature Version 4 ' +
      '(`curl --aws-sigv4 "aws:amz:us-east-1:s3" -u AK:SK`), or HTTP Basic with an s3batch API access key (`curl -u AK:SK`). ' +
      'The account is the key\'s. Errors are `{"error":{"code","message","requestId"}}` with a stable `code`.',
    license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
  },
  servers: [{ url: '/api/v1', description: 'This server' }],
  security: [{ sessionCookie: [] }, { sigV4: [] }, { basic: [] }],
  tags: [
    { name: 'Jobs', description: 'Create, describe, list and change jobs (S3 Control job operations in JSON).' },
    { name: 'Reports', description: 'Completion report files, streamed from the report bucket.' },
    { name: 'Events', description: 'Live status and progress (server-sent events).' },
    { name: 'Session', description: 'Web sign-in with an access key (cookie).' },
    {
      name: 'Notifications',
      description:
        "Webhooks on job status changes (an s3batch extension): the account's webhooks and a job's deliveries.",
    },
    { name: 'Meta', description: 'This description.' },
  ],
  paths: {
    '/jobs': {
      post: {
        operationId: 'CreateJob',
        summary: 'Create a job',
        description:
          'The S3 Control CreateJob request as JSON. A repeated ClientRequestToken with the same request answers the same job. ' +
          'Before the job is created, the manifest object (and its ETag) and the buckets the job needs are checked with HEADs ' +
          '(400 AccessCheckFailed; SkipAccessCheck skips it). A request that repeats a live job, or one ended within 24 h, is ' +
          'created with a DuplicateJob warning, or refused with 409 DuplicateJob when RejectDuplicates is true.',
        tags: ['Jobs'],
        requestBody: { required: true, content: json(ref('CreateJobRequest')) },
        responses: {
          '201': {
            ...ok(
              'The job was created (or already existed with this ClientRequestToken).',
              obj(
                {
                  JobId: str,
                  Warnings: {
                    type: 'array',
                    description: 'Only when the job was created with a warning.',
                    items: obj({ Code: { type: 'string', enum: ['DuplicateJob'] }, Message: str, JobId: str }),
                  },
                },
                ['JobId'],
              ),
            ),
            headers: {
              'X-S3Batch-Duplicate-Of': {
                description: 'The job this one repeats (also on the S3 Control API), when it does.',
                schema: str,
              },
            },
          },
          '400': err('BadRequest'),
          '409': err('Conflict'),
          ...AUTH_ERRORS,
        },
      },
      get: {
        operationId: 'ListJobs',
        summary: "List the account's jobs",
        description:
          'ListJobs, newest first. With any of `search`, `sort` or `order` the listing is filtered and sorted as asked and ' +
          'each item also carries its `Tags`; its NextToken is then only valid with the same query.',
        tags: ['Jobs'],
        parameters: [
          {
            name: 'jobStatuses',
            in: 'query',
            description: 'Only jobs in these statuses (repeat the parameter or separate with commas).',
            schema: { type: 'array', items: ref('JobStatus') },
            style: 'form',
            explode: true,
          },
          {
            name: 'status',
            in: 'query',
            description: 'Alias of jobStatuses.',
            schema: { type: 'array', items: ref('JobStatus') },
            style: 'form',
            explode: true,
          },
          { name: 'maxResults', in: 'query', schema: { type: 'integer', minimum: 0, maximum: 1000 } },
          { name: 'nextToken', in: 'query', description: 'The NextToken of the previous page.', schema: str },
          {
            name: 'search',
            in: 'query',
            description: 'Case-insensitive text matched against the job id, description, tag keys and values.',
            schema: { type: 'string', maxLength: 256 },
          },
          { name: 'sort', in: 'query', schema: { type: 'string', enum: ['created', 'priority'], default: 'created' } },
          { name: 'order', in: 'query', schema: { type: 'string', enum: ['desc', 'asc'], default: 'desc' } },
        ],
        responses: {
          '200': ok(
            'A page of jobs.',
            obj({ Jobs: { type: 'array', items: ref('JobListItem') }, NextToken: str }, ['Jobs']),
          ),
          '400': err('BadRequest'),
          ...AUTH_ERRORS,
        },
      },
    },
    '/jobs/{id}': {
      get: {
        operationId: 'DescribeJob',
        summary: 'Describe a job',
        description:
          "DescribeJob's JobDescriptor plus what the web page shows: tags, status history, report, prepared manifest, throttling, discovery.",
        tags: ['Jobs'],
        parameters: [jobId],
        responses: { '200': ok('The job.', ref('JobView')), ...JOB_ERRORS },
      },
    },
    '/jobs/{id}/status': {
      post: {
        operationId: 'UpdateJobStatus',
        summary: 'Confirm (Ready) or cancel (Cancelled) a job',
        tags: ['Jobs'],
        parameters: [jobId],
        requestBody: {
          required: true,
          content: json(
            closed(
              obj(
                {
                  RequestedJobStatus: {
                    type: 'string',
                    enum: ['Ready', 'Cancelled', 'Paused'],
                    description:
                      'Paused (s3batch extension) pauses the job as POST /jobs/{id}/pause; Ready on a job a user paused resumes it.',
                  },
                  StatusUpdateReason: { type: 'string', maxLength: 256 },
                },
                ['RequestedJobStatus'],
              ),
            ),
          ),
        },
        responses: {
          '200': ok(
            "The job's status after the change.",
            obj({ JobId: str, Status: ref('JobStatus'), StatusUpdateReason: str }, ['JobId', 'Status']),
          ),
          '400': err('BadRequest'),
          '409': err('Conflict'),
          ...JOB_ERRORS,
        },
      },
    },
    '/jobs/{id}/pause': {
      post: userPauseOperation(
        'PauseJob',
        'Pause a job (s3batch extension)',
        'A user pause: the job starts no task, its in-flight tasks finish, its slots go to other jobs (Active → Pausing → ' +
          'Paused; Ready → Paused). A job paused before it runs (New, Preparing, Suspended) prepares and then waits Paused. ' +
          'The pause survives a restart. 409 JobStatusException for a job that ends (Completing, Cancelling, Failing) or ended.',
        "The job's status after the pause; StatusUpdateReason is the reason.",
      ),
    },
    '/jobs/{id}/resume': {
      post: userPauseOperation(
        'ResumeJob',
        'Resume a job a user paused (s3batch extension)',
        'Clears the user pause: the job gets slots again by priority (Paused → Active, or it stays Paused by priority). ' +
          '409 JobStatusException when no user paused the job.',
        "The job's status after the resume.",
      ),
    },
    '/jobs/{id}/priority': {
      post: {
        operationId: 'UpdateJobPriority',
        summary: "Change a job's priority",
        tags: ['Jobs'],
        parameters: [jobId],
        requestBody: {
          required: true,
          content: json(closed(obj({ Priority: { type: 'integer', minimum: 0, maximum: 2147483647 } }))),
        },
        responses: {
          '200': ok('The new priority.', obj({ JobId: str, Priority: int })),
          '400': err('BadRequest'),
          '409': err('Conflict'),
          ...JOB_ERRORS,
        },
      },
    },
    '/jobs/{id}/retry': {
      post: {
        operationId: 'RetryFailedTasks',
        summary: "Retry a job's failed tasks in a new job (s3batch extension)",
        description:
          "A new job of the same operation over exactly the failed tasks of an ended job (optionally only those of some error codes), read from the job's completion report. Its manifest is written to `<report prefix>/job-<id>/retries/<uuid>.csv`. The new job's `RetryOf` names this job; this job's `Retries` lists it. An empty body retries every failed task.",
        tags: ['Jobs'],
        parameters: [jobId],
        requestBody: {
          required: false,
          content: json(
            closed(
              obj(
                {
                  Codes: { type: 'array', minItems: 1, maxItems: 100, items: str },
                  ConfirmationRequired: { ...bool, description: 'Default false: the retry runs at once.' },
                  Priority: { type: 'integer', minimum: 0, maximum: 2147483647 },
                  Description: str,
                },
                [],
              ),
            ),
          ),
        },
        responses: {
          '201': ok('The new job, as GET /jobs/{id}, with `RetryManifest`.', {
            allOf: [ref('JobView'), obj({ RetryManifest: obj({ ObjectArn: str, ETag: str, Tasks: int }) })],
          }),
          '400': err('BadRequest'),
          '409': err('Conflict'),
          ...JOB_ERRORS,
        },
      },
    },
    '/jobs/{id}/tagging': {
      get: {
        operationId: 'GetJobTagging',
        summary: "A job's tags",
        tags: ['Jobs'],
        parameters: [jobId],
        responses: { '200': ok('The tags.', obj({ Tags: { type: 'array', items: ref('Tag') } })), ...JOB_ERRORS },
      },
      put: {
        operationId: 'PutJobTagging',
        summary: "Replace a job's tags",
        description: 'Tags is required; an empty list removes every tag.',
        tags: ['Jobs'],
        parameters: [jobId],
        requestBody: {
          required: true,
          content: json(closed(obj({ Tags: { type: 'array', maxItems: 50, items: ref('Tag') } }))),
        },
        responses: { '204': { description: 'Replaced.' }, '400': err('BadRequest'), ...JOB_ERRORS },
      },
      delete: {
        operationId: 'DeleteJobTagging',
        summary: 'Remove every tag of a job',
        tags: ['Jobs'],
        parameters: [jobId],
        responses: { '204': { description: 'Removed.' }, ...JOB_ERRORS },
      },
    },
    '/jobs/{id}/notifications': {
      get: {
        operationId: 'GetJobNotifications',
        summary: "A job's webhook deliveries: each event, its URL (without query), its state and attempts",
        tags: ['Notifications'],
        parameters: [jobId],
        responses: {
          '200': ok('The delivery log.', obj({ JobId: str, Deliveries: { type: 'array', items: ref('Delivery') } })),
          ...JOB_ERRORS,
        },
      },
    },
    '/notifications': {
      get: {
        operationId: 'GetNotifications',
        summary: "The account's webhooks and signing secret (null until first needed)",
        tags: ['Notifications'],
        responses: { '200': ok('The settings.', ref('NotificationSettings')), ...AUTH_ERRORS },
      },
      put: {
        operationId: 'PutNotifications',
        summary: "Replace the account's webhooks (at most 10); makes the signing secret when there is none",
        description:
          "Each URL must be allowed by the server's URL policy (--function-urls), else 400 InvalidRequest. Events: " +
          '`status` (a change to a non-terminal status), `end` (Complete, Failed, Cancelled); default both.',
        tags: ['Notifications'],
        requestBody: {
          required: true,
          content: json(
            closed(
              obj({
                Webhooks: {
                  type: 'array',
                  maxItems: 10,
                  items: closed(
                    obj({ Url: str, Events: { type: 'array', items: { type: 'string', enum: ['status', 'end'] } } }, [
                      'Url',
                    ]),
                  ),
                },
              }),
            ),
          ),
        },
        responses: {
          '200': ok('The settings.', ref('NotificationSettings')),
          '400': err('BadRequest'),
          ...AUTH_ERRORS,
        },
      },
      delete: {
        operationId: 'DeleteNotifications',
        summary: "Remove the account's webhooks (the secret stays)",
        tags: ['Notifications'],
        responses: { '204': { description: 'Removed.' }, ...AUTH_ERRORS },
      },
    },
    '/notifications/secret': {
      post: {
        operationId: 'RotateNotificationSecret',
        summary: 'Replace the signing secret; deliveries from now on are signed with the new one',
        tags: ['Notifications'],
        responses: { '200': ok('The new secret.', obj({ Secret: str })), ...AUTH_ERRORS },
      },
    },
    '/jobs/{id}/report': {
      get: {
        operationId: 'GetJobReport',
        summary: "A job's completion report: its files with download URLs",
        description:
          '`Report` is null until the job ended and its report was written (or when reports are off for the job).',
        tags: ['Reports'],
        parameters: [jobId],
        responses: { '200': ok('The report, or null.', ref('ReportListing')), ...JOB_ERRORS },
      },
    },
    '/jobs/{id}/history': {
      get: {
        operationId: 'GetJobThroughputHistory',
        summary: "A job's tasks per second over its life (s3batch extension)",
        description:
          'The finished-task counters the server keeps with the job at bounded size (at most `MaxPoints` samples ' +
          'at least `ResolutionMs` apart; when full, every other one is dropped and the resolution halves, so the ' +
          "points cover the job's whole life), as tasks/s per interval. While the job has not ended, its live " +
          'counters are the last point. The web page draws its tasks/s chart from it.',
        tags: ['Jobs'],
        parameters: [jobId],
        responses: { '200': ok('The tasks/s points, oldest first.', ref('ThroughputHistory')), ...JOB_ERRORS },
      },
    },
    '/jobs/{id}/report/files/{name}': {
      get: {
        operationId: 'DownloadReportFile',
        summary: 'Download one report file',
        description:
          "Streams the object from the report bucket through the job's storage profile. `name` is a file's `Name` in " +
          'GET /jobs/{id}/report (`<40 hex>.csv` or `manifest.json`); any other name is 404 ReportNotFound. HEAD answers the same headers without reading the object.',
        tags: ['Reports'],
        parameters: [
          jobId,
          {
            name: 'name',
            in: 'path',
            required: true,
            description: "The file's base name.",
            schema: { type: 'string', examples: ['manifest.json', '6217b0fab0de85c408b4be96aeaca9b195a7daa5.csv'] },
          },
        ],
        responses: {
          '200': {
            description:
              "The file (result CSV rows: Bucket, Key, VersionId, TaskStatus, HTTPStatusCode, ErrorCode, ResultMessage; or the report's manifest.json).",
            headers: downloadHeaders,
            content: {
              'text/csv; charset=utf-8': { schema: str },
              'application/json': { schema: ref('ReportManifest') },
            },
          },
          ...JOB_ERRORS,
          '502': err('ReportUnavailable'),
        },
      },
    },
    '/jobs/{id}/report/failed': {
      get: {
        operationId: 'DownloadFailedRows',
        summary: 'Every failed-task row of the report as one CSV',
        description:
          "The report's failed result files one after the other, without a header (as AWS writes them). Empty when no task failed.",
        tags: ['Reports'],
        parameters: [jobId],
        responses: {
          '200': {
            description: 'The failed rows.',
            headers: { 'Content-Disposition': downloadHeaders['Content-Disposition'] },
            content: { 'text/csv; charset=utf-8': { schema: str } },
          },
          ...JOB_ERRORS,
          '502': err('ReportUnavailable'),
        },
      },
    },
    '/jobs/{id}/events': {
      get: {
        operationId: 'JobEvents',
        summary: 'Live status and progress of one job',
        description: `${SSE_DESCRIPTION} First a \`job\` event (the job view), then \`status\` and \`progress\` events; \`end\` (the final job view) when the job is Complete, Cancelled or Failed, after which the server closes the stream.`,
        tags: ['Events'],
        parameters: [jobId],
        responses: {
          '200': { description: 'The event stream.', content: { 'text/event-stream': { schema: str } } },
          ...JOB_ERRORS,
        },
        'x-sse-events': { job: ref('JobView'), status: statusEvent, progress: progressEvent, end: ref('JobView') },
      },
    },
    '/events': {
      get: {
        operationId: 'AccountEvents',
        summary: 'Live status and progress of every job of the account',
        description: `${SSE_DESCRIPTION} \`status\` and \`progress\` events of all the account's jobs, and \`removed\` when one is deleted at the end of its retention period; the stream stays open.`,
        tags: ['Events'],
        responses: {
          '200': { description: 'The event stream.', content: { 'text/event-stream': { schema: str } } },
          ...AUTH_ERRORS,
        },
        'x-sse-events': { status: statusEvent, progress: progressEvent, removed: removedEvent },
      },
    },
    '/session': {
      post: {
        operationId: 'SignIn',
        summary: 'Sign in with an access key (sets the s3batch_session cookie)',
        description:
          'Sets `s3batch_session` (HttpOnly, SameSite=Strict, Path=/). Failed sign-ins are limited per address (429 with Retry-After).',
        tags: ['Session'],
        security: [],
        requestBody: { required: true, content: json(closed(obj({ accessKeyId: str, secretAccessKey: str }))) },
        responses: {
          '200': {
            ...ok('Signed in.', ref('Session')),
            headers: {
              'Set-Cookie': { description: 's3batch_session=…; HttpOnly; SameSite=Strict; Path=/', schema: str },
            },
          },
          '400': err('BadRequest'),
          '403': err('AccessDenied'),
          '429': err('TooManyRequests'),
        },
      },
      get: {
        operationId: 'WhoAmI',
        summary: 'Who the caller is',
        tags: ['Session'],
        responses: {
          '200': ok(
            'The caller (ExpiresAt is null unless signed in with the cookie).',
            obj({
              AccessKeyId: str,
              AccountId: ref('AccountId'),
              ExpiresAt: nullable(date),
              Via: { type: 'string', enum: ['session', 'sigv4', 'basic'] },
            }),
          ),
          ...AUTH_ERRORS,
        },
      },
      delete: {
        operationId: 'SignOut',
        summary: 'Sign out: clears the cookie and ends every session of its access key on the server',
        tags: ['Session'],
        security: [],
        responses: { '204': { description: 'Signed out.' } },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'OpenApi',
        summary: 'This OpenAPI 3.1 description',
        tags: ['Meta'],
        security: [],
        responses: { '200': { description: 'The document.', content: json({ type: 'object' }) } },
      },
    },
  },
  components: {
    securitySchemes: {
      sessionCookie: {
        type: 'apiKey',
        in: 'cookie',
        name: 's3batch_session',
        description: 'Set by POST /session. State-changing requests with it must have content-type application/json.',
      },
      basic: {
        type: 'http',
        scheme: 'basic',
        description: 'base64(accessKeyId:secretAccessKey) of an s3batch API access key (curl -u AK:SK).',
      },
      sigV4: {
        type: 'apiKey',
        in: 'header',
        name: 'Authorization',
        description:
          '`AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` — AWS Signature Version 4 with signing name `s3`, any region, and ' +
          'the `x-amz-content-sha256` header required (curl --aws-sigv4 "aws:amz:us-east-1:s3" -u AK:SK).',
      },
    },
    parameters: {
      JobId: {
        name: 'id',
        in: 'path',
        required: true,
        description: 'The job id (a UUID).',
        schema: { type: 'string', minLength: 5, maxLength: 36 },
      },
    },
    responses: {
      BadRequest: {
        description: 'The request is invalid (InvalidRequest, MalformedJSON, BadRequestException, …).',
        content: json(ref('Error')),
      },
      Unauthorized: {
        description:
          'No credentials (Unauthorized). `WWW-Authenticate: Basic realm="s3batch"` unless the web page asked.',
        headers: { 'WWW-Authenticate': { schema: str } },
        content: json(ref('Error')),
      },
      AccessDenied: {
        description:
          'A bad key or signature, or x-amz-account-id naming another account (AccessDenied, SignatureDoesNotMatch, …).',
        content: json(ref('Error')),
      },
      NotFound: {
        description:
          'NotFoundException (no such job in the account) or ReportNotFound (no report yet, reports off, or no such file).',
        content: json(ref('Error')),
      },
      Conflict: {
        description: "JobStatusException (not allowed in the job's status) or IdempotencyException.",
        content: json(ref('Error')),
      },
      TooManyRequests: { description: 'TooManyRequestsException (rate limits).', content: json(ref('Error')) },
      ReportUnavailable: {
        description:
          "The report bucket could not be read (ReportUnavailable; the message has the storage's error code).",
        content: json(ref('Error')),
      },
    },
    schemas: {
      NotificationSettings: obj({
        Webhooks: {
          type: 'array',
          items: obj({ Url: str, Events: { type: 'array', items: { type: 'string', enum: ['status', 'end'] } } }),
        },
        Secret: nullable(str),
      }),
      Delivery: obj(
        {
          EventId: str,
          Event: { type: 'string', enum: ['status', 'end'] },
          Status: ref('JobStatus'),
          Source: { type: 'string', enum: ['job', 'account'] },
          Url: str,
          CreatedAt: date,
          State: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
          AttemptCount: int,
          Attempts: {
            type: 'array',
            description: 'The last 20 attempts.',
            items: obj({ At: date, StatusCode: nullable({ type: 'integer' }), Error: str }, ['At', 'StatusCode']),
          },
          NextAttemptAt: date,
          GaveUpReason: str,
        },
        ['EventId', 'Event', 'Status', 'Source', 'Url', 'CreatedAt', 'State', 'AttemptCount', 'Attempts'],
      ),
      Error: {
        type: 'object',
        required: ['error'],
        properties: { error: obj({ code: { type: 'string', enum: ERROR_CODES }, message: str, requestId: str }) },
        example: {
          error: {
            code: 'NotFoundException',
            message: 'The specified job does not exist: 0f3e…',
            requestId: '6A1F0B2C3D4E5F60',
          },
        },
      },
      AccountId: { type: 'string', pattern: '^\\d{12}$' },
      JobStatus: { type: 'string', enum: [...ALL_STATUSES] },
      OperationName: { type: 'string', enum: [...OPERATION_NAMES, ...EXTENSION_OPERATION_NAMES] },
      Tag: closed(
        obj({ Key: { type: 'string', minLength: 1, maxLength: 128 }, Value: { type: 'string', maxLength: 256 } }),
      ),
      ProgressSummary: obj({
        TotalNumberOfTasks: int,
        NumberOfTasksSucceeded: int,
        NumberOfTasksFailed: int,
        Timers: obj({ ElapsedTimeInActiveSeconds: int }),
      }),
      FailuresByCode: {
        type: 'array',
        description:
          'Failed tasks grouped by error code, sorted by count descending then code: live while the job runs, final once it ended. At most 50 codes (further codes are counted under `Other`) and 5 sample keys per code. s3batch extension.',
        items: obj(
          {
            Code: str,
            HttpStatus: { ...nullable(int), description: "Null when the code's failures had different HTTP statuses." },
            Count: int,
            SampleKeys: { type: 'array', maxItems: 5, items: str },
          },
          ['Code', 'HttpStatus', 'Count', 'SampleKeys'],
        ),
      },
      Discovery: obj({
        ObjectsListed: int,
        ObjectsFound: int,
        TotalBytes: {
          ...nullable(int),
          description:
            'Null when the manifest tells no object sizes (a CSV manifest); inventory reports and the generator count them.',
        },
        ListingComplete: bool,
      }),
      PercentComplete: obj(
        {
          Percent: nullable(int),
          Estimated: bool,
          EstimateBasis: {
            ...nullable(str),
            description:
              'TasksFoundSoFar while an inventory or generator listing goes on (the total still grows); null when exact.',
          },
        },
        undefined,
        { description: 's3batch extension: whole percent of tasks done, and whether it is an estimate.' },
      ),
      Operation: {
        type: 'object',
        description:
          "Exactly one member, named for the operation, with that operation's parameters as in the S3 Control API (S3DeleteObject is an s3batch extension).",
        minProperties: 1,
        maxProperties: 1,
        propertyNames: ref('OperationName'),
        additionalProperties: { type: 'object' },
        example: { S3PutObjectTagging: { TagSet: [{ Key: 'reviewed', Value: 'yes' }] } },
      },
      JobManifest: closed(
        obj({
          Spec: closed(
            obj(
              {
                Format: { type: 'string', enum: ['S3BatchOperations_CSV_20180820', 'S3InventoryReport_CSV_20161130'] },
                Fields: { type: 'array', items: { type: 'string', enum: ['Ignore', 'Bucket', 'Key', 'VersionId'] } },
              },
              ['Format'],
            ),
          ),
          Location: closed(obj({ ObjectArn: str, ObjectVersionId: str, ETag: str }, ['ObjectArn', 'ETag'])),
        }),
      ),
      JobReport: closed(
        obj(
          {
            Enabled: bool,
            Bucket: { type: 'string', description: "The report bucket's ARN (arn:aws:s3:::bucket)." },
            Format: { type: 'string', enum: ['Report_CSV_20180820'] },
            Prefix: str,
            ReportScope: { type: 'string', enum: ['AllTasks', 'FailedTasksOnly'] },
            ExpectedBucketOwner: ref('AccountId'),
          },
          ['Enabled'],
        ),
      ),
      CreateJobRequest: closed(
        obj(
          {
            ConfirmationRequired: bool,
            Operation: ref('Operation'),
            Report: ref('JobReport'),
            ClientRequestToken: { type: 'string', minLength: 1, maxLength: 64 },
            Manifest: ref('JobManifest'),
            ManifestGenerator: { type: 'object', description: 'S3JobManifestGenerator, instead of Manifest.' },
            Description: { type: 'string', maxLength: 256 },
            Priority: { type: 'integer', minimum: 0, maximum: 2147483647 },
            RoleArn: { type: 'string', description: 'Picks the storage profile the job works on.' },
            Tags: { type: 'array', items: ref('Tag') },
            SkipAccessCheck: {
              type: 'boolean',
              description:
                's3batch: do not HEAD the manifest and buckets at submit (tag s3batch:skip-access-check=true).',
            },
            RejectDuplicates: {
              type: 'boolean',
              description:
                's3batch: refuse a duplicate (409 DuplicateJob) instead of warning (tag s3batch:no-duplicates=true).',
            },
            NotifyUrl: {
              type: 'string',
              description:
                "s3batch: a webhook for the job's status changes and its end; stored as the tag s3batch:notify (docs/notifications.md).",
            },
          },
          ['Operation', 'Report', 'Priority', 'RoleArn'],
        ),
      ),
      JobListItem: obj(
        {
          JobId: str,
          Description: str,
          Operation: ref('OperationName'),
          Priority: int,
          Status: ref('JobStatus'),
          CreationTime: date,
          TerminationDate: date,
          ProgressSummary: ref('ProgressSummary'),
          Tags: { type: 'array', items: ref('Tag'), description: 'Only with search, sort or order.' },
        },
        ['JobId', 'Operation', 'Priority', 'Status', 'CreationTime', 'ProgressSummary'],
      ),
      JobDescriptor: obj(
        {
          JobId: str,
          JobArn: str,
          ConfirmationRequired: bool,
          Description: str,
          Status: ref('JobStatus'),
          Manifest: ref('JobManifest'),
          ManifestGenerator: { type: 'object' },
          GeneratedManifestDescriptor: obj({ Format: str, Location: obj({ ObjectArn: str, ETag: str }) }),
          Operation: ref('Operation'),
          Priority: int,
          ProgressSummary: ref('ProgressSummary'),
          StatusUpdateReason: str,
          FailureReasons: { type: 'array', items: obj({ FailureCode: str, FailureReason: str }) },
          Report: ref('JobReport'),
          CreationTime: date,
          TerminationDate: date,
          RoleArn: str,
          SuspendedDate: date,
          SuspendedCause: str,
        },
        [
          'JobId',
          'JobArn',
          'ConfirmationRequired',
          'Status',
          'Operation',
          'Priority',
          'ProgressSummary',
          'FailureReasons',
          'Report',
          'CreationTime',
          'RoleArn',
        ],
      ),
      ReportOutcome: obj({
        writtenAt: date,
        bucket: str,
        manifestKey: str,
        files: {
          type: 'array',
          items: obj({ key: str, taskStatus: { type: 'string', enum: ['succeeded', 'failed'] }, md5: str, rows: int }),
        },
      }),
      JobView: obj(
        {
          Job: ref('JobDescriptor'),
          Tags: { type: 'array', items: ref('Tag') },
          StatusHistory: { type: 'array', items: obj({ status: ref('JobStatus'), at: date }) },
          Report: nullable(ref('ReportOutcome')),
          PreparedManifest: nullable(obj({ totalTasks: int, chunkCount: int, etag: str, bytes: int })),
          DryRun: obj({ Tasks: int, Objects: int, Failed: int, Bytes: int }, undefined, {
            description: 'Dry-run jobs only (tag s3batch:dry-run=true).',
          }),
          Throttling: obj({
            MaxConcurrentTasks: int,
            MaxRequestsPerSecond: nullable({ type: 'number' }),
            EffectiveConcurrency: nullable(int),
            ThrottledAttempts: int,
          }),
          Discovery: nullable(ref('Discovery')),
          PausedBy: {
            type: ['string', 'null'],
            enum: ['user', 'priority', null],
            description: 'Who holds a Pausing or Paused job; null in any other status (s3batch extension).',
          },
          UserPause: nullable(
            obj({ Reason: nullable(str), PausedAt: date }, ['Reason', 'PausedAt'], {
              description: "The user's pause while it is set (s3batch extension).",
            }),
          ),
          FailuresByCode: ref('FailuresByCode'),
          RetryOf: {
            ...nullable(str),
            description: 'The job whose failed tasks this job retries (s3batch extension).',
          },
          Retries: { type: 'array', items: str, description: 'The jobs that retry this job (s3batch extension).' },
          DuplicateOf: nullable({
            ...str,
            description: 'The live or recent job this one repeated when it was created.',
          }),
          PercentComplete: ref('PercentComplete'),
          BytesProcessed: {
            ...nullable(int),
            description:
              'Bytes copied, replicated or read for a checksum by succeeded tasks; null for other operations and dry runs.',
          },
          AverageBytesPerSecond: {
            ...nullable(int),
            description: 'BytesProcessed over the time the job was Active; null before its first second there.',
          },
        },
        [
          'Job',
          'Tags',
          'StatusHistory',
          'Report',
          'PreparedManifest',
          'Throttling',
          'Discovery',
          'PausedBy',
          'UserPause',
          'FailuresByCode',
          'RetryOf',
          'Retries',
          'DuplicateOf',
          'PercentComplete',
          'BytesProcessed',
          'AverageBytesPerSecond',
        ],
      ),
      ThroughputHistory: obj({
        JobId: str,
        Status: ref('JobStatus'),
        ResolutionMs: {
          type: 'integer',
          minimum: 0,
          description: 'Least spacing of the stored points now (0 before the job ran); doubles at each halving.',
        },
        MaxPoints: {
          type: 'integer',
          minimum: 1,
          description: 'The most points stored (the live point comes on top).',
        },
        Points: {
          type: 'array',
          items: obj({
            Time: { type: 'integer', description: 'Milliseconds since the epoch.' },
            TasksPerSecond: {
              type: 'number',
              minimum: 0,
              description: 'Tasks finished per second over the interval since the point before (the first point: 0).',
            },
            TasksSucceeded: int,
            TasksFailed: int,
          }),
        },
      }),
      ReportListing: obj({
        JobId: str,
        Status: ref('JobStatus'),
        Report: nullable(
          obj(
            {
              Bucket: str,
              Prefix: str,
              ManifestKey: str,
              WrittenAt: date,
              Manifest: obj({
                Key: str,
                Url: { type: 'string', description: '/api/v1/jobs/{id}/report/files/manifest.json' },
              }),
              Files: {
                type: 'array',
                items: obj({
                  Name: { type: 'string', description: 'The base name, for /report/files/{name}.' },
                  Key: str,
                  TaskStatus: { type: 'string', enum: ['succeeded', 'failed'] },
                  Rows: int,
                  Md5: { type: 'string', description: "Hex MD5 of the file's bytes." },
                  Url: str,
                }),
              },
            },
            ['Bucket', 'ManifestKey', 'WrittenAt', 'Manifest', 'Files'],
          ),
        ),
      }),
      ReportManifest: obj({
        Format: { type: 'string', const: 'Report_CSV_20180820' },
        ReportCreationDate: date,
        Results: {
          type: 'array',
          items: obj({
            TaskExecutionStatus: { type: 'string', enum: ['succeeded', 'failed'] },
            Bucket: str,
            MD5Checksum: str,
            Key: str,
          }),
        },
        ReportSchema: str,
      }),
      Session: obj({ AccessKeyId: str, AccountId: ref('AccountId'), ExpiresAt: date }),
    },
  },
};

/** `GET /openapi.json` (public: listed in api-auth.ts PUBLIC_API_ROUTES). */
export async function openApiRoutes(app: FastifyInstance): Promise<void> {
  const body = JSON.stringify(OPENAPI_DOCUMENT);
  app.get('/openapi.json', { config: { public: true } }, async (_req, reply) =>
    reply.header('content-type', 'application/json; charset=utf-8').send(body),
  );
}
