/**
 * The S3 Control job API's shapes (docs/s3control-api.md#create-job), as much of the model as the XML codec needs:
 * which elements are structures, lists (and their output item name), maps (entry/key/value), booleans,
 * integers/longs and timestamps. The reader (xml-requests.ts) and the writer (xml-responses.ts)
 * are driven by this table, so both agree on every element.
 *
 * Member order is the model's (botocore service-2.json) order; the writer emits members in this
 * order, which makes output byte-stable. A member's `name` is its JSON name (the AWS SDK's member
 * name, e.g. `SSES3`); `xmlName` is set where the model renames the element (`SSE-S3`).
 * Checked against the shapes of @aws-sdk/client-s3-control 3.1112 (schemas_0.js).
 */

export type ScalarKind = 'string' | 'boolean' | 'integer' | 'long' | 'timestamp';

export type Shape =
  | { readonly kind: ScalarKind }
  /**
   * `open`: elements that are not members are passed on to the service, which names them in its
   * own InvalidRequest (unknown operation kinds; s3batch's extension filter members). Any other
   * structure refuses an element it does not have (xml-requests.ts), never dropping it.
   */
  | { readonly kind: 'structure'; readonly members: readonly Member[]; readonly union?: true; readonly open?: true }
  | { readonly kind: 'list'; readonly item: Shape; readonly itemName: string }
  /** String-to-string map: `<entry><key>k</key><value>v</value></entry>` repeated. */
  | { readonly kind: 'map' };

export type StructureShape = Extract<Shape, { kind: 'structure' }>;

export interface Member {
  readonly name: string;
  readonly xmlName?: string;
  readonly shape: Shape;
}

/** The namespace of request root elements, also written on every response root. */
export const S3CONTROL_XMLNS = 'http://awss3control.amazonaws.com/doc/2018-08-20/';

const string: Shape = { kind: 'string' };
const boolean: Shape = { kind: 'boolean' };
const integer: Shape = { kind: 'integer' };
const long: Shape = { kind: 'long' };
const timestamp: Shape = { kind: 'timestamp' };
const map: Shape = { kind: 'map' };

function structure(members: Record<string, Shape | readonly [Shape, string]>, union?: true): StructureShape {
  const list = Object.entries(members).map(
    ([name, s]): Member =>
      Array.isArray(s) ? { name, shape: s[0] as Shape, xmlName: s[1] as string } : { name, shape: s as Shape },
  );
  return union ? { kind: 'structure', members: list, union } : { kind: 'structure', members: list };
}

function open(shape: StructureShape): StructureShape {
  return { ...shape, open: true };
}

function list(item: Shape, itemName = 'member'): Shape {
  return { kind: 'list', item, itemName };
}

const empty = (): StructureShape => structure({});

export const S3TagShape = structure({ Key: string, Value: string });
export const S3TagSetShape = list(S3TagShape);

const S3GrantShape = structure({
  Grantee: structure({ TypeIdentifier: string, Identifier: string, DisplayName: string }),
  Permission: string,
});

const S3ObjectMetadataShape = structure({
  CacheControl: string,
  ContentDisposition: string,
  ContentEncoding: string,
  ContentLanguage: string,
  UserMetadata: map,
  ContentLength: long,
  ContentMD5: string,
  ContentType: string,
  HttpExpiresDate: timestamp,
  RequesterCharged: boolean,
  SSEAlgorithm: string,
});

const S3CopyObjectOperationShape = structure({
  TargetResource: string,
  CannedAccessControlList: string,
  AccessControlGrants: list(S3GrantShape),
  MetadataDirective: string,
  ModifiedSinceConstraint: timestamp,
  NewObjectMetadata: S3ObjectMetadataShape,
  NewObjectTagging: S3TagSetShape,
  RedirectLocation: string,
  RequesterPays: boolean,
  StorageClass: string,
  UnModifiedSinceConstraint: timestamp,
  SSEAwsKmsKeyId: string,
  TargetKeyPrefix: string,
  ObjectLockLegalHoldStatus: string,
  ObjectLockMode: string,
  ObjectLockRetainUntilDate: timestamp,
  BucketKeyEnabled: boolean,
  ChecksumAlgorithm: string,
});

/**
 * All 11 operation kinds of the model (docs/operations.md#operation-member) and s3batch's extension; exactly one is set
 * (a validation rule).
 */
export const JobOperationShape = open(
  structure({
    LambdaInvoke: structure({ FunctionArn: string, InvocationSchemaVersion: string, UserArguments: map }),
    S3PutObjectCopy: S3CopyObjectOperationShape,
    S3PutObjectAcl: structure({
      AccessControlPolicy: structure({
        AccessControlList: structure({
          Owner: structure({ ID: string, DisplayName: string }),
          Grants: list(S3GrantShape),
        }),
        CannedAccessControlList: string,
      }),
    }),
    S3PutObjectTagging: structure({ TagSet: S3TagSetShape }),
    S3DeleteObjectTagging: empty(),
    S3InitiateRestoreObject: structure({ ExpirationInDays: integer, GlacierJobTier: string }),
    S3PutObjectLegalHold: structure({ LegalHold: structure({ Status: string }) }),
    S3PutObjectRetention: structure({
      BypassGovernanceRetention: boolean,
      Retention: structure({ RetainUntilDate: timestamp, Mode: string }),
    }),
    S3ReplicateObject: empty(),
    S3ComputeObjectChecksum: structure({ ChecksumAlgorithm: string, ChecksumType: string }),
    S3UpdateObjectEncryption: structure({
      ObjectEncryption: structure({ SSEKMS: [structure({ KMSKeyArn: string, BucketKeyEnabled: boolean }), 'SSE-KMS'] }),
    }),
    // s3batch's extension kind (job-spec.ts EXTENSION_OPERATION_NAMES; not in the AWS model, whose
    // SDKs skip it when reading a DescribeJob).
    S3DeleteObject: structure({ BypassGovernanceRetention: boolean }),
  }),
);

export const JobReportShape = structure({
  Bucket: string,
  Format: string,
  Enabled: boolean,
  Prefix: string,
  ReportScope: string,
  ExpectedBucketOwner: string,
});

const JobManifestLocationShape = structure({ ObjectArn: string, ObjectVersionId: string, ETag: string });

export const JobManifestShape = structure({
  Spec: structure({ Format: string, Fields: list(string) }),
  Location: JobManifestLocationShape,
});

/** The items of MatchAnyObjectEncryption: the one list whose items are not `<member>`. */
const ObjectEncryptionFilterShape = structure(
  {
    SSES3: [empty(), 'SSE-S3'],
    SSEKMS: [structure({ KmsKeyArn: string, BucketKeyEnabled: boolean }), 'SSE-KMS'],
    DSSEKMS: [structure({ KmsKeyArn: string }), 'DSSE-KMS'],
    SSEC: [empty(), 'SSE-C'],
    NOTSSE: [empty(), 'NOT-SSE'],
  },
  true,
);

export const JobManifestGeneratorShape = structure(
  {
    S3JobManifestGenerator: structure({
      ExpectedBucketOwner: string,
      SourceBucket: string,
      ManifestOutputLocation: structure({
        ExpectedManifestBucketOwner: string,
        Bucket: string,
        ManifestPrefix: string,
        ManifestEncryption: structure({
          SSES3: [empty(), 'SSE-S3'],
          SSEKMS: [structure({ KeyId: string }), 'SSE-KMS'],
        }),
        ManifestFormat: string,
      }),
      // Open: s3batch's extension members KeyNameRegex and MaxObjects (manifest/generator-spec.ts checks them all).
      Filter: open(
        structure({
          EligibleForReplication: boolean,
          CreatedAfter: timestamp,
          CreatedBefore: timestamp,
          ObjectReplicationStatuses: list(string),
          KeyNameConstraint: structure({
            MatchAnyPrefix: list(string),
            MatchAnySuffix: list(string),
            MatchAnySubstring: list(string),
          }),
          ObjectSizeGreaterThanBytes: long,
          ObjectSizeLessThanBytes: long,
          MatchAnyStorageClass: list(string),
          MatchAnyObjectEncryption: list(ObjectEncryptionFilterShape, 'ObjectEncryption'),
          // s3batch's extension members (generator-spec.ts; not in the AWS model, the SDKs skip them when reading).
          KeyNameRegex: string,
          MaxObjects: long,
        }),
      ),
      EnableManifestOutput: boolean,
    }),
  },
  true,
);

/** CreateJob's body (AccountId is the x-amz-account-id header, not an element). */
export const CreateJobRequestShape = structure({
  ConfirmationRequired: boolean,
  Operation: JobOperationShape,
  Report: JobReportShape,
  ClientRequestToken: string,
  Manifest: JobManifestShape,
  Description: string,
  Priority: integer,
  RoleArn: string,
  Tags: S3TagSetShape,
  ManifestGenerator: JobManifestGeneratorShape,
});

export const PutJobTaggingRequestShape = structure({ Tags: S3TagSetShape });

const JobProgressSummaryShape = structure({
  TotalNumberOfTasks: long,
  NumberOfTasksSucceeded: long,
  NumberOfTasksFailed: long,
  Timers: structure({ ElapsedTimeInActiveSeconds: long }),
});

export const JobDescriptorShape = structure({
  JobId: string,
  ConfirmationRequired: boolean,
  Description: string,
  JobArn: string,
  Status: string,
  Manifest: JobManifestShape,
  Operation: JobOperationShape,
  Priority: integer,
  ProgressSummary: JobProgressSummaryShape,
  StatusUpdateReason: string,
  FailureReasons: list(structure({ FailureCode: string, FailureReason: string })),
  Report: JobReportShape,
  CreationTime: timestamp,
  TerminationDate: timestamp,
  RoleArn: string,
  SuspendedDate: timestamp,
  SuspendedCause: string,
  ManifestGenerator: JobManifestGeneratorShape,
  GeneratedManifestDescriptor: structure({ Format: string, Location: JobManifestLocationShape }),
});

export const JobListDescriptorShape = structure({
  JobId: string,
  Description: string,
  Operation: string,
  Priority: integer,
  Status: string,
  CreationTime: timestamp,
  TerminationDate: timestamp,
  ProgressSummary: JobProgressSummaryShape,
});

export const CreateJobResultShape = structure({ JobId: string });
export const DescribeJobResultShape = structure({ Job: JobDescriptorShape });
export const ListJobsResultShape = structure({ NextToken: string, Jobs: list(JobListDescriptorShape) });
export const UpdateJobPriorityResultShape = structure({ JobId: string, Priority: integer });
export const UpdateJobStatusResultShape = structure({ JobId: string, Status: string, StatusUpdateReason: string });
export const GetJobTaggingResultShape = structure({ Tags: S3TagSetShape });

/**
 * The error envelope (docs/s3control-api.md#error-envelope):
 * `<ErrorResponse><Error><Code/><Message/></Error><RequestId/><HostId/>`.
 */
export const ErrorResponseShape = structure({
  Error: structure({ Code: string, Message: string }),
  RequestId: string,
  HostId: string,
});

/** Every document of the job API by root element name. */
export const DOCUMENT_SHAPES = {
  CreateJobRequest: CreateJobRequestShape,
  PutJobTaggingRequest: PutJobTaggingRequestShape,
  CreateJobResult: CreateJobResultShape,
  DescribeJobResult: DescribeJobResultShape,
  ListJobsResult: ListJobsResultShape,
  UpdateJobPriorityResult: UpdateJobPriorityResultShape,
  UpdateJobStatusResult: UpdateJobStatusResultShape,
  GetJobTaggingResult: GetJobTaggingResultShape,
  ErrorResponse: ErrorResponseShape,
} as const satisfies Record<string, StructureShape>;

export type DocumentName = keyof typeof DOCUMENT_SHAPES;

/** The element name of a member (the model's xmlName where it renames one). */
export function elementName(member: Member): string {
  return member.xmlName ?? member.name;
}
