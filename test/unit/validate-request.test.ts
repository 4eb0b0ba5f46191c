/**
 * CreateJob validation (docs/s3control-api.md#create-job-validation, docs/s3control-api.md#field-limits): one table of
 * requests that must be accepted and one of requests that must be refused, each refusal asserted by its stable code.
 */
import { describe, expect, it } from 'vitest';
import { isS3BatchError, type ErrorCode } from '../../src/domain/errors.ts';
import { validateCreateJobRequest, validateJobTags, validatePriority } from '../../src/service/validate-request.ts';

type Request = Record<string, unknown>;

/** A minimal valid copy-job request; each case changes one thing. */
function valid(): Request {
  return {
    Operation: { S3PutObjectCopy: { TargetResource: 'arn:aws:s3:::dest-bucket' } },
    Manifest: {
      Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
      Location: { ObjectArn: 'arn:aws:s3:::manifests/jobs/manifest.csv', ETag: '60e460c9d1046e73f7dde5043ac3ae85' },
    },
    Report: { Enabled: true, Bucket: 'arn:aws:s3:::reports', Format: 'Report_CSV_20180820', ReportScope: 'AllTasks' },
    Priority: 10,
    RoleArn: 'arn:aws:iam::111122223333:role/batch-operations',
  };
}

const OPTS = { confirmationRequiredByDefault: true };

/** `valid()` with `patch` applied to the object at `path` (a value of undefined deletes the member). */
function withPatch(path: string[], patch: Request): Request {
  const req = valid();
  let target = req;
  for (const p of path) target = target[p] as Request;
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete target[k];
    else target[k] = v;
  }
  return req;
}

const top = (patch: Request): Request => withPatch([], patch);
const spec = (patch: Request): Request => withPatch(['Manifest', 'Spec'], patch);
const location = (patch: Request): Request => withPatch(['Manifest', 'Location'], patch);
const report = (patch: Request): Request => withPatch(['Report'], patch);

function codeOf(fn: () => unknown): ErrorCode | 'accepted' {
  try {
    fn();
    return 'accepted';
  } catch (err) {
    if (!isS3BatchError(err)) throw err;
    return err.code;
  }
}

const tags = (n: number): { Key: string; Value: string }[] =>
  Array.from({ length: n }, (_, i) => ({ Key: `k${i}`, Value: `v${i}` }));

describe('validateCreateJobRequest accepts', () => {
  it.each<[string, Request]>([
    ['the minimal copy job', valid()],
    ['Priority 0', top({ Priority: 0 })],
    ['Priority 2147483647', top({ Priority: 2_147_483_647 })],
    ['ClientRequestToken of 1 character', top({ ClientRequestToken: 'x' })],
    ['ClientRequestToken of 64 characters', top({ ClientRequestToken: 't'.repeat(64) })],
    ['Description of 256 characters', top({ Description: 'd'.repeat(256) })],
    ['RoleArn in another partition', top({ RoleArn: 'arn:aws-cn:iam::111122223333:role/path/to/role' })],
    ['Fields with VersionId and Ignore columns', spec({ Fields: ['Ignore', 'Bucket', 'Key', 'VersionId', 'Ignore'] })],
    ['a manifest ObjectVersionId', location({ ObjectVersionId: '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY' })],
    ['Report Enabled false without Bucket', top({ Report: { Enabled: false } })],
    [
      'Report FailedTasksOnly with a prefix and an owner',
      report({ ReportScope: 'FailedTasksOnly', Prefix: 'r/', ExpectedBucketOwner: '111122223333' }),
    ],
    ['50 tags', top({ Tags: tags(50) })],
    [
      'a tag with an empty value and every allowed punctuation',
      top({
        Tags: [
          { Key: 'a b_.:/=+-@', Value: '' },
          { Key: 'ключ', Value: '値 1' },
        ],
      }),
    ],
    ['a tag value of 256 characters', top({ Tags: [{ Key: 'k', Value: 'v'.repeat(256) }] })],
    ['S3PutObjectTagging', top({ Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'tier', Value: 'gold' }] } } })],
    ['S3DeleteObjectTagging', top({ Operation: { S3DeleteObjectTagging: {} } })],
    ['null members as absent', top({ Description: null, Tags: null, ManifestGenerator: null })],
  ])('%s', (_name, request) => {
    expect(codeOf(() => validateCreateJobRequest(request, OPTS))).toBe('accepted');
  });
});

describe('validateCreateJobRequest refuses', () => {
  it.each<[string, ErrorCode, unknown]>([
    ['a body that is not an object', 'InvalidRequest', ['not', 'an', 'object']],
    ['a null body', 'InvalidRequest', null],
    // Priority (docs/s3control-api.md#field-limits: int 0..2147483647)
    ['Priority missing', 'InvalidRequest', top({ Priority: undefined })],
    ['Priority -1', 'InvalidRequest', top({ Priority: -1 })],
    ['Priority 2147483648', 'InvalidRequest', top({ Priority: 2_147_483_648 })],
    ['Priority 1.5', 'InvalidRequest', top({ Priority: 1.5 })],
    ['Priority "5" (a string)', 'InvalidRequest', top({ Priority: '5' })],
    // RoleArn (arn:[^:]+:iam::\d{12}:role/.*)
    ['RoleArn missing', 'InvalidRequest', top({ RoleArn: undefined })],
    ['RoleArn not an ARN', 'InvalidRequest', top({ RoleArn: 'batch-operations' })],
    ['RoleArn with an 11-digit account', 'InvalidRequest', top({ RoleArn: 'arn:aws:iam::11112222333:role/x' })],
    ['RoleArn of a user', 'InvalidRequest', top({ RoleArn: 'arn:aws:iam::111122223333:user/x' })],
    ['RoleArn with a region', 'InvalidRequest', top({ RoleArn: 'arn:aws:iam:us-east-1:111122223333:role/x' })],
    [
      'RoleArn over 2048 characters',
      'InvalidRequest',
      top({ RoleArn: `arn:aws:iam::111122223333:role/${'r'.repeat(2048)}` }),
    ],
    // ClientRequestToken 1..64, Description 1..256
    ['ClientRequestToken of length 0', 'InvalidRequest', top({ ClientRequestToken: '' })],
    ['ClientRequestToken of length 65', 'InvalidRequest', top({ ClientRequestToken: 't'.repeat(65) })],
    ['ClientRequestToken not a string', 'InvalidRequest', top({ ClientRequestToken: 42 })],
    ['Description of 257 characters', 'InvalidRequest', top({ Description: 'd'.repeat(257) })],
    ['Description empty', 'InvalidRequest', top({ Description: '' })],
    ['ConfirmationRequired "false" (a string)', 'InvalidRequest', top({ ConfirmationRequired: 'false' })],
    // Manifest vs ManifestGenerator: exactly one
    [
      'both Manifest and ManifestGenerator',
      'InvalidRequest',
      top({
        ManifestGenerator: {
          S3JobManifestGenerator: { SourceBucket: 'arn:aws:s3:::src', EnableManifestOutput: false },
        },
      }),
    ],
    ['neither Manifest nor ManifestGenerator', 'InvalidRequest', top({ Manifest: undefined })],
    [
      'a ManifestGenerator without EnableManifestOutput',
      'InvalidRequest',
      top({ Manifest: undefined, ManifestGenerator: { S3JobManifestGenerator: { SourceBucket: 'arn:aws:s3:::src' } } }),
    ],
    ['Manifest not an object', 'InvalidRequest', top({ Manifest: 'arn:aws:s3:::manifests/m.csv' })],
    ['Manifest without Spec', 'InvalidRequest', withPatch(['Manifest'], { Spec: undefined })],
    ['Manifest without Location', 'InvalidRequest', withPatch(['Manifest'], { Location: undefined })],
    // Manifest format
    [
      'an inventory manifest with a bad Fields member',
      'InvalidRequest',
      spec({ Format: 'S3InventoryReport_CSV_20161130', Fields: ['Bucket', 'Size'] }),
    ],
    ['an unknown manifest format', 'InvalidRequest', spec({ Format: 'CSV' })],
    ['a manifest format missing', 'InvalidRequest', spec({ Format: undefined })],
    // Fields
    ['Fields missing', 'InvalidRequest', spec({ Fields: undefined })],
    ['Fields empty', 'InvalidRequest', spec({ Fields: [] })],
    ['Fields not a list', 'InvalidRequest', spec({ Fields: 'Bucket,Key' })],
    ['Fields without Key', 'InvalidRequest', spec({ Fields: ['Bucket', 'VersionId'] })],
    ['Fields without Bucket', 'InvalidRequest', spec({ Fields: ['Key'] })],
    ['Fields with a duplicate Bucket', 'InvalidRequest', spec({ Fields: ['Bucket', 'Key', 'Bucket'] })],
    [
      'Fields with a duplicate VersionId',
      'InvalidRequest',
      spec({ Fields: ['Bucket', 'Key', 'VersionId', 'VersionId'] }),
    ],
    ['Fields with an unknown value', 'InvalidRequest', spec({ Fields: ['Bucket', 'Key', 'Size'] })],
    ['Fields with a lower-case value', 'InvalidRequest', spec({ Fields: ['bucket', 'key'] })],
    // Location
    ['ObjectArn missing', 'InvalidRequest', location({ ObjectArn: undefined })],
    ['ObjectArn a bare s3:// URL', 'InvalidRequest', location({ ObjectArn: 's3://manifests/m.csv' })],
    ['ObjectArn of a bucket (no key)', 'InvalidRequest', location({ ObjectArn: 'arn:aws:s3:::manifests' })],
    ['ObjectArn of another service', 'InvalidRequest', location({ ObjectArn: 'arn:aws:sqs:::manifests/m.csv' })],
    ['ETag missing', 'InvalidRequest', location({ ETag: undefined })],
    ['ETag empty', 'InvalidRequest', location({ ETag: '' })],
    ['ObjectVersionId empty', 'InvalidRequest', location({ ObjectVersionId: '' })],
    // Report
    ['Report missing', 'InvalidRequest', top({ Report: undefined })],
    ['Report Enabled missing', 'InvalidRequest', report({ Enabled: undefined })],
    ['Report Enabled "true" (a string)', 'InvalidRequest', report({ Enabled: 'true' })],
    ['Report Enabled true without Bucket', 'InvalidRequest', report({ Bucket: undefined })],
    ['Report Bucket a bare bucket name', 'InvalidRequest', report({ Bucket: 'reports' })],
    ['Report bad Format', 'InvalidRequest', report({ Format: 'Report_JSON' })],
    ['Report bad ReportScope', 'InvalidRequest', report({ ReportScope: 'SucceededTasksOnly' })],
    ['Report ExpectedBucketOwner of 11 digits', 'InvalidRequest', report({ ExpectedBucketOwner: '11112222333' })],
    ['Report ExpectedBucketOwner not digits', 'InvalidRequest', report({ ExpectedBucketOwner: '11112222333x' })],
    ['Report Prefix empty', 'InvalidRequest', report({ Prefix: '' })],
    // Tags (≤ 50, unique keys, model characters and lengths)
    ['51 tags', 'TooManyTagsException', top({ Tags: tags(51) })],
    ['Tags not a list', 'InvalidRequest', top({ Tags: { Key: 'a', Value: 'b' } })],
    [
      'duplicate tag keys',
      'InvalidRequest',
      top({
        Tags: [
          { Key: 'a', Value: '1' },
          { Key: 'a', Value: '2' },
        ],
      }),
    ],
    ['a tag key with characters not allowed', 'InvalidRequest', top({ Tags: [{ Key: 'a*b', Value: '1' }] })],
    ['a tag value with characters not allowed', 'InvalidRequest', top({ Tags: [{ Key: 'a', Value: 'x;y' }] })],
    ['a tag value of 257 characters', 'InvalidRequest', top({ Tags: [{ Key: 'a', Value: 'v'.repeat(257) }] })],
    ['a tag key of 129 characters', 'InvalidRequest', top({ Tags: [{ Key: 'k'.repeat(129), Value: '' }] })],
    ['a tag without Key', 'InvalidRequest', top({ Tags: [{ Value: 'v' }] })],
    ['a tag that is a string', 'InvalidRequest', top({ Tags: ['a=b'] })],
    // Operation: exactly one known, implemented kind
    ['no Operation', 'InvalidRequest', top({ Operation: undefined })],
    ['an empty Operation', 'InvalidRequest', top({ Operation: {} })],
    [
      'two operations',
      'InvalidRequest',
      top({ Operation: { S3DeleteObjectTagging: {}, S3PutObjectTagging: { TagSet: [] } } }),
    ],
    ['an unknown operation kind', 'InvalidRequest', top({ Operation: { S3FrobnicateObject: {} } })],
    [
      'LambdaInvoke with UserArguments but schema 1.0',
      'InvalidRequest',
      top({
        Operation: {
          LambdaInvoke: { FunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:f', UserArguments: { k: 'v' } },
        },
      }),
    ],
    [
      'S3InitiateRestoreObject with the EXPEDITED tier (not offered)',
      'InvalidRequest',
      top({ Operation: { S3InitiateRestoreObject: { ExpirationInDays: 1, GlacierJobTier: 'EXPEDITED' } } }),
    ],
    ['Operation a list', 'InvalidRequest', top({ Operation: [{ S3DeleteObjectTagging: {} }] })],
    ['a copy without TargetResource', 'InvalidRequest', top({ Operation: { S3PutObjectCopy: {} } })],
  ])('%s → %s', (_name, code, request) => {
    expect(codeOf(() => validateCreateJobRequest(request, OPTS))).toBe(code);
  });
});

describe('validateCreateJobRequest normalises', () => {
  it.each([true, false])('ConfirmationRequired absent → the server default (%s)', (confirmationRequiredByDefault) => {
    const out = validateCreateJobRequest(valid(), { confirmationRequiredByDefault });
    expect(out.ConfirmationRequired).toBe(confirmationRequiredByDefault);
  });

  it.each([true, false])('an explicit ConfirmationRequired %s wins over either default', (explicit) => {
    for (const confirmationRequiredByDefault of [true, false]) {
      expect(
        validateCreateJobRequest(top({ ConfirmationRequired: explicit }), { confirmationRequiredByDefault })
          .ConfirmationRequired,
      ).toBe(explicit);
    }
  });

  it('returns a frozen request with the report defaults filled in and no empty optional members', () => {
    const out = validateCreateJobRequest(report({ Format: undefined, ReportScope: undefined }), OPTS);
    expect(Object.isFrozen(out)).toBe(true);
    expect(out.Report).toEqual({
      Enabled: true,
      Bucket: 'arn:aws:s3:::reports',
      Format: 'Report_CSV_20180820',
      ReportScope: 'AllTasks',
    });
    expect(out).not.toHaveProperty('Tags');
    expect(out).not.toHaveProperty('Description');
    expect(out).not.toHaveProperty('ClientRequestToken');
    expect(out).not.toHaveProperty('ManifestGenerator');
  });

  it('keeps a disabled report without inventing a bucket or scope', () => {
    expect(validateCreateJobRequest(top({ Report: { Enabled: false } }), OPTS).Report).toEqual({ Enabled: false });
  });

  it('checks at creation what holds only then: a retention date must be in the future at CreateJob', () => {
    const retention = top({
      Operation: {
        S3PutObjectRetention: { Retention: { Mode: 'GOVERNANCE', RetainUntilDate: '2030-01-01T00:00:00Z' } },
      },
    });
    expect(codeOf(() => validateCreateJobRequest(retention, { ...OPTS, now: new Date('2029-12-31T00:00:00Z') }))).toBe(
      'accepted',
    );
    expect(codeOf(() => validateCreateJobRequest(retention, { ...OPTS, now: new Date('2030-01-02T00:00:00Z') }))).toBe(
      'InvalidRequest',
    );
  });

  it('a tag without Value gets the empty value', () => {
    expect(validateCreateJobRequest(top({ Tags: [{ Key: 'a' }] }), OPTS).Tags).toEqual([{ Key: 'a', Value: '' }]);
  });
});

describe('validateJobTags and validatePriority (PutJobTagging, UpdateJobPriority)', () => {
  it('an absent or empty tag set is no tags', () => {
    expect(validateJobTags(undefined)).toEqual([]);
    expect(validateJobTags(null)).toEqual([]);
    expect(validateJobTags([])).toEqual([]);
  });

  it('more than 50 tags is TooManyTagsException, checked before the tags themselves', () => {
    expect(codeOf(() => validateJobTags([...tags(50), { Key: '*bad*', Value: '' }]))).toBe('TooManyTagsException');
  });

  it.each<[unknown, ErrorCode | 'accepted']>([
    [0, 'accepted'],
    [2_147_483_647, 'accepted'],
    [-1, 'InvalidRequest'],
    [2_147_483_648, 'InvalidRequest'],
    [0.5, 'InvalidRequest'],
    ['1', 'InvalidRequest'],
    [null, 'InvalidRequest'],
    [undefined, 'InvalidRequest'],
  ])('priority %s → %s', (priority, code) => {
    expect(codeOf(() => validatePriority(priority))).toBe(code);
  });
});
