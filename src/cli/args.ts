/**
 * Parsers of the job verbs' argument values (pure): priorities, tags, statuses, S3 locations and
 * bucket ARNs. Each throws a CliError InvalidArgument (exit 2) whose message names the argument.
 */
import type { JobStatus, S3Tag } from '@aws-sdk/client-s3-control';
import { ALL_STATUSES } from '../domain/job-status.ts';
import { usageError } from './cli-errors.ts';

const MAX_PRIORITY = 2_147_483_647;

/** A job priority: an integer 0 … 2147483647. */
export function parsePriority(value: string, what = 'priority'): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) > MAX_PRIORITY) {
    throw usageError(`${what} must be an integer from 0 to ${MAX_PRIORITY}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** A positive count (e.g. --max). */
export function parsePositiveInt(value: string, what: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw usageError(`${what} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** `Key=Value` (the value may be empty and may contain `=`; the key may not be empty). */
export function parseTag(text: string, what = 'tag'): S3Tag {
  const eq = text.indexOf('=');
  if (eq <= 0) throw usageError(`${what} ${JSON.stringify(text)} must be Key=Value (e.g. team=storage)`);
  return { Key: text.slice(0, eq), Value: text.slice(eq + 1) };
}

/** Tags as the aws CLI writes them (`Key=k,Value=v`) are accepted too, so copied lines work. */
export function parseTagArg(text: string, what = 'tag'): S3Tag {
  const aws = /^Key=([^,]*),Value=(.*)$/.exec(text);
  if (aws !== null && aws[1] !== '') return { Key: aws[1] as string, Value: aws[2] as string };
  return parseTag(text, what);
}

// The S3 Control statuses (the same as the engine's), in the SDK's alphabetical order; from the
// domain, not the SDK's JobStatus: the CLI loads the SDK only when a verb connects.
const STATUSES: readonly string[] = [...ALL_STATUSES].sort();

/** A job status, case-insensitive, returned in the API's spelling (e.g. `active` → `Active`). */
export function parseStatus(value: string): JobStatus {
  const found = STATUSES.find((s) => s.toLowerCase() === value.toLowerCase());
  if (found === undefined)
    throw usageError(`unknown job status ${JSON.stringify(value)}; one of ${STATUSES.join(', ')}`);
  return found as JobStatus;
}

/** A bucket as a name or an ARN: `name` → `arn:aws:s3:::name`; an `arn:` is kept as given. */
export function bucketArn(value: string, what = 'bucket'): string {
  if (value.startsWith('arn:')) return value;
  if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]{1,254}$/.test(value))
    throw usageError(`${what} ${JSON.stringify(value)} is neither a bucket name nor an ARN`);
  return `arn:aws:s3:::${value}`;
}

/** `s3://bucket/key…` → bucket and key (key may be empty when `keyRequired` is false). */
export function parseS3Url(value: string, what: string, keyRequired: boolean): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(value);
  if (m === null || (keyRequired && (m[2] ?? '') === '')) {
    throw usageError(
      `${what} must be ${keyRequired ? 's3://bucket/key' : 's3://bucket[/prefix]'}, got ${JSON.stringify(value)}`,
    );
  }
  return { bucket: m[1] as string, key: m[2] ?? '' };
}
