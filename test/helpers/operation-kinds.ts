// Every operation kind of the S3 Control model, each with every member it has, and a manifest generator with
// every member, for tests that create one job of each kind (test/e2e/s3control-conformance.test.ts,
// test/integration/json-unknown-members.test.ts).

/** The KMS key ARN the kinds below name (SSEAwsKmsKeyId, KMSKeyArn). */
export function kmsKeyArn(account: string): string {
  return `arn:aws:kms:us-east-1:${account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
}

/**
 * Every operation kind of the model (S3DeleteObject aside), each with every field it has, on `bucket`
 * of `account` (timestamps as ISO strings). A new object each call: callers may change it.
 */
export function operationKinds(bucket: string, account: string): Record<string, Record<string, unknown>> {
  const kmsKey = kmsKeyArn(account);
  return {
    S3PutObjectCopy: {
      TargetResource: `arn:aws:s3:::${bucket}`,
      CannedAccessControlList: 'bucket-owner-full-control',
      AccessControlGrants: [
        { Grantee: { TypeIdentifier: 'id', Identifier: 'abc123', DisplayName: 'Alice' }, Permission: 'READ' },
      ],
      MetadataDirective: 'REPLACE',
      ModifiedSinceConstraint: '2020-01-02T03:04:05.000Z',
      NewObjectMetadata: {
        CacheControl: 'no-cache',
        ContentDisposition: 'inline',
        ContentEncoding: 'gzip',
        ContentLanguage: 'en',
        UserMetadata: { a: '1', 'b-key': 'two words' },
        ContentLength: 12,
        ContentMD5: 'abc==',
        ContentType: 'text/plain',
        HttpExpiresDate: '2030-01-01T00:00:00.000Z',
        RequesterCharged: true,
        SSEAlgorithm: 'KMS',
      },
      NewObjectTagging: [
        { Key: 'k', Value: 'v' },
        { Key: 'empty', Value: '' },
      ],
      RedirectLocation: '/other',
      RequesterPays: false,
      StorageClass: 'STANDARD_IA',
      UnModifiedSinceConstraint: '2031-01-02T03:04:05.000Z',
      SSEAwsKmsKeyId: kmsKey,
      TargetKeyPrefix: 'copies/',
      ObjectLockLegalHoldStatus: 'OFF',
      ObjectLockMode: 'GOVERNANCE',
      ObjectLockRetainUntilDate: '2031-05-06T07:08:09.000Z',
      BucketKeyEnabled: true,
      ChecksumAlgorithm: 'CRC32C',
    },
    S3PutObjectTagging: {
      TagSet: [
        { Key: 'k1', Value: 'v1' },
        { Key: 'k2', Value: '' },
      ],
    },
    S3DeleteObjectTagging: {},
    S3PutObjectAcl: {
      AccessControlPolicy: {
        AccessControlList: {
          Owner: { ID: 'owner-id', DisplayName: 'Owner' },
          Grants: [
            {
              Grantee: { TypeIdentifier: 'id', Identifier: 'owner-id', DisplayName: 'Owner' },
              Permission: 'FULL_CONTROL',
            },
            {
              Grantee: { TypeIdentifier: 'uri', Identifier: 'http://acs.amazonaws.com/groups/global/AllUsers' },
              Permission: 'READ',
            },
          ],
        },
      },
    },
    S3InitiateRestoreObject: { ExpirationInDays: 5, GlacierJobTier: 'BULK' },
    S3PutObjectLegalHold: { LegalHold: { Status: 'ON' } },
    S3PutObjectRetention: {
      BypassGovernanceRetention: true,
      Retention: { RetainUntilDate: '2031-01-01T00:00:00.000Z', Mode: 'GOVERNANCE' },
    },
    S3ReplicateObject: {},
    S3ComputeObjectChecksum: { ChecksumAlgorithm: 'SHA256', ChecksumType: 'FULL_OBJECT' },
    S3UpdateObjectEncryption: { ObjectEncryption: { SSEKMS: { KMSKeyArn: kmsKey, BucketKeyEnabled: true } } },
    LambdaInvoke: {
      FunctionArn: `arn:aws:lambda:us-east-1:${account}:function:fn`,
      InvocationSchemaVersion: '2.0',
      UserArguments: { a: '1', b: 'x y' },
    },
  };
}

/**
 * A manifest generator on `bucket` of `account` with every member and filter of the model s3batch supports
 * (EligibleForReplication, ObjectReplicationStatuses, MatchAnyObjectEncryption are refused). A new object each call.
 */
export function manifestGenerator(bucket: string, account: string) {
  return {
    S3JobManifestGenerator: {
      ExpectedBucketOwner: account,
      SourceBucket: `arn:aws:s3:::${bucket}`,
      ManifestOutputLocation: {
        ExpectedManifestBucketOwner: account,
        Bucket: `arn:aws:s3:::${bucket}`,
        ManifestPrefix: 'gen',
        ManifestEncryption: { SSES3: {} },
        ManifestFormat: 'S3InventoryReport_CSV_20211130',
      },
      Filter: {
        CreatedAfter: '2020-01-01T00:00:00.000Z',
        CreatedBefore: '2035-01-01T00:00:00.000Z',
        KeyNameConstraint: { MatchAnyPrefix: ['a'], MatchAnySuffix: ['.txt'], MatchAnySubstring: ['x'] },
        ObjectSizeGreaterThanBytes: 0,
        ObjectSizeLessThanBytes: 1000000,
        MatchAnyStorageClass: ['STANDARD'],
      },
      EnableManifestOutput: true,
    },
  };
}
