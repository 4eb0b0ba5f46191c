/** `s3batch create-job`: CreateJob from flags or from a spec file in the aws CLI's --cli-input-json shape. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { fileErrorText, usageError } from '../cli-errors.ts';
import {
  applySpecOverrides,
  OPERATIONS,
  parseSpec,
  requestFromFlags,
  type CreateJobFlags,
  type CreateJobRequest,
} from '../create-job-request.ts';
import { captureDuplicateOf, duplicateWarningLine, withCheckTags } from '../create-job-checks.ts';
import { toJson } from '../job-output.ts';
import { jobVerb, print, withConnection } from '../job-verb.ts';

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

async function readSpec(path: string): Promise<string> {
  if (path === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  const file = path.startsWith('file://') ? path.slice('file://'.length) : path;
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw usageError(`cannot read the spec file ${file}: ${fileErrorText(err)}`);
  }
}

export function registerCreateJob(program: Command, env: NodeJS.ProcessEnv): void {
  const cmd = program
    .command('create-job')
    .description(
      'Create a job (prints its JobId): from flags for the common cases, or from a spec file as aws s3control create-job --cli-input-json takes it',
    )
    .option(
      '--spec <file>',
      'the CreateJob request as JSON (PascalCase, as `aws s3control create-job --generate-cli-skeleton` writes it; AccountId optional); - reads stdin',
    )
    .option(
      '--manifest <s3-url>',
      'the manifest: s3://bucket/manifest.csv (or an inventory manifest.json with --manifest-format inventory)',
    )
    .option('--manifest-etag <etag>', "the manifest object's ETag (required; aws s3api head-object … --query ETag)")
    .option('--manifest-version-id <id>', "the manifest object's version")
    .option(
      '--manifest-fields <fields>',
      'CSV columns, comma-separated: Bucket,Key[,VersionId] (Ignore skips one) (default Bucket,Key)',
    )
    .option('--manifest-format <format>', 'csv or inventory (default csv)')
    .option(
      '--operation <op>',
      `what to do with each object: ${Object.keys(OPERATIONS).join(', ')} (or the AWS name, e.g. S3PutObjectCopy)`,
    )
    .option('--target-bucket <bucket>', 'copy: target bucket name or ARN')
    .option('--target-prefix <prefix>', 'copy: key prefix in the target bucket')
    .option('--storage-class <class>', 'copy: storage class of the copies, e.g. STANDARD_IA')
    .option('--tag <Key=Value>', 'tag: a tag to set on each object (repeat for more)', collect)
    .option('--function-arn <arn|url>', 'lambda: Lambda function ARN or an http(s) function URL')
    .option('--invocation-schema-version <v>', 'lambda: 1.0 or 2.0 (default 1.0, 2.0 with --user-argument)')
    .option('--user-argument <Key=Value>', 'lambda: UserArguments entry (schema 2.0; repeat for more)', collect)
    .option('--canned-acl <acl>', 'acl: private, public-read, bucket-owner-full-control, …')
    .option('--legal-hold <ON|OFF>', 'legal-hold: the status to set')
    .option('--retention-mode <mode>', 'retention: GOVERNANCE or COMPLIANCE')
    .option('--retain-until <date>', 'retention: e.g. 2030-01-31T00:00:00Z')
    .option('--bypass-governance-retention', 'retention, delete: bypass GOVERNANCE-mode retention')
    .option('--expiration-days <n>', 'restore: days the restored copy stays')
    .option('--glacier-job-tier <tier>', 'restore: BULK or STANDARD')
    .option('--report <s3-url>', 'where the completion report goes: s3://bucket/prefix')
    .option('--no-report', 'no completion report')
    .option('--report-scope <scope>', 'all or failed (default all)')
    .option('--priority <n>', 'higher runs first, 0 … 2147483647 (default 10)')
    .option('--confirmation-required', "the job waits (Suspended) until `s3batch confirm` (the server's default)")
    .option('--no-confirmation-required', 'the job runs as soon as its manifest is read')
    .option('--confirm', 'same as --no-confirmation-required: confirmed now, no `s3batch confirm` needed')
    .option(
      '--role-arn <arn>',
      "the job's role (selects the storage profile) (default arn:aws:iam::<account>:role/default, the server's own S3)",
    )
    .option('--storage-profile <name>', 'shorthand for --role-arn arn:aws:iam::<account>:role/<name>')
    .option('--description <text>', 'a description shown by describe-job and list-jobs')
    .option(
      '--client-request-token <token>',
      'idempotency token: the same token and request give the same job (default: a new one)',
    )
    .option('--job-tag <Key=Value>', 'a tag on the job itself (repeat for more)', collect)
    .option(
      '--notify <url>',
      "a webhook for the job's status changes and its end: sets the s3batch:notify job tag (see s3batch notifications)",
    )
    .option(
      '--skip-access-check',
      'do not check at submit that the manifest (and its ETag) and the buckets are reachable; Preparing reads them (tag s3batch:skip-access-check=true)',
    )
    .option(
      '--no-duplicates',
      'refuse the job (DuplicateJob) when it repeats a live job or one ended within 24 h, instead of warning (tag s3batch:no-duplicates=true)',
    );
  jobVerb(cmd, [
    [
      's3batch create-job --manifest s3://photos/manifest.csv --manifest-etag 60e5b2d5b2c4ef1e8a1e2e9b7b5a0f11 --operation tag --tag reviewed=yes --report s3://photos/reports',
      'tag every listed object; the job waits for `s3batch confirm <id>`',
    ],
    [
      's3batch create-job --manifest s3://photos/manifest.csv --manifest-etag "$ETAG" --operation copy --target-bucket photos-backup --no-report --confirm --priority 50',
      'copy the listed objects to another bucket, starting at once',
    ],
    [
      'aws s3control create-job --generate-cli-skeleton > job.json   # fill it in, then:',
      "write a spec file in the aws CLI's shape",
    ],
    [
      's3batch create-job --spec job.json --priority 20',
      'create the job that job.json describes, with another priority',
    ],
    [
      'JOB=$(s3batch create-job --spec job.json) && s3batch describe-job "$JOB"',
      'use the printed JobId in the next command',
    ],
  ]);
  cmd.action(async (opts: CreateJobFlags & { json?: boolean } & Record<string, unknown>) => {
    const {
      json,
      skipAccessCheck,
      duplicates,
      endpointUrl: _e,
      accountId: _a,
      accessKeyId: _k,
      secretAccessKey: _s,
      region: _r,
      profile: _p,
      dataDir: _d,
      ...flags
    } = opts;
    // Every argument is checked before a connection is made.
    const spec =
      flags.spec === undefined
        ? undefined
        : parseSpec(await readSpec(flags.spec), flags.spec === '-' ? 'from stdin' : flags.spec);
    const fromSpec = spec === undefined ? undefined : applySpecOverrides(spec.request, flags);
    const fromFlags = spec === undefined ? requestFromFlags(flags) : undefined;
    await withConnection(opts, env, async (conn) => {
      if (spec?.accountId !== undefined && spec.accountId !== conn.accountId) {
        throw usageError(
          `the spec's AccountId ${spec.accountId} is not the account this connection uses (${conn.accountId}); drop AccountId from the file or give --account-id ${spec.accountId}`,
        );
      }
      const request: CreateJobRequest = withCheckTags(
        fromSpec ?? (fromFlags as (accountId: string) => CreateJobRequest)(conn.accountId),
        { skipAccessCheck: skipAccessCheck === true, noDuplicates: duplicates === false },
      );
      const command = new conn.sdk.CreateJobCommand({ AccountId: conn.accountId, ...request });
      const duplicateOf = captureDuplicateOf(command);
      const out = await conn.send(command);
      const other = duplicateOf();
      if (other !== undefined) process.stderr.write(`${duplicateWarningLine(out.JobId ?? '', other)}\n`);
      print(json === true ? toJson(other !== undefined ? { ...out, DuplicateOf: other } : out) : (out.JobId ?? ''));
    });
  });
}
