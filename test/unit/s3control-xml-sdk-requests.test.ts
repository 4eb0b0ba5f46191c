/**
 * What the real @aws-sdk/client-s3-control *sends* for CreateJob and PutJobTagging, read back by
 * parseCreateJobRequest / parsePutJobTaggingRequest: the result must be the SDK input itself
 * (AccountId aside, which travels as a header; timestamps as ISO strings). Covers every operation
 * kind with every member, maps with awkward keys, and a manifest generator with every Filter
 * member. Then the parsed input goes through the service's own validation, so a CreateJob sent
 * by the SDK is accepted and an unknown or missing operation kind is refused with InvalidRequest.
 */
import { CreateJobCommand, PutJobTaggingCommand, type CreateJobCommandInput } from '@aws-sdk/client-s3-control';
import { describe, expect, it } from 'vitest';
import { isS3BatchError } from '../../src/domain/errors.ts';
import type { JobOperation } from '../../src/domain/job-spec.ts';
import { operationOf } from '../../src/operations/index.ts';
import { validateCreateJobRequest } from '../../src/service/validate-request.ts';
import { parseCreateJobRequest, parsePutJobTaggingRequest } from '../../src/api/s3control/xml-requests.ts';
import { writeXmlDocument } from '../../src/api/s3control/xml-responses.ts';
import { ACCOUNT_ID, cannedClient, isoDates } from '../helpers/canned-s3control.ts';

const CREATE_JOB_RESULT = '<CreateJobResult><JobId>abcde-12345</JobId></CreateJobResult>';

/** The body the SDK sends for `input`. */
async function sentCreateJob(input: CreateJobCommandInput): Promise<string> {
  const { client, requests } = cannedClient(() => ({ body: CREATE_JOB_RESULT }));
  await client.send(new CreateJobCommand(input));
  const [request] = requests;
  expect(request?.method).toBe('POST');
  expect(request?.path).toBe('/v20180820/jobs');
  return request?.body ?? '';
}

/** The SDK input as the JSON shape of the model: no AccountId (a header), Dates as ISO strings. */
function asJson(input: CreateJobCommandInput): unknown {
  const { AccountId: _header, ...body } = input;
  return isoDates(body);
}

const BASE = {
  AccountId: ACCOUNT_ID,
  ConfirmationRequired: false,
  Report: {
    Enabled: true,
    Bucket: 'arn:aws:s3:::ops-reports',
    Format: 'Report_CSV_20180820',
    Prefix: 'batch',
    ReportScope: 'FailedTasksOnly',
    ExpectedBucketOwner: '111122223333',
  },
  ClientRequestToken: '5b0f3a52-57c4-4a43-9a4e-5f1e2d8c2b10',
  Manifest: {
    Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Ignore', 'Bucket', 'Key', 'VersionId'] },
    Location: {
      ObjectArn: 'arn:aws:s3:::ops-manifests/2024/copy list & more.csv',
      ObjectVersionId: 'v1',
      ETag: '"60e460c9d1046e73f7dde5043ac3ae85"',
    },
  },
  Description: 'copy <logs> & "things" to archive',
  Priority: 2147483647,
  RoleArn: 'arn:aws:iam::111122223333:role/batch-ops',
  Tags: [
    { Key: 'team', Value: 'storage' },
    { Key: 'empty', Value: '' },
  ],
} as const satisfies Omit<CreateJobCommandInput, 'Operation'>;

const GRANT = {
  Grantee: { TypeIdentifier: 'id', Identifier: 'abc123', DisplayName: 'ops' },
  Permission: 'READ',
} as const;

/** Every operation kind with every member the model gives it. */
const OPERATIONS: Record<string, NonNullable<CreateJobCommandInput['Operation']>> = {
  'copy with every member (UserMetadata, NewObjectTagging, grants, timestamps)': {
    S3PutObjectCopy: {
      TargetResource: 'arn:aws:s3:::archive-bucket',
      CannedAccessControlList: 'bucket-owner-full-control',
      AccessControlGrants: [
        GRANT,
        {
          Grantee: { TypeIdentifier: 'uri', Identifier: 'http://acs.amazonaws.com/groups/global/AllUsers' },
          Permission: 'FULL_CONTROL',
        },
      ],
      MetadataDirective: 'REPLACE',
      ModifiedSinceConstraint: new Date('2024-04-01T00:00:00Z'),
      NewObjectMetadata: {
        CacheControl: 'max-age=86400',
        ContentDisposition: 'attachment; filename="a b.txt"',
        ContentEncoding: 'gzip',
        ContentLanguage: 'fr',
        UserMetadata: {
          'source-system': 'ingest-v2',
          'a&b<c>"d\'': 'line1\r\nline2 & <more>',
          spaced: '  padded  ',
          empty: '',
        },
        ContentLength: 9007199254740991,
        ContentMD5: 'XrY7u+Ae7tCTyyK7j1rNww==',
        ContentType: 'text/plain; charset=utf-8',
        HttpExpiresDate: new Date('2030-01-02T03:04:05.678Z'),
        RequesterCharged: true,
        SSEAlgorithm: 'KMS',
      },
      NewObjectTagging: [
        { Key: 'copied-by', Value: 'batch' },
        { Key: 'k2', Value: 'v=2' },
      ],
      RedirectLocation: '/other?x=1&y=2',
      RequesterPays: false,
      StorageClass: 'STANDARD_IA',
      UnModifiedSinceConstraint: new Date('2024-05-01T00:00:00.123Z'),
      SSEAwsKmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      TargetKeyPrefix: 'logs/',
      ObjectLockLegalHoldStatus: 'ON',
      ObjectLockMode: 'GOVERNANCE',
      ObjectLockRetainUntilDate: new Date('2031-01-01T00:00:00Z'),
      BucketKeyEnabled: true,
      ChecksumAlgorithm: 'CRC64NVME',
    },
  },
  'put object tagging': {
    S3PutObjectTagging: {
      TagSet: [
        { Key: 'a', Value: '1' },
        { Key: 'b', Value: '' },
      ],
    },
  },
  'put object tagging, empty tag set': { S3PutObjectTagging: { TagSet: [] } },
  'delete object tagging': { S3DeleteObjectTagging: {} },
  'LambdaInvoke with UserArguments': {
    LambdaInvoke: {
      FunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:resize:$LATEST',
      InvocationSchemaVersion: '2.0',
      UserArguments: { size: '128', 'x&y': '<z>', quote: '"\'' },
    },
  },
  'put object ACL': {
    S3PutObjectAcl: {
      AccessControlPolicy: {
        AccessControlList: { Owner: { ID: 'owner-id', DisplayName: 'owner' }, Grants: [GRANT] },
        CannedAccessControlList: 'private',
      },
    },
  },
  'initiate restore': { S3InitiateRestoreObject: { ExpirationInDays: 0, GlacierJobTier: 'BULK' } },
  'legal hold': { S3PutObjectLegalHold: { LegalHold: { Status: 'OFF' } } },
  retention: {
    S3PutObjectRetention: {
      BypassGovernanceRetention: true,
      Retention: { RetainUntilDate: new Date('2030-06-01T12:00:00Z'), Mode: 'COMPLIANCE' },
    },
  },
  replicate: { S3ReplicateObject: {} },
  'compute checksum': { S3ComputeObjectChecksum: { ChecksumAlgorithm: 'SHA256', ChecksumType: 'FULL_OBJECT' } },
  'update encryption': {
    S3UpdateObjectEncryption: {
      ObjectEncryption: {
        SSEKMS: {
          KMSKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
          BucketKeyEnabled: false,
        },
      },
    },
  },
};

describe('CreateJob bodies the real SDK sends parse back to the SDK input', () => {
  for (const [name, Operation] of Object.entries(OPERATIONS)) {
    it(name, async () => {
      const input: CreateJobCommandInput = { ...BASE, Operation };
      const body = await sentCreateJob(input);
      expect(body).toContain('<CreateJobRequest xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/">');
      const parsed = parseCreateJobRequest(body);
      expect(parsed).toEqual(asJson(input));
      // Our writer gives a document that reads back the same (used for CreateJob echoes in tests and tools).
      expect(parseCreateJobRequest(writeXmlDocument('CreateJobRequest', parsed))).toEqual(parsed);
    });
  }

  it('a manifest generator with every Filter member and every encryption filter kind', async () => {
    const input: CreateJobCommandInput = {
      AccountId: ACCOUNT_ID,
      Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'found', Value: 'yes' }] } },
      Report: { Enabled: false },
      ClientRequestToken: 'token-1',
      Priority: 0,
      RoleArn: 'arn:aws:iam::111122223333:role/batch-ops',
      ManifestGenerator: {
        S3JobManifestGenerator: {
          ExpectedBucketOwner: '111122223333',
          SourceBucket: 'arn:aws:s3:::photos',
          ManifestOutputLocation: {
            ExpectedManifestBucketOwner: '444455556666',
            Bucket: 'arn:aws:s3:::ops-manifests',
            ManifestPrefix: 'generated',
            ManifestEncryption: { SSEKMS: { KeyId: 'arn:aws:kms:us-east-1:111122223333:key/k1' } },
            ManifestFormat: 'S3InventoryReport_CSV_20211130',
          },
          Filter: {
            EligibleForReplication: true,
            CreatedAfter: new Date('2024-01-01T00:00:00Z'),
            CreatedBefore: new Date('2024-12-31T23:59:59.999Z'),
            ObjectReplicationStatuses: ['COMPLETED', 'FAILED', 'REPLICA', 'NONE'],
            KeyNameConstraint: {
              MatchAnyPrefix: ['raw/'],
              MatchAnySuffix: ['.jpg', '.png'],
              MatchAnySubstring: ['2024 & <later>'],
            },
            ObjectSizeGreaterThanBytes: 0,
            ObjectSizeLessThanBytes: 5 * 1024 ** 4,
            MatchAnyStorageClass: ['STANDARD', 'GLACIER_IR'],
            MatchAnyObjectEncryption: [
              { SSES3: {} },
              { SSEKMS: { KmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/k2', BucketKeyEnabled: true } },
              { DSSEKMS: { KmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/k3' } },
              { SSEC: {} },
              { NOTSSE: {} },
            ],
          },
          EnableManifestOutput: true,
        },
      },
    };
    const body = await sentCreateJob(input);
    expect(body).toContain('<MatchAnyObjectEncryption><ObjectEncryption><SSE-S3/></ObjectEncryption>');
    expect(parseCreateJobRequest(body)).toEqual(asJson(input));
    const generatorWithS3 = structuredClone(input.ManifestGenerator) as {
      S3JobManifestGenerator: { ManifestOutputLocation: { ManifestEncryption: unknown } };
    };
    generatorWithS3.S3JobManifestGenerator.ManifestOutputLocation.ManifestEncryption = { SSES3: {} };
    const second = { ...input, ManifestGenerator: generatorWithS3 } as CreateJobCommandInput;
    expect(parseCreateJobRequest(await sentCreateJob(second))).toEqual(asJson(second));
  });

  it('a copy job the SDK sends passes the service validation unchanged', async () => {
    const input: CreateJobCommandInput = {
      ...BASE,
      Manifest: { ...BASE.Manifest, Location: { ObjectArn: 'arn:aws:s3:::ops-manifests/copy.csv', ETag: 'e1' } },
      Operation: { S3PutObjectCopy: { TargetResource: 'arn:aws:s3:::archive-bucket', TargetKeyPrefix: 'logs/' } },
    };
    const request = validateCreateJobRequest(parseCreateJobRequest(await sentCreateJob(input)), {
      confirmationRequiredByDefault: true,
    });
    expect(request.Priority).toBe(2147483647);
    expect(request.ConfirmationRequired).toBe(false);
    expect(request.Operation).toEqual({
      S3PutObjectCopy: { TargetResource: 'arn:aws:s3:::archive-bucket', TargetKeyPrefix: 'logs/' },
    });
    expect(request.Tags).toEqual(BASE.Tags);
  });
});

describe('operation kinds the service refuses reach it intact', () => {
  const body = (operation: string): string =>
    `<CreateJobRequest><Operation>${operation}</Operation><Report><Enabled>false</Enabled></Report><Priority>1</Priority>` +
    '<RoleArn>arn:aws:iam::111122223333:role/r</RoleArn><Manifest><Spec><Format>S3BatchOperations_CSV_20180820</Format><Fields><member>Bucket</member><member>Key</member></Fields></Spec>' +
    '<Location><ObjectArn>arn:aws:s3:::m/manifest.csv</ObjectArn><ETag>e</ETag></Location></Manifest></CreateJobRequest>';

  function refusal(xml: string): { code: string; message: string } {
    const parsed = parseCreateJobRequest(xml);
    try {
      validateCreateJobRequest(parsed, { confirmationRequiredByDefault: true });
    } catch (err) {
      if (isS3BatchError(err)) return { code: err.code, message: err.message };
      throw err;
    }
    throw new Error('the service accepted the request');
  }

  it('an unknown kind (<S3RenameObject/>) survives parsing and is InvalidRequest', () => {
    const parsed = parseCreateJobRequest(body('<S3RenameObject><NewName>x</NewName></S3RenameObject>'));
    expect(parsed.Operation).toEqual({ S3RenameObject: { NewName: 'x' } });
    expect(() => operationOf(parsed.Operation as JobOperation)).toThrow(/unknown member\(s\) S3RenameObject/);
    expect(refusal(body('<S3RenameObject/>'))).toMatchObject({
      code: 'InvalidRequest',
      message: expect.stringMatching(/S3RenameObject/),
    });
  });

  it("s3batch's extension kind S3DeleteObject reads with its typed member", () => {
    const parsed = parseCreateJobRequest(
      body('<S3DeleteObject><BypassGovernanceRetention>true</BypassGovernanceRetention></S3DeleteObject>'),
    );
    expect(parsed.Operation).toEqual({ S3DeleteObject: { BypassGovernanceRetention: true } });
    expect(validateCreateJobRequest(parsed, { confirmationRequiredByDefault: true }).Operation).toEqual({
      S3DeleteObject: { BypassGovernanceRetention: true },
    });
  });

  it('an empty <Operation/> is an Operation with no member: InvalidRequest', () => {
    expect(parseCreateJobRequest(body('')).Operation).toEqual({});
    expect(refusal(body(''))).toMatchObject({ code: 'InvalidRequest', message: expect.stringMatching(/got none/) });
    const selfClosed = body('').replace('<Operation></Operation>', '<Operation/>');
    expect(parseCreateJobRequest(selfClosed).Operation).toEqual({});
  });

  it('two operation kinds: InvalidRequest', () => {
    expect(refusal(body('<S3DeleteObjectTagging/><S3ReplicateObject/>'))).toMatchObject({
      code: 'InvalidRequest',
      message: expect.stringMatching(/S3DeleteObjectTagging, S3ReplicateObject/),
    });
  });

  it('a Priority that is not a number: InvalidRequest naming Priority', () => {
    expect(
      refusal(body('<S3DeleteObjectTagging/>').replace('<Priority>1</Priority>', '<Priority>high</Priority>')),
    ).toMatchObject({
      code: 'InvalidRequest',
      message: expect.stringMatching(/^Priority/),
    });
  });
});

describe('PutJobTagging bodies the real SDK sends', () => {
  async function sentTags(Tags: { Key: string; Value: string }[]): Promise<string> {
    const { client, requests } = cannedClient();
    await client.send(new PutJobTaggingCommand({ AccountId: ACCOUNT_ID, JobId: 'abcde-12345', Tags }));
    const [request] = requests;
    expect(request?.method).toBe('PUT');
    expect(request?.path).toBe('/v20180820/jobs/abcde-12345/tagging');
    return request?.body ?? '';
  }

  it('tags parse back to the SDK input', async () => {
    const tags = [
      { Key: 'team', Value: 'storage' },
      { Key: 'cost-centre', Value: 'a/b:c=d+e@f' },
      { Key: 'empty', Value: '' },
    ];
    expect(parsePutJobTaggingRequest(await sentTags(tags))).toEqual({ Tags: tags });
  });

  it('an empty tag set parses to []', async () => {
    expect(parsePutJobTaggingRequest(await sentTags([]))).toEqual({ Tags: [] });
  });
});
