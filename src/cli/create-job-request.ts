/**
 * The CreateJob request of `s3batch create-job`, built (pure) either from a spec file in the shape of
 * `aws s3control create-job --cli-input-json` (PascalCase, AccountId optional, the placeholders of
 * `--generate-cli-skeleton` tolerated) or from flags for the common cases. Checks here are the
 * ones the CLI can make better than the server (names of flags, file syntax); the server still
 * validates the request in full.
 */
import type { CreateJobCommandInput, JobOperation, JobReport, S3Tag } from '@aws-sdk/client-s3-control';
import { bucketArn, parsePriority, parseS3Url, parseTag, parseTagArg } from './args.ts';
import { usageError } from './cli-errors.ts';
import { NOTIFY_TAG } from '../domain/job-extensions.ts';

/** The request without AccountId (the connection adds it). */
export type CreateJobRequest = Omit<CreateJobCommandInput, 'AccountId'>;

/** Top-level members of CreateJob's input (the aws CLI's --cli-input-json keys). */
const SPEC_KEYS = [
  'AccountId',
  'ConfirmationRequired',
  'Operation',
  'Report',
  'ClientRequestToken',
  'Manifest',
  'Description',
  'Priority',
  'RoleArn',
  'Tags',
  'ManifestGenerator',
] as const;

// Timestamp members of the model anywhere in the request: the SDK serialises them from Date objects.
const TIMESTAMP_MEMBERS = new Set([
  'ObjectLockRetainUntilDate',
  'ModifiedSinceConstraint',
  'UnModifiedSinceConstraint',
  'HttpExpiresDate',
  'RetainUntilDate',
  'CreatedAfter',
  'CreatedBefore',
]);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Drops what `--generate-cli-skeleton` leaves unfilled: empty strings, and objects or arrays that
 * became empty by dropping them. An object or array that was empty in the file stays (for example
 * `"S3DeleteObjectTagging": {}` or `"TagSet": []`, which mean something).
 */
export function pruneSkeleton(value: Json): Json | undefined {
  if (value === '') return undefined;
  if (Array.isArray(value)) {
    if (value.length === 0) return value;
    const kept = value.map(pruneSkeleton).filter((v): v is Json => v !== undefined);
    return kept.length === 0 ? undefined : kept;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return value;
    const kept = entries
      .map(([k, v]) => [k, pruneSkeleton(v)] as const)
      .filter((e): e is readonly [string, Json] => e[1] !== undefined);
    return kept.length === 0 ? undefined : Object.fromEntries(kept);
  }
  return value;
}

/** Turns timestamp members (ISO text or epoch seconds, as the aws CLI takes them) into Dates. */
function withDates(value: unknown, path: string): unknown {
  if (Array.isArray(value)) return value.map((v, i) => withDates(v, `${path}[${i}]`));
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const here = path === '' ? k : `${path}.${k}`;
    if (TIMESTAMP_MEMBERS.has(k) && (typeof v === 'string' || typeof v === 'number')) {
      const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
      if (Number.isNaN(d.getTime()))
        throw usageError(`spec: ${here} ${JSON.stringify(v)} is not a date (e.g. 2030-01-31T00:00:00Z)`);
      out[k] = d;
    } else {
      out[k] = withDates(v, here);
    }
  }
  return out;
}

/** The members of JobOperation the SDK serialises; any other would be dropped without a word. */
const SDK_OPERATIONS = [
  'LambdaInvoke',
  'S3PutObjectCopy',
  'S3PutObjectAcl',
  'S3PutObjectTagging',
  'S3DeleteObjectTagging',
  'S3InitiateRestoreObject',
  'S3PutObjectLegalHold',
  'S3PutObjectRetention',
  'S3ReplicateObject',
  'S3ComputeObjectChecksum',
  'S3UpdateObjectEncryption',
];

/**
 * The spec's Operation as the S3 Control API can carry it: s3batch's `S3DeleteObject` (the JSON
 * API's form) becomes LambdaInvoke of the reserved delete function; a member the SDK does not know
 * is refused here rather than silently dropped by its serialiser.
 */
function s3ControlOperation(op: Record<string, unknown>, source: string): Record<string, unknown> {
  const unknown = Object.keys(op).filter((k) => k !== 'S3DeleteObject' && !SDK_OPERATIONS.includes(k));
  if (unknown.length > 0)
    throw usageError(
      `spec ${source}: Operation.${unknown[0]} is not an operation; one of ${SDK_OPERATIONS.join(', ')}, S3DeleteObject`,
    );
  if (op.S3DeleteObject === undefined) return op;
  const del = op.S3DeleteObject;
  const extra = isObject(del) ? Object.keys(del).filter((k) => k !== 'BypassGovernanceRetention') : ['(not an object)'];
  if (
    extra.length > 0 ||
    (isObject(del) && del.BypassGovernanceRetention !== undefined && typeof del.BypassGovernanceRetention !== 'boolean')
  ) {
    throw usageError(`spec ${source}: Operation.S3DeleteObject takes only "BypassGovernanceRetention": true|false`);
  }
  const bypass = isObject(del) && del.BypassGovernanceRetention === true;
  const { S3DeleteObject: _d, ...others } = op;
  return {
    ...others,
    LambdaInvoke: bypass
      ? {
          FunctionArn: DELETE_FUNCTION_ARN,
          InvocationSchemaVersion: '2.0',
          UserArguments: { BypassGovernanceRetention: 'true' },
        }
      : { FunctionArn: DELETE_FUNCTION_ARN },
  };
}

/**
 * Parses a spec file's text. `source` names it in messages. Returns the request and the AccountId
 * the file names, if any.
 */
export function parseSpec(text: string, source: string): { request: CreateJobRequest; accountId?: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw usageError(`spec ${source} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc))
    throw usageError(
      `spec ${source} must be a JSON object with the members of aws s3control create-job --cli-input-json (${SPEC_KEYS.join(', ')})`,
    );
  const unknown = Object.keys(doc).filter((k) => !(SPEC_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw usageError(
      `spec ${source}: unknown member(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; CreateJob has ${SPEC_KEYS.join(', ')} (PascalCase, as aws s3control create-job --generate-cli-skeleton writes them)`,
    );
  }
  const pruned = (pruneSkeleton(doc as Json) ?? {}) as Record<string, unknown>;
  const expect = (key: string, ok: (v: unknown) => boolean, what: string): void => {
    if (pruned[key] !== undefined && !ok(pruned[key]))
      throw usageError(`spec ${source}: ${key} must be ${what}, got ${JSON.stringify(pruned[key])}`);
  };
  expect('AccountId', (v) => typeof v === 'string' && /^\d{12}$/.test(v), 'a 12-digit account id');
  expect('ConfirmationRequired', (v) => typeof v === 'boolean', 'true or false');
  expect(
    'Priority',
    (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 2_147_483_647,
    'an integer from 0 to 2147483647',
  );
  for (const k of ['Operation', 'Report', 'Manifest', 'ManifestGenerator']) expect(k, isObject, 'an object');
  for (const k of ['ClientRequestToken', 'Description', 'RoleArn']) expect(k, (v) => typeof v === 'string', 'a string');
  expect(
    'Tags',
    (v) =>
      Array.isArray(v) &&
      v.every(
        (t) => isObject(t) && typeof t.Key === 'string' && (t.Value === undefined || typeof t.Value === 'string'),
      ),
    'a list of {"Key","Value"}',
  );
  for (const k of ['Operation', 'Report', 'RoleArn']) {
    if (pruned[k] === undefined) throw usageError(`spec ${source}: ${k} is required`);
  }
  if (pruned.Manifest === undefined && pruned.ManifestGenerator === undefined)
    throw usageError(`spec ${source}: Manifest (or ManifestGenerator) is required`);
  pruned.Operation = s3ControlOperation(pruned.Operation as Record<string, unknown>, source);
  const { AccountId, ...rest } = withDates(pruned, '') as Record<string, unknown>;
  return {
    request: rest as unknown as CreateJobRequest,
    ...(typeof AccountId === 'string' ? { accountId: AccountId } : {}),
  };
}

/** The flags of create-job (commander's parsed options). */
export interface CreateJobFlags {
  readonly spec?: string;
  readonly manifest?: string;
  readonly manifestEtag?: string;
  readonly manifestVersionId?: string;
  readonly manifestFields?: string;
  readonly manifestFormat?: string;
  readonly operation?: string;
  readonly targetBucket?: string;
  readonly targetPrefix?: string;
  readonly storageClass?: string;
  readonly tag?: readonly string[];
  readonly functionArn?: string;
  readonly invocationSchemaVersion?: string;
  readonly userArgument?: readonly string[];
  readonly cannedAcl?: string;
  readonly legalHold?: string;
  readonly retentionMode?: string;
  readonly retainUntil?: string;
  readonly bypassGovernanceRetention?: boolean;
  readonly expirationDays?: string;
  readonly glacierJobTier?: string;
  readonly priority?: string;
  /** s3://bucket/prefix, or false for --no-report. */
  readonly report?: string | boolean;
  readonly reportScope?: string;
  readonly confirmationRequired?: boolean;
  readonly confirm?: boolean;
  readonly roleArn?: string;
  readonly storageProfile?: string;
  readonly description?: string;
  readonly clientRequestToken?: string;
  readonly jobTag?: readonly string[];
  /** A webhook for the job's status changes: the s3batch:notify tag (docs/notifications.md). */
  readonly notify?: string;
}

/** The flag of each CreateJobFlags member that only some operations take, as users type it. */
const OPERATION_FLAGS = {
  targetBucket: '--target-bucket',
  targetPrefix: '--target-prefix',
  storageClass: '--storage-class',
  tag: '--tag',
  functionArn: '--function-arn',
  invocationSchemaVersion: '--invocation-schema-version',
  userArgument: '--user-argument',
  cannedAcl: '--canned-acl',
  legalHold: '--legal-hold',
  retentionMode: '--retention-mode',
  retainUntil: '--retain-until',
  bypassGovernanceRetention: '--bypass-governance-retention',
  expirationDays: '--expiration-days',
  glacierJobTier: '--glacier-job-tier',
} as const satisfies Partial<Record<keyof CreateJobFlags, string>>;
type OperationFlag = keyof typeof OPERATION_FLAGS;

/** The s3batch delete reached over S3 Control: LambdaInvoke of the reserved function (README *Deleting objects*). */
export const DELETE_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:s3batch-delete-objects';

interface OperationDef {
  readonly aws: keyof JobOperation;
  readonly flags: readonly OperationFlag[];
  build(f: CreateJobFlags): JobOperation;
}

const required = (f: CreateJobFlags, k: OperationFlag, op: string): string => {
  const v = f[k];
  if (typeof v !== 'string' || v === '') throw usageError(`--operation ${op} needs ${OPERATION_FLAGS[k]}`);
  return v;
};

const oneOf = (value: string, allowed: readonly string[], flag: string): string => {
  const found = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  if (found === undefined)
    throw usageError(`${flag} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return found;
};

/** Operation short names → how the flags make them. The AWS names (S3PutObjectCopy, …) work too. */
export const OPERATIONS: Readonly<Record<string, OperationDef>> = {
  copy: {
    aws: 'S3PutObjectCopy',
    flags: ['targetBucket', 'targetPrefix', 'storageClass'],
    build: (f) => ({
      S3PutObjectCopy: {
        TargetResource: bucketArn(required(f, 'targetBucket', 'copy'), '--target-bucket'),
        ...(f.targetPrefix !== undefined ? { TargetKeyPrefix: f.targetPrefix } : {}),
        ...(f.storageClass !== undefined ? { StorageClass: f.storageClass.toUpperCase() as never } : {}),
      },
    }),
  },
  tag: {
    aws: 'S3PutObjectTagging',
    flags: ['tag'],
    build: (f) => {
      if (f.tag === undefined || f.tag.length === 0)
        throw usageError(
          '--operation tag needs at least one --tag Key=Value (to remove all tags use --operation delete-tags)',
        );
      return { S3PutObjectTagging: { TagSet: f.tag.map((t) => parseTag(t, '--tag')) } };
    },
  },
  'delete-tags': { aws: 'S3DeleteObjectTagging', flags: [], build: () => ({ S3DeleteObjectTagging: {} }) },
  delete: {
    aws: 'LambdaInvoke',
    flags: ['bypassGovernanceRetention'],
    build: (f) => ({
      LambdaInvoke:
        f.bypassGovernanceRetention === true
          ? {
              FunctionArn: DELETE_FUNCTION_ARN,
              InvocationSchemaVersion: '2.0',
              UserArguments: { BypassGovernanceRetention: 'true' },
            }
          : { FunctionArn: DELETE_FUNCTION_ARN },
    }),
  },
  lambda: {
    aws: 'LambdaInvoke',
    flags: ['functionArn', 'invocationSchemaVersion', 'userArgument'],
    build: (f) => {
      const args = (f.userArgument ?? []).map((a) => parseTag(a, '--user-argument'));
      if (args.length > 0 && f.invocationSchemaVersion !== undefined && f.invocationSchemaVersion !== '2.0') {
        throw usageError('--user-argument needs --invocation-schema-version 2.0');
      }
      const version = f.invocationSchemaVersion ?? (args.length > 0 ? '2.0' : undefined);
      return {
        LambdaInvoke: {
          FunctionArn: required(f, 'functionArn', 'lambda'),
          ...(version !== undefined ? { InvocationSchemaVersion: version } : {}),
          ...(args.length > 0 ? { UserArguments: Object.fromEntries(args.map((a) => [a.Key, a.Value])) } : {}),
        },
      };
    },
  },
  acl: {
    aws: 'S3PutObjectAcl',
    flags: ['cannedAcl'],
    build: (f) => ({
      S3PutObjectAcl: {
        AccessControlPolicy: {
          CannedAccessControlList: oneOf(
            required(f, 'cannedAcl', 'acl'),
            [
              'private',
              'public-read',
              'public-read-write',
              'aws-exec-read',
              'authenticated-read',
              'bucket-owner-read',
              'bucket-owner-full-control',
            ],
            '--canned-acl',
          ) as never,
        },
      },
    }),
  },
  'legal-hold': {
    aws: 'S3PutObjectLegalHold',
    flags: ['legalHold'],
    build: (f) => ({
      S3PutObjectLegalHold: {
        LegalHold: { Status: oneOf(required(f, 'legalHold', 'legal-hold'), ['ON', 'OFF'], '--legal-hold') as never },
      },
    }),
  },
  retention: {
    aws: 'S3PutObjectRetention',
    flags: ['retentionMode', 'retainUntil', 'bypassGovernanceRetention'],
    build: (f) => {
      const until = new Date(required(f, 'retainUntil', 'retention'));
      if (Number.isNaN(until.getTime()))
        throw usageError(
          `--retain-until must be a date such as 2030-01-31T00:00:00Z, got ${JSON.stringify(f.retainUntil)}`,
        );
      return {
        S3PutObjectRetention: {
          Retention: {
            Mode: oneOf(
              required(f, 'retentionMode', 'retention'),
              ['GOVERNANCE', 'COMPLIANCE'],
              '--retention-mode',
            ) as never,
            RetainUntilDate: until,
          },
          ...(f.bypassGovernanceRetention === true ? { BypassGovernanceRetention: true } : {}),
        },
      };
    },
  },
  restore: {
    aws: 'S3InitiateRestoreObject',
    flags: ['expirationDays', 'glacierJobTier'],
    build: (f) => ({
      S3InitiateRestoreObject: {
        ...(f.expirationDays !== undefined
          ? { ExpirationInDays: parsePriority(f.expirationDays, '--expiration-days') }
          : {}),
        ...(f.glacierJobTier !== undefined
          ? { GlacierJobTier: oneOf(f.glacierJobTier, ['BULK', 'STANDARD'], '--glacier-job-tier') as never }
          : {}),
      },
    }),
  },
  replicate: { aws: 'S3ReplicateObject', flags: [], build: () => ({ S3ReplicateObject: {} }) },
};

/** The short name for an --operation value: a short name or an AWS operation name, any case. */
function operationName(value: string): string {
  const lower = value.toLowerCase();
  if (OPERATIONS[lower] !== undefined) return lower;
  const byAws = Object.entries(OPERATIONS).filter(([, d]) => d.aws.toLowerCase() === lower);
  // LambdaInvoke is the AWS name of both `lambda` and `delete`; it means `lambda`.
  if (byAws.length > 0) return byAws.some(([n]) => n === 'lambda') ? 'lambda' : (byAws[0] as [string, OperationDef])[0];
  throw usageError(
    `unknown --operation ${JSON.stringify(value)}; one of ${Object.keys(OPERATIONS).join(', ')} (or the AWS name, e.g. S3PutObjectCopy)`,
  );
}

const CSV = 'S3BatchOperations_CSV_20180820';
const INVENTORY = 'S3InventoryReport_CSV_20161130';

function manifestOf(f: CreateJobFlags): CreateJobRequest['Manifest'] {
  const { bucket, key } = parseS3Url(f.manifest as string, '--manifest', true);
  const format =
    f.manifestFormat === undefined ? 'csv' : oneOf(f.manifestFormat, ['csv', 'inventory'], '--manifest-format');
  if (f.manifestEtag === undefined || f.manifestEtag === '') {
    throw usageError(
      `--manifest-etag is required: a job pins its ${format === 'csv' ? 'manifest' : 'manifest.json'}'s ETag (the CLI has no S3 credentials to read it). ` +
        `Get it with: aws s3api head-object --bucket ${bucket} --key ${key} --query ETag --output text`,
    );
  }
  const fields =
    format === 'inventory' && f.manifestFields === undefined
      ? undefined
      : (f.manifestFields ?? 'Bucket,Key').split(',').map((s) => s.trim());
  for (const field of fields ?? []) {
    if (!['Ignore', 'Bucket', 'Key', 'VersionId'].includes(field))
      throw usageError(`--manifest-fields: ${JSON.stringify(field)} is not one of Ignore, Bucket, Key, VersionId`);
  }
  return {
    Spec: { Format: format === 'csv' ? CSV : INVENTORY, ...(fields !== undefined ? { Fields: fields as never } : {}) },
    Location: {
      ObjectArn: `arn:aws:s3:::${bucket}/${key}`,
      ETag: f.manifestEtag,
      ...(f.manifestVersionId !== undefined ? { ObjectVersionId: f.manifestVersionId } : {}),
    },
  };
}

function reportOf(f: CreateJobFlags): JobReport {
  if (f.report === false) {
    if (f.reportScope !== undefined) throw usageError('--report-scope goes with --report, not --no-report');
    return { Enabled: false };
  }
  if (typeof f.report !== 'string')
    throw usageError('give --report s3://bucket/prefix (where the completion report goes) or --no-report');
  const { bucket, key } = parseS3Url(f.report, '--report', false);
  const scope = f.reportScope === undefined ? 'all' : oneOf(f.reportScope, ['all', 'failed'], '--report-scope');
  const prefix = key.replace(/\/+$/, '');
  return {
    Enabled: true,
    Bucket: `arn:aws:s3:::${bucket}`,
    Format: 'Report_CSV_20180820',
    ReportScope: scope === 'all' ? 'AllTasks' : 'FailedTasksOnly',
    ...(prefix !== '' ? { Prefix: prefix } : {}),
  };
}

/** ConfirmationRequired from --confirmation-required / --no-confirmation-required / --confirm; undefined ⇒ the server's default. */
function confirmationOf(f: CreateJobFlags): boolean | undefined {
  if (f.confirm === true) {
    if (f.confirmationRequired === true)
      throw usageError('--confirm and --confirmation-required contradict each other');
    return false;
  }
  return f.confirmationRequired;
}

/** The role: --role-arn, else arn:aws:iam::<account>:role/<--storage-profile or "default"> (the server's own S3). */
function roleOf(f: CreateJobFlags, accountId: string): string {
  return f.roleArn ?? `arn:aws:iam::${accountId}:role/${f.storageProfile ?? 'default'}`;
}

/** The members that --spec files may take from flags as well (the flag wins). */
function common(f: CreateJobFlags): Partial<CreateJobRequest> {
  const confirmation = confirmationOf(f);
  return {
    ...(f.priority !== undefined ? { Priority: parsePriority(f.priority, '--priority') } : {}),
    ...(f.description !== undefined ? { Description: f.description } : {}),
    ...(f.clientRequestToken !== undefined ? { ClientRequestToken: f.clientRequestToken } : {}),
    ...(confirmation !== undefined ? { ConfirmationRequired: confirmation } : {}),
  };
}

const SPEC_COMPATIBLE = new Set<keyof CreateJobFlags>([
  'spec',
  'priority',
  'description',
  'clientRequestToken',
  'confirmationRequired',
  'confirm',
  'notify',
]);

/** Applies --priority/--description/--client-request-token/--confirm… over a parsed spec; other flags are refused. */
export function applySpecOverrides(request: CreateJobRequest, f: CreateJobFlags): CreateJobRequest {
  const extra = (Object.keys(f) as (keyof CreateJobFlags)[]).filter(
    (k) => f[k] !== undefined && !SPEC_COMPATIBLE.has(k),
  );
  if (extra.length > 0) {
    throw usageError(
      `with --spec, give the job in the file; only --priority, --description, --client-request-token and --confirm / --[no-]confirmation-required may be added (not ${extra.map(flagName).join(', ')})`,
    );
  }
  return withNotify({ ...request, ...common(f) }, f.notify);
}

/** --notify URL: the job's s3batch:notify tag (checked by the server; given once). */
function withNotify<T extends Pick<CreateJobRequest, 'Tags'>>(request: T, url: string | undefined): T {
  if (url === undefined) return request;
  const tags = request.Tags ?? [];
  if (tags.some((t) => t.Key === NOTIFY_TAG))
    throw usageError(`give the webhook once: --notify, or the ${NOTIFY_TAG} job tag, not both`);
  return { ...request, Tags: [...tags, { Key: NOTIFY_TAG, Value: url }] };
}

function flagName(k: keyof CreateJobFlags): string {
  if (k === 'report') return '--report/--no-report';
  return `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * The request the flags describe (no --spec). Every flag is checked now, before any connection is
 * made; the result takes the account id, which the default RoleArn names.
 */
export function requestFromFlags(f: CreateJobFlags): (accountId: string) => CreateJobRequest {
  if (f.manifest === undefined)
    throw usageError('give --manifest s3://bucket/manifest.csv (with --manifest-etag) or --spec file.json');
  if (f.operation === undefined) throw usageError(`give --operation (${Object.keys(OPERATIONS).join(', ')})`);
  const name = operationName(f.operation);
  const def = OPERATIONS[name] as OperationDef;
  const stray = (Object.keys(OPERATION_FLAGS) as OperationFlag[]).filter(
    (k) => f[k] !== undefined && !def.flags.includes(k),
  );
  if (stray.length > 0)
    throw usageError(
      `${stray.map((k) => OPERATION_FLAGS[k]).join(', ')} ${stray.length === 1 ? 'does' : 'do'} not apply to --operation ${name}`,
    );
  const tags: S3Tag[] = (f.jobTag ?? []).map((t) => parseTagArg(t, '--job-tag'));
  const request: Omit<CreateJobRequest, 'RoleArn'> = {
    Operation: def.build(f),
    Manifest: manifestOf(f),
    Report: reportOf(f),
    Priority: 10,
    ...(tags.length > 0 ? { Tags: tags } : {}),
    ...common(f),
  };
  if (f.roleArn !== undefined && f.storageProfile !== undefined)
    throw usageError('give --role-arn or --storage-profile, not both');
  const notified = withNotify(request, f.notify);
  return (accountId) => ({ ...notified, RoleArn: roleOf(f, accountId) });
}
