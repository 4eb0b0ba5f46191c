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

/** Exactly one member is set. Members beyond the three implemented ones are kept opaque. */
export interface JobOperation {
  S3PutObjectCopy?: S3CopyObjectOperation;
  S3PutObjectTagging?: { TagSet?: S3Tag[] };
  S3DeleteObjectTagging?: Record<string, never>;
  LambdaInvoke?: Record<string, unknown>;
  S3PutObjectAcl?: Record<string, unknown>;
  S3InitiateRestoreObject?: Record<string, unknown>;
  S3PutObjectLegalHold?: Record<string, unknown>;
  S3PutObjectRetention?: Record<string, unknown>;
  S3ReplicateObject?: Record<string, never>;
  S3ComputeObjectChecksum?: Record<string, unknown>;
  S3UpdateObjectEncryption?: Record<string, unknown>;
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
export type OperationName = (typeof OPERATION_NAMES)[number];

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
