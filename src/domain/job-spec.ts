/**
 * The job request in the shape of the S3 Control API model (PascalCase, as the AWS SDK's
 * CreateJob input and DescribeJob output). Every interface speaks this shape, so the XML API,
 * the JSON API and the CLI all reduce to it, and DescribeJob echoes it unchanged.
 */

export interface S3Tag {
  Key: string;
  Value: string;
}

export interface S3Grant {
  Grantee?: { TypeIdentifier?: 'id' | 'emailAddress' | 'uri'; Identifier?: string; DisplayName?: string };
  Permission?: 'FULL_CONTROL' | 'READ' | 'WRITE' | 'READ_ACP' | 'WRITE_ACP';
}

export interface S3ObjectMetadata {
  CacheControl?: string;
  ContentDisposition?: string;
  ContentEncoding?: string;
  ContentLanguage?: string;
  ContentType?: string;
  UserMetadata?: Record<string, string>;
  ContentLength?: number;
  ContentMD5?: string;
  HttpExpiresDate?: string;
  RequesterCharged?: boolean;
  SSEAlgorithm?: 'AES256' | 'KMS';
}

export interface S3CopyObjectOperation {
  TargetResource?: string;
  CannedAccessControlList?: string;
  AccessControlGrants?: S3Grant[];
  MetadataDirective?: 'COPY' | 'REPLACE';
  ModifiedSinceConstraint?: string;
  NewObjectMetadata?: S3ObjectMetadata;
  NewObjectTagging?: S3Tag[];
  RedirectLocation?: string;
  RequesterPays?: boolean;
  StorageClass?: string;
  UnModifiedSinceConstraint?: string;
  SSEAwsKmsKeyId?: string;
  TargetKeyPrefix?: string;
  ObjectLockLegalHoldStatus?: 'OFF' | 'ON';
  ObjectLockMode?: 'COMPLIANCE' | 'GOVERNANCE';
  ObjectLockRetainUntilDate?: string;
  BucketKeyEnabled?: boolean;
  ChecksumAlgorithm?: string;
}

/** S3PutObjectAcl (docs/operations.md#put-object-acl): exactly one of AccessControlList and CannedAccessControlList. */
export interface S3SetObjectAclOperation {
  AccessControlPolicy?: {
    AccessControlList?: { Owner?: { ID?: string; DisplayName?: string }; Grants?: S3Grant[] };
    CannedAccessControlList?: string;
  };
}

/** S3InitiateRestoreObject (docs/operations.md#initiate-restore-object). */
export interface S3InitiateRestoreObjectOperation {
  ExpirationInDays?: number;
  GlacierJobTier?: 'BULK' | 'STANDARD';
}

/** S3PutObjectLegalHold (docs/operations.md#put-object-legal-hold). */
export interface S3SetObjectLegalHoldOperation {
  LegalHold?: { Status?: 'ON' | 'OFF' };
}

/** S3PutObjectRetention (docs/operations.md#put-object-retention): an empty Retention removes the retention. */
export interface S3SetObjectRetentionOperation {
  BypassGovernanceRetention?: boolean;
  Retention?: { RetainUntilDate?: string; Mode?: 'COMPLIANCE' | 'GOVERNANCE' };
}

/** S3ComputeObjectChecksum (docs/operations.md#compute-object-checksum). */
export interface S3ComputeObjectChecksumOperation {
  ChecksumAlgorithm?: string;
  ChecksumType?: 'FULL_OBJECT' | 'COMPOSITE';
}

/** S3UpdateObjectEncryption (docs/operations.md#update-object-encryption): SDK member SSEKMS, wire element SSE-KMS. */
export interface S3UpdateObjectEncryptionOperation {
  ObjectEncryption?: { SSEKMS?: { KMSKeyArn?: string; BucketKeyEnabled?: boolean } };
}

/** Exactly one member is set. Members beyond the three implemented ones are kept opaque. */
export interface JobOperation {
  S3PutObjectCopy?: S3CopyObjectOperation;
  S3PutObjectTagging?: { TagSet?: S3Tag[] };
  S3DeleteObjectTagging?: Record<string, never>;
  LambdaInvoke?: {
    /** Lambda function name/ARN (optionally qualified), or an http(s) URL (s3batch HTTP function). */
    FunctionArn?: string;
    InvocationSchemaVersion?: string;
    /** Schema 2.0 only. */
    UserArguments?: Record<string, string>;
  };
  S3PutObjectAcl?: S3SetObjectAclOperation;
  S3InitiateRestoreObject?: S3InitiateRestoreObjectOperation;
  S3PutObjectLegalHold?: S3SetObjectLegalHoldOperation;
  S3PutObjectRetention?: S3SetObjectRetentionOperation;
  S3ReplicateObject?: Record<string, never>;
  S3ComputeObjectChecksum?: S3ComputeObjectChecksumOperation;
  S3UpdateObjectEncryption?: S3UpdateObjectEncryptionOperation;
  /** s3batch extension (not in the AWS model; JSON API and CLI only): delete the objects/versions. */
  S3DeleteObject?: { BypassGovernanceRetention?: boolean };
}

export const OPERATION_NAMES = [
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
] as const;
/**
 * Operation kinds s3batch adds beyond the AWS model (JSON API and CLI; through the S3 Control API
 * they are reached as LambdaInvoke with a reserved FunctionArn, docs/extensions.md#delete-object).
 */
export const EXTENSION_OPERATION_NAMES = ['S3DeleteObject'] as const;
export type OperationName = (typeof OPERATION_NAMES)[number] | (typeof EXTENSION_OPERATION_NAMES)[number];

export const MANIFEST_FORMATS = ['S3BatchOperations_CSV_20180820', 'S3InventoryReport_CSV_20161130'] as const;
export type ManifestFormat = (typeof MANIFEST_FORMATS)[number];
export const MANIFEST_FIELDS = ['Ignore', 'Bucket', 'Key', 'VersionId'] as const;
export type ManifestField = (typeof MANIFEST_FIELDS)[number];

export interface JobManifest {
  Spec: { Format: ManifestFormat; Fields?: ManifestField[] };
  Location: { ObjectArn: string; ObjectVersionId?: string; ETag: string };
}

export interface JobReport {
  Bucket?: string;
  Format?: 'Report_CSV_20180820';
  Enabled: boolean;
  Prefix?: string;
  ReportScope?: 'AllTasks' | 'FailedTasksOnly';
  ExpectedBucketOwner?: string;
}

/** CreateJob's body (AccountId travels separately, as the x-amz-account-id header does). */
export interface CreateJobRequest {
  ConfirmationRequired?: boolean;
  Operation: JobOperation;
  Report: JobReport;
  ClientRequestToken?: string;
  Manifest?: JobManifest;
  Description?: string;
  Priority: number;
  RoleArn: string;
  Tags?: S3Tag[];
  ManifestGenerator?: Record<string, unknown>;
}

export interface FailureReason {
  FailureCode: string;
  FailureReason: string;
}
