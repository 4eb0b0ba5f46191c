/**
 * Storage profiles: named S3 endpoints with their credentials, so one s3batch can act on several
 * S3 services. A job picks its profile through its RoleArn (docs/extensions.md#storage-profiles):
 *
 *   1. an exact RoleArn listed under "roles" in the profiles file → that profile;
 *   2. otherwise the role's name (the last segment of `arn:…:iam::<account>:role/<path/><name>`)
 *      when a profile has that name;
 *   3. otherwise, only when no profiles file is configured, the default profile (the endpoint
 *      given by --endpoint / S3BATCH_S3_ENDPOINT or --local): single-endpoint mode, every role
 *      works as before.
 * With a profiles file, a role that matches nothing is an InvalidRequest at CreateJob.
 *
 * The profiles file (JSON, `--storage-profiles` / S3BATCH_STORAGE_PROFILES_FILE):
 *   {
 *     "profiles": {
 *       "dr":   { "endpoint": "https://s3.dr.example", "region": "eu-west-1",
 *                 "accessKeyId": "…", "secretAccessKey": "…", "forcePathStyle": true }
 *     },
 *     "roles": { "arn:aws:iam::111122223333:role/batch-dr": "dr" },
 *     "replication": [
 *       { "sourceBucket": "photos", "prefix": "2024/", "destinationProfile": "dr",
 *         "destinationBucket": "photos-replica", "storageClass": "STANDARD_IA" }
 *     ]
 *   }
 * The profile named "default" is always the server's own endpoint; the file cannot redefine it.
 *
 * "replication" plays the part of the source bucket's replication configuration for
 * S3ReplicateObject (docs/extensions.md#replication-rules): most S3-compatible stores cannot hold one that points at
 * another service (Ceph RGW 16 answers PutBucketReplication with 405), so s3batch keeps the rules.
 * sourceProfile defaults to "default", destinationProfile to the source's profile.
 */
import { readFileSync } from 'node:fs';
import { S3BatchError } from '../domain/errors.ts';
import { isHttpUrl } from '../domain/field-checks.ts';
import type { S3ClientProfile } from './s3-clients.ts';

export const DEFAULT_PROFILE = 'default';

export type EndpointProfile = Pick<
  S3ClientProfile,
  'endpoint' | 'region' | 'accessKeyId' | 'secretAccessKey' | 'forcePathStyle'
>;

/** One replication rule: objects of sourceBucket (under prefix) go to destinationBucket. */
export interface ReplicationRule {
  readonly sourceProfile: string;
  readonly sourceBucket: string;
  readonly prefix: string;
  readonly destinationProfile: string;
  readonly destinationBucket: string;
  readonly storageClass?: string | undefined;
}

export interface StorageProfiles {
  /** Every profile by name, "default" included. */
  readonly profiles: ReadonlyMap<string, EndpointProfile>;
  /** Explicit RoleArn → profile name. */
  readonly roles: ReadonlyMap<string, string>;
  /** False in single-endpoint mode (no profiles file): every role maps to "default". */
  readonly strict: boolean;
  readonly replication: readonly ReplicationRule[];
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const STORAGE_CLASS = /^[A-Z_]{1,64}$/;

function parseReplication(
  raw: unknown,
  profiles: ReadonlyMap<string, EndpointProfile>,
  source: string,
): ReplicationRule[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) bad(source, '"replication" must be a list of rules');
  const known = new Set([
    'sourceProfile',
    'sourceBucket',
    'prefix',
    'destinationProfile',
    'destinationBucket',
    'storageClass',
  ]);
  return raw.map((r: unknown, i) => {
    const where = `replication[${i}]`;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) bad(source, `${where} must be an object`);
    const obj = r as Record<string, unknown>;
    const unknown = Object.keys(obj).filter((k) => !known.has(k));
    if (unknown.length > 0)
      bad(source, `${where} has unknown field(s) ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
    const sourceProfile = optString(obj, 'sourceProfile', where, source) ?? DEFAULT_PROFILE;
    const sourceBucket = optString(obj, 'sourceBucket', where, source);
    const destinationBucket = optString(obj, 'destinationBucket', where, source);
    if (sourceBucket === undefined || !BUCKET_NAME.test(sourceBucket))
      bad(source, `${where}.sourceBucket must be a bucket name`);
    if (destinationBucket === undefined || !BUCKET_NAME.test(destinationBucket))
      bad(source, `${where}.destinationBucket must be a bucket name`);
    const destinationProfile = optString(obj, 'destinationProfile', where, source) ?? sourceProfile;
    for (const [field, name] of [
      ['sourceProfile', sourceProfile],
      ['destinationProfile', destinationProfile],
    ] as const) {
      if (!profiles.has(name)) bad(source, `${where}.${field} names the unknown profile "${name}"`);
    }
    const prefixValue = obj.prefix;
    if (prefixValue !== undefined && typeof prefixValue !== 'string') bad(source, `${where}.prefix must be a string`);
    const storageClass = optString(obj, 'storageClass', where, source);
    if (storageClass !== undefined && !STORAGE_CLASS.test(storageClass))
      bad(source, `${where}.storageClass must be a storage class name such as STANDARD_IA`);
    if (sourceProfile === destinationProfile && sourceBucket === destinationBucket)
      bad(source, `${where} replicates ${sourceBucket} onto itself`);
    return Object.freeze({
      sourceProfile,
      sourceBucket,
      prefix: prefixValue ?? '',
      destinationProfile,
      destinationBucket,
      storageClass,
    });
  });
}

/** The rules that apply to one object of a source profile. */
export function replicationRulesFor(
  profiles: StorageProfiles,
  sourceProfile: string,
  bucket: string,
  key: string,
): ReplicationRule[] {
  return profiles.replication.filter(
    (r) => r.sourceProfile === sourceProfile && r.sourceBucket === bucket && key.startsWith(r.prefix),
  );
}

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+=@-]{0,63}$/;
const ROLE_ARN = /^arn:[^:]+:iam::\d{12}:role\/(?:.*\/)?([^/]+)$/;

function bad(source: string, message: string): never {
  throw new S3BatchError('InvalidConfiguration', `Storage profiles ${source}: ${message}`);
}

function optString(obj: Record<string, unknown>, field: string, where: string, source: string): string | undefined {
  const v = obj[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') bad(source, `${where}.${field} must be a non-empty string`);
  return v;
}

function parseProfile(name: string, raw: unknown, source: string): EndpointProfile {
  const where = `profiles.${name}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad(source, `${where} must be an object`);
  const obj = raw as Record<string, unknown>;
  const known = new Set(['endpoint', 'region', 'accessKeyId', 'secretAccessKey', 'forcePathStyle']);
  const unknown = Object.keys(obj).filter((k) => !known.has(k));
  if (unknown.length > 0)
    bad(source, `${where} has unknown field(s) ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
  const endpoint = optString(obj, 'endpoint', where, source);
  if (endpoint !== undefined && !isHttpUrl(endpoint))
    bad(source, `${where}.endpoint must be an http:// or https:// URL`);
  const accessKeyId = optString(obj, 'accessKeyId', where, source);
  const secretAccessKey = optString(obj, 'secretAccessKey', where, source);
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    bad(source, `${where}: give both accessKeyId and secretAccessKey, or neither (the AWS default credential chain)`);
  }
  const fps = obj.forcePathStyle;
  if (fps !== undefined && typeof fps !== 'boolean') bad(source, `${where}.forcePathStyle must be true or false`);
  return Object.freeze({
    endpoint,
    region: optString(obj, 'region', where, source) ?? 'us-east-1',
    accessKeyId,
    secretAccessKey,
    forcePathStyle: typeof fps === 'boolean' ? fps : endpoint !== undefined,
  });
}

/** Parses the profiles file's JSON text; `fallback` is the server's own endpoint ("default"). */
export function parseStorageProfiles(text: string, source: string, fallback: EndpointProfile): StorageProfiles {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    bad(source, `not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    bad(source, 'must be a JSON object with "profiles" (and optionally "roles")');
  const root = json as Record<string, unknown>;
  const extra = Object.keys(root).filter((k) => k !== 'profiles' && k !== 'roles' && k !== 'replication');
  if (extra.length > 0)
    bad(source, `unknown top-level field(s) ${extra.join(', ')} (known: profiles, roles, replication)`);
  const rawProfiles = root.profiles;
  if (typeof rawProfiles !== 'object' || rawProfiles === null || Array.isArray(rawProfiles))
    bad(source, '"profiles" must be an object of name → profile');
  const profiles = new Map<string, EndpointProfile>([[DEFAULT_PROFILE, fallback]]);
  for (const [name, raw] of Object.entries(rawProfiles)) {
    if (name === DEFAULT_PROFILE)
      bad(
        source,
        `the profile name "${DEFAULT_PROFILE}" is reserved for the server's own endpoint (--endpoint / --local)`,
      );
    if (!PROFILE_NAME.test(name))
      bad(source, `profile name "${name}" must be 1–64 letters, digits or _.+=@- (an IAM role name)`);
    profiles.set(name, parseProfile(name, raw, source));
  }
  const roles = new Map<string, string>();
  const rawRoles = root.roles ?? {};
  if (typeof rawRoles !== 'object' || rawRoles === null || Array.isArray(rawRoles))
    bad(source, '"roles" must be an object of RoleArn → profile name');
  for (const [arn, name] of Object.entries(rawRoles)) {
    if (!ROLE_ARN.test(arn))
      bad(source, `roles: "${arn}" is not a role ARN (arn:aws:iam::<12-digit account>:role/<name>)`);
    if (typeof name !== 'string' || !profiles.has(name))
      bad(source, `roles: "${arn}" names the unknown profile ${JSON.stringify(name)}`);
    roles.set(arn, name);
  }
  return { profiles, roles, strict: true, replication: parseReplication(root.replication, profiles, source) };
}

/** Reads the profiles file, or gives single-endpoint mode when there is none. */
export function loadStorageProfiles(file: string | undefined, fallback: EndpointProfile): StorageProfiles {
  if (file === undefined)
    return { profiles: new Map([[DEFAULT_PROFILE, fallback]]), roles: new Map(), strict: false, replication: [] };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    bad(file, `cannot be read: ${(err as Error).message}`);
  }
  return parseStorageProfiles(text, file, fallback);
}

/** The profile name a RoleArn selects. Throws InvalidRequest when it selects none. */
export function profileNameFor(profiles: StorageProfiles, roleArn: string): string {
  if (!profiles.strict) return DEFAULT_PROFILE;
  const explicit = profiles.roles.get(roleArn);
  if (explicit !== undefined) return explicit;
  const name = ROLE_ARN.exec(roleArn)?.[1];
  if (name !== undefined && profiles.profiles.has(name)) return name;
  const known = [...profiles.profiles.keys()].join(', ');
  throw new S3BatchError(
    'InvalidRequest',
    `RoleArn ${roleArn} maps to no storage profile of this server: name the role after a profile (${known}) or list the ARN under "roles" in the storage profiles file`,
  );
}
