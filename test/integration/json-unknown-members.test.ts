/**
 * Unknown members on the JSON API of the real `s3batch serve --local` process (issue 11, part 5): a member a
 * body does not have, at any depth, is 400 InvalidRequest naming it by its path (and the member meant when only
 * the case differs), and no job is created or changed; a body with every member of the model still creates its
 * job. Before, `"confirmationRequired": false` gave 201 and the job waited in Suspended.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth } from '../helpers/json-api.ts';
import { putManifest } from '../helpers/jobs.ts';
import { manifestGenerator, operationKinds } from '../helpers/operation-kinds.ts';
import { embeddedS3Client, startServerProcess, TEST_API_KEY, type ServerProcess } from '../helpers/server-process.ts';

let server: ServerProcess;
let s3: S3Client;
/** The ETag of a real one-row manifest (s3batch-demo/manifest.csv): a job on it waits in Suspended. */
let manifestEtag: string;

beforeAll(async () => {
  server = await startServerProcess();
  s3 = embeddedS3Client(server);
  manifestEtag = (await putManifest(s3, BUCKET, 'manifest.csv', [{ bucket: BUCKET, key: 'object.txt' }])).etag;
});

afterAll(async () => {
  s3?.destroy();
  await server?.kill('SIGTERM');
});

interface Answer {
  readonly status: number;
  readonly code?: string;
  readonly message?: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies of several shapes
  readonly json: any;
}

async function call(method: string, path: string, body?: unknown, auth = true): Promise<Answer> {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: {
      ...(auth ? { authorization: basicAuth(TEST_API_KEY) } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  return { status: res.status, code: json?.error?.code, message: json?.error?.message, json };
}

const BUCKET = 's3batch-demo';
const ACCOUNT = TEST_API_KEY.accountId;

/**
 * Every operation kind, each with every member it has (as test/e2e/s3control-conformance.test.ts sends them), and
 * S3DeleteObject; LambdaInvoke names a function URL.
 */
const KINDS: Record<string, Record<string, unknown>> = {
  ...operationKinds(BUCKET, ACCOUNT),
  LambdaInvoke: {
    FunctionArn: 'http://127.0.0.1:9/fn',
    InvocationSchemaVersion: '2.0',
    UserArguments: { a: '1', b: 'x y' },
  },
  S3DeleteObject: { BypassGovernanceRetention: false },
};

/** A CreateJob body with every top-level member and the Manifest and Report with all of theirs. */
function fullJob(operation: Record<string, unknown> = { S3PutObjectTagging: KINDS.S3PutObjectTagging }) {
  return {
    ConfirmationRequired: true,
    Operation: operation,
    Report: {
      Bucket: `arn:aws:s3:::${BUCKET}`,
      Format: 'Report_CSV_20180820',
      Enabled: true,
      Prefix: 'rep',
      ReportScope: 'FailedTasksOnly',
      ExpectedBucketOwner: ACCOUNT,
    },
    ClientRequestToken: crypto.randomUUID(),
    Manifest: {
      Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
      Location: { ObjectArn: `arn:aws:s3:::${BUCKET}/no-such-manifest.csv`, ObjectVersionId: 'v1', ETag: 'e' },
    },
    Description: 'every member',
    Priority: 10,
    RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
    Tags: [{ Key: 'team', Value: 'storage' }],
  };
}

/** A manifest generator with every member s3batch takes, its extension filter members included. */
function generatorJob(filter: Record<string, unknown> = {}) {
  const { Manifest: _m, ...job } = fullJob();
  const generator = manifestGenerator(BUCKET, ACCOUNT).S3JobManifestGenerator;
  return {
    ...job,
    ManifestGenerator: {
      S3JobManifestGenerator: {
        ...generator,
        Filter: { ...generator.Filter, KeyNameRegex: '^a', MaxObjects: 100, ...filter },
      },
    },
  };
}

async function jobCount(): Promise<number> {
  const res = await call('GET', '/jobs?maxResults=1000');
  expect(res.status).toBe(200);
  return (res.json.Jobs as unknown[]).length;
}

/** Polls DescribeJob until the job at `path` is in `status`. */
async function waitForStatus(path: string, status: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const view = await call('GET', path);
    if (view.json?.Job?.Status === status) return;
    last = view.json;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${path} did not reach ${status} in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

/** POSTs a CreateJob body that must be refused, and checks that no job was created. */
async function refusedJob(body: unknown): Promise<string> {
  const before = await jobCount();
  const res = await call('POST', '/jobs', body);
  expect({ status: res.status, code: res.code }, JSON.stringify(res.json)).toEqual({
    status: 400,
    code: 'InvalidRequest',
  });
  expect(await jobCount()).toBe(before);
  return res.message ?? '';
}

describe('CreateJob', () => {
  it('refuses "confirmationRequired" naming the member meant, and creates no job', async () => {
    const { ConfirmationRequired: _c, ...job } = fullJob();
    expect(await refusedJob({ ...job, confirmationRequired: false })).toBe(
      '"confirmationRequired" is not a member; did you mean "ConfirmationRequired"?',
    );
  });

  it('refuses an unknown member in Manifest, Operation, Report and a generator filter, by its path', async () => {
    const job = fullJob();
    expect(
      await refusedJob({ ...job, Manifest: { ...job.Manifest, Spec: { ...job.Manifest.Spec, Formatt: 'x' } } }),
    ).toBe(
      '"Manifest.Spec.Formatt" is not a member: Manifest.Spec has Format, Fields; s3batch refuses it rather than ignore it',
    );
    expect(await refusedJob({ ...job, Report: { ...job.Report, reportScope: 'AllTasks' } })).toBe(
      '"Report.reportScope" is not a member; did you mean "Report.ReportScope"?',
    );
    expect(
      await refusedJob(
        fullJob({ S3PutObjectCopy: { ...KINDS.S3PutObjectCopy, NewObjectMetadata: { Colour: 'red' } } }),
      ),
    ).toMatch(/^"Operation\.S3PutObjectCopy\.NewObjectMetadata\.Colour" is not a member: .* has CacheControl, /);
    expect(await refusedJob(fullJob({ S3PutObjectTagging: { TagSet: [{ Key: 'k', value: 'v' }] } }))).toBe(
      '"Operation.S3PutObjectTagging.TagSet[0].value" is not a member; did you mean "Operation.S3PutObjectTagging.TagSet[0].Value"?',
    );
    expect(await refusedJob(generatorJob({ KeyNameConstraint: { MatchAnyPrefixes: ['a'] } }))).toMatch(
      /^"ManifestGenerator\.S3JobManifestGenerator\.Filter\.KeyNameConstraint\.MatchAnyPrefixes" is not a member: /,
    );
    expect(await refusedJob(generatorJob({ maxObjects: 5 }))).toBe(
      '"ManifestGenerator.S3JobManifestGenerator.Filter.maxObjects" is not a member; ' +
        'did you mean "ManifestGenerator.S3JobManifestGenerator.Filter.MaxObjects"?',
    );
    expect(await refusedJob({ ...job, AccountId: ACCOUNT })).toMatch(/^"AccountId" is not a member: CreateJob has /);
  });

  it('creates a job from a body with every member, for every operation kind and the manifest generator', async () => {
    for (const [kind, member] of Object.entries(KINDS)) {
      // The manifest does not exist: skip CreateJob's access check (SkipAccessCheck and RejectDuplicates are members too).
      const res = await call('POST', '/jobs', {
        ...fullJob({ [kind]: member }),
        SkipAccessCheck: true,
        RejectDuplicates: false,
      });
      expect({ kind, status: res.status }, JSON.stringify(res.json)).toEqual({ kind, status: 201 });
      expect(res.json.JobId).toMatch(/^[0-9a-f-]{36}$/);
    }
    const res = await call('POST', '/jobs', { ...generatorJob(), SkipAccessCheck: true });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
  });
});

describe('the other bodies', () => {
  it('refuses unknown members in UpdateJobStatus, UpdateJobPriority and PutJobTagging; the job is unchanged', async () => {
    const job = fullJob();
    const manifest = {
      ...job.Manifest,
      Location: { ObjectArn: `arn:aws:s3:::${BUCKET}/manifest.csv`, ETag: manifestEtag },
    };
    const created = await call('POST', '/jobs', { ...job, Manifest: manifest });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const path = `/jobs/${created.json.JobId as string}`;
    await waitForStatus(path, 'Suspended');
    const status = await call('POST', `${path}/status`, { RequestedJobStatus: 'Cancelled', statusUpdateReason: 'x' });
    expect({ status: status.status, code: status.code, message: status.message }).toEqual({
      status: 400,
      code: 'InvalidRequest',
      message: '"statusUpdateReason" is not a member; did you mean "StatusUpdateReason"?',
    });
    const priority = await call('POST', `${path}/priority`, { Priority: 99, priority: 98 });
    expect({ status: priority.status, code: priority.code, message: priority.message }).toEqual({
      status: 400,
      code: 'InvalidRequest',
      message: '"priority" is not a member; did you mean "Priority"?',
    });
    const tagging = await call('PUT', `${path}/tagging`, { Tags: [{ Key: 'a', Value: 'b', Extra: 1 }] });
    expect({ status: tagging.status, code: tagging.code }).toEqual({ status: 400, code: 'InvalidRequest' });
    expect(tagging.message).toMatch(/^"Tags\[0\]\.Extra" is not a member: Tags\[0\] has Key, Value;/);
    const view = await call('GET', path);
    expect(view.json.Job.Status).not.toBe('Cancelled');
    expect(view.json.Job.Priority).toBe(10);
    expect(view.json.Tags).toEqual([{ Key: 'team', Value: 'storage' }]);
    // the same bodies without the unknown member are taken
    expect((await call('POST', `${path}/priority`, { Priority: 99 })).status).toBe(200);
    expect((await call('PUT', `${path}/tagging`, { Tags: [{ Key: 'a', Value: 'b' }] })).status).toBe(204);
    expect(
      (await call('POST', `${path}/status`, { RequestedJobStatus: 'Cancelled', StatusUpdateReason: 'x' })).status,
    ).toBe(200);
  });

  it('refuses an unknown member in the sign-in body; the known ones sign in', async () => {
    const bad = await call(
      'POST',
      '/session',
      { AccessKeyId: TEST_API_KEY.accessKeyId, secretAccessKey: TEST_API_KEY.secretAccessKey },
      false,
    );
    expect({ status: bad.status, code: bad.code, message: bad.message }).toEqual({
      status: 400,
      code: 'InvalidRequest',
      message: '"AccessKeyId" is not a member; did you mean "accessKeyId"?',
    });
    const good = await call(
      'POST',
      '/session',
      { accessKeyId: TEST_API_KEY.accessKeyId, secretAccessKey: TEST_API_KEY.secretAccessKey },
      false,
    );
    expect(good.status).toBe(200);
  });
});
