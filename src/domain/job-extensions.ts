/**
 * s3batch's extensions beyond AWS, carried as job tags with the reserved prefix `s3batch:`
 * (docs/extensions.md#reserved-tags), so that the S3 Control XML stays byte-compatible with the SDKs: any client that
 * can set job tags can reach them (aws CLI, AWS SDK, JSON API, s3batch CLI).
 *
 * Every key is listed here, with its parser. An unknown `s3batch:` key or a bad value is a clear
 * InvalidRequest at CreateJob, never silently ignored. Pure: no I/O.
 */
import { S3BatchError } from './errors.ts';
import { invalid } from './field-checks.ts';
import type { S3Tag } from './job-spec.ts';
import { checkWebhookUrlSyntax } from './notification.ts';

export const EXTENSION_TAG_PREFIX = 's3batch:';

export interface JobExtensions {
  /** Prepare and report what would be done; change nothing. */
  readonly dryRun: boolean;
  /** False: S3PutObjectCopy counts no bytes and skips the HEAD that learns them. Absent: true. */
  readonly countCopyBytes?: boolean | undefined;
  /** Upper bound of this job's concurrent tasks (below the server's global budget). */
  readonly maxConcurrentTasks?: number | undefined;
  /** Upper bound of this job's task requests per second. */
  readonly maxRequestsPerSecond?: number | undefined;
  /** Manifest generator: only keys matching this regular expression (JavaScript syntax). */
  readonly generatorKeyRegex?: string | undefined;
  /** Manifest generator: stop after this many matching objects. */
  readonly generatorMaxObjects?: number | undefined;
  /** A webhook this job's status changes are posted to (docs/notifications.md). */
  readonly notifyUrl?: string | undefined;
  /** CreateJob does not check that the manifest and buckets are reachable (they are read in Preparing). */
  readonly skipAccessCheck?: boolean | undefined;
  /** CreateJob refuses (DuplicateJob) a request that repeats a live or recent job, instead of warning. */
  readonly noDuplicates?: boolean | undefined;
}

type Setter = (value: string, tag: string) => Partial<Record<keyof JobExtensions, unknown>>;

function positiveInt(max: number): (value: string, tag: string) => number {
  return (value, tag) => {
    if (!/^\d+$/.test(value)) invalid(`Tag ${tag} must be a whole number from 1 to ${max} (got "${value}")`);
    const n = Number(value);
    if (n < 1 || n > max) invalid(`Tag ${tag} must be a whole number from 1 to ${max} (got "${value}")`);
    return n;
  };
}

function boolValue(value: string, tag: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return invalid(`Tag ${tag} must be "true" or "false" (got "${value}")`);
}

const MAX_REGEX_LENGTH = 256;

/** The reserved keys (without the prefix) and what each sets. */
const KEYS: Readonly<Record<string, Setter>> = {
  'dry-run': (v, t) => ({ dryRun: boolValue(v, t) }),
  'count-copy-bytes': (v, t) => ({ countCopyBytes: boolValue(v, t) }),
  'max-concurrent-tasks': (v, t) => ({ maxConcurrentTasks: positiveInt(100_000)(v, t) }),
  'max-requests-per-second': (v, t) => ({ maxRequestsPerSecond: positiveInt(1_000_000)(v, t) }),
  'generator-key-regex': (v, t) => {
    if (v.length === 0 || v.length > MAX_REGEX_LENGTH)
      invalid(`Tag ${t} must be a regular expression of 1 to ${MAX_REGEX_LENGTH} characters`);
    try {
      new RegExp(v, 'u');
    } catch (err) {
      invalid(`Tag ${t} is not a valid regular expression: ${(err as Error).message}`);
    }
    return { generatorKeyRegex: v };
  },
  'generator-max-objects': (v, t) => ({ generatorMaxObjects: positiveInt(Number.MAX_SAFE_INTEGER)(v, t) }),
  notify: (v, t) => ({ notifyUrl: checkWebhookUrlSyntax(v, `Tag ${t}`) }),
  'skip-access-check': (v, t) => ({ skipAccessCheck: boolValue(v, t) }),
  'no-duplicates': (v, t) => ({ noDuplicates: boolValue(v, t) }),
};

/** The tags of the checks at submit and of a job's webhook, which the APIs and the CLI set by name. */
export const NOTIFY_TAG = `${EXTENSION_TAG_PREFIX}notify`;
export const SKIP_ACCESS_CHECK_TAG = `${EXTENSION_TAG_PREFIX}skip-access-check`;
export const NO_DUPLICATES_TAG = `${EXTENSION_TAG_PREFIX}no-duplicates`;

/** The reserved tag keys, with the prefix, for help text and docs. */
export const EXTENSION_TAG_KEYS: readonly string[] = Object.keys(KEYS).map((k) => EXTENSION_TAG_PREFIX + k);

export function isExtensionTag(tag: S3Tag): boolean {
  return tag.Key.startsWith(EXTENSION_TAG_PREFIX);
}

/** Reads the `s3batch:` tags of a job. Throws InvalidRequest for an unknown key or a bad value. */
export function parseJobExtensions(tags: readonly S3Tag[] | undefined): JobExtensions {
  const out: Record<string, unknown> = { dryRun: false };
  for (const tag of tags ?? []) {
    if (!isExtensionTag(tag)) continue;
    const set = KEYS[tag.Key.slice(EXTENSION_TAG_PREFIX.length)];
    if (set === undefined)
      invalid(`Unknown s3batch extension tag ${tag.Key}; the reserved keys are ${EXTENSION_TAG_KEYS.join(', ')}`);
    Object.assign(out, set(tag.Value, tag.Key));
  }
  return Object.freeze(out) as unknown as JobExtensions;
}

/** Keys that define what the job is: set at CreateJob, never changed by Put/DeleteJobTagging. */
const CREATION_ONLY_KEYS: readonly string[] = [
  'dry-run',
  'count-copy-bytes',
  'generator-key-regex',
  'generator-max-objects',
].map((k) => EXTENSION_TAG_PREFIX + k);

/** The job's creation-only `s3batch:` tags, in order. */
export function creationOnlyTags(tags: readonly S3Tag[] | undefined): S3Tag[] {
  return (tags ?? []).filter((t) => CREATION_ONLY_KEYS.includes(t.Key));
}

/**
 * PutJobTagging may change the job's limits (they apply at once) but not what defines the job:
 * the creation-only tags must stay exactly as they were. Throws InvalidRequest otherwise.
 */
export function checkCreationOnlyTagsKept(atCreate: readonly S3Tag[] | undefined, next: readonly S3Tag[]): void {
  const before = new Map(creationOnlyTags(atCreate).map((t) => [t.Key, t.Value]));
  const after = new Map(creationOnlyTags(next).map((t) => [t.Key, t.Value]));
  for (const key of CREATION_ONLY_KEYS) {
    if (before.get(key) !== after.get(key)) {
      const was = before.has(key) ? `"${before.get(key)}"` : 'not set';
      throw new S3BatchError(
        'InvalidRequest',
        `Tag ${key} is fixed when the job is created (it is ${was}); PutJobTagging must keep it as it is`,
      );
    }
  }
}
