/**
 * Field validation for the operation members parsed at CreateJob (copy, ACL, restore, legal hold,
 * retention, checksum, encryption): each helper names the field in its InvalidRequest message.
 * An absent field is `undefined` or `null`; an empty XML element (`''`/`{}`) counts as present.
 */
import { S3BatchError } from '../domain/errors.ts';
import { checkLength, memberObject } from './s3-put-object-tagging.ts';

export function invalid(message: string): S3BatchError {
  return new S3BatchError('InvalidRequest', message);
}

export function isAbsent(v: unknown): v is undefined | null {
  return v === undefined || v === null;
}

/** The member as an object whose fields are all in `allowed`. */
export function fieldsOf(member: unknown, field: string, allowed: readonly string[]): Record<string, unknown> {
  const m = memberObject(member, field);
  const unknown = Object.keys(m).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    throw invalid(
      `${field} has unknown field(s) ${unknown.join(', ')}; allowed: ${allowed.length > 0 ? allowed.join(', ') : 'none'}`,
    );
  }
  return m;
}

export function optString(v: unknown, field: string, min: number, max: number): string | undefined {
  if (isAbsent(v)) return undefined;
  if (typeof v !== 'string') throw invalid(`${field} must be a string`);
  checkLength(v, min, max, field);
  return v;
}

export function optEnum<const T extends readonly string[]>(
  v: unknown,
  values: T,
  field: string,
): T[number] | undefined {
  if (isAbsent(v)) return undefined;
  if (typeof v !== 'string' || !values.includes(v))
    throw invalid(`${field} must be one of ${values.join(', ')}; got ${JSON.stringify(v)}`);
  return v as T[number];
}

export function optBool(v: unknown, field: string): boolean | undefined {
  if (isAbsent(v)) return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw invalid(`${field} must be true or false`);
}

/** An integer ≥ min (the XML layer may hand it over as a decimal string). */
export function optInt(v: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (isAbsent(v)) return undefined;
  const n = typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) {
    throw invalid(
      `${field} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in ${min}..${max}`}; got ${JSON.stringify(v)}`,
    );
  }
  return n;
}

/** An ISO 8601 string, a Date, or epoch seconds (the AWS JSON timestamp form). */
export function optTimestamp(v: unknown, field: string): Date | undefined {
  if (isAbsent(v)) return undefined;
  const d =
    v instanceof Date
      ? new Date(v.getTime())
      : typeof v === 'number'
        ? new Date(v * 1000)
        : typeof v === 'string' && v.trim() !== ''
          ? new Date(v)
          : undefined;
  if (d === undefined || Number.isNaN(d.getTime()))
    throw invalid(`${field} must be a timestamp (ISO 8601, e.g. 2030-01-31T00:00:00Z)`);
  return d;
}

/** True for an empty XML element (`''`) or an object without fields. */
export function isEmptyElement(v: unknown): boolean {
  return v === '' || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
}

/** ` on version <id>` for a manifest row with a version, else '' (dry-run descriptions). */
export function onVersion(entry: { readonly versionId?: string | undefined }): string {
  return entry.versionId ? ` on version ${entry.versionId}` : '';
}

/** The most grants one ACL may hold (AWS's limit); past it an ACL could also exceed the 1 MiB body. */
export const MAX_ACL_GRANTS = 100;

/** InvalidRequest when the grant list `grants` (at `field`) holds more than MAX_ACL_GRANTS. */
export function checkGrantCount(grants: readonly unknown[], field: string): void {
  if (grants.length > MAX_ACL_GRANTS)
    throw invalid(`${field} holds ${grants.length} grants; an ACL holds at most ${MAX_ACL_GRANTS}`);
}
