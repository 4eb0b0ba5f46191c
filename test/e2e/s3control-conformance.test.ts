/**
 * Conformance of the S3 Control job API (docs/s3control-api.md#routes, docs/s3control-api.md#client-compatibility)
 * across clients, against the real `s3batch serve --local`: every operation kind of the model is created through the
 * real `@aws-sdk/client-s3-control` and through Debian's aws CLI (/usr/bin/aws 2.9.19, botocore parses
 * our XML), and DescribeJob must echo Operation, Manifest / ManifestGenerator and Report exactly as
 * sent; list-jobs shows them. Also: characters XML 1.0 cannot carry (refused on input, U+FFFD on
 * output so botocore can still read a job), request-id headers on every answer, an undecodable
 * URL, ListJobs maxResults=0, both host forms signed.
 *
 * The CLI's botocore model (2.9.19) predates S3ComputeObjectChecksum, S3UpdateObjectEncryption,
 * LambdaInvoke InvocationSchemaVersion/UserArguments, Report.ExpectedBucketOwner and the newer
 * generator filters: it refuses them itself ("Unknown parameter"), so they are covered here by the
 * JS SDK only. The CLI prints timestamps as `…+00:00`; they are compared as instants.
 * Go v2 and Java v2 SDKs are not on this machine and are not tested.
 *
 * The CLI connects to `111122223333.localhost` (docs/s3control-api.md#account-id): scripts/ensure-test-deps.sh adds it
 * to /etc/hosts.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  CreateJobCommand,
  DescribeJobCommand,
  ListJobsCommand,
  S3ControlServiceException,
  UpdateJobStatusCommand,
  type CreateJobCommandInput,
  type JobManifestGenerator,
  type JobOperation,
  type S3ControlClient,
} from '@aws-sdk/client-s3-control';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonApi } from '../helpers/json-api.ts';
import { putManifest } from '../helpers/jobs.ts';
import { manifestGenerator, operationKinds } from '../helpers/operation-kinds.ts';
import {
  endpointProviderClient,
  hostPrefixClient,
  rawRequest,
  writeApiKeysFile,
  type ApiKey,
} from '../helpers/s3control.ts';
import { putObjects } from '../helpers/s3-servers.ts';
import { embeddedS3Client, startServerProcess, tempDataDir, type ServerProcess } from '../helpers/server-process.ts';

const AWS = '/usr/bin/aws';
const ACCOUNT = '111122223333';
const BUCKET = 's3batch-demo';
const KEY: ApiKey = {
  accessKeyId: 'CONFORMANCEKEY000001',
  secretAccessKey: randomBytes(30).toString('base64url'),
  accountId: ACCOUNT,
};

let server: ServerProcess;
let local: S3Client;
let sdk: S3ControlClient;
let workDir: string;
let etag: string;

/** Every operation kind of the model, each with every field it has (timestamps as ISO strings). */
const KINDS = operationKinds(BUCKET, ACCOUNT);
/** Kinds (and fields) the aws CLI 2.9.19's own model does not have: it refuses them before sending. */
const NOT_IN_CLI_MODEL = new Set(['S3ComputeObjectChecksum', 'S3UpdateObjectEncryption']);
const CLI_OPERATION: Record<string, Record<string, unknown>> = {
  LambdaInvoke: { FunctionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:fn` },
};

/** A manifest generator with every member and filter s3batch supports (EligibleForReplication, ObjectReplicationStatuses, MatchAnyObjectEncryption are refused: see the last SDK test). */
const GENERATOR = manifestGenerator(BUCKET, ACCOUNT);

const manifest = () => ({
  Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
  Location: { ObjectArn: `arn:aws:s3:::${BUCKET}/conformance/manifest.csv`, ETag: etag },
});
const REPORT = {
  Bucket: `arn:aws:s3:::${BUCKET}`,
  Format: 'Report_CSV_20180820',
  Enabled: true,
  Prefix: 'rep',
  ReportScope: 'FailedTasksOnly',
};

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$/;
/** A JSON value with every timestamp as a Date (what the JS SDK wants and gives back). */
function withDates<T>(value: T): T {
  return JSON.parse(JSON.stringify(value), (_k, v: unknown) =>
    typeof v === 'string' && ISO.test(v) ? new Date(v) : v,
  ) as T;
}
/** A JSON value with every timestamp as ISO-8601 with milliseconds in Z (the CLI prints `+00:00`). */
function isoInstants<T>(value: T): T {
  return JSON.parse(JSON.stringify(value), (_k, v: unknown) =>
    typeof v === 'string' && ISO.test(v) ? new Date(v).toISOString() : v,
  ) as T;
}

interface CliResult {
  code: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the CLI's JSON output, of many shapes
  json: any;
  stderr: string;
}

async function aws(args: string[], endpoint = `http://localhost:${new URL(server.url).port}`): Promise<CliResult> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: workDir,
    AWS_ACCESS_KEY_ID: KEY.accessKeyId,
    AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
  const full = [
    's3control',
    ...args,
    '--account-id',
    ACCOUNT,
    '--endpoint-url',
    endpoint,
    '--region',
    'us-east-1',
    '--output',
    'json',
  ];
  try {
    const { stdout, stderr } = await promisify(execFile)(AWS, full, { env, cwd: workDir, timeout: 60_000 });
    return { code: 0, json: stdout.trim() === '' ? undefined : JSON.parse(stdout), stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, json: undefined, stderr: e.stderr ?? '' };
  }
}

async function cliOk(args: string[]): Promise<CliResult['json']> {
  const r = await aws(args);
  expect(r.code, `aws s3control ${args.join(' ')} failed:\n${r.stderr}`).toBe(0);
  return r.json;
}

function inputFile(value: unknown): string {
  const file = path.join(workDir, `job-${randomUUID()}.json`);
  writeFileSync(file, JSON.stringify(value));
  return `file://${file}`;
}

beforeAll(async () => {
  if (!existsSync(AWS))
    throw new Error(`${AWS} (Debian's awscli) is missing: run \`bash scripts/ensure-test-deps.sh\` as root`);
  const resolved = await lookup(`${ACCOUNT}.localhost`, { family: 4 }).catch(() => undefined);
  if (resolved?.address !== '127.0.0.1')
    throw new Error(`${ACCOUNT}.localhost must resolve to 127.0.0.1: run \`bash scripts/ensure-test-deps.sh\` as root`);
  workDir = tempDataDir('s3batch-s3control-conformance-');
  server = await startServerProcess({
    dataDir: workDir,
    env: { S3BATCH_ACCOUNT_ID: ACCOUNT, S3BATCH_API_KEYS_FILE: writeApiKeysFile(workDir, [KEY]) },
  });
  local = embeddedS3Client(server);
  await putObjects(local, BUCKET, ['a.txt', 'b.txt']);
  etag = (
    await putManifest(local, BUCKET, 'conformance/manifest.csv', [
      { bucket: BUCKET, key: 'a.txt' },
      { bucket: BUCKET, key: 'b.txt' },
    ])
  ).etag;
  sdk = hostPrefixClient(server.url, KEY);
});

afterAll(async () => {
  sdk?.destroy();
  local?.destroy();
  await server?.kill('SIGTERM');
});

/** The parts of a described job that must echo the request. */
function echoed(job: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of [
    'Operation',
    'Manifest',
    'ManifestGenerator',
    'Report',
    'Priority',
    'RoleArn',
    'Description',
    'ConfirmationRequired',
  ]) {
    if (job[k] !== undefined) out[k] = job[k];
  }
  return out;
}

describe('@aws-sdk/client-s3-control: every operation kind is echoed by DescribeJob exactly as sent', () => {
  const sdkCases: [string, Record<string, unknown>, 'manifest' | 'generator'][] = [
    ...Object.entries(KINDS).map(([kind, fields]): [string, Record<string, unknown>, 'manifest'] => [
      kind,
      { [kind]: fields },
      'manifest',
    ]),
    ['S3PutObjectTagging with a ManifestGenerator', { S3PutObjectTagging: KINDS.S3PutObjectTagging }, 'generator'],
  ];
  it.each(sdkCases)('%s', async (name, operation, source) => {
    const sent = {
      ConfirmationRequired: true,
      Operation: operation,
      Report: { ...REPORT, ExpectedBucketOwner: ACCOUNT },
      Priority: 7,
      RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
      Description: `sdk ${name}`,
      ...(source === 'manifest' ? { Manifest: manifest() } : { ManifestGenerator: GENERATOR }),
    };
    const input: CreateJobCommandInput = {
      AccountId: ACCOUNT,
      ClientRequestToken: randomUUID(),
      ...withDates(sent),
    } as CreateJobCommandInput;
    const { JobId } = await sdk.send(new CreateJobCommand(input));
    const { Job } = await sdk.send(new DescribeJobCommand({ AccountId: ACCOUNT, JobId }));
    expect(echoed(Job as Record<string, unknown>)).toEqual(withDates(sent));
    const listed = await sdk.send(new ListJobsCommand({ AccountId: ACCOUNT, MaxResults: 1000 }));
    expect(listed.Jobs?.find((j) => j.JobId === JobId)).toMatchObject({
      Operation: Object.keys(operation)[0],
      Priority: 7,
      Description: `sdk ${name}`,
    });
  });

  it('absent ConfirmationRequired means confirmation required (docs/job-lifecycle.md#confirmation, as AWS) and is echoed true; explicit false is false', async () => {
    for (const [confirmation, expected] of [
      [undefined, true],
      [false, false],
      [true, true],
    ] as const) {
      const { JobId } = await sdk.send(
        new CreateJobCommand({
          AccountId: ACCOUNT,
          Operation: { S3DeleteObjectTagging: {} },
          Manifest: manifest() as CreateJobCommandInput['Manifest'],
          Report: { Enabled: false },
          Priority: 1,
          RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
          ...(confirmation === undefined ? {} : { ConfirmationRequired: confirmation }),
        }),
      );
      const { Job } = await sdk.send(new DescribeJobCommand({ AccountId: ACCOUNT, JobId }));
      expect(Job?.ConfirmationRequired).toBe(expected);
    }
  });

  it('StatusUpdateReason and Description count characters, not UTF-16 units: 256 emoji are accepted and echoed, 257 refused', async () => {
    const reason = '😀'.repeat(256);
    const { JobId } = await sdk.send(
      new CreateJobCommand({
        AccountId: ACCOUNT,
        Operation: { S3DeleteObjectTagging: {} },
        Manifest: manifest() as CreateJobCommandInput['Manifest'],
        Report: { Enabled: false },
        Priority: 1,
        RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
        ConfirmationRequired: true,
        Description: reason,
      }),
    );
    const tooLong = await sdk
      .send(
        new UpdateJobStatusCommand({
          AccountId: ACCOUNT,
          JobId,
          RequestedJobStatus: 'Cancelled',
          StatusUpdateReason: `${reason}x`,
        }),
      )
      .then(
        () => undefined,
        (e: unknown) => e as S3ControlServiceException,
      );
    expect(tooLong?.name).toBe('BadRequestException');
    const cancelled = await sdk.send(
      new UpdateJobStatusCommand({
        AccountId: ACCOUNT,
        JobId,
        RequestedJobStatus: 'Cancelled',
        StatusUpdateReason: reason,
      }),
    );
    expect(cancelled.StatusUpdateReason).toBe(reason);
    const { Job } = await sdk.send(new DescribeJobCommand({ AccountId: ACCOUNT, JobId }));
    expect(Job?.StatusUpdateReason).toBe(reason);
    expect(Job?.Description).toBe(reason);
  });

  it('a field or filter s3batch cannot honour is a typed InvalidRequest naming it, not dropped', async () => {
    const refused: [string, JobManifestGenerator][] = [
      [
        'EligibleForReplication',
        {
          S3JobManifestGenerator: {
            ...withDates(GENERATOR.S3JobManifestGenerator),
            Filter: { EligibleForReplication: true },
          },
        } as JobManifestGenerator,
      ],
      [
        'MatchAnyObjectEncryption',
        {
          S3JobManifestGenerator: {
            ...withDates(GENERATOR.S3JobManifestGenerator),
            Filter: { MatchAnyObjectEncryption: [{ NOTSSE: {} }] },
          },
        } as JobManifestGenerator,
      ],
    ];
    for (const [field, generator] of refused) {
      const err = await sdk
        .send(
          new CreateJobCommand({
            AccountId: ACCOUNT,
            Operation: { S3DeleteObjectTagging: {} } as JobOperation,
            ManifestGenerator: generator,
            Report: { Enabled: false },
            Priority: 1,
            RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
          }),
        )
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(S3ControlServiceException);
      expect((err as S3ControlServiceException).name).toBe('InvalidRequest');
      expect((err as Error).message).toContain(field);
    }
  });

  it('a control character XML cannot carry is refused (MalformedXML) in CreateJob and statusUpdateReason (BadRequestException)', async () => {
    const bad = await sdk
      .send(
        new CreateJobCommand({
          AccountId: ACCOUNT,
          Operation: { S3DeleteObjectTagging: {} },
          Manifest: manifest() as CreateJobCommandInput['Manifest'],
          Report: { Enabled: false },
          Priority: 1,
          RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
          Description: 'a\u0001b',
        }),
      )
      .then(
        () => undefined,
        (e: unknown) => e as S3ControlServiceException,
      );
    expect(bad?.name).toBe('MalformedXML');
    expect(bad?.message).toContain('U+0001');
    const { JobId } = await sdk.send(
      new CreateJobCommand({
        AccountId: ACCOUNT,
        Operation: { S3DeleteObjectTagging: {} },
        Manifest: manifest() as CreateJobCommandInput['Manifest'],
        Report: { Enabled: false },
        Priority: 1,
        RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
        ConfirmationRequired: true,
      }),
    );
    const reason = await sdk
      .send(
        new UpdateJobStatusCommand({
          AccountId: ACCOUNT,
          JobId,
          RequestedJobStatus: 'Cancelled',
          StatusUpdateReason: 'no\u0002',
        }),
      )
      .then(
        () => undefined,
        (e: unknown) => e as S3ControlServiceException,
      );
    expect(reason?.name).toBe('BadRequestException');
  });
});

describe('aws s3control (Debian awscli 2.9.19, botocore parsing our XML)', () => {
  const cliKinds = Object.keys(KINDS).filter((k) => !NOT_IN_CLI_MODEL.has(k));
  const cliCases: [string, Record<string, unknown>, 'manifest' | 'generator'][] = [
    ...cliKinds.map((kind): [string, Record<string, unknown>, 'manifest'] => [
      kind,
      { [kind]: CLI_OPERATION[kind] ?? KINDS[kind] },
      'manifest',
    ]),
    ['S3PutObjectTagging with a ManifestGenerator', { S3PutObjectTagging: KINDS.S3PutObjectTagging }, 'generator'],
  ];
  it.each(cliCases)('create-job / describe-job / list-jobs: %s', async (name, operation, source) => {
    // The CLI's model has only CreatedAfter/CreatedBefore (and two refused filters) in Filter.
    const generator = {
      S3JobManifestGenerator: {
        ...GENERATOR.S3JobManifestGenerator,
        Filter: {
          CreatedAfter: GENERATOR.S3JobManifestGenerator.Filter.CreatedAfter,
          CreatedBefore: GENERATOR.S3JobManifestGenerator.Filter.CreatedBefore,
        },
      },
    };
    const sent = {
      ConfirmationRequired: true,
      Operation: operation,
      Report: REPORT,
      Priority: 7,
      RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
      Description: `cli ${name}`,
      ...(source === 'manifest' ? { Manifest: manifest() } : { ManifestGenerator: generator }),
    };
    const created = await cliOk([
      'create-job',
      '--cli-input-json',
      inputFile({ ...sent, ClientRequestToken: randomUUID() }),
    ]);
    const described = await cliOk(['describe-job', '--job-id', created.JobId]);
    expect(isoInstants(echoed(described.Job))).toEqual(isoInstants(sent));
    const listed = await cliOk(['list-jobs']);
    expect(listed.Jobs.find((j: { JobId: string }) => j.JobId === created.JobId)).toMatchObject({
      Operation: Object.keys(operation)[0],
      Priority: 7,
      Description: `cli ${name}`,
    });
  });

  it('idempotency: the same input file twice gives the same job; the same token with another priority is IdempotencyException', async () => {
    const request = {
      Operation: { S3DeleteObjectTagging: {} },
      Manifest: manifest(),
      Report: { Enabled: false },
      Priority: 1,
      RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
      ClientRequestToken: randomUUID(),
      ConfirmationRequired: true,
    };
    const first = await cliOk(['create-job', '--cli-input-json', inputFile(request)]);
    const again = await cliOk(['create-job', '--cli-input-json', inputFile(request)]);
    expect(again.JobId).toBe(first.JobId);
    const other = await aws(['create-job', '--cli-input-json', inputFile({ ...request, Priority: 2 })]);
    expect(other.code).toBe(254);
    expect(other.stderr).toMatch(/\(IdempotencyException\) when calling the CreateJob operation/);
  });

  it('put-job-tagging / get-job-tagging / delete-job-tagging (empty 200 bodies), an empty value and Unicode kept; 51 tags is TooManyTagsException', async () => {
    const { JobId } = await cliOk([
      'create-job',
      '--cli-input-json',
      inputFile({
        Operation: { S3DeleteObjectTagging: {} },
        Manifest: manifest(),
        Report: { Enabled: false },
        Priority: 1,
        RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
        ClientRequestToken: randomUUID(),
        ConfirmationRequired: true,
      }),
    ]);
    const tags = [
      { Key: '日本', Value: '' },
      { Key: 'a b', Value: 'c=d' },
    ];
    expect(
      await cliOk(['put-job-tagging', '--job-id', JobId, '--cli-input-json', inputFile({ Tags: tags })]),
    ).toBeUndefined();
    expect(await cliOk(['get-job-tagging', '--job-id', JobId])).toEqual({ Tags: tags });
    expect(await cliOk(['delete-job-tagging', '--job-id', JobId])).toBeUndefined();
    expect(await cliOk(['get-job-tagging', '--job-id', JobId])).toEqual({ Tags: [] });
    const many = await aws([
      'put-job-tagging',
      '--job-id',
      JobId,
      '--cli-input-json',
      inputFile({ Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) }),
    ]);
    expect(many.stderr).toMatch(/\(TooManyTagsException\) when calling the PutJobTagging operation/);
  });

  it('the CLI refuses, before sending, what its own older model lacks (so those kinds are JS-SDK-only here)', async () => {
    const r = await aws([
      'create-job',
      '--cli-input-json',
      inputFile({
        Operation: { S3ComputeObjectChecksum: KINDS.S3ComputeObjectChecksum },
        Manifest: manifest(),
        Report: { Enabled: false },
        Priority: 1,
        RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
        ClientRequestToken: randomUUID(),
      }),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Unknown parameter in Operation: "S3ComputeObjectChecksum"');
  });

  it('a control character in a description is refused as MalformedXML; one stored through the JSON API reads back as U+FFFD instead of breaking describe-job and list-jobs', async () => {
    const refused = await aws([
      'create-job',
      '--cli-input-json',
      inputFile({
        Operation: { S3DeleteObjectTagging: {} },
        Manifest: manifest(),
        Report: { Enabled: false },
        Priority: 1,
        RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
        ClientRequestToken: randomUUID(),
        Description: 'a\u0001b',
      }),
    ]);
    expect(refused.code).toBe(254);
    expect(refused.stderr).toMatch(/\(MalformedXML\) when calling the CreateJob operation: .*U\+0001/);

    const { JobId } = await new JsonApi(server.url, ACCOUNT).createJob({
      Operation: { S3DeleteObjectTagging: {} },
      Manifest: manifest(),
      Report: { Enabled: false },
      Priority: 1,
      RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
      ClientRequestToken: randomUUID(),
      ConfirmationRequired: true,
      Description: 'x\u0001y\tz',
    });
    const described = await cliOk(['describe-job', '--job-id', JobId]);
    expect(described.Job.Description).toBe('x\ufffdy\tz');
    const listed = await cliOk(['list-jobs']);
    expect(listed.Jobs.find((j: { JobId: string }) => j.JobId === JobId)?.Description).toBe('x\ufffdy\tz');
  });

  it('list-jobs --max-results 0 lists jobs (the default page), not an empty page without a token', async () => {
    const listed = await cliOk(['list-jobs', '--max-results', '0']);
    expect(listed.Jobs.length).toBeGreaterThan(5);
  });
});

describe('wire details (docs/s3control-api.md#routes to #error-envelope)', () => {
  it('x-amz-request-id and x-amz-id-2 on every answer, the envelope RequestId equal to the header', async () => {
    const answers = await Promise.all([
      rawRequest(server.url, { method: 'GET', path: '/v20180820/jobs', account: ACCOUNT, key: KEY }),
      rawRequest(server.url, { method: 'GET', path: '/v20180820/jobs/abcde-1', account: ACCOUNT, key: KEY }),
      rawRequest(server.url, { method: 'GET', path: '/v20180820/nothing', account: ACCOUNT, key: KEY }),
      rawRequest(server.url, { method: 'GET', path: '/v20180820/jobs', account: ACCOUNT }),
      rawRequest(server.url, {
        method: 'GET',
        path: '/v20180820/jobs/%zz',
        account: ACCOUNT,
        key: KEY,
        sendPath: '/v20180820/jobs/%zz',
      }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 404, 404, 403, 400]);
    for (const a of answers) {
      expect(a.headers.get('x-amz-request-id')).toMatch(/^[0-9A-F]{16}$/);
      expect(a.headers.get('x-amz-id-2')).toMatch(/^[A-Za-z0-9+/=]{16,}$/);
      if (a.status !== 200) {
        expect(a.body).toMatch(
          /^<\?xml version="1.0" encoding="UTF-8"\?><ErrorResponse xmlns="http:\/\/awss3control.amazonaws.com\/doc\/2018-08-20\/"><Error><Code>/,
        );
        expect(/<RequestId>([^<]*)<\/RequestId>/.exec(a.body)?.[1]).toBe(a.headers.get('x-amz-request-id'));
      }
    }
    expect(answers[4]!.body).toContain('<Code>InvalidURI</Code>');
  });

  it('an element the model does not have is InvalidRequest naming it (what SDKs cannot send, a hand-written or newer client can)', async () => {
    const body = `<CreateJobRequest xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/"><Operation><S3PutObjectTagging><TagSet/><Merge>true</Merge></S3PutObjectTagging></Operation><Report><Enabled>false</Enabled></Report><ClientRequestToken>${randomUUID()}</ClientRequestToken><Manifest><Spec><Format>S3BatchOperations_CSV_20180820</Format><Fields><member>Bucket</member><member>Key</member></Fields></Spec><Location><ObjectArn>arn:aws:s3:::${BUCKET}/conformance/manifest.csv</ObjectArn><ETag>${etag}</ETag></Location></Manifest><Priority>1</Priority><RoleArn>arn:aws:iam::${ACCOUNT}:role/r</RoleArn></CreateJobRequest>`;
    const r = await rawRequest(server.url, {
      method: 'POST',
      path: '/v20180820/jobs',
      account: ACCOUNT,
      key: KEY,
      body,
    });
    expect(r.status).toBe(400);
    expect(r.body).toContain('<Code>InvalidRequest</Code>');
    expect(r.body).toContain('S3PutObjectTagging has no member &lt;Merge&gt;');
  });

  it("s3batch's generator extension members (KeyNameRegex, MaxObjects) sent in XML are typed, kept and echoed in DescribeJob's XML; the SDK still reads it", async () => {
    const body = `<CreateJobRequest xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/"><Operation><S3DeleteObjectTagging/></Operation><Report><Enabled>false</Enabled></Report><ClientRequestToken>${randomUUID()}</ClientRequestToken><ManifestGenerator><S3JobManifestGenerator><SourceBucket>arn:aws:s3:::${BUCKET}</SourceBucket><Filter><KeyNameRegex>^a</KeyNameRegex><MaxObjects>2</MaxObjects></Filter><EnableManifestOutput>false</EnableManifestOutput></S3JobManifestGenerator></ManifestGenerator><Priority>1</Priority><RoleArn>arn:aws:iam::${ACCOUNT}:role/r</RoleArn><ConfirmationRequired>true</ConfirmationRequired></CreateJobRequest>`;
    const created = await rawRequest(server.url, {
      method: 'POST',
      path: '/v20180820/jobs',
      account: ACCOUNT,
      key: KEY,
      body,
    });
    expect(created.status, created.body).toBe(200);
    const jobId = /<JobId>([^<]+)<\/JobId>/.exec(created.body)?.[1] ?? '';
    const described = await rawRequest(server.url, {
      method: 'GET',
      path: `/v20180820/jobs/${jobId}`,
      account: ACCOUNT,
      key: KEY,
    });
    expect(described.body).toContain('<Filter><KeyNameRegex>^a</KeyNameRegex><MaxObjects>2</MaxObjects></Filter>');
    const { Job } = await sdk.send(new DescribeJobCommand({ AccountId: ACCOUNT, JobId: jobId }));
    expect(Job?.ManifestGenerator?.S3JobManifestGenerator?.SourceBucket).toBe(`arn:aws:s3:::${BUCKET}`);
  });

  it('both host forms, signed: <account>.localhost (SDK default) and plain localhost (endpointProvider override)', async () => {
    const plain = endpointProviderClient(server.url, KEY);
    try {
      const viaPlain = await plain.send(new ListJobsCommand({ AccountId: ACCOUNT }));
      const viaPrefix = await sdk.send(new ListJobsCommand({ AccountId: ACCOUNT }));
      expect(viaPlain.Jobs?.map((j) => j.JobId)).toEqual(viaPrefix.Jobs?.map((j) => j.JobId));
    } finally {
      plain.destroy();
    }
  });
});
