/**
 * The job verbs of the s3batch CLI as subprocesses (node bin/s3batch.mjs) against the real
 * `s3batch serve`: on Ceph RGW (the server started with the test key; the CLI finds it through the
 * S3BATCH_* environment, a profiles file or flags), and once on `serve --local` where the CLI finds
 * the key the server generated in ./.s3batch/api-keys.json by itself.
 *
 * create-job from flags, from a spec file in the aws CLI's shape (compared with DescribeJob's
 * echo), from stdin and from a filled-in `aws s3control create-job --generate-cli-skeleton`;
 * describe-job human and --json; list-jobs --status/--max/--json; confirm a Suspended job and see
 * it Complete; cancel with a reason; update-job-priority; job tags put/get/delete; bad arguments,
 * unknown jobs and no key → exit 2; a server that is not running → exit 1 naming it; --help of
 * every verb shows Examples.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GetObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3ControlClient } from '@aws-sdk/client-s3-control';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, serverEnv, shellEnv, type CliResult } from '../helpers/cli-process.ts';
import { putManifest, putObjectsAndManifest } from '../helpers/jobs.ts';
import { requireCeph } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, putObjects } from '../helpers/s3-servers.ts';
import { endpointProviderClient, waitForJob } from '../helpers/s3control.ts';
import {
  embeddedS3Client,
  startServerProcess,
  tempDataDir,
  TEST_API_KEY,
  type ServerProcess,
} from '../helpers/server-process.ts';

const AWS = '/usr/bin/aws';
const ACCOUNT = TEST_API_KEY.accountId;
const KEYS = ['cli/a.txt', 'cli/b with space.txt', 'cli/c.txt'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let server: ServerProcess;
let sdk: S3ControlClient;
let s3: S3Client;
let bucket: string;
let etag: string;
/** The CLI's working folder and HOME (no profiles file unless a test writes one). */
let cwd: string;

/** The environment that points the CLI at the Ceph-backed server with the test key. */
function keyEnv(): NodeJS.ProcessEnv {
  return { ...shellEnv(cwd), ...serverEnv(server.url, TEST_API_KEY) };
}

function cli(
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {},
): Promise<CliResult> {
  return runCli(args, {
    cwd: opts.cwd ?? cwd,
    env: opts.env ?? keyEnv(),
    input: opts.input ?? '',
    killAfterMs: 60_000,
  });
}

/** Runs the CLI and expects exit 0; returns stdout. */
async function ok(args: readonly string[], opts: Parameters<typeof cli>[1] = {}): Promise<string> {
  const r = await cli(args, opts);
  expect(r.code, `s3batch ${args.join(' ')} failed:\n${r.stderr}${r.stdout}`).toBe(0);
  return r.stdout;
}

/** Runs the CLI and expects a failure with this exit code and a stderr matching `message`, no stack trace. */
async function fails(
  args: readonly string[],
  code: number,
  message: RegExp,
  opts: Parameters<typeof cli>[1] = {},
): Promise<CliResult> {
  const r = await cli(args, opts);
  expect(r.code, `s3batch ${args.join(' ')}: ${r.stderr}`).toBe(code);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return r;
}

function flagsJob(extra: readonly string[] = []): string[] {
  return [
    'create-job',
    '--manifest',
    `s3://${bucket}/cli/manifest.csv`,
    '--manifest-etag',
    etag,
    '--report',
    `s3://${bucket}/reports`,
    ...extra,
  ];
}

/** A CreateJob spec in the aws CLI's --cli-input-json shape. */
function awsSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    AccountId: ACCOUNT,
    ConfirmationRequired: true,
    Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'from', Value: 'spec' }] } },
    Manifest: {
      Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
      Location: { ObjectArn: `arn:aws:s3:::${bucket}/cli/manifest.csv`, ETag: etag },
    },
    Report: {
      Bucket: `arn:aws:s3:::${bucket}`,
      Format: 'Report_CSV_20180820',
      Enabled: true,
      Prefix: 'spec-reports',
      ReportScope: 'FailedTasksOnly',
    },
    Priority: 33,
    RoleArn: `arn:aws:iam::${ACCOUNT}:role/default`,
    Description: 'from a spec file',
    ClientRequestToken: randomUUID(),
    ...extra,
  };
}

function writeJson(name: string, value: unknown): string {
  const file = path.join(cwd, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return file;
}

async function describeJson(
  jobId: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ Job: Record<string, unknown> & { Status: string } }> {
  return JSON.parse(await ok(['describe-job', jobId, '--json'], env ? { env } : {}));
}

beforeAll(async () => {
  const ceph = requireCeph();
  s3 = makeS3Client(ceph);
  bucket = await createTestBucket(s3, 'cli-jobs');
  etag = await putObjectsAndManifest(s3, bucket, 'cli/manifest.csv', KEYS);
  server = await startServerProcess({ s3: ceph });
  sdk = endpointProviderClient(server.url, TEST_API_KEY);
  cwd = tempDataDir('s3batch-cli-jobs-');
});

afterAll(async () => {
  sdk?.destroy();
  s3?.destroy();
  await server?.kill('SIGTERM');
});

describe('s3batch job verbs on Ceph RGW', () => {
  it('create-job from flags → Suspended; describe-job; confirm → Complete with the objects tagged', async () => {
    const out = await ok(
      flagsJob([
        '--operation',
        'tag',
        '--tag',
        'reviewed=yes',
        '--priority',
        '20',
        '--description',
        'cli flags job',
        '--job-tag',
        'team=storage',
      ]),
    );
    const jobId = out.trim();
    expect(jobId).toMatch(UUID);
    await waitForJob(sdk, ACCOUNT, jobId, 'Suspended');

    const { Job } = await describeJson(jobId);
    expect(Job).toMatchObject({
      JobId: jobId,
      Status: 'Suspended',
      ConfirmationRequired: true,
      Priority: 20,
      Description: 'cli flags job',
      Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'reviewed', Value: 'yes' }] } },
      Manifest: {
        Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
        Location: { ObjectArn: `arn:aws:s3:::${bucket}/cli/manifest.csv`, ETag: etag },
      },
      Report: {
        Enabled: true,
        Bucket: `arn:aws:s3:::${bucket}`,
        Prefix: 'reports',
        Format: 'Report_CSV_20180820',
        ReportScope: 'AllTasks',
      },
      RoleArn: `arn:aws:iam::${ACCOUNT}:role/default`,
    });
    expect(Job).not.toHaveProperty('$metadata');

    const human = await ok(['describe-job', jobId]);
    expect(human).toMatch(/^Job\s+\S+\n/);
    expect(human).toMatch(/\nStatus\s+Suspended\n/);
    expect(human).toMatch(/\nProgress\s+0\/3 \(0%\)\n/);
    expect(human).toContain(`for confirmation: s3batch confirm ${jobId}`);
    expect(human).toMatch(new RegExp(`\\nReport\\s+arn:aws:s3:::${bucket}/reports \\(AllTasks\\)\\n`));

    expect((await ok(['confirm', jobId])).trim()).toBe(`${jobId}  Ready`);
    await waitForJob(sdk, ACCOUNT, jobId, 'Complete');
    const done = await ok(['describe-job', jobId]);
    expect(done).toMatch(/\nStatus\s+Complete\n/);
    expect(done).toMatch(/\nProgress\s+3\/3 \(100%\)\n/);
    expect(done).toMatch(/\nSucceeded\s+3\n/);
    expect(done).toMatch(/\nTerminated\s+\d{4}-\d\d-\d\dT/);
    for (const key of KEYS) {
      const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
      expect(tags.TagSet).toEqual([{ Key: 'reviewed', Value: 'yes' }]);
    }
    expect(await ok(['get-job-tagging', jobId])).toBe('KEY   VALUE\nteam  storage\n');
  });

  it('create-job --spec (aws --cli-input-json shape): DescribeJob echoes the file; --json prints the JobId object', async () => {
    const spec = awsSpec();
    const out = JSON.parse(await ok(['create-job', '--spec', writeJson('spec.json', spec), '--json']));
    expect(Object.keys(out)).toEqual(['JobId']);
    const { Job } = await describeJson(out.JobId);
    const { AccountId: _a, ClientRequestToken: _t, ...echoed } = spec;
    expect(Job).toMatchObject(echoed);

    // The same file again: the same ClientRequestToken gives the same job (idempotent).
    expect((await ok(['create-job', '--spec', path.join(cwd, 'spec.json')])).trim()).toBe(out.JobId);
    // From stdin, with a flag over the file's priority.
    const fromStdin = (
      await ok(['create-job', '--spec', '-', '--priority', '44'], {
        input: JSON.stringify(awsSpec({ ClientRequestToken: randomUUID() })),
      })
    ).trim();
    expect((await describeJson(fromStdin)).Job).toMatchObject({ Priority: 44, Description: 'from a spec file' });
  });

  it('create-job --spec from a filled-in `aws s3control create-job --generate-cli-skeleton`', async () => {
    if (!existsSync(AWS))
      throw new Error(`${AWS} (Debian's awscli) is missing: run \`bash scripts/ensure-test-deps.sh\` as root`);
    const skeleton = JSON.parse(
      await new Promise<string>((resolve, reject) => {
        const child = spawn(AWS, ['s3control', 'create-job', '--generate-cli-skeleton'], {
          env: { PATH: process.env.PATH ?? '/usr/bin', HOME: cwd },
        });
        let text = '';
        child.stdout.on('data', (b: Buffer) => (text += b.toString()));
        child.once('error', reject);
        child.once('close', (code) =>
          code === 0 ? resolve(text) : reject(new Error(`aws --generate-cli-skeleton exited ${code}`)),
        );
      }),
    );
    // Fill it in as a user would: keep one operation, drop the generator, fill the blanks we need;
    // the other placeholders ("" strings, AccountId "", Tags [{"Key":"","Value":""}]) stay.
    skeleton.Operation = { S3PutObjectTagging: skeleton.Operation.S3PutObjectTagging };
    skeleton.Operation.S3PutObjectTagging.TagSet[0] = { Key: 'from', Value: 'skeleton' };
    delete skeleton.ManifestGenerator;
    skeleton.Manifest.Spec.Fields = ['Bucket', 'Key'];
    skeleton.Manifest.Location.ObjectArn = `arn:aws:s3:::${bucket}/cli/manifest.csv`;
    skeleton.Manifest.Location.ETag = etag;
    skeleton.Report.Bucket = `arn:aws:s3:::${bucket}`;
    skeleton.RoleArn = `arn:aws:iam::${ACCOUNT}:role/default`;
    skeleton.Priority = 7;
    expect(skeleton.AccountId).toBe('');
    expect(skeleton.Manifest.Location.ObjectVersionId).toBe('');
    const jobId = (await ok(['create-job', '--spec', writeJson('skeleton.json', skeleton)])).trim();
    const { Job } = await describeJson(jobId);
    expect(Job).toMatchObject({
      Priority: 7,
      ConfirmationRequired: true,
      Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'from', Value: 'skeleton' }] } },
      Report: { Enabled: true, ReportScope: 'AllTasks' },
    });
    expect((Job.Manifest as { Location: Record<string, unknown> }).Location).not.toHaveProperty('ObjectVersionId');
    expect(JSON.parse(await ok(['get-job-tagging', jobId, '--json']))).toEqual({ Tags: [] });
  });

  it('list-jobs: table, --status, --max, --json', async () => {
    const suspended = (await ok(flagsJob(['--operation', 'delete-tags', '--description', 'to list']))).trim();
    await waitForJob(sdk, ACCOUNT, suspended, 'Suspended');
    const table = await ok(['list-jobs']);
    expect(table.split('\n')[0]).toMatch(
      /^JOB ID\s+STATUS\s+PRIORITY\s+OPERATION\s+PROGRESS\s+FAILED\s+CREATED\s+DESCRIPTION$/,
    );
    expect(table).toMatch(
      new RegExp(
        `\\n${suspended}\\s+Suspended\\s+10\\s+S3DeleteObjectTagging\\s+0/3 \\(0%\\)\\s+0\\s+\\S+\\s+to list\\n`,
      ),
    );

    const listed = JSON.parse(await ok(['list-jobs', '--status', 'suspended', '--json']));
    expect(listed.Jobs.map((j: { JobId: string }) => j.JobId)).toContain(suspended);
    expect(listed.Jobs.every((j: { Status: string }) => j.Status === 'Suspended')).toBe(true);
    const complete = JSON.parse(await ok(['list-jobs', '--status', 'Complete', 'Failed', '--json']));
    expect(complete.Jobs.map((j: { JobId: string }) => j.JobId)).not.toContain(suspended);

    const one = await cli(['list-jobs', '--max', '1']);
    expect(one.code).toBe(0);
    expect(one.stdout.trim().split('\n')).toHaveLength(2); // header + the newest job
    expect(one.stdout).toContain(suspended);
    expect(one.stderr).toMatch(/more jobs: --all, or --next-token \S+/);
    const all = JSON.parse(await ok(['list-jobs', '--all', '--json']));
    expect(all.Jobs.length).toBeGreaterThanOrEqual(4);
    expect(all).not.toHaveProperty('NextToken');
  });

  it('cancel with a reason; update-job-status; update-job-priority', async () => {
    const jobId = (
      await ok(flagsJob(['--operation', 'copy', '--target-bucket', bucket, '--target-prefix', 'copies/']))
    ).trim();
    await waitForJob(sdk, ACCOUNT, jobId, 'Suspended');
    expect((await ok(['update-job-priority', jobId, '75'])).trim()).toBe(`${jobId}  priority 75`);
    expect(JSON.parse(await ok(['update-job-priority', jobId, '76', '--json']))).toEqual({
      JobId: jobId,
      Priority: 76,
    });
    expect((await describeJson(jobId)).Job).toMatchObject({
      Priority: 76,
      Operation: { S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${bucket}`, TargetKeyPrefix: 'copies/' } },
    });

    expect((await ok(['cancel', jobId, '--reason', 'not needed'])).trim()).toBe(`${jobId}  Cancelled`);
    const { Job } = await describeJson(jobId);
    expect(Job).toMatchObject({ Status: 'Cancelled', StatusUpdateReason: 'not needed' });
    expect(await ok(['describe-job', jobId])).toMatch(/\nReason\s+not needed\n/);
    // A cancelled job can be neither confirmed nor cancelled again: the server's 4xx is exit 2.
    await fails(['update-job-status', jobId, 'Ready'], 2, /^s3batch: JobStatusException: /);
  });

  it('job tags: put (args and --tags-file), get (table and --json), delete', async () => {
    const jobId = (await ok(flagsJob(['--operation', 'delete-tags', '--no-report']))).trim();
    expect((await ok(['put-job-tagging', jobId, 'team=storage', 'Key=ticket,Value=OPS-42', 'note=a=b'])).trim()).toBe(
      `${jobId}  3 tags set`,
    );
    expect(await ok(['get-job-tagging', jobId])).toBe('KEY     VALUE\nteam    storage\nticket  OPS-42\nnote    a=b\n');
    const saved = await ok(['get-job-tagging', jobId, '--json']);
    expect(JSON.parse(saved)).toEqual({
      Tags: [
        { Key: 'team', Value: 'storage' },
        { Key: 'ticket', Value: 'OPS-42' },
        { Key: 'note', Value: 'a=b' },
      ],
    });
    expect((await ok(['delete-job-tagging', jobId])).trim()).toBe(`${jobId}  tags deleted`);
    expect(await ok(['get-job-tagging', jobId])).toBe('No tags.\n');
    await ok(['put-job-tagging', jobId, '--tags-file', writeJson('tags.json', saved)]);
    expect(JSON.parse(await ok(['get-job-tagging', jobId, '--json']))).toEqual(JSON.parse(saved));
  });

  it('the connection from a profiles file (default and --profile), flags over a wrong environment, the account asked of the server', async () => {
    const home = tempDataDir('s3batch-cli-home-');
    mkdirSync(path.join(home, '.config', 's3batch'), { recursive: true });
    writeFileSync(
      path.join(home, '.config', 's3batch', 'profiles.json'),
      JSON.stringify({
        profiles: {
          default: {
            endpointUrl: server.url,
            accountId: ACCOUNT,
            accessKeyId: TEST_API_KEY.accessKeyId,
            secretAccessKey: TEST_API_KEY.secretAccessKey,
          },
          wrong: {
            endpointUrl: server.url,
            accountId: ACCOUNT,
            accessKeyId: 'NOSUCHKEY000000001',
            secretAccessKey: 'not-the-secret-000000001',
          },
        },
      }),
    );
    const env = shellEnv(home);
    expect(JSON.parse(await ok(['list-jobs', '--json'], { env, cwd: home })).Jobs).toBeInstanceOf(Array);
    await fails(['list-jobs', '--profile', 'wrong'], 2, /^s3batch: (InvalidAccessKeyId|AccessDenied): /, {
      env,
      cwd: home,
    });
    await fails(
      ['list-jobs', '--profile', 'nope'],
      2,
      /No profile "nope" in .*profiles\.json \(it has "default", "wrong"\)/,
      { env, cwd: home },
    );
    // The environment wins over the profile, and flags over the environment.
    const badEnv = {
      ...env,
      S3BATCH_API_ACCESS_KEY_ID: 'NOSUCHKEY000000001',
      S3BATCH_API_SECRET_ACCESS_KEY: 'not-the-secret-000000001',
    };
    await fails(['list-jobs'], 2, /^s3batch: (InvalidAccessKeyId|AccessDenied): /, { env: badEnv, cwd: home });
    await ok(
      ['list-jobs', '--access-key-id', TEST_API_KEY.accessKeyId, '--secret-access-key', TEST_API_KEY.secretAccessKey],
      { env: badEnv, cwd: home },
    );
    // A key with no account named anywhere: the CLI asks the server whose key it is (111122223333, not 000000000000).
    const { S3BATCH_ACCOUNT_ID: _account, ...noAccount } = keyEnv();
    expect(JSON.parse(await ok(['list-jobs', '--json'], { env: noAccount })).Jobs).toBeInstanceOf(Array);
    await fails(
      ['list-jobs', '--account-id', '000000000000'],
      2,
      /^s3batch: AccessDenied: .*belongs to account 111122223333/,
      { env: noAccount },
    );
  });

  it('bad arguments and unknown jobs are exit 2 with a clear message', async () => {
    // Independent calls: run side by side.
    await Promise.all([
      fails(['no-such-verb'], 2, /^s3batch: UsageError: unknown command 'no-such-verb'/),
      fails(['describe-job'], 2, /^s3batch: UsageError: missing required argument 'job-id'/),
      fails(['update-job-priority', 'some-job'], 2, /missing required argument 'priority'/),
      fails(
        ['update-job-priority', 'some-job', 'high'],
        2,
        /^s3batch: InvalidArgument: priority must be an integer from 0 to 2147483647, got "high"/,
      ),
      fails(
        ['update-job-status', 'some-job', 'Paused'],
        2,
        /the requested status must be Ready .* or Cancelled, got "Paused"/,
      ),
      fails(
        ['put-job-tagging', 'some-job', 'novalue'],
        2,
        /^s3batch: InvalidArgument: tag "novalue" must be Key=Value/,
      ),
      fails(['list-jobs', '--status', 'Done'], 2, /unknown job status "Done"/),
      fails(['list-jobs', '--bogus'], 2, /unknown option '--bogus'/),
      fails(
        ['create-job', '--spec', writeJson('bad.json', '{"Operation": {')],
        2,
        /^s3batch: InvalidArgument: spec .*bad\.json is not valid JSON/,
      ),
      fails(
        ['create-job', '--spec', writeJson('typo.json', { ...awsSpec(), Prority: 5 })],
        2,
        /unknown member\(s\) "Prority"/,
      ),
      // A folder or a missing file as --spec: the reason in words, no stack trace.
      fails(
        ['create-job', '--spec', cwd],
        2,
        /^s3batch: InvalidArgument: cannot read the spec file .*: it is a folder, not a file \(EISDIR\)$/m,
      ),
      fails(
        ['create-job', '--spec', path.join(cwd, 'missing.json')],
        2,
        /^s3batch: InvalidArgument: cannot read the spec file .*missing\.json: no such file or folder \(ENOENT\)$/m,
      ),
      fails(
        ['create-job', '--spec', writeJson('other-account.json', awsSpec({ AccountId: '999999999999' }))],
        2,
        /AccountId 999999999999 is not the account this connection uses \(111122223333\)/,
      ),
      fails(
        [
          'create-job',
          '--manifest',
          `s3://${bucket}/cli/manifest.csv`,
          '--operation',
          'tag',
          '--tag',
          'a=b',
          '--no-report',
        ],
        2,
        /--manifest-etag is required.*aws s3api head-object/,
      ),
      fails(flagsJob(['--operation', 'tag']), 2, /--operation tag needs at least one --tag/),
      fails(['describe-job', '00000000-0000-0000-0000-000000000000'], 2, /^s3batch: NotFoundException: /),
      fails(['confirm', '00000000-0000-0000-0000-000000000000'], 2, /^s3batch: NotFoundException: /),
      // A request only the server refuses (an unknown ReportScope): its 4xx answer is exit 2 too.
      fails(
        [
          'create-job',
          '--spec',
          writeJson(
            'bad-scope.json',
            awsSpec({
              Report: {
                Enabled: true,
                Bucket: `arn:aws:s3:::${bucket}`,
                Format: 'Report_CSV_20180820',
                ReportScope: 'Some',
              },
            }),
          ),
        ],
        2,
        /^s3batch: (InvalidRequest|BadRequestException)/,
      ),
    ]);
  });

  it('no key anywhere → exit 2 naming every way; a server that is not running → exit 1 naming the endpoint', async () => {
    const empty = tempDataDir('s3batch-cli-nokey-');
    const r = await fails(['list-jobs'], 2, /^s3batch: InvalidConfiguration: No API key/, {
      env: shellEnv(empty),
      cwd: empty,
    });
    for (const way of [
      '--access-key-id',
      'S3BATCH_API_ACCESS_KEY_ID',
      '--profile',
      'S3BATCH_PROFILES_FILE',
      path.join(empty, '.s3batch', 'api-keys.json'),
      '--data-dir',
    ]) {
      expect(r.stderr).toContain(way);
    }
    const down = 'http://127.0.0.1:9'; // the discard port: nothing listens there
    await fails(
      ['list-jobs', '--endpoint-url', down],
      1,
      /^s3batch: EndpointUnreachable: cannot reach the s3batch server at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)\. Start it with `s3batch serve`/,
    );
    await fails(
      ['describe-job', 'x', '--endpoint-url', down],
      1,
      /cannot reach the s3batch server at http:\/\/127\.0\.0\.1:9/,
    );
  });

  it('--help of every verb shows its options, the connection options and Examples', async () => {
    await Promise.all(
      [
        'create-job',
        'describe-job',
        'list-jobs',
        'update-job-status',
        'confirm',
        'cancel',
        'update-job-priority',
        'get-job-tagging',
        'put-job-tagging',
        'delete-job-tagging',
      ].map(async (verb) => {
        const out = await ok([verb, '--help']);
        expect(out, verb).toContain('Examples:\n  $ s3batch ');
        expect(out, verb).toContain('Connection options:');
        expect(out, verb).toContain('--endpoint-url <url>');
        expect(out, verb).toContain('S3BATCH_API_ACCESS_KEY_ID');
      }),
    );
    const top = await ok(['--help']);
    for (const verb of [
      'create-job',
      'describe-job',
      'list-jobs',
      'update-job-status',
      'confirm',
      'cancel',
      'update-job-priority',
      'get-job-tagging',
      'put-job-tagging',
      'delete-job-tagging',
    ]) {
      expect(top).toMatch(new RegExp(`\\n  ${verb} `));
    }
    // The top-level help starts a newcomer off: examples, where the web page is, the exit codes.
    expect(top).toContain('Examples:\n  $ s3batch serve --local');
    expect(top).toContain('The web Jobs page is at the server');
    expect(top).toMatch(/Exit codes: 0 done, 2 .*, 1 /);
  });
});

describe('s3batch job verbs on serve --local, with the key the server generated', () => {
  let local: ServerProcess;
  let home: string;
  let localS3: S3Client;

  beforeAll(async () => {
    home = tempDataDir('s3batch-cli-local-');
    // The server's data folder is ./.s3batch of the folder the CLI runs in, as with `npm start`.
    local = await startServerProcess({ dataDir: path.join(home, '.s3batch'), testKey: false });
    localS3 = embeddedS3Client(local);
    await putObjects(localS3, 's3batch-demo', KEYS);
  });

  afterAll(async () => {
    localS3?.destroy();
    await local?.kill('SIGTERM');
  });

  it('finds ./.s3batch/api-keys.json (or --data-dir / S3BATCH_DATA_DIR) and runs a copy job to Complete', async () => {
    expect(existsSync(path.join(home, '.s3batch', 'api-keys.json'))).toBe(true);
    // Only the endpoint is given: the key and its account come from the generated file.
    const env = { ...shellEnv(home), S3BATCH_ENDPOINT_URL: local.url };
    const { etag: localEtag } = await putManifest(
      localS3,
      's3batch-demo',
      'cli/manifest.csv',
      KEYS.map((key) => ({ bucket: 's3batch-demo', key })),
    );
    const jobId = (
      await ok(
        [
          'create-job',
          '--manifest',
          's3://s3batch-demo/cli/manifest.csv',
          '--manifest-etag',
          localEtag,
          '--operation',
          'copy',
          '--target-bucket',
          's3batch-demo',
          '--target-prefix',
          'copied/',
          '--report',
          's3://s3batch-demo/reports',
          '--confirmation-required',
        ],
        { env, cwd: home },
      )
    ).trim();
    expect(jobId).toMatch(UUID);

    // From another folder: --data-dir, then S3BATCH_DATA_DIR.
    const elsewhere = tempDataDir('s3batch-cli-elsewhere-');
    await fails(['describe-job', jobId], 2, /No API key/, {
      env: { ...shellEnv(elsewhere), S3BATCH_ENDPOINT_URL: local.url },
      cwd: elsewhere,
    });
    await ok(['describe-job', jobId, '--data-dir', path.join(home, '.s3batch')], {
      env: { ...shellEnv(elsewhere), S3BATCH_ENDPOINT_URL: local.url },
      cwd: elsewhere,
    });
    const viaEnv = {
      ...shellEnv(elsewhere),
      S3BATCH_ENDPOINT_URL: local.url,
      S3BATCH_DATA_DIR: path.join(home, '.s3batch'),
    };

    const deadline = Date.now() + 30_000;
    while ((await describeJson(jobId, viaEnv)).Job.Status !== 'Suspended') {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 200));
    }
    await ok(['update-job-status', jobId, 'ready'], { env: viaEnv, cwd: elsewhere });
    let job = (await describeJson(jobId, viaEnv)).Job;
    while (job.Status !== 'Complete') {
      expect(['Ready', 'Active', 'Completing'], JSON.stringify(job)).toContain(job.Status);
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 200));
      job = (await describeJson(jobId, viaEnv)).Job;
    }
    expect(job.ProgressSummary).toMatchObject({
      TotalNumberOfTasks: 3,
      NumberOfTasksSucceeded: 3,
      NumberOfTasksFailed: 0,
    });
    const text = await ok(['list-jobs', '--status', 'Complete'], { env, cwd: home });
    expect(text).toMatch(new RegExp(`\\n${jobId}\\s+Complete\\s+10\\s+S3PutObjectCopy\\s+3/3 \\(100%\\)`));
  });
});
