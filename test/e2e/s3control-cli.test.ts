/**
 * The real aws CLI (Debian's awscli, /usr/bin/aws — not an `aws` earlier on PATH) against the real
 * `s3batch serve --local` (the embedded default a newcomer runs): the key pair the server
 * generates and prints is used as printed, and `aws s3control create-job / describe-job /
 * list-jobs / update-job-priority / update-job-status --endpoint-url http://localhost:PORT` drive
 * a tagging job to Complete and cancel a copy job; the CLI's JSON output and its typed errors are
 * checked.
 *
 * The CLI puts the account id in front of the endpoint's host (docs/s3control-api.md#account-id), so
 * `111122223333.localhost` must resolve: scripts/ensure-test-deps.sh adds it to /etc/hosts.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { GetObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putManifest } from '../helpers/jobs.ts';
import { putObjects, REPO_ROOT } from '../helpers/s3-servers.ts';
import { embeddedS3Client, startServerProcess, tempDataDir, type ServerProcess } from '../helpers/server-process.ts';

const AWS = '/usr/bin/aws';
const ACCOUNT = '111122223333';
const BUCKET = 's3batch-demo';
const KEYS = ['photos/1.jpg', 'photos/2 with space.jpg'];

let server: ServerProcess;
let local: S3Client;
let workDir: string;
let endpoint: string;
/** The key pair exactly as `serve --local` printed it. */
let printed: { accessKeyId: string; secretAccessKey: string; accountId: string };
let manifestEtag: string;

interface CliResult {
  code: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the CLI's JSON output, of many shapes
  json: any;
  stderr: string;
}

async function aws(
  args: string[],
  credentials: { accessKeyId: string; secretAccessKey: string } = printed,
): Promise<CliResult> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: workDir,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
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
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, json: undefined, stderr: e.stderr ?? '' };
  }
}

async function ok(args: string[]): Promise<CliResult['json']> {
  const r = await aws(args);
  expect(r.code, `aws s3control ${args.join(' ')} failed:\n${r.stderr}`).toBe(0);
  return r.json;
}

/** `aws s3control describe-job` until the job is in one of `statuses`. */
async function waitForStatus(jobId: string, statuses: string[], timeoutMs = 60_000): Promise<CliResult['json']> {
  const deadline = Date.now() + timeoutMs;
  let last: CliResult['json'];
  while (Date.now() < deadline) {
    last = await ok(['describe-job', '--job-id', jobId]);
    if (statuses.includes(last.Job.Status)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${jobId} did not reach ${statuses.join('|')}; last: ${JSON.stringify(last)}`);
}

function jobSpec(operation: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const file = path.join(workDir, `job-${randomUUID()}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      ConfirmationRequired: true,
      Operation: operation,
      Manifest: {
        Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
        Location: { ObjectArn: `arn:aws:s3:::${BUCKET}/cli/manifest.csv`, ETag: manifestEtag },
      },
      Report: {
        Bucket: `arn:aws:s3:::${BUCKET}`,
        Format: 'Report_CSV_20180820',
        Enabled: true,
        Prefix: 'cli-reports',
        ReportScope: 'AllTasks',
      },
      Priority: 10,
      RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
      ClientRequestToken: randomUUID(),
      ...extra,
    }),
  );
  return `file://${file}`;
}

beforeAll(async () => {
  if (!existsSync(AWS))
    throw new Error(`${AWS} (Debian's awscli) is missing: run \`bash scripts/ensure-test-deps.sh\` as root`);
  const resolved = await lookup(`${ACCOUNT}.localhost`, { family: 4 }).catch(() => undefined);
  if (resolved?.address !== '127.0.0.1') {
    throw new Error(
      `${ACCOUNT}.localhost does not resolve to 127.0.0.1 (got ${resolved?.address ?? 'nothing'}). The aws CLI connects to ` +
        `<account-id>.<endpoint host>; run \`bash scripts/ensure-test-deps.sh\` as root (it adds "127.0.0.1 ${ACCOUNT}.localhost" to /etc/hosts)`,
    );
  }
  workDir = tempDataDir('s3batch-s3control-cli-');
  // No API key configured: `serve --local` generates a pair for the default account and prints it.
  server = await startServerProcess({ env: { S3BATCH_ACCOUNT_ID: ACCOUNT }, testKey: false });
  endpoint = `http://localhost:${new URL(server.url).port}`;
  const out = server.output();
  printed = {
    accessKeyId: /access key id:\s+(\S+)/.exec(out)?.[1] ?? '',
    secretAccessKey: /secret access key:\s+(\S+)/.exec(out)?.[1] ?? '',
    accountId: /account id:\s+(\S+)/.exec(out)?.[1] ?? '',
  };
  local = embeddedS3Client(server);
  await putObjects(local, BUCKET, KEYS);
  manifestEtag = (
    await putManifest(
      local,
      BUCKET,
      'cli/manifest.csv',
      KEYS.map((key) => ({ bucket: BUCKET, key })),
    )
  ).etag;
});

afterAll(async () => {
  local?.destroy();
  await server?.kill('SIGTERM');
});

describe('aws s3control (Debian awscli) against s3batch serve --local', () => {
  it('serve --help documents the API key options', () => {
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 's3batch.mjs'), 'serve', '--help'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(0);
    for (const text of [
      '--api-keys-file',
      'S3BATCH_API_KEYS_FILE',
      'S3BATCH_API_ACCESS_KEY_ID',
      'S3BATCH_API_SECRET_ACCESS_KEY',
      'api-keys.json',
    ]) {
      expect(r.stdout).toContain(text);
    }
  });

  it('the server prints a ready-to-paste key pair and list-jobs line for the default account', () => {
    expect(printed.accessKeyId).toMatch(/^\w{16,}$/);
    expect(printed.secretAccessKey.length).toBeGreaterThanOrEqual(32);
    expect(printed.accountId).toBe(ACCOUNT);
    expect(server.output()).toContain(
      `AWS_ACCESS_KEY_ID=${printed.accessKeyId} AWS_SECRET_ACCESS_KEY=${printed.secretAccessKey} aws s3control list-jobs --account-id ${ACCOUNT} --endpoint-url ${endpoint} --region us-east-1`,
    );
    expect(server.output()).toContain(`  Web:        ${server.url}/  (sign in with the API key above)`);
    // …and how to reach it with the s3batch CLI (another port and data folder than the CLI's defaults).
    expect(server.output()).toMatch(
      new RegExp(
        `\\n  CLI: +npx s3batch list-jobs --endpoint-url ${server.url} --data-dir \\S+ +\\(from this folder it finds the key by itself`,
      ),
    );
  });

  it('create-job, describe-job, update-job-priority, list-jobs, update-job-status Ready: a tagging job runs to Complete', async () => {
    const created = await ok([
      'create-job',
      '--cli-input-json',
      jobSpec(
        { S3PutObjectTagging: { TagSet: [{ Key: 'via', Value: 'aws-cli' }] } },
        { Description: 'tag with the CLI' },
      ),
    ]);
    expect(Object.keys(created)).toEqual(['JobId']);
    const id = created.JobId as string;

    const waiting = await waitForStatus(id, ['Suspended']);
    expect(waiting.Job).toMatchObject({
      JobId: id,
      Description: 'tag with the CLI',
      Status: 'Suspended',
      ConfirmationRequired: true,
      Priority: 10,
      JobArn: `arn:aws:s3:us-east-1:${ACCOUNT}:job/${id}`,
      Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'via', Value: 'aws-cli' }] } },
      Manifest: {
        Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
        Location: { ETag: manifestEtag },
      },
      Report: { Enabled: true, Prefix: 'cli-reports', ReportScope: 'AllTasks' },
      ProgressSummary: { TotalNumberOfTasks: 2, NumberOfTasksSucceeded: 0, NumberOfTasksFailed: 0 },
      RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
    });
    expect(Date.parse(waiting.Job.CreationTime)).not.toBeNaN();
    expect(Date.parse(waiting.Job.SuspendedDate)).not.toBeNaN();

    expect(await ok(['update-job-priority', '--job-id', id, '--priority', '50'])).toEqual({ JobId: id, Priority: 50 });

    const listed = await ok(['list-jobs', '--job-statuses', 'Suspended', 'New', 'Preparing']);
    const entry = listed.Jobs.find((j: { JobId: string }) => j.JobId === id);
    expect(entry).toMatchObject({
      JobId: id,
      Operation: 'S3PutObjectTagging',
      Priority: 50,
      Status: 'Suspended',
      Description: 'tag with the CLI',
    });
    expect(
      (await ok(['list-jobs', '--job-statuses', 'Complete'])).Jobs.map((j: { JobId: string }) => j.JobId),
    ).not.toContain(id);

    const confirmed = await ok(['update-job-status', '--job-id', id, '--requested-job-status', 'Ready']);
    expect(confirmed.JobId).toBe(id);
    expect(['Ready', 'Active', 'Completing', 'Complete']).toContain(confirmed.Status);
    const done = await waitForStatus(id, ['Complete', 'Failed', 'Cancelled']);
    expect(done.Job.Status).toBe('Complete');
    expect(done.Job.ProgressSummary).toMatchObject({
      TotalNumberOfTasks: 2,
      NumberOfTasksSucceeded: 2,
      NumberOfTasksFailed: 0,
    });
    expect(done.Job.FailureReasons).toEqual([]);
    expect(Date.parse(done.Job.TerminationDate)).not.toBeNaN();
    for (const key of KEYS) {
      const t = await local.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: key }));
      expect(t.TagSet).toEqual([{ Key: 'via', Value: 'aws-cli' }]);
    }

    // typed errors as the CLI shows them
    const again = await aws(['update-job-status', '--job-id', id, '--requested-job-status', 'Ready']);
    expect(again.code).toBe(254);
    expect(again.stderr).toMatch(/\(JobStatusException\) when calling the UpdateJobStatus operation/);
  });

  it('update-job-status Cancelled with --status-update-reason; list-jobs pages with --max-results and --next-token', async () => {
    const id = (
      await ok([
        'create-job',
        '--cli-input-json',
        jobSpec({ S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${BUCKET}`, TargetKeyPrefix: 'copies' } }),
      ])
    ).JobId as string;
    await waitForStatus(id, ['Suspended']);
    const cancelled = await ok([
      'update-job-status',
      '--job-id',
      id,
      '--requested-job-status',
      'Cancelled',
      '--status-update-reason',
      'no longer needed',
    ]);
    expect(cancelled).toEqual({ JobId: id, Status: 'Cancelled', StatusUpdateReason: 'no longer needed' });
    const job = (await ok(['describe-job', '--job-id', id])).Job;
    expect(job).toMatchObject({
      Status: 'Cancelled',
      StatusUpdateReason: 'no longer needed',
      Operation: { S3PutObjectCopy: { TargetKeyPrefix: 'copies' } },
    });

    // botocore has no paginator for ListJobs: --max-results and --next-token go to the server as they are
    const first = await ok(['list-jobs', '--max-results', '1']);
    expect(first.Jobs).toHaveLength(1);
    expect(first.Jobs[0].JobId).toBe(id); // newest first
    expect(typeof first.NextToken).toBe('string');
    const second = await ok(['list-jobs', '--max-results', '1', '--next-token', first.NextToken]);
    expect(second.Jobs).toHaveLength(1);
    expect(second.Jobs[0].JobId).not.toBe(id);
  });

  it('errors: an unknown job is NotFoundException, a status other than Ready/Cancelled BadRequestException, a wrong secret SignatureDoesNotMatch', async () => {
    const missing = await aws(['describe-job', '--job-id', randomUUID()]);
    expect(missing.code).toBe(254);
    expect(missing.stderr).toMatch(
      /\(NotFoundException\) when calling the DescribeJob operation: The specified job does not exist/,
    );

    const { JobId } = (await ok(['list-jobs', '--max-results', '1'])).Jobs[0];
    // (botocore checks ranges itself, so a negative priority never leaves the CLI; enums it leaves to the server)
    const badStatus = await aws(['update-job-status', '--job-id', JobId, '--requested-job-status', 'Active']);
    expect(badStatus.code).toBe(254);
    expect(badStatus.stderr).toMatch(
      /\(BadRequestException\) when calling the UpdateJobStatus operation: requestedJobStatus must be Ready or Cancelled/,
    );

    const wrong = await aws(['list-jobs'], { accessKeyId: printed.accessKeyId, secretAccessKey: 'x'.repeat(40) });
    expect(wrong.code).toBe(254);
    expect(wrong.stderr).toMatch(/\(SignatureDoesNotMatch\) when calling the ListJobs operation/);
    expect(wrong.stderr).not.toContain(printed.secretAccessKey);
  });
});
