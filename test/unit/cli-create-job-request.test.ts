/**
 * The pure parts of `s3batch create-job`: flags → CreateJob request, spec file checks (the aws CLI's
 * --cli-input-json shape and its --generate-cli-skeleton placeholders), and the argument parsers.
 */
import { describe, expect, it } from 'vitest';
import { bucketArn, parsePriority, parseStatus, parseTag, parseTagArg } from '../../src/cli/args.ts';
import { CliError } from '../../src/cli/cli-errors.ts';
import {
  applySpecOverrides,
  DELETE_FUNCTION_ARN,
  parseSpec,
  pruneSkeleton,
  requestFromFlags,
  type CreateJobFlags,
} from '../../src/cli/create-job-request.ts';

const ACCOUNT = '111122223333';
const MANIFEST = { manifest: 's3://photos/lists/manifest.csv', manifestEtag: 'abc123' };

/** The CliError a call throws (fails the test when it throws nothing or something else). */
function usage(fn: () => unknown): CliError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
    return err as CliError;
  }
  throw new Error('expected a CliError');
}

const build = (f: CreateJobFlags) => requestFromFlags(f)(ACCOUNT);

describe('create-job flags → CreateJob request', () => {
  it('a tagging job with report, priority, description, job tags and the default role', () => {
    expect(
      build({
        ...MANIFEST,
        operation: 'tag',
        tag: ['reviewed=yes', 'note=a=b'],
        report: 's3://photos/reports/',
        priority: '7',
        description: 'review',
        jobTag: ['team=storage', 'Key=ticket,Value=OPS-1'],
      }),
    ).toEqual({
      Operation: {
        S3PutObjectTagging: {
          TagSet: [
            { Key: 'reviewed', Value: 'yes' },
            { Key: 'note', Value: 'a=b' },
          ],
        },
      },
      Manifest: {
        Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
        Location: { ObjectArn: 'arn:aws:s3:::photos/lists/manifest.csv', ETag: 'abc123' },
      },
      Report: {
        Enabled: true,
        Bucket: 'arn:aws:s3:::photos',
        Format: 'Report_CSV_20180820',
        ReportScope: 'AllTasks',
        Prefix: 'reports',
      },
      Priority: 7,
      RoleArn: `arn:aws:iam::${ACCOUNT}:role/default`,
      Tags: [
        { Key: 'team', Value: 'storage' },
        { Key: 'ticket', Value: 'OPS-1' },
      ],
      Description: 'review',
    });
  });

  it('copy: a bucket name becomes an ARN, an ARN stays; prefix and storage class; failed-only report; confirmation', () => {
    const r = build({
      ...MANIFEST,
      operation: 'copy',
      targetBucket: 'backup',
      targetPrefix: 'copies/',
      storageClass: 'standard_ia',
      report: 's3://logs',
      reportScope: 'failed',
      confirm: true,
    });
    expect(r.Operation).toEqual({
      S3PutObjectCopy: {
        TargetResource: 'arn:aws:s3:::backup',
        TargetKeyPrefix: 'copies/',
        StorageClass: 'STANDARD_IA',
      },
    });
    expect(r.Report).toEqual({
      Enabled: true,
      Bucket: 'arn:aws:s3:::logs',
      Format: 'Report_CSV_20180820',
      ReportScope: 'FailedTasksOnly',
    });
    expect(r.ConfirmationRequired).toBe(false);
    expect(
      build({ ...MANIFEST, operation: 'S3PutObjectCopy', targetBucket: 'arn:aws:s3:::other', report: false }).Operation,
    ).toEqual({ S3PutObjectCopy: { TargetResource: 'arn:aws:s3:::other' } });
  });

  it('--no-report, --confirmation-required, --manifest-fields with VersionId, --role-arn and --storage-profile', () => {
    const r = build({
      ...MANIFEST,
      operation: 'delete-tags',
      report: false,
      confirmationRequired: true,
      manifestFields: 'Bucket, Key,VersionId',
      manifestVersionId: 'v1',
      storageProfile: 'archive',
    });
    expect(r.Report).toEqual({ Enabled: false });
    expect(r.ConfirmationRequired).toBe(true);
    expect(r.Manifest).toEqual({
      Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key', 'VersionId'] },
      Location: { ObjectArn: 'arn:aws:s3:::photos/lists/manifest.csv', ETag: 'abc123', ObjectVersionId: 'v1' },
    });
    expect(r.RoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/archive`);
    expect(
      build({ ...MANIFEST, operation: 'replicate', report: false, roleArn: 'arn:aws:iam::111122223333:role/batch' })
        .RoleArn,
    ).toBe('arn:aws:iam::111122223333:role/batch');
    expect(build({ ...MANIFEST, operation: 'replicate', report: false }).ConfirmationRequired).toBeUndefined();
  });

  it('delete goes as LambdaInvoke of the reserved function; lambda takes user arguments with schema 2.0', () => {
    expect(build({ ...MANIFEST, operation: 'delete', report: false }).Operation).toEqual({
      LambdaInvoke: { FunctionArn: DELETE_FUNCTION_ARN },
    });
    expect(
      build({ ...MANIFEST, operation: 'delete', report: false, bypassGovernanceRetention: true }).Operation,
    ).toEqual({
      LambdaInvoke: {
        FunctionArn: DELETE_FUNCTION_ARN,
        InvocationSchemaVersion: '2.0',
        UserArguments: { BypassGovernanceRetention: 'true' },
      },
    });
    expect(
      build({
        ...MANIFEST,
        operation: 'lambda',
        report: false,
        functionArn: 'http://127.0.0.1:9000/f',
        userArgument: ['index=products'],
      }).Operation,
    ).toEqual({
      LambdaInvoke: {
        FunctionArn: 'http://127.0.0.1:9000/f',
        InvocationSchemaVersion: '2.0',
        UserArguments: { index: 'products' },
      },
    });
    expect(
      build({
        ...MANIFEST,
        operation: 'LambdaInvoke',
        report: false,
        functionArn: 'arn:aws:lambda:us-east-1:111122223333:function:f',
      }).Operation,
    ).toEqual({ LambdaInvoke: { FunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:f' } });
  });

  it('acl, legal hold, retention and restore', () => {
    expect(build({ ...MANIFEST, operation: 'acl', cannedAcl: 'PUBLIC-READ', report: false }).Operation).toEqual({
      S3PutObjectAcl: { AccessControlPolicy: { CannedAccessControlList: 'public-read' } },
    });
    expect(build({ ...MANIFEST, operation: 'legal-hold', legalHold: 'on', report: false }).Operation).toEqual({
      S3PutObjectLegalHold: { LegalHold: { Status: 'ON' } },
    });
    expect(
      build({
        ...MANIFEST,
        operation: 'retention',
        retentionMode: 'governance',
        retainUntil: '2030-01-31T00:00:00Z',
        report: false,
      }).Operation,
    ).toEqual({
      S3PutObjectRetention: { Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date('2030-01-31T00:00:00Z') } },
    });
    expect(
      build({ ...MANIFEST, operation: 'restore', expirationDays: '3', glacierJobTier: 'bulk', report: false })
        .Operation,
    ).toEqual({ S3InitiateRestoreObject: { ExpirationInDays: 3, GlacierJobTier: 'BULK' } });
  });

  it.each([
    [{ operation: 'tag', tag: ['a=b'], report: false }, /--manifest s3:\/\/bucket/],
    [{ ...MANIFEST, report: false }, /give --operation/],
    [{ ...MANIFEST, operation: 'shred', report: false }, /unknown --operation "shred"; one of copy, tag/],
    [
      { manifest: 's3://photos/m.csv', operation: 'tag', tag: ['a=b'], report: false },
      /--manifest-etag is required.*aws s3api head-object --bucket photos --key m.csv --query ETag/,
    ],
    [
      { ...MANIFEST, manifest: 'photos/m.csv', operation: 'delete-tags', report: false },
      /--manifest must be s3:\/\/bucket\/key/,
    ],
    [{ ...MANIFEST, operation: 'tag', report: false }, /at least one --tag/],
    [{ ...MANIFEST, operation: 'tag', tag: ['novalue'], report: false }, /--tag "novalue" must be Key=Value/],
    [{ ...MANIFEST, operation: 'tag', tag: ['=v'], report: false }, /must be Key=Value/],
    [{ ...MANIFEST, operation: 'copy', report: false }, /--operation copy needs --target-bucket/],
    [
      { ...MANIFEST, operation: 'copy', targetBucket: 'b', tag: ['a=b'], report: false },
      /--tag does not apply to --operation copy/,
    ],
    [{ ...MANIFEST, operation: 'delete-tags' }, /--report s3:\/\/bucket\/prefix .* or --no-report/],
    [
      { ...MANIFEST, operation: 'delete-tags', report: 's3://logs', reportScope: 'some' },
      /--report-scope must be one of all, failed/,
    ],
    [{ ...MANIFEST, operation: 'delete-tags', report: false, priority: '-1' }, /--priority must be an integer from 0/],
    [{ ...MANIFEST, operation: 'delete-tags', report: false, confirm: true, confirmationRequired: true }, /contradict/],
    [{ ...MANIFEST, operation: 'delete-tags', report: false, manifestFields: 'Bucket,Name' }, /"Name" is not one of/],
    [
      { ...MANIFEST, operation: 'delete-tags', report: false, roleArn: 'arn:aws:iam::1:role/x', storageProfile: 'p' },
      /--role-arn or --storage-profile/,
    ],
    [
      { ...MANIFEST, operation: 'retention', retentionMode: 'GOVERNANCE', retainUntil: 'soon', report: false },
      /--retain-until must be a date/,
    ],
    [
      {
        ...MANIFEST,
        operation: 'lambda',
        functionArn: 'f',
        invocationSchemaVersion: '1.0',
        userArgument: ['a=b'],
        report: false,
      },
      /--user-argument needs --invocation-schema-version 2.0/,
    ],
  ])('%j is a usage error', (flags, message) => {
    expect(usage(() => build(flags as CreateJobFlags)).message).toMatch(message);
  });
});

describe('create-job --spec', () => {
  const spec = {
    Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'k', Value: 'v' }] } },
    Manifest: {
      Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
      Location: { ObjectArn: 'arn:aws:s3:::b/m.csv', ETag: 'e' },
    },
    Report: { Enabled: false },
    Priority: 5,
    RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch`,
  };

  it('takes the aws CLI --cli-input-json shape as is, AccountId apart', () => {
    const { request, accountId } = parseSpec(JSON.stringify({ ...spec, AccountId: ACCOUNT }), 'job.json');
    expect(request).toEqual(spec);
    expect(accountId).toBe(ACCOUNT);
    expect(parseSpec(JSON.stringify(spec), 'job.json').accountId).toBeUndefined();
  });

  it('drops the unfilled placeholders of --generate-cli-skeleton, keeps objects and lists that were empty on purpose', () => {
    const skeleton = {
      AccountId: '',
      ConfirmationRequired: true,
      Operation: {
        S3PutObjectTagging: { TagSet: [] },
        LambdaInvoke: { FunctionArn: '' },
        S3PutObjectAcl: { AccessControlPolicy: { AccessControlList: { Owner: { ID: '', DisplayName: '' } } } },
      },
      Report: { Bucket: '', Format: 'Report_CSV_20180820', Enabled: false, Prefix: '', ReportScope: 'AllTasks' },
      ClientRequestToken: '',
      Manifest: spec.Manifest,
      Description: '',
      Priority: 0,
      RoleArn: spec.RoleArn,
      Tags: [{ Key: '', Value: '' }],
    };
    const { request, accountId } = parseSpec(JSON.stringify(skeleton), 'skel.json');
    expect(accountId).toBeUndefined();
    expect(request).toEqual({
      ConfirmationRequired: true,
      Operation: { S3PutObjectTagging: { TagSet: [] } },
      Report: { Format: 'Report_CSV_20180820', Enabled: false, ReportScope: 'AllTasks' },
      Manifest: spec.Manifest,
      Priority: 0,
      RoleArn: spec.RoleArn,
    });
    expect(pruneSkeleton({ S3DeleteObjectTagging: {} })).toEqual({ S3DeleteObjectTagging: {} });
  });

  it('turns timestamp members into Dates (ISO text or epoch seconds), as the SDK serialises them', () => {
    const { request } = parseSpec(
      JSON.stringify({
        ...spec,
        Operation: {
          S3PutObjectRetention: { Retention: { Mode: 'GOVERNANCE', RetainUntilDate: '2030-01-31T00:00:00Z' } },
        },
      }),
      'r.json',
    );
    expect(request.Operation?.S3PutObjectRetention?.Retention?.RetainUntilDate).toEqual(
      new Date('2030-01-31T00:00:00Z'),
    );
    const epoch = parseSpec(
      JSON.stringify({
        ...spec,
        Operation: { S3PutObjectCopy: { TargetResource: 'arn:aws:s3:::t', ModifiedSinceConstraint: 1_900_000_000 } },
      }),
      'c.json',
    );
    expect(epoch.request.Operation?.S3PutObjectCopy?.ModifiedSinceConstraint).toEqual(new Date(1_900_000_000_000));
  });

  it("S3DeleteObject (the JSON API's form) goes as LambdaInvoke of the reserved function; an unknown operation is refused", () => {
    const del = (op: unknown) =>
      parseSpec(JSON.stringify({ ...spec, Operation: { S3DeleteObject: op } }), 'd.json').request.Operation;
    expect(del({})).toEqual({ LambdaInvoke: { FunctionArn: DELETE_FUNCTION_ARN } });
    expect(del({ BypassGovernanceRetention: true })).toEqual({
      LambdaInvoke: {
        FunctionArn: DELETE_FUNCTION_ARN,
        InvocationSchemaVersion: '2.0',
        UserArguments: { BypassGovernanceRetention: 'true' },
      },
    });
    expect(usage(() => del({ Force: true })).message).toMatch(/S3DeleteObject takes only "BypassGovernanceRetention"/);
    expect(usage(() => parseSpec(JSON.stringify({ ...spec, Operation: { S3Shred: {} } }), 'd.json')).message).toMatch(
      /Operation.S3Shred is not an operation; one of LambdaInvoke/,
    );
  });

  it('flags may set priority, description, token and confirmation over the file; nothing else', () => {
    const { request } = parseSpec(JSON.stringify(spec), 'job.json');
    expect(
      applySpecOverrides(request, {
        spec: 'job.json',
        priority: '90',
        description: 'd',
        clientRequestToken: 't',
        confirm: true,
      }),
    ).toEqual({ ...spec, Priority: 90, Description: 'd', ClientRequestToken: 't', ConfirmationRequired: false });
    expect(
      usage(() => applySpecOverrides(request, { spec: 'job.json', operation: 'tag', report: false })).message,
    ).toMatch(/with --spec.*not --operation, --report\/--no-report/);
  });

  it.each([
    ['{"Operation": ', /spec job.json is not valid JSON/],
    ['[1]', /must be a JSON object/],
    [
      JSON.stringify({ ...spec, operation: {} }),
      /unknown member\(s\) "operation"; CreateJob has AccountId, ConfirmationRequired, Operation/,
    ],
    [JSON.stringify({ ...spec, Priority: '5' }), /Priority must be an integer/],
    [JSON.stringify({ ...spec, ConfirmationRequired: 'yes' }), /ConfirmationRequired must be true or false/],
    [JSON.stringify({ ...spec, AccountId: '123' }), /AccountId must be a 12-digit account id/],
    [JSON.stringify({ ...spec, Tags: [{ Value: 'x' }] }), /Tags must be a list of/],
    [JSON.stringify({ ...spec, RoleArn: '' }), /RoleArn is required/],
    [JSON.stringify({ ...spec, Manifest: undefined }), /Manifest \(or ManifestGenerator\) is required/],
    [
      JSON.stringify({ ...spec, Operation: { S3PutObjectRetention: { Retention: { RetainUntilDate: 'someday' } } } }),
      /Operation.S3PutObjectRetention.Retention.RetainUntilDate "someday" is not a date/,
    ],
  ])('%s is a usage error', (text, message) => {
    expect(usage(() => parseSpec(text, 'job.json')).message).toMatch(message);
  });
});

describe('argument parsers', () => {
  it('priorities, tags, statuses and bucket ARNs', () => {
    expect(parsePriority('0')).toBe(0);
    expect(parsePriority('2147483647')).toBe(2_147_483_647);
    for (const bad of ['2147483648', '1.5', 'ten', '', '-3'])
      expect(usage(() => parsePriority(bad)).message).toMatch(/priority must be an integer/);
    expect(parseTag('k=')).toEqual({ Key: 'k', Value: '' });
    expect(parseTagArg('Key=team,Value=a,b')).toEqual({ Key: 'team', Value: 'a,b' });
    expect(parseStatus('suspended')).toBe('Suspended');
    expect(usage(() => parseStatus('Done')).message).toMatch(/unknown job status "Done"; one of Active/);
    expect(bucketArn('my.bucket-1')).toBe('arn:aws:s3:::my.bucket-1');
    expect(bucketArn('arn:aws:s3:::x')).toBe('arn:aws:s3:::x');
    expect(usage(() => bucketArn('s3://x')).message).toMatch(/neither a bucket name nor an ARN/);
  });
});
