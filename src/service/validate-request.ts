/**
 * Validates and normalises a CreateJob request once, at the boundary (docs/s3control-api.md#create-job-validation).
 * Input is untrusted JSON in the S3 Control model's shape; the output is a typed, frozen
 * request. Every refusal is an S3BatchError('InvalidRequest') naming the field.
 */
import { S3BatchError } from '../domain/errors.ts';
import { invalid, isObject, optAccountId, optBoolean, optString, reqString } from '../domain/field-checks.ts';
import {
  MANIFEST_FIELDS,
  MANIFEST_FORMATS,
  type CreateJobRequest,
  type JobManifest,
  type JobReport,
  type ManifestField,
  type S3Tag,
} from '../domain/job-spec.ts';
import { parseJobExtensions } from '../domain/job-extensions.ts';
import { parseBucketArn, parseObjectArn } from '../manifest/arn.ts';
import { validateManifestGenerator } from '../manifest/generator-spec.ts';
import { parseOperation } from '../operations/index.ts';

const MAX_PRIORITY = 2_147_483_647;
const ROLE_ARN = /^arn:[^:]+:iam::\d{12}:role\/.*$/;
const TAG_CHARS = /^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$/u;

export function validatePriority(v: unknown, path = 'Priority'): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_PRIORITY) {
    invalid(`${path} must be an integer from 0 to ${MAX_PRIORITY}`);
  }
  return v;
}

/** Tags of a job (CreateJob Tags, PutJobTagging): ≤ 50, unique keys, the model's lengths and characters. */
export function validateJobTags(v: unknown, path = 'Tags'): S3Tag[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) invalid(`${path} must be a list of {Key, Value}`);
  if (v.length > 50)
    throw new S3BatchError('TooManyTagsException', `${path}: at most 50 tags per job (got ${v.length})`);
  const seen = new Set<string>();
  return v.map((t, i) => {
    if (!isObject(t)) invalid(`${path}[${i}] must be {Key, Value}`);
    const Key = reqString(t, 'Key', `${path}[${i}].Key`, 1, 128);
    const Value = optString(t, 'Value', `${path}[${i}].Value`, 0, 256) ?? '';
    if (!TAG_CHARS.test(Key) || !TAG_CHARS.test(Value)) invalid(`${path}[${i}] has characters not allowed in tags`);
    if (seen.has(Key)) invalid(`${path}: duplicate tag key ${JSON.stringify(Key)}`);
    seen.add(Key);
    return { Key, Value };
  });
}

function validateManifest(v: unknown): JobManifest {
  if (!isObject(v)) invalid('Manifest must be an object with Spec and Location');
  const spec = v.Spec;
  const loc = v.Location;
  if (!isObject(spec)) invalid('Manifest.Spec is required');
  if (!isObject(loc)) invalid('Manifest.Location is required');
  const format = spec.Format;
  if (!MANIFEST_FORMATS.includes(format as never)) {
    invalid(`Manifest.Spec.Format must be one of ${MANIFEST_FORMATS.join(', ')}`);
  }
  const inventory = format === 'S3InventoryReport_CSV_20161130';
  // Spec.Fields is ignored for inventory reports (their manifest.json names the columns), but must be well-formed if given.
  const fields = inventory && (spec.Fields === undefined || spec.Fields === null) ? [] : spec.Fields;
  if (!Array.isArray(fields) || (fields.length === 0 && !inventory)) {
    invalid('Manifest.Spec.Fields is required for S3BatchOperations_CSV_20180820 (e.g. ["Bucket","Key"])');
  }
  for (const f of fields) {
    if (!MANIFEST_FIELDS.includes(f as never))
      invalid(`Manifest.Spec.Fields: ${JSON.stringify(f)} is not one of ${MANIFEST_FIELDS.join(', ')}`);
  }
  const count = (name: ManifestField): number => fields.filter((f) => f === name).length;
  const missing = (['Bucket', 'Key'] as const).filter((f) => count(f) === 0);
  if (missing.length > 0 && !inventory) invalid(`Required fields are missing in the schema: ${missing.join(', ')}`);
  if (count('Bucket') > 1 || count('Key') > 1 || count('VersionId') > 1) {
    invalid('Manifest.Spec.Fields: Bucket, Key and VersionId may each appear only once');
  }
  const ObjectArn = reqString(loc, 'ObjectArn', 'Manifest.Location.ObjectArn', 1, 2000);
  parseObjectArn(ObjectArn);
  const ETag = reqString(loc, 'ETag', 'Manifest.Location.ETag', 1, 1024);
  const ObjectVersionId = optString(loc, 'ObjectVersionId', 'Manifest.Location.ObjectVersionId', 1, 2000);
  return {
    Spec: {
      Format: format as JobManifest['Spec']['Format'],
      ...(fields.length > 0 || !inventory ? { Fields: [...fields] as ManifestField[] } : {}),
    },
    Location: { ObjectArn, ETag, ...(ObjectVersionId !== undefined ? { ObjectVersionId } : {}) },
  };
}

function validateReport(v: unknown): JobReport {
  if (!isObject(v)) invalid('Report is required (use {"Enabled": false} for no completion report)');
  const Enabled = optBoolean(v, 'Enabled', 'Report.Enabled');
  if (Enabled === undefined) invalid('Report.Enabled is required');
  const Bucket = optString(v, 'Bucket', 'Report.Bucket', 1, 128);
  const Prefix = optString(v, 'Prefix', 'Report.Prefix', 1, 512);
  const Format = v.Format ?? (Enabled ? 'Report_CSV_20180820' : undefined);
  if (Format !== undefined && Format !== 'Report_CSV_20180820') invalid('Report.Format must be Report_CSV_20180820');
  const scope = v.ReportScope;
  if (scope !== undefined && scope !== 'AllTasks' && scope !== 'FailedTasksOnly')
    invalid('Report.ReportScope must be AllTasks or FailedTasksOnly');
  const owner = optAccountId(v, 'ExpectedBucketOwner', 'Report.ExpectedBucketOwner');
  if (Enabled) {
    if (Bucket === undefined) invalid('Report.Bucket is required when Report.Enabled is true');
    parseBucketArn(Bucket);
  }
  return {
    Enabled,
    ...(Bucket !== undefined ? { Bucket } : {}),
    ...(Format !== undefined ? { Format: 'Report_CSV_20180820' as const } : {}),
    ...(Prefix !== undefined ? { Prefix } : {}),
    ...(Enabled
      ? { ReportScope: (scope as JobReport['ReportScope']) ?? 'AllTasks' }
      : scope
        ? { ReportScope: scope as JobReport['ReportScope'] }
        : {}),
    ...(owner !== undefined ? { ExpectedBucketOwner: owner } : {}),
  };
}

export interface ValidationOptions {
  /** Effective ConfirmationRequired when the request leaves it out (AWS: true). */
  readonly confirmationRequiredByDefault: boolean;
  /** The clock for checks that hold only at creation (default: now). */
  readonly now?: Date;
}

/** Returns the normalised request (ConfirmationRequired made explicit), or throws InvalidRequest. */
export function validateCreateJobRequest(input: unknown, options: ValidationOptions): CreateJobRequest {
  if (!isObject(input)) invalid('The CreateJob request must be an object');
  const Priority = validatePriority(input.Priority);
  const RoleArn = reqString(input, 'RoleArn', 'RoleArn', 1, 2048);
  if (!ROLE_ARN.test(RoleArn)) invalid('RoleArn must look like arn:aws:iam::<12-digit account>:role/<name>');
  const ClientRequestToken = optString(input, 'ClientRequestToken', 'ClientRequestToken', 1, 64);
  const Description = optString(input, 'Description', 'Description', 1, 256);
  const ConfirmationRequired =
    optBoolean(input, 'ConfirmationRequired', 'ConfirmationRequired') ?? options.confirmationRequiredByDefault;
  if (!isObject(input.Operation)) invalid('Operation is required and must contain exactly one operation');
  const operation = parseOperation(input.Operation);
  operation.handler.checkAtCreate?.(operation.config, options.now ?? new Date());
  const hasManifest = input.Manifest !== undefined && input.Manifest !== null;
  const hasGenerator = input.ManifestGenerator !== undefined && input.ManifestGenerator !== null;
  if (hasManifest === hasGenerator) {
    invalid('Jobs must be created with either a manifest file or a ManifestGenerator, but not both');
  }
  const Report = validateReport(input.Report);
  const Tags = validateJobTags(input.Tags);
  parseJobExtensions(Tags); // the reserved s3batch: tags are checked here, at CreateJob
  const Manifest = hasManifest ? validateManifest(input.Manifest) : undefined;
  const ManifestGenerator = hasGenerator ? validateManifestGenerator(input.ManifestGenerator, Tags) : undefined;
  return Object.freeze({
    ConfirmationRequired,
    Operation: input.Operation,
    Report,
    ...(Manifest !== undefined ? { Manifest } : {}),
    ...(ManifestGenerator !== undefined ? { ManifestGenerator } : {}),
    Priority,
    RoleArn,
    ...(ClientRequestToken !== undefined ? { ClientRequestToken } : {}),
    ...(Description !== undefined ? { Description } : {}),
    ...(Tags.length > 0 ? { Tags } : {}),
  }) as CreateJobRequest;
}
