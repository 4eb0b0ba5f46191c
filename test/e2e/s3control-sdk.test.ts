/**
 * The S3 Control XML API (/v20180820) driven by the real `@aws-sdk/client-s3-control` against the
 * real `s3batch serve` process on Ceph RGW: every job operation, jobs that run to Complete (objects
 * copied and tagged, reports written), non-terminal states, listing with filters and paging,
 * priority and status updates, job tagging, idempotent CreateJob, per-account isolation, and each
 * typed exception the SDK raises from the server's ErrorResponse envelope.
 *
 * The main client keeps the SDK's endpoint logic unchanged — it talks to `<account>.localhost:PORT`
 * exactly as it would to `<account>.s3-control.<region>.amazonaws.com` — and resolves that name
 * to 127.0.0.1 with its own http.Agent lookup (see test/helpers/s3control.ts). One more client uses
 * the README's `endpointProvider` override instead.
 *
 * The server has no request rate limit, so TooManyRequestsException is never answered and not tested.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { GetObjectCommand, GetObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  BadRequestException,
  CreateJobCommand,
  DeleteJobTaggingCommand,
  DescribeJobCommand,
  GetJobTaggingCommand,
  IdempotencyException,
  InvalidNextTokenException,
  InvalidRequestException,
  JobStatusException,
  ListJobsCommand,
  NotFoundException,
  PutJobTaggingCommand,
  S3ControlServiceException,
  TooManyTagsException,
  UpdateJobPriorityCommand,
  UpdateJobStatusCommand,
  type CreateJobCommandInput,
  type JobListDescriptor,
  type JobOperation,
  type S3ControlClient,
} from '@aws-sdk/client-s3-control';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { putManifest, readReport } from '../helpers/jobs.ts';
import { requireCeph } from '../helpers/provided.ts';
import {
  endpointProviderClient,
  errorCode,
  hostPrefixClient,
  rawRequest,
  waitForJob,
  writeApiKeysFile,
  type ApiKey,
} from '../helpers/s3control.ts';
import { createTestBucket, makeS3Client, putObjects, type S3ServerInfo } from '../helpers/s3-servers.ts';
import { startServerProcess, tempDataDir, type ServerProcess } from '../helpers/server-process.ts';

const secret = (): string => randomBytes(30).toString('base64url');
/** The main account of these tests, another account (isolation), and one whose jobs only the listing test creates. */
const A: ApiKey = { accessKeyId: 'SDKTESTKEYACCOUNTA001', secretAccessKey: secret(), accountId: '111122223333' };
const B: ApiKey = { accessKeyId: 'SDKTESTKEYACCOUNTB001', secretAccessKey: secret(), accountId: '444455556666' };
const C: ApiKey = { accessKeyId: 'SDKTESTKEYACCOUNTC001', secretAccessKey: secret(), accountId: '777788889999' };
const ROLE = 'arn:aws:iam::111122223333:role/batch-ops';
const KEYS = ['a.txt', 'with space.txt', 'unicode/日本語.txt', 'deep/er/path/file.bin'];

let ceph: S3ServerInfo;
let s3: S3Client;
let server: ServerProcess;
let clientA: S3ControlClient;
let clientB: S3ControlClient;
let clientC: S3ControlClient;
let src: string;
let reports: string;
/** A manifest of the objects in KEYS and its ETag. */
let manifest: { key: string; etag: string };

beforeAll(async () => {
  ceph = requireCeph();
  s3 = makeS3Client(ceph);
  src = await createTestBucket(s3, 'ctl-src');
  reports = await createTestBucket(s3, 'ctl-rep');
  await putObjects(s3, src, KEYS, (k) => `content of ${k}`);
  manifest = {
    key: 'manifests/all.csv',
    etag: (
      await putManifest(
        s3,
        src,
        'manifests/all.csv',
        KEYS.map((key) => ({ bucket: src, key })),
      )
    ).etag,
  };
  const dataDir = tempDataDir('s3batch-s3control-sdk-');
  server = await startServerProcess({
    s3: ceph,
    dataDir,
    env: { S3BATCH_API_KEYS_FILE: writeApiKeysFile(dataDir, [A, B, C]) },
  });
  clientA = hostPrefixClient(server.url, A);
  clientB = hostPrefixClient(server.url, B);
  clientC = hostPrefixClient(server.url, C);
});

afterAll(async () => {
  for (const c of [clientA, clientB, clientC]) c?.destroy();
  s3?.destroy();
  await server?.kill('SIGTERM');
});

/** A CreateJob input on the manifest of KEYS (or a missing one, access check skipped: the job then fails in Preparing). */
function jobInput(
  account: string,
  operation: JobOperation,
  extra: Partial<CreateJobCommandInput> = {},
  manifestKind: 'real' | 'missing' = 'real',
): CreateJobCommandInput {
  const key = manifestKind === 'real' ? manifest.key : `missing/${randomUUID()}.csv`;
  return {
    AccountId: account,
    Operation: operation,
    Manifest: {
      Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
      Location: {
        ObjectArn: `arn:aws:s3:::${src}/${key}`,
        ETag: manifestKind === 'real' ? manifest.etag : 'no-such-etag',
      },
    },
    Report: { Enabled: false },
    Priority: 10,
    RoleArn: ROLE,
    ConfirmationRequired: true,
    // A missing manifest would be refused at CreateJob (AccessCheckFailed): skip the check so Preparing fails the job.
    ...(manifestKind === 'missing' ? { Tags: [{ Key: 's3batch:skip-access-check', Value: 'true' }] } : {}),
    ...extra,
  };
}

const tagging = (value = 'v'): JobOperation => ({ S3PutObjectTagging: { TagSet: [{ Key: 'k', Value: value }] } });

async function create(client: S3ControlClient, input: CreateJobCommandInput): Promise<string> {
  const out = await client.send(new CreateJobCommand(input));
  expect(out.JobId).toMatch(/^[0-9a-f-]{36}$/);
  expect(out.$metadata.httpStatusCode).toBe(200);
  expect(out.$metadata.requestId).toMatch(/^[0-9A-F]{16}$/);
  return out.JobId!;
}

/** The SDK exception a call raised (fails when it did not raise). */
async function failure(p: Promise<unknown>): Promise<S3ControlServiceException> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call should have failed').toBeInstanceOf(S3ControlServiceException);
  const e = err as S3ControlServiceException;
  expect(e.$metadata.requestId).toMatch(/^[0-9A-F]{16}$/);
  expect(e.$fault).toBe('client');
  return e;
}

describe('jobs that run to Complete on Ceph RGW', () => {
  it('a copy job: created through the SDK, described after it ran with every field echoed, objects copied, report written', async () => {
    const dst = await createTestBucket(s3, 'ctl-dst');
    const input = jobInput(
      A.accountId,
      {
        S3PutObjectCopy: {
          TargetResource: `arn:aws:s3:::${dst}`,
          TargetKeyPrefix: 'copied',
          MetadataDirective: 'REPLACE',
          NewObjectMetadata: {
            ContentType: 'text/x-copied',
            CacheControl: 'max-age=60',
            UserMetadata: { 'source-system': 'ingest-v2' },
          },
          StorageClass: 'STANDARD',
          CannedAccessControlList: 'private',
        },
      },
      {
        ConfirmationRequired: false,
        Description: 'copy to archive',
        ClientRequestToken: randomUUID(),
        Priority: 7,
        Tags: [{ Key: 'team', Value: 'storage' }],
        Report: {
          Enabled: true,
          Bucket: `arn:aws:s3:::${reports}`,
          Format: 'Report_CSV_20180820',
          Prefix: 'sdk',
          ReportScope: 'AllTasks',
        },
      },
    );
    const id = await create(clientA, input);
    const job = await waitForJob(clientA, A.accountId, id, ['Complete', 'Failed', 'Cancelled']);

    expect(job).toMatchObject({
      JobId: id,
      Status: 'Complete',
      ConfirmationRequired: false,
      Description: 'copy to archive',
      JobArn: `arn:aws:s3:us-east-1:${A.accountId}:job/${id}`,
      Priority: 7,
      RoleArn: ROLE,
      Operation: input.Operation,
      Manifest: input.Manifest,
      Report: input.Report,
      FailureReasons: [],
      ProgressSummary: { TotalNumberOfTasks: 4, NumberOfTasksSucceeded: 4, NumberOfTasksFailed: 0 },
    });
    expect(job.CreationTime).toBeInstanceOf(Date);
    expect(job.TerminationDate!.getTime()).toBeGreaterThanOrEqual(job.CreationTime!.getTime());
    expect(job.ProgressSummary?.Timers?.ElapsedTimeInActiveSeconds).toBeGreaterThanOrEqual(0);

    for (const key of KEYS) {
      const out = await s3.send(new GetObjectCommand({ Bucket: dst, Key: `copied/${key}` }));
      expect(await out.Body!.transformToString()).toBe(`content of ${key}`);
      expect(out.ContentType).toBe('text/x-copied');
      expect(out.Metadata).toEqual({ 'source-system': 'ingest-v2' });
    }
    const report = await readReport(s3, reports, 'sdk', id);
    expect(report.rows.map((r) => r[3])).toEqual(Array(KEYS.length).fill('succeeded'));
  });

  it('a tagging job: tags every object of the manifest and reports each', async () => {
    const id = await create(
      clientA,
      jobInput(
        A.accountId,
        { S3PutObjectTagging: { TagSet: [{ Key: 'tier', Value: 'gold' }] } },
        {
          ConfirmationRequired: false,
          Report: {
            Enabled: true,
            Bucket: `arn:aws:s3:::${reports}`,
            Format: 'Report_CSV_20180820',
            Prefix: 'sdk-tag',
            ReportScope: 'AllTasks',
          },
        },
      ),
    );
    const job = await waitForJob(clientA, A.accountId, id, ['Complete', 'Failed', 'Cancelled']);
    expect(job.Status).toBe('Complete');
    expect(job.ProgressSummary).toMatchObject({
      TotalNumberOfTasks: 4,
      NumberOfTasksSucceeded: 4,
      NumberOfTasksFailed: 0,
    });
    for (const key of KEYS) {
      const t = await s3.send(new GetObjectTaggingCommand({ Bucket: src, Key: key }));
      expect(t.TagSet).toEqual([{ Key: 'tier', Value: 'gold' }]);
    }
    const report = await readReport(s3, reports, 'sdk-tag', id);
    expect(report.rows.map((r) => [r[0], r[3]]).sort()).toEqual(KEYS.map(() => [src, 'succeeded']));
  });
});

describe('non-terminal states, priority and status updates', () => {
  it('describes a job waiting for confirmation, raises its priority, confirms it (Ready) and sees it complete', async () => {
    const id = await create(clientA, jobInput(A.accountId, tagging('confirmed'), { Priority: 3 }));
    const waiting = await waitForJob(clientA, A.accountId, id, 'Suspended');
    expect(waiting).toMatchObject({
      Status: 'Suspended',
      Priority: 3,
      ConfirmationRequired: true,
      ProgressSummary: { TotalNumberOfTasks: 4, NumberOfTasksSucceeded: 0 },
    });
    expect(waiting.SuspendedDate).toBeInstanceOf(Date);
    expect(waiting.SuspendedCause).toBeTruthy();
    expect(waiting.TerminationDate).toBeUndefined();

    const prio = await clientA.send(
      new UpdateJobPriorityCommand({ AccountId: A.accountId, JobId: id, Priority: 2_147_483_647 }),
    );
    expect({ JobId: prio.JobId, Priority: prio.Priority }).toEqual({ JobId: id, Priority: 2_147_483_647 });
    expect((await clientA.send(new DescribeJobCommand({ AccountId: A.accountId, JobId: id }))).Job?.Priority).toBe(
      2_147_483_647,
    );

    const confirmed = await clientA.send(
      new UpdateJobStatusCommand({ AccountId: A.accountId, JobId: id, RequestedJobStatus: 'Ready' }),
    );
    expect(confirmed.JobId).toBe(id);
    expect(['Ready', 'Active', 'Completing', 'Complete']).toContain(confirmed.Status);
    const done = await waitForJob(clientA, A.accountId, id, ['Complete', 'Failed']);
    expect(done.Status).toBe('Complete');
    expect(done.ProgressSummary?.NumberOfTasksSucceeded).toBe(4);

    // a finished job: confirming again is JobStatusException, a new priority BadRequestException
    const again = await failure(
      clientA.send(new UpdateJobStatusCommand({ AccountId: A.accountId, JobId: id, RequestedJobStatus: 'Ready' })),
    );
    expect(again).toBeInstanceOf(JobStatusException);
    expect(again.$metadata.httpStatusCode).toBe(409);
    const late = await failure(
      clientA.send(new UpdateJobPriorityCommand({ AccountId: A.accountId, JobId: id, Priority: 1 })),
    );
    expect(late).toBeInstanceOf(BadRequestException);
  });

  it('cancels a waiting job with a reason; the reason is echoed and kept', async () => {
    const id = await create(clientA, jobInput(A.accountId, tagging()));
    await waitForJob(clientA, A.accountId, id, 'Suspended');
    const out = await clientA.send(
      new UpdateJobStatusCommand({
        AccountId: A.accountId,
        JobId: id,
        RequestedJobStatus: 'Cancelled',
        StatusUpdateReason: 'no longer needed & <not> wanted',
      }),
    );
    expect({ JobId: out.JobId, Status: out.Status, StatusUpdateReason: out.StatusUpdateReason }).toEqual({
      JobId: id,
      Status: 'Cancelled',
      StatusUpdateReason: 'no longer needed & <not> wanted',
    });
    const job = (await clientA.send(new DescribeJobCommand({ AccountId: A.accountId, JobId: id }))).Job!;
    expect(job).toMatchObject({ Status: 'Cancelled', StatusUpdateReason: 'no longer needed & <not> wanted' });
    expect(job.TerminationDate).toBeInstanceOf(Date);
    const confirm = await failure(
      clientA.send(new UpdateJobStatusCommand({ AccountId: A.accountId, JobId: id, RequestedJobStatus: 'Ready' })),
    );
    expect(confirm).toBeInstanceOf(JobStatusException);
    expect(confirm.message).toMatch(/Cancelled/);
  });

  it('echoes every field of a copy request it accepts (a waiting job, never run)', async () => {
    const operation: JobOperation = {
      S3PutObjectCopy: {
        TargetResource: `arn:aws:s3:::${src}`,
        CannedAccessControlList: 'bucket-owner-full-control',
        AccessControlGrants: [
          {
            Grantee: { TypeIdentifier: 'id', Identifier: 'owner-canonical-id', DisplayName: 'Owner' },
            Permission: 'READ',
          },
        ],
        MetadataDirective: 'REPLACE',
        ModifiedSinceConstraint: new Date('2020-01-01T00:00:00Z'),
        NewObjectMetadata: {
          CacheControl: 'max-age=86400',
          ContentDisposition: 'inline',
          ContentEncoding: 'identity',
          ContentLanguage: 'en',
          ContentType: 'text/plain',
          UserMetadata: { 'source-system': 'ingest-v2', other: 'x' },
          HttpExpiresDate: new Date('2030-01-01T00:00:00Z'),
          SSEAlgorithm: 'AES256',
        },
        NewObjectTagging: [{ Key: 'copied-by', Value: 'batch' }],
        RedirectLocation: '/elsewhere',
        RequesterPays: false,
        StorageClass: 'STANDARD_IA',
        UnModifiedSinceConstraint: new Date('2040-05-01T00:00:00Z'),
        TargetKeyPrefix: 'logs',
        ObjectLockLegalHoldStatus: 'OFF',
        ObjectLockMode: 'GOVERNANCE',
        ObjectLockRetainUntilDate: new Date('2041-01-01T00:00:00Z'),
        BucketKeyEnabled: false,
        ChecksumAlgorithm: 'CRC32C',
      },
    };
    const input = jobInput(A.accountId, operation, {
      Description: 'every field',
      Report: {
        Enabled: true,
        Bucket: `arn:aws:s3:::${reports}`,
        Format: 'Report_CSV_20180820',
        Prefix: 'all',
        ReportScope: 'FailedTasksOnly',
        ExpectedBucketOwner: A.accountId,
      },
      Manifest: {
        Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
        Location: { ObjectArn: `arn:aws:s3:::${src}/${manifest.key}`, ETag: manifest.etag },
      },
    });
    const id = await create(clientA, input);
    const job = await waitForJob(clientA, A.accountId, id, 'Suspended');
    expect(job.Operation).toEqual(operation);
    expect(job.Report).toEqual(input.Report);
    expect(job.Manifest).toEqual(input.Manifest);
    expect(job).toMatchObject({ Description: 'every field', RoleArn: ROLE, ConfirmationRequired: true, Priority: 10 });
    await clientA.send(
      new UpdateJobStatusCommand({ AccountId: A.accountId, JobId: id, RequestedJobStatus: 'Cancelled' }),
    );
  });
});

describe('a running job (each object tagging held 400 ms by a proxy in front of Ceph, one task at a time)', () => {
  it('is described while Active, takes a new priority while running, and completes; another is cancelled while running', async () => {
    const proxy = await startFaultProxy(ceph.endpoint, () => undefined, {
      watch: (req) => req.method === 'PUT' && (req.url ?? '').includes('tagging'),
      latencyMs: 400,
    });
    const dataDir = tempDataDir('s3batch-s3control-slow-');
    const slow = await startServerProcess({
      s3: { ...ceph, endpoint: proxy.endpoint },
      dataDir,
      env: { S3BATCH_API_KEYS_FILE: writeApiKeysFile(dataDir, [A]) },
      args: ['--job-concurrency', '1', '--chunk-size', '1'],
    });
    const client = hostPrefixClient(slow.url, A);
    try {
      const id = await create(client, jobInput(A.accountId, tagging('slow'), { ConfirmationRequired: false }));
      const running = await waitForJob(client, A.accountId, id, 'Active');
      expect(running.ProgressSummary?.TotalNumberOfTasks).toBe(4);
      expect(running.ProgressSummary?.NumberOfTasksSucceeded).toBeLessThan(4);
      expect(running.TerminationDate).toBeUndefined();
      const listed = await client.send(new ListJobsCommand({ AccountId: A.accountId, JobStatuses: ['Active'] }));
      expect(listed.Jobs?.map((j) => j.JobId)).toEqual([id]);
      const prio = await client.send(new UpdateJobPriorityCommand({ AccountId: A.accountId, JobId: id, Priority: 99 }));
      expect(prio.Priority).toBe(99);
      const done = await waitForJob(client, A.accountId, id, ['Complete', 'Failed', 'Cancelled']);
      expect(done).toMatchObject({
        Status: 'Complete',
        Priority: 99,
        ProgressSummary: { TotalNumberOfTasks: 4, NumberOfTasksSucceeded: 4 },
      });

      const second = await create(client, jobInput(A.accountId, tagging('cancelled'), { ConfirmationRequired: false }));
      await waitForJob(client, A.accountId, second, 'Active');
      const out = await client.send(
        new UpdateJobStatusCommand({
          AccountId: A.accountId,
          JobId: second,
          RequestedJobStatus: 'Cancelled',
          StatusUpdateReason: 'stop now',
        }),
      );
      expect(['Cancelling', 'Cancelled']).toContain(out.Status);
      expect(out.StatusUpdateReason).toBe('stop now');
      const cancelled = await waitForJob(client, A.accountId, second, ['Cancelled', 'Complete', 'Failed']);
      expect(cancelled.Status).toBe('Cancelled');
      expect(cancelled.ProgressSummary?.NumberOfTasksSucceeded).toBeLessThan(4);
      expect(cancelled.TerminationDate).toBeInstanceOf(Date);
      expect(proxy.watched.maxInFlight).toBe(1);
    } finally {
      client.destroy();
      await slow.kill('SIGTERM');
      await proxy.close();
    }
  });
});

describe('ListJobs', () => {
  it('filters by jobStatuses and pages through NextToken, newest first, only the caller account', async () => {
    const failed: string[] = [];
    const waiting: string[] = [];
    for (let i = 0; i < 2; i++) {
      const id = await create(clientC, jobInput(C.accountId, tagging(), { ConfirmationRequired: false }, 'missing'));
      await waitForJob(clientC, C.accountId, id, 'Failed');
      failed.push(id);
    }
    for (let i = 0; i < 3; i++) {
      const id = await create(clientC, jobInput(C.accountId, tagging(), { Description: `waiting ${i}` }));
      await waitForJob(clientC, C.accountId, id, 'Suspended');
      waiting.push(id);
    }
    const all = [...failed, ...waiting].reverse(); // newest first

    const pages: JobListDescriptor[][] = [];
    let token: string | undefined;
    do {
      const out = await clientC.send(
        new ListJobsCommand({ AccountId: C.accountId, MaxResults: 2, ...(token ? { NextToken: token } : {}) }),
      );
      pages.push(out.Jobs ?? []);
      token = out.NextToken;
      expect(pages.length).toBeLessThan(10);
    } while (token);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat().map((j) => j.JobId)).toEqual(all);
    const first = pages[0]![0]!;
    expect(first).toMatchObject({
      JobId: waiting[2],
      Description: 'waiting 2',
      Operation: 'S3PutObjectTagging',
      Priority: 10,
      Status: 'Suspended',
      ProgressSummary: { TotalNumberOfTasks: 4 },
    });
    expect(first.CreationTime).toBeInstanceOf(Date);
    const lastFailed = pages.flat().find((j) => j.JobId === failed[0])!;
    expect(lastFailed.TerminationDate).toBeInstanceOf(Date);

    const onlyFailed = await clientC.send(new ListJobsCommand({ AccountId: C.accountId, JobStatuses: ['Failed'] }));
    expect(onlyFailed.Jobs?.map((j) => j.JobId)).toEqual([...failed].reverse());
    expect(onlyFailed.NextToken).toBeUndefined();
    const both = await clientC.send(
      new ListJobsCommand({ AccountId: C.accountId, JobStatuses: ['Failed', 'Suspended'] }),
    );
    expect(both.Jobs?.map((j) => j.JobId)).toEqual(all);
    const none = await clientC.send(
      new ListJobsCommand({ AccountId: C.accountId, JobStatuses: ['Active', 'Complete'] }),
    );
    expect(none.Jobs ?? []).toEqual([]);

    // another account sees none of them
    const other = await clientB.send(new ListJobsCommand({ AccountId: B.accountId }));
    expect((other.Jobs ?? []).map((j) => j.JobId).filter((id) => all.includes(id!))).toEqual([]);

    const badStatus = await failure(
      clientC.send(new ListJobsCommand({ AccountId: C.accountId, JobStatuses: ['Running' as 'Active'] })),
    );
    expect(badStatus).toBeInstanceOf(InvalidRequestException);
    const badToken = await failure(
      clientC.send(new ListJobsCommand({ AccountId: C.accountId, NextToken: 'bm90LWEtdG9rZW4' })),
    );
    expect(badToken).toBeInstanceOf(InvalidNextTokenException);
    const tooMany = await failure(clientC.send(new ListJobsCommand({ AccountId: C.accountId, MaxResults: 1001 })));
    expect(tooMany).toBeInstanceOf(InvalidRequestException);
  });
});

describe('job tagging', () => {
  it('creates with tags, then gets, replaces and deletes the tag set', async () => {
    const id = await create(
      clientA,
      jobInput(A.accountId, tagging(), {
        Tags: [
          { Key: 'team', Value: 'storage' },
          { Key: 'cost-center', Value: '42' },
        ],
      }),
    );
    const tags = async () =>
      (await clientA.send(new GetJobTaggingCommand({ AccountId: A.accountId, JobId: id }))).Tags ?? [];
    expect(await tags()).toEqual([
      { Key: 'team', Value: 'storage' },
      { Key: 'cost-center', Value: '42' },
    ]);

    const put = await clientA.send(
      new PutJobTaggingCommand({
        AccountId: A.accountId,
        JobId: id,
        Tags: [
          { Key: 'owner', Value: 'ops@example.com' },
          { Key: 'empty', Value: '' },
        ],
      }),
    );
    expect(put.$metadata.httpStatusCode).toBe(200);
    expect(await tags()).toEqual([
      { Key: 'owner', Value: 'ops@example.com' },
      { Key: 'empty', Value: '' },
    ]);

    await clientA.send(new PutJobTaggingCommand({ AccountId: A.accountId, JobId: id, Tags: [] }));
    expect(await tags()).toEqual([]);
    await clientA.send(
      new PutJobTaggingCommand({ AccountId: A.accountId, JobId: id, Tags: [{ Key: 'again', Value: '1' }] }),
    );
    const del = await clientA.send(new DeleteJobTaggingCommand({ AccountId: A.accountId, JobId: id }));
    expect(del.$metadata.httpStatusCode).toBe(200);
    expect(await tags()).toEqual([]);

    const fiftyOne = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    expect(
      await failure(clientA.send(new PutJobTaggingCommand({ AccountId: A.accountId, JobId: id, Tags: fiftyOne }))),
    ).toBeInstanceOf(TooManyTagsException);
    // tags of another account's job: NotFound, and nothing changed
    expect(
      await failure(
        clientB.send(new PutJobTaggingCommand({ AccountId: B.accountId, JobId: id, Tags: [{ Key: 'x', Value: 'y' }] })),
      ),
    ).toBeInstanceOf(NotFoundException);
    expect(
      await failure(clientB.send(new DeleteJobTaggingCommand({ AccountId: B.accountId, JobId: id }))),
    ).toBeInstanceOf(NotFoundException);
    expect(await failure(clientB.send(new GetJobTaggingCommand({ AccountId: B.accountId, JobId: id })))).toBeInstanceOf(
      NotFoundException,
    );
    expect(await tags()).toEqual([]);
    await clientA.send(
      new UpdateJobStatusCommand({ AccountId: A.accountId, JobId: id, RequestedJobStatus: 'Cancelled' }),
    );
  });
});

describe('idempotent CreateJob', () => {
  it('the same token and request give the same job; the same token with another request is IdempotencyException', async () => {
    const token = randomUUID();
    const input = jobInput(A.accountId, tagging('idem'), { ClientRequestToken: token });
    const first = await create(clientA, input);
    const second = await create(clientA, { ...input });
    expect(second).toBe(first);
    const err = await failure(clientA.send(new CreateJobCommand({ ...input, Priority: 11 })));
    expect(err).toBeInstanceOf(IdempotencyException);
    expect(err.$metadata.httpStatusCode).toBe(409);
    // the token belongs to the account: another account gets a job of its own
    const other = await create(clientB, { ...input, AccountId: B.accountId });
    expect(other).not.toBe(first);
    for (const [c, acct, id] of [
      [clientA, A.accountId, first],
      [clientB, B.accountId, other],
    ] as const) {
      await waitForJob(c, acct, id, 'Suspended');
      await c.send(new UpdateJobStatusCommand({ AccountId: acct, JobId: id, RequestedJobStatus: 'Cancelled' }));
    }
  });
});

describe('typed errors', () => {
  it("NotFoundException for an unknown job and for another account's job, on every job operation", async () => {
    const theirs = await create(clientB, jobInput(B.accountId, tagging()));
    for (const [client, account, id] of [
      [clientA, A.accountId, randomUUID()],
      [clientA, A.accountId, theirs],
    ] as const) {
      const calls = [
        () => client.send(new DescribeJobCommand({ AccountId: account, JobId: id })),
        () => client.send(new UpdateJobPriorityCommand({ AccountId: account, JobId: id, Priority: 1 })),
        () =>
          client.send(new UpdateJobStatusCommand({ AccountId: account, JobId: id, RequestedJobStatus: 'Cancelled' })),
        () => client.send(new GetJobTaggingCommand({ AccountId: account, JobId: id })),
        () => client.send(new PutJobTaggingCommand({ AccountId: account, JobId: id, Tags: [] })),
        () => client.send(new DeleteJobTaggingCommand({ AccountId: account, JobId: id })),
      ];
      for (const call of calls) {
        const err = await failure(call());
        expect(err).toBeInstanceOf(NotFoundException);
        expect(err.$metadata.httpStatusCode).toBe(404);
      }
    }
    // B's job was not touched by A's attempts
    const job = await waitForJob(clientB, B.accountId, theirs, 'Suspended');
    expect(job.Priority).toBe(10);
    await clientB.send(
      new UpdateJobStatusCommand({ AccountId: B.accountId, JobId: theirs, RequestedJobStatus: 'Cancelled' }),
    );
  });

  it('BadRequestException for invalid arguments of DescribeJob, UpdateJobPriority and UpdateJobStatus', async () => {
    const id = await create(clientA, jobInput(A.accountId, tagging()));
    await waitForJob(clientA, A.accountId, id, 'Suspended');
    const cases = [
      () => clientA.send(new UpdateJobPriorityCommand({ AccountId: A.accountId, JobId: id, Priority: -1 })),
      () =>
        clientA.send(
          new UpdateJobStatusCommand({ AccountId: A.accountId, JobId: id, RequestedJobStatus: 'Active' as 'Ready' }),
        ),
      () =>
        clientA.send(
          new UpdateJobStatusCommand({
            AccountId: A.accountId,
            JobId: id,
            RequestedJobStatus: 'Cancelled',
            StatusUpdateReason: 'r'.repeat(257),
          }),
        ),
      () => clientA.send(new DescribeJobCommand({ AccountId: A.accountId, JobId: 'bad!' })),
    ];
    for (const call of cases) {
      const err = await failure(call());
      expect(err).toBeInstanceOf(BadRequestException);
      expect(err.$metadata.httpStatusCode).toBe(400);
    }
    expect((await clientA.send(new DescribeJobCommand({ AccountId: A.accountId, JobId: id }))).Job).toMatchObject({
      Status: 'Suspended',
      Priority: 10,
    });
    await clientA.send(
      new UpdateJobStatusCommand({ AccountId: A.accountId, JobId: id, RequestedJobStatus: 'Cancelled' }),
    );
  });

  it('InvalidRequest for an operation kind s3batch does not know, an empty Operation, and contradictory or unsupported fields; nothing is created', async () => {
    const before = (await clientA.send(new ListJobsCommand({ AccountId: A.accountId }))).Jobs?.length ?? 0;

    // The SDK cannot send an operation kind its model lacks (it serialises modelled members
    // only), so this one request is signed and sent by hand, as a newer SDK would send it.
    const body = `<?xml version="1.0" encoding="UTF-8"?>
<CreateJobRequest xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/">
  <Operation><S3FutureOperation><Level>9</Level></S3FutureOperation></Operation>
  <Manifest><Spec><Format>S3BatchOperations_CSV_20180820</Format><Fields><member>Bucket</member><member>Key</member></Fields></Spec>
    <Location><ObjectArn>arn:aws:s3:::${src}/${manifest.key}</ObjectArn><ETag>${manifest.etag}</ETag></Location></Manifest>
  <Report><Enabled>false</Enabled></Report>
  <ClientRequestToken>${randomUUID()}</ClientRequestToken>
  <Priority>1</Priority>
  <RoleArn>${ROLE}</RoleArn>
</CreateJobRequest>`;
    const future = await rawRequest(server.url, {
      method: 'POST',
      path: '/v20180820/jobs',
      account: A.accountId,
      body,
      contentType: 'application/xml',
      key: A,
    });
    expect(future.status).toBe(400);
    expect(errorCode(future.body)).toBe('InvalidRequest');
    expect(future.body).toContain('S3FutureOperation');

    const empty = await failure(clientA.send(new CreateJobCommand(jobInput(A.accountId, {}))));
    expect(empty.name).toBe('InvalidRequest');
    expect(empty.message).toMatch(/Operation/);
    expect(empty.$metadata.httpStatusCode).toBe(400);

    const both = await failure(
      clientA.send(
        new CreateJobCommand({
          ...jobInput(A.accountId, tagging()),
          ManifestGenerator: {
            S3JobManifestGenerator: { SourceBucket: `arn:aws:s3:::${src}`, EnableManifestOutput: false },
          },
        }),
      ),
    );
    expect(both.name).toBe('InvalidRequest');
    expect(both.message).toMatch(/ManifestGenerator/);

    const directoryBucket = await failure(
      clientA.send(
        new CreateJobCommand(
          jobInput(A.accountId, {
            S3PutObjectCopy: { TargetResource: 'arn:aws:s3express:us-east-1:111122223333:bucket/dir--use1-az4--x-s3' },
          }),
        ),
      ),
    );
    expect(directoryBucket.name).toBe('InvalidRequest');
    expect(directoryBucket.message).toMatch(/directory buckets are not supported/);

    expect((await clientA.send(new ListJobsCommand({ AccountId: A.accountId }))).Jobs?.length ?? 0).toBe(before);
  });
});

describe('the README client (endpointProvider override, no host prefix)', () => {
  it('creates, lists, describes and cancels a job', async () => {
    const client = endpointProviderClient(server.url, A);
    try {
      const id = await create(client, jobInput(A.accountId, tagging(), { Description: 'via endpointProvider' }));
      const listed = await client.send(
        new ListJobsCommand({ AccountId: A.accountId, JobStatuses: ['New', 'Preparing', 'Suspended'] }),
      );
      expect(listed.Jobs?.map((j) => j.JobId)).toContain(id);
      const job = await waitForJob(client, A.accountId, id, 'Suspended');
      expect(job.Description).toBe('via endpointProvider');
      const out = await client.send(
        new UpdateJobStatusCommand({ AccountId: A.accountId, JobId: id, RequestedJobStatus: 'Cancelled' }),
      );
      expect(out.Status).toBe('Cancelled');
      // the host-prefix client sees the same job
      expect((await clientA.send(new DescribeJobCommand({ AccountId: A.accountId, JobId: id }))).Job?.Status).toBe(
        'Cancelled',
      );
    } finally {
      client.destroy();
    }
  });
});
