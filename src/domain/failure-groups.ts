/**
 * Failed tasks grouped by error code (docs/job-lifecycle.md#failures-by-code): per code, how many
 * tasks failed with it, their HTTP status and a few sample keys. Bounded: at most MAX_FAILURE_CODES
 * codes are kept (further codes fold into `Other`) and MAX_SAMPLE_KEYS keys per code, so the groups
 * of a job with millions of failures stay small enough for every progress message and the job record.
 *
 * Groups are plain data (structured-clonable and JSON) so they travel in the progress batches of
 * every placement (execution/protocol.ts) and are stored with the job's counters (domain/progress.ts).
 */

export interface FailureGroup {
  readonly code: string;
  /** The HTTP status of the code's failures; null when they had different statuses. */
  readonly httpStatus: number | null;
  readonly count: number;
  /** Up to MAX_SAMPLE_KEYS keys of failed tasks, decoded (the report writes them URL-encoded, as the manifest). */
  readonly sampleKeys: readonly string[];
}

/** Sorted by count descending, then code. */
export type FailureGroups = readonly FailureGroup[];

export const MAX_FAILURE_CODES = 50;
export const MAX_SAMPLE_KEYS = 5;
/** The code the failures of codes beyond MAX_FAILURE_CODES are counted under. */
export const OTHER_FAILURE_CODE = 'Other';
/** A failed task without an error code (an operation that gives none). */
export const UNKNOWN_FAILURE_CODE = 'Unknown';

interface Group {
  httpStatus: number | null;
  count: number;
  sampleKeys: string[];
}

/** A mutable tally, for the hot path (one `add` per failed task). */
export class FailureTally {
  private readonly groups = new Map<string, Group>();

  get size(): number {
    return this.groups.size;
  }

  /** One failed task (or `count` of them with the same code and status). */
  add(code: string, httpStatus: number | null, key?: string, count = 1): void {
    const name = code === '' ? UNKNOWN_FAILURE_CODE : code;
    let g = this.groups.get(name);
    if (g === undefined) {
      const fold = this.groups.size >= MAX_FAILURE_CODES - 1 && name !== OTHER_FAILURE_CODE;
      if (fold) {
        this.add(OTHER_FAILURE_CODE, httpStatus, key, count);
        return;
      }
      g = { httpStatus, count: 0, sampleKeys: [] };
      this.groups.set(name, g);
    } else if (g.httpStatus !== httpStatus) g.httpStatus = null;
    g.count += count;
    if (key !== undefined && g.sampleKeys.length < MAX_SAMPLE_KEYS && !g.sampleKeys.includes(key))
      g.sampleKeys.push(key);
  }

  /** A failed task's result: its code, status and decoded key. */
  addResult(result: { readonly errorCode: string; readonly httpStatus: number; readonly rawKey: string }): void {
    this.add(result.errorCode, result.httpStatus, decodedKey(result.rawKey));
  }

  addGroups(groups: FailureGroups | undefined): void {
    for (const g of groups ?? []) {
      const keys = g.sampleKeys;
      if (keys.length === 0) this.add(g.code, g.httpStatus, undefined, g.count);
      else {
        this.add(g.code, g.httpStatus, keys[0], g.count);
        for (const k of keys.slice(1)) this.add(g.code, g.httpStatus, k, 0);
      }
    }
  }

  /** The groups, sorted (count descending, then code); codes with no failure left out. */
  groupsNow(): FailureGroup[] {
    const out: FailureGroup[] = [];
    for (const [code, g] of this.groups) {
      if (g.count > 0) out.push({ code, httpStatus: g.httpStatus, count: g.count, sampleKeys: [...g.sampleKeys] });
    }
    return out.sort(byCountThenCode);
  }
}

function byCountThenCode(a: FailureGroup, b: FailureGroup): number {
  return b.count - a.count || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);
}

/**
 * The groups of both (counts added, samples of `a` first). Undefined when neither has any, so
 * counters without failures keep their shape.
 */
export function mergeFailures(a: FailureGroups | undefined, b: FailureGroups | undefined): FailureGroups | undefined {
  if (b === undefined || b.length === 0) return a;
  if (a === undefined || a.length === 0) return b;
  const t = new FailureTally();
  t.addGroups(a);
  t.addGroups(b);
  return t.groupsNow();
}

/** `a` less `b`'s counts per code (what a run added to rows counted earlier); samples of `a` kept. */
export function subtractFailures(
  a: FailureGroups | undefined,
  b: FailureGroups | undefined,
): FailureGroups | undefined {
  if (a === undefined || b === undefined || b.length === 0) return a;
  const less = new Map(b.map((g) => [g.code, g.count]));
  return a
    .map((g) => ({ ...g, count: g.count - (less.get(g.code) ?? 0) }))
    .filter((g) => g.count > 0)
    .sort(byCountThenCode);
}

/** A manifest key decoded for display (`+` is a space, docs/manifests.md#url-encoding); the raw text if it does not decode. */
export function decodedKey(rawKey: string): string {
  if (!rawKey.includes('%') && !rawKey.includes('+')) return rawKey;
  try {
    return decodeURIComponent(rawKey.replaceAll('+', ' '));
  } catch {
    return rawKey;
  }
}
