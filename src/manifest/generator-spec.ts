/**
 * The `ManifestGenerator` element of CreateJob (docs/s3control-api.md#create-job,
 * docs/manifests.md#manifest-generator): validated and normalised at CreateJob (validateManifestGenerator, stored and
 * echoed by DescribeJob), and turned into the generator's runtime settings when the job is prepared
 * (generatorSettings). Pure: no I/O.
 *
 * Extensions beyond AWS, reachable two ways (both accepted; if both are given they must agree):
 * - JSON members `Filter.KeyNameRegex` (string) and `Filter.MaxObjects` (integer ≥ 1);
 * - job tags `s3batch:generator-key-regex` and `s3batch:generator-max-objects`
 *   (docs/extensions.md#generator-extensions), the way for S3 Control XML clients, whose SDKs only know the model's
 *   members.
 *
 * Refused with InvalidRequest because no S3-compatible listing can tell them:
 * `MatchAnyObjectEncryption`, `EligibleForReplication`, `ObjectReplicationStatuses`
 * (docs/manifests.md#generator-filter).
 */
import { invalid, isObject, optAccountId, optString, reqString } from '../domain/field-checks.ts';
import type { S3Tag } from '../domain/job-spec.ts';
import { parseJobExtensions } from '../domain/job-extensions.ts';
import { parseBucketArn } from './arn.ts';
import { compileKeyRegex, type GeneratorFilter } from './generator-filter.ts';

export const GENERATED_MANIFEST_FORMAT = 'S3InventoryReport_CSV_20211130';

/** The S3 Control model's storage-class enum (S3StorageClass). */
export const STORAGE_CLASSES = [
  'STANDARD',
  'STANDARD_IA',
  'ONEZONE_IA',
  'GLACIER',
  'INTELLIGENT_TIERING',
  'DEEP_ARCHIVE',
  'GLACIER_IR',
] as const;

const MAX_LIST_ITEMS = 100;

export interface GeneratorSettings {
  readonly sourceBucket: string;
  readonly expectedBucketOwner?: string | undefined;
  readonly filter: GeneratorFilter;
  readonly maxObjects?: number | undefined;
  /** Where the generated manifest is written, when EnableManifestOutput is true. */
  readonly output?:
    | { readonly bucket: string; readonly prefix?: string | undefined; readonly expectedOwner?: string | undefined }
    | undefined;
}

function bucketArn(obj: Record<string, unknown>, field: string, path: string): string {
  const v = reqString(obj, field, path, 1, 128);
  try {
    parseBucketArn(v);
  } catch {
    invalid(`${path} must be a bucket ARN such as arn:aws:s3:::my-bucket (got ${JSON.stringify(v)})`);
  }
  return v;
}

function stringList(v: unknown, path: string, min: number, max: number): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length === 0) invalid(`${path} must be a non-empty list of strings`);
  if (v.length > MAX_LIST_ITEMS) invalid(`${path} takes at most ${MAX_LIST_ITEMS} items`);
  return v.map((s, i) => {
    if (typeof s !== 'string' || s.length < min || s.length > max)
      invalid(`${path}[${i}] must be a string of ${min} to ${max} characters`);
    return s;
  });
}

/** A timestamp as an ISO 8601 string, a Date, or epoch seconds (the SDKs' JSON forms); normalised to ISO. */
function timestamp(v: unknown, path: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  let ms: number;
  if (v instanceof Date) ms = v.getTime();
  else if (typeof v === 'number') ms = v * 1000;
  else if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v)) ms = Date.parse(v);
  else ms = Number.NaN;
  if (!Number.isFinite(ms)) invalid(`${path} must be a timestamp such as 2024-01-01T00:00:00Z`);
  return new Date(ms).toISOString();
}

function byteCount(v: unknown, path: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    invalid(`${path} must be a whole number of bytes ≥ 0`);
  return v;
}

/**
 * Validates the CreateJob `ManifestGenerator` member (with the job's tags, for the extension
 * tags) and returns its normalised form, which the job record keeps and DescribeJob echoes.
 */
export function validateManifestGenerator(v: unknown, tags: readonly S3Tag[]): Record<string, unknown> {
  if (!isObject(v)) invalid('ManifestGenerator must be an object with S3JobManifestGenerator');
  const members = Object.keys(v).filter((k) => v[k] !== undefined && v[k] !== null);
  if (members.length !== 1 || members[0] !== 'S3JobManifestGenerator')
    invalid('ManifestGenerator must contain exactly S3JobManifestGenerator');
  const g = v.S3JobManifestGenerator;
  if (!isObject(g)) invalid('ManifestGenerator.S3JobManifestGenerator must be an object');
  const path = 'ManifestGenerator.S3JobManifestGenerator';
  const SourceBucket = bucketArn(g, 'SourceBucket', `${path}.SourceBucket`);
  const ExpectedBucketOwner = optAccountId(g, 'ExpectedBucketOwner', `${path}.ExpectedBucketOwner`);
  const enable = g.EnableManifestOutput;
  if (typeof enable !== 'boolean') invalid(`${path}.EnableManifestOutput is required (true or false)`);
  let ManifestOutputLocation: Record<string, unknown> | undefined;
  if (g.ManifestOutputLocation !== undefined && g.ManifestOutputLocation !== null) {
    ManifestOutputLocation = validateOutputLocation(g.ManifestOutputLocation, `${path}.ManifestOutputLocation`);
  }
  if (enable && ManifestOutputLocation === undefined)
    invalid(`${path}.ManifestOutputLocation is required when EnableManifestOutput is true`);
  const Filter = g.Filter === undefined || g.Filter === null ? undefined : validateFilter(g.Filter, `${path}.Filter`);
  const normalised = {
    S3JobManifestGenerator: {
      ...(ExpectedBucketOwner !== undefined ? { ExpectedBucketOwner } : {}),
      SourceBucket,
      ...(ManifestOutputLocation !== undefined ? { ManifestOutputLocation } : {}),
      ...(Filter !== undefined ? { Filter } : {}),
      EnableManifestOutput: enable,
    },
  };
  generatorSettings(normalised, tags); // the extension tags agree with the JSON members
  return normalised;
}

function validateOutputLocation(v: unknown, path: string): Record<string, unknown> {
  if (!isObject(v)) invalid(`${path} must be an object`);
  const ExpectedManifestBucketOwner = optAccountId(
    v,
    'ExpectedManifestBucketOwner',
    `${path}.ExpectedManifestBucketOwner`,
  );
  const Bucket = bucketArn(v, 'Bucket', `${path}.Bucket`);
  const ManifestPrefix = optString(v, 'ManifestPrefix', `${path}.ManifestPrefix`, 1, 512);
  const format = v.ManifestFormat;
  if (format !== GENERATED_MANIFEST_FORMAT)
    invalid(`${path}.ManifestFormat is required and must be ${GENERATED_MANIFEST_FORMAT}`);
  let ManifestEncryption: Record<string, unknown> | undefined;
  const enc = v.ManifestEncryption;
  if (enc !== undefined && enc !== null) {
    if (!isObject(enc)) invalid(`${path}.ManifestEncryption must be an object`);
    const kinds = Object.keys(enc).filter((k) => enc[k] !== undefined && enc[k] !== null);
    if (kinds.length !== 1 || kinds[0] !== 'SSES3') {
      // SSE-KMS needs a KMS the S3-compatible stores we target do not share; say so rather than write unencrypted.
      invalid(`${path}.ManifestEncryption: only SSES3 (SSE-S3, the bucket's default encryption) is supported`);
    }
    ManifestEncryption = { SSES3: {} };
  }
  return {
    ...(ExpectedManifestBucketOwner !== undefined ? { ExpectedManifestBucketOwner } : {}),
    Bucket,
    ...(ManifestPrefix !== undefined ? { ManifestPrefix } : {}),
    ...(ManifestEncryption !== undefined ? { ManifestEncryption } : {}),
    ManifestFormat: GENERATED_MANIFEST_FORMAT,
  };
}

const KNOWN_FILTER_MEMBERS = new Set([
  'CreatedAfter',
  'CreatedBefore',
  'KeyNameConstraint',
  'ObjectSizeGreaterThanBytes',
  'ObjectSizeLessThanBytes',
  'MatchAnyStorageClass',
  'KeyNameRegex',
  'MaxObjects',
]);
const UNSUPPORTED_FILTER_MEMBERS: Readonly<Record<string, string>> = {
  MatchAnyObjectEncryption: 'a bucket listing does not report object encryption',
  EligibleForReplication: 'the storage does not expose replication configuration to s3batch',
  ObjectReplicationStatuses: 'a bucket listing does not report replication status',
};

function validateFilter(v: unknown, path: string): Record<string, unknown> {
  if (!isObject(v)) invalid(`${path} must be an object`);
  for (const [k, val] of Object.entries(v)) {
    if (val === undefined || val === null) continue;
    const why = UNSUPPORTED_FILTER_MEMBERS[k];
    if (why !== undefined) invalid(`${path}.${k} is not supported by s3batch: ${why}`);
    if (!KNOWN_FILTER_MEMBERS.has(k)) invalid(`${path}.${k} is not a filter member`);
  }
  const CreatedAfter = timestamp(v.CreatedAfter, `${path}.CreatedAfter`);
  const CreatedBefore = timestamp(v.CreatedBefore, `${path}.CreatedBefore`);
  if (CreatedAfter !== undefined && CreatedBefore !== undefined && CreatedAfter >= CreatedBefore) {
    invalid(`${path}: CreatedAfter must be earlier than CreatedBefore`);
  }
  const gt = byteCount(v.ObjectSizeGreaterThanBytes, `${path}.ObjectSizeGreaterThanBytes`);
  const lt = byteCount(v.ObjectSizeLessThanBytes, `${path}.ObjectSizeLessThanBytes`);
  if (gt !== undefined && lt !== undefined && lt - gt < 2)
    invalid(`${path}: no size is greater than ${gt} and less than ${lt} bytes`);
  let KeyNameConstraint: Record<string, string[]> | undefined;
  const knc = v.KeyNameConstraint;
  if (knc !== undefined && knc !== null) {
    if (!isObject(knc)) invalid(`${path}.KeyNameConstraint must be an object`);
    const out: Record<string, string[]> = {};
    for (const [k, val] of Object.entries(knc)) {
      if (val === undefined || val === null) continue;
      if (k !== 'MatchAnyPrefix' && k !== 'MatchAnySuffix' && k !== 'MatchAnySubstring') {
        invalid(`${path}.KeyNameConstraint.${k} is not one of MatchAnyPrefix, MatchAnySuffix, MatchAnySubstring`);
      }
      out[k] = stringList(val, `${path}.KeyNameConstraint.${k}`, 1, 1024)!;
    }
    if (Object.keys(out).length > 0) KeyNameConstraint = out;
  }
  const classes = stringList(v.MatchAnyStorageClass, `${path}.MatchAnyStorageClass`, 1, 64);
  for (const c of classes ?? []) {
    if (!STORAGE_CLASSES.includes(c as never))
      invalid(`${path}.MatchAnyStorageClass: ${JSON.stringify(c)} is not one of ${STORAGE_CLASSES.join(', ')}`);
  }
  let KeyNameRegex: string | undefined;
  if (v.KeyNameRegex !== undefined && v.KeyNameRegex !== null) {
    if (typeof v.KeyNameRegex !== 'string') invalid(`${path}.KeyNameRegex must be a string`);
    compileKeyRegex(v.KeyNameRegex, `${path}.KeyNameRegex`);
    KeyNameRegex = v.KeyNameRegex;
  }
  let MaxObjects: number | undefined;
  if (v.MaxObjects !== undefined && v.MaxObjects !== null) {
    if (typeof v.MaxObjects !== 'number' || !Number.isSafeInteger(v.MaxObjects) || v.MaxObjects < 1)
      invalid(`${path}.MaxObjects must be a whole number ≥ 1`);
    MaxObjects = v.MaxObjects;
  }
  return {
    ...(CreatedAfter !== undefined ? { CreatedAfter } : {}),
    ...(CreatedBefore !== undefined ? { CreatedBefore } : {}),
    ...(KeyNameConstraint !== undefined ? { KeyNameConstraint } : {}),
    ...(gt !== undefined ? { ObjectSizeGreaterThanBytes: gt } : {}),
    ...(lt !== undefined ? { ObjectSizeLessThanBytes: lt } : {}),
    ...(classes !== undefined ? { MatchAnyStorageClass: classes } : {}),
    ...(KeyNameRegex !== undefined ? { KeyNameRegex } : {}),
    ...(MaxObjects !== undefined ? { MaxObjects } : {}),
  };
}

/** Runtime settings from a normalised ManifestGenerator (as validateManifestGenerator returns it) and the job's tags. */
export function generatorSettings(generator: Record<string, unknown>, tags: readonly S3Tag[]): GeneratorSettings {
  const g = generator.S3JobManifestGenerator as Record<string, unknown>;
  const f = (g.Filter ?? {}) as Record<string, unknown>;
  const ext = parseJobExtensions(tags);
  const regexSource = agree(
    f.KeyNameRegex as string | undefined,
    ext.generatorKeyRegex,
    'Filter.KeyNameRegex',
    's3batch:generator-key-regex',
  );
  const maxObjects = agree(
    f.MaxObjects as number | undefined,
    ext.generatorMaxObjects,
    'Filter.MaxObjects',
    's3batch:generator-max-objects',
  );
  const knc = (f.KeyNameConstraint ?? {}) as Record<string, string[] | undefined>;
  const date = (s: unknown): Date | undefined => (typeof s === 'string' ? new Date(s) : undefined);
  const out = g.ManifestOutputLocation as Record<string, unknown> | undefined;
  return {
    sourceBucket: parseBucketArn(g.SourceBucket as string),
    expectedBucketOwner: g.ExpectedBucketOwner as string | undefined,
    filter: {
      prefixes: knc.MatchAnyPrefix,
      suffixes: knc.MatchAnySuffix,
      substrings: knc.MatchAnySubstring,
      createdAfter: date(f.CreatedAfter),
      createdBefore: date(f.CreatedBefore),
      sizeGreaterThan: f.ObjectSizeGreaterThanBytes as number | undefined,
      sizeLessThan: f.ObjectSizeLessThanBytes as number | undefined,
      storageClasses: f.MatchAnyStorageClass as string[] | undefined,
      keyRegex: regexSource === undefined ? undefined : compileKeyRegex(regexSource, 'the key regex'),
    },
    maxObjects,
    output:
      g.EnableManifestOutput === true && out !== undefined
        ? {
            bucket: parseBucketArn(out.Bucket as string),
            prefix: out.ManifestPrefix as string | undefined,
            expectedOwner: out.ExpectedManifestBucketOwner as string | undefined,
          }
        : undefined,
  };
}

function agree<T>(member: T | undefined, tag: T | undefined, memberName: string, tagName: string): T | undefined {
  if (member !== undefined && tag !== undefined && member !== tag) {
    invalid(`${memberName} (${String(member)}) and the tag ${tagName} (${String(tag)}) disagree; give one of them`);
  }
  return member ?? tag;
}
