/**
 * Field checks for untrusted JSON request members (CreateJob and its ManifestGenerator): each
 * helper names the field's path in its InvalidRequest message and treats `undefined`/`null` as
 * absent. Pure: no I/O.
 */
import { S3BatchError } from './errors.ts';

const ACCOUNT_ID = /^\d{12}$/;

export function invalid(message: string): never {
  throw new S3BatchError('InvalidRequest', message);
}

/** True when `text` parses as an http:// or https:// URL (S3 endpoints in the configuration). */
export function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** A URL as errors, logs and views show it: origin and path, without a query that may carry a token. */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(not a valid URL)';
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function optString(
  obj: Record<string, unknown>,
  field: string,
  path: string,
  min: number,
  max: number,
): string | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') invalid(`${path} must be a string`);
  if (v.length < min || characterCount(v) > max) invalid(`${path} must be ${min} to ${max} characters long`);
  return v;
}

/**
 * Length as the model's length constraints count it: Unicode code points, so an emoji (two UTF-16
 * units) is one character. Never more than `v.length`.
 */
export function characterCount(v: string): number {
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < v.length) {
      const d = v.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

export function reqString(obj: Record<string, unknown>, field: string, path: string, min: number, max: number): string {
  const v = optString(obj, field, path, min, max);
  if (v === undefined) invalid(`${path} is required`);
  return v;
}

export function optBoolean(obj: Record<string, unknown>, field: string, path: string): boolean | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') invalid(`${path} must be true or false`);
  return v;
}

/** An optional 12-digit account id (ExpectedBucketOwner and the like). */
export function optAccountId(obj: Record<string, unknown>, field: string, path: string): string | undefined {
  const v = optString(obj, field, path, 12, 12);
  if (v !== undefined && !ACCOUNT_ID.test(v)) invalid(`${path} must be a 12-digit account id`);
  return v;
}
