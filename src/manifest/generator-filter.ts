/**
 * The manifest generator's object filter (docs/manifests.md#generator-filter), compiled once and applied to each listed
 * object. Pure: no I/O. Semantics (docs/manifests.md#generator-filter): AND across the filter members, OR inside each
 * `MatchAny…` list, the KeyNameConstraint lists ANDed with each other; size and time bounds are
 * exclusive; "created" is the object's LastModified (what every S3-compatible listing reports).
 *
 * Beyond AWS: a key regular expression and a cap on matching objects (generator-spec.ts says
 * where they come from). A regex is refused when it could backtrack catastrophically
 * (checkRegexSafety): keys are user data, and one bad pattern must not stall the server.
 */
import { S3BatchError } from '../domain/errors.ts';

/** What a listing says about one object (ListObjectsV2 `Contents`). */
export interface ListedObject {
  readonly key: string;
  readonly size: number;
  readonly lastModified: Date;
  /** STANDARD when the listing leaves it out. */
  readonly storageClass: string;
  readonly etag?: string | undefined;
}

export interface GeneratorFilter {
  readonly prefixes?: readonly string[] | undefined;
  readonly suffixes?: readonly string[] | undefined;
  readonly substrings?: readonly string[] | undefined;
  readonly createdAfter?: Date | undefined;
  readonly createdBefore?: Date | undefined;
  readonly sizeGreaterThan?: number | undefined;
  readonly sizeLessThan?: number | undefined;
  readonly storageClasses?: readonly string[] | undefined;
  readonly keyRegex?: RegExp | undefined;
}

/** True when the object passes every filter member that is set. */
export function matchesFilter(filter: GeneratorFilter, object: ListedObject): boolean {
  const { key } = object;
  if (filter.prefixes && !filter.prefixes.some((p) => key.startsWith(p))) return false;
  if (filter.suffixes && !filter.suffixes.some((s) => key.endsWith(s))) return false;
  if (filter.substrings && !filter.substrings.some((s) => key.includes(s))) return false;
  const created = object.lastModified.getTime();
  if (filter.createdAfter && !(created > filter.createdAfter.getTime())) return false;
  if (filter.createdBefore && !(created < filter.createdBefore.getTime())) return false;
  if (filter.sizeGreaterThan !== undefined && !(object.size > filter.sizeGreaterThan)) return false;
  if (filter.sizeLessThan !== undefined && !(object.size < filter.sizeLessThan)) return false;
  if (filter.storageClasses && !filter.storageClasses.includes(object.storageClass || 'STANDARD')) return false;
  if (filter.keyRegex && !filter.keyRegex.test(key)) return false;
  return true;
}

export const MAX_KEY_REGEX_LENGTH = 256;

/**
 * Compiles a key regex (JavaScript syntax, `u` flag) after the safety checks; InvalidRequest
 * naming `path` otherwise.
 */
export function compileKeyRegex(pattern: string, path: string): RegExp {
  if (pattern.length === 0 || pattern.length > MAX_KEY_REGEX_LENGTH) {
    throw new S3BatchError(
      'InvalidRequest',
      `${path} must be a regular expression of 1 to ${MAX_KEY_REGEX_LENGTH} characters`,
    );
  }
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'u');
  } catch (err) {
    throw new S3BatchError('InvalidRequest', `${path} is not a valid regular expression: ${(err as Error).message}`);
  }
  const unsafe = checkRegexSafety(pattern);
  if (unsafe !== undefined) throw new S3BatchError('InvalidRequest', `${path} is refused: ${unsafe}`);
  return re;
}

/**
 * A conservative guard against exponential backtracking in a backtracking regex engine: refuses
 * backreferences, and any group that repeats (`*`, `+`, `{n,}`, `{n,m}`) while containing a
 * quantifier or an alternation — the shapes of `(a+)+`, `(a*)*`, `(a|aa)*`. Returns why, or
 * undefined when the pattern is acceptable. Keys are at most 1,024 bytes, so what remains
 * (e.g. `.*a.*b`) is polynomial in a bounded input.
 */
export function checkRegexSafety(pattern: string): string | undefined {
  // One frame per open group: does it contain a quantifier or a `|`?
  const stack: { risky: boolean }[] = [{ risky: false }];
  let i = 0;
  const isRepeat = (at: number): boolean => {
    const c = pattern[at];
    return c === '*' || c === '+' || (c === '{' && /^\{\d+,\d*\}/.test(pattern.slice(at)));
  };
  const isQuantifier = (at: number): boolean => {
    const c = pattern[at];
    return c === '*' || c === '+' || c === '?' || (c === '{' && /^\{\d+(,\d*)?\}/.test(pattern.slice(at)));
  };
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (/[1-9]/.test(next) || next === 'k') return 'backreferences are not allowed';
      i += 2;
    } else if (c === '[') {
      // skip the character class (escapes inside included)
      i++;
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '(') {
      stack.push({ risky: false });
      i++;
      continue;
    } else if (c === ')') {
      const frame = stack.length > 1 ? stack.pop()! : { risky: false };
      i++;
      if (frame.risky && isRepeat(i))
        return 'a repeated group contains a quantifier or an alternation (catastrophic backtracking)';
      if (frame.risky || isQuantifier(i)) stack[stack.length - 1]!.risky = true;
      continue;
    } else if (c === '|') {
      stack[stack.length - 1]!.risky = true;
      i++;
      continue;
    } else {
      i++;
    }
    if (isQuantifier(i)) stack[stack.length - 1]!.risky = true;
  }
  return undefined;
}
