/**
 * The job store's indexes, shared by the memory store and the lowdb store: they hold a small key
 * per job (id, account, creation time, status, end time, and what the web page's search and sort
 * look at: priority, description, tags), never the record, so that no request reads every job and
 * a store can keep its ended jobs on disk:
 * - per account, the keys in ListJobs' order (`accountIds`, `accountSummaries`), each with its
 *   status (ListJobs' status filter needs no record) and its search fields (the web query,
 *   api/rest/job-list-query.ts, filters and sorts on them and reads only the records it returns);
 * - per status, the job ids (`withStatus`, `counts`: the scheduler, start-up and /metrics);
 * - the ended jobs by end time (`endedBefore`: retention).
 */
import { newestFirst, type JobRecord } from '../domain/job.ts';
import { isTerminal, type JobStatus } from '../domain/job-status.ts';
import { jobFingerprint } from './job-fingerprint.ts';
import type { S3Tag } from '../domain/job-spec.ts';

/** What the web query (search and sort) reads of a job: no record needed. */
export interface JobSummary {
  readonly id: string;
  readonly creationTime: string;
  readonly status: JobStatus;
  readonly priority: number;
  /** The request's Description. */
  readonly description: string | undefined;
  /** The job's current tags (the record's array itself: records are replaced, never changed in place). */
  readonly tags: readonly S3Tag[];
}

/** What the indexes know of a job. */
export interface IndexedJob extends JobSummary {
  readonly accountId: string;
  /** When an ended job ended (ms since the epoch); undefined while it is live or when unknown. */
  readonly endedMs: number | undefined;
  /** The duplicate fingerprint (storage/job-fingerprint.ts); undefined for an archived job of an older s3batch. */
  readonly fingerprint?: string | undefined;
}

/** A job whose fingerprint matches: what the duplicate check needs, from the index. */
export interface FingerprintMatch {
  readonly id: string;
  readonly creationTime: string;
  readonly status: JobStatus;
  readonly endedMs: number | undefined;
}

/**
 * When the job ended, for retention (docs/job-lifecycle.md#job-retention): its TerminationDate, or
 * else its last status change; undefined for a live job or a time that does not parse (never expires).
 */
export function endedMs(job: Pick<JobRecord, 'status' | 'terminationDate' | 'history'>): number | undefined {
  if (!isTerminal(job.status)) return undefined;
  const ended = job.terminationDate ?? job.history?.[job.history.length - 1]?.at;
  if (ended === undefined) return undefined;
  const ms = Date.parse(ended);
  return Number.isNaN(ms) ? undefined : ms;
}

export function indexedJob(job: JobRecord): IndexedJob {
  return {
    id: job.id,
    accountId: job.accountId,
    creationTime: job.creationTime,
    status: job.status,
    priority: job.priority,
    description: job.request.Description,
    tags: job.tags,
    endedMs: endedMs(job),
    // Records written before fingerprints existed get theirs computed once, here.
    fingerprint: job.fingerprint ?? jobFingerprint(job.accountId, job.request),
  };
}

/** The indexes' key of a job (mutable: a change of status, priority, description or tags updates it in place). */
interface Key {
  readonly id: string;
  readonly accountId: string;
  readonly creationTime: string;
  status: JobStatus;
  priority: number;
  description: string | undefined;
  tags: readonly S3Tag[];
  endedMs: number | undefined;
  readonly fingerprint: string | undefined;
}

type OrderKey = Pick<JobRecord, 'creationTime' | 'id'>;

/**
 * The account index's order: the reverse of ListJobs' (oldest first), so that a new job, the
 * newest, is appended at the end; ListJobs walks the array backwards.
 */
const oldestFirst = (a: OrderKey, b: OrderKey): number => newestFirst(b, a);

/** The end-time index's order: ended first, then by id. */
const endedFirst = (a: Key, b: Key): number => a.endedMs! - b.endedMs! || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** First index of `keys` (sorted by `order`) whose key is not before `k`. */
function lowerBound<K, T>(keys: readonly K[], k: T, order: (a: K, b: T) => number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (order(keys[mid]!, k) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Inserts `key` in order: the common case, a key after every other one, is an append. */
function insertSorted<K>(keys: K[], key: K, order: (a: K, b: K) => number): void {
  const last = keys[keys.length - 1];
  if (last === undefined || order(last, key) < 0) keys.push(key);
  else keys.splice(lowerBound(keys, key, order), 0, key);
}

function removeSorted<K>(keys: K[], key: K, order: (a: K, b: K) => number): void {
  const i = lowerBound(keys, key, order);
  if (keys[i] === key) keys.splice(i, 1);
}

export class JobIndex {
  private readonly keys = new Map<string, Key>();
  private readonly byAccount = new Map<string, Key[]>();
  private readonly byStatus = new Map<JobStatus, Set<string>>();
  private readonly byEnd: Key[] = [];
  private readonly byFingerprint = new Map<string, Set<Key>>();

  get size(): number {
    return this.keys.size;
  }

  has(id: string): boolean {
    return this.keys.has(id);
  }

  /** The status the index holds for the job. */
  statusOf(id: string): JobStatus | undefined {
    return this.keys.get(id)?.status;
  }

  /** Adds the job or brings its key up to date. */
  set(job: IndexedJob): void {
    const before = this.keys.get(job.id);
    if (before && before.accountId === job.accountId && before.creationTime === job.creationTime) {
      if (before.status !== job.status) {
        this.byStatus.get(before.status)?.delete(job.id);
        this.statusSet(job.status).add(job.id);
        before.status = job.status;
      }
      before.priority = job.priority;
      before.description = job.description;
      before.tags = job.tags;
      if (before.endedMs !== job.endedMs) {
        if (before.endedMs !== undefined) removeSorted(this.byEnd, before, endedFirst);
        before.endedMs = job.endedMs;
        if (before.endedMs !== undefined) insertSorted(this.byEnd, before, endedFirst);
      }
      return;
    }
    if (before) this.delete(job.id);
    const key: Key = {
      id: job.id,
      accountId: job.accountId,
      creationTime: job.creationTime,
      status: job.status,
      priority: job.priority,
      description: job.description,
      tags: job.tags,
      endedMs: job.endedMs,
      fingerprint: job.fingerprint,
    };
    this.keys.set(job.id, key);
    if (key.fingerprint !== undefined) {
      let same = this.byFingerprint.get(key.fingerprint);
      if (!same) {
        same = new Set();
        this.byFingerprint.set(key.fingerprint, same);
      }
      same.add(key);
    }
    insertSorted(this.accountKeys(job.accountId), key, oldestFirst);
    this.statusSet(job.status).add(job.id);
    if (key.endedMs !== undefined) insertSorted(this.byEnd, key, endedFirst);
  }

  delete(id: string): void {
    const key = this.keys.get(id);
    if (!key) return;
    this.keys.delete(id);
    const keys = this.byAccount.get(key.accountId);
    if (keys) {
      removeSorted(keys, key, oldestFirst);
      if (keys.length === 0) this.byAccount.delete(key.accountId);
    }
    this.byStatus.get(key.status)?.delete(id);
    if (key.endedMs !== undefined) removeSorted(this.byEnd, key, endedFirst);
    if (key.fingerprint !== undefined) {
      const same = this.byFingerprint.get(key.fingerprint);
      same?.delete(key);
      if (same?.size === 0) this.byFingerprint.delete(key.fingerprint);
    }
  }

  /** The jobs with this fingerprint (the duplicate check): O(those jobs). The keys are the index's own. */
  withFingerprint(fingerprint: string): FingerprintMatch[] {
    return [...(this.byFingerprint.get(fingerprint) ?? [])];
  }

  /**
   * An account's job ids newest first, from the first one after `after` (exclusive; a position, not
   * necessarily a stored job), only those in `statuses` when given: O(log n) to start, then one
   * step per job of the account.
   */
  *accountIds(accountId: string, after?: OrderKey, statuses?: ReadonlySet<JobStatus>): Generator<string> {
    const keys = this.byAccount.get(accountId);
    if (!keys) return;
    // Newest first = backwards; after a cursor: from the last key before it (in oldest-first order).
    for (let i = (after === undefined ? keys.length : lowerBound(keys, after, oldestFirst)) - 1; i >= 0; i--) {
      const key = keys[i]!;
      if (statuses === undefined || statuses.has(key.status)) yield key.id;
    }
  }

  /**
   * An account's jobs' summaries newest first (ListJobs' order), only those in `statuses` when
   * given: one step per job of the account, no record read. The summaries are the index's own
   * (read them before the next change of the store).
   */
  *accountSummaries(accountId: string, statuses?: ReadonlySet<JobStatus>): Generator<JobSummary> {
    const keys = this.byAccount.get(accountId);
    if (!keys) return;
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      if (statuses === undefined || statuses.has(key.status)) yield key;
    }
  }

  /** The ids of the jobs in one of `statuses`: O(those jobs). */
  withStatus(statuses: Iterable<JobStatus>): string[] {
    const out: string[] = [];
    for (const status of new Set(statuses)) for (const id of this.byStatus.get(status) ?? []) out.push(id);
    return out;
  }

  /** Number of jobs per status (statuses with no job absent): O(statuses). */
  counts(): ReadonlyMap<JobStatus, number> {
    const counts = new Map<JobStatus, number>();
    for (const [status, ids] of this.byStatus) if (ids.size > 0) counts.set(status, ids.size);
    return counts;
  }

  /** The ids of the ended jobs that ended before `ms`, the earliest first: O(those jobs). */
  endedBefore(ms: number): string[] {
    const out: string[] = [];
    for (const key of this.byEnd) {
      if (key.endedMs! >= ms) break;
      out.push(key.id);
    }
    return out;
  }

  private accountKeys(accountId: string): Key[] {
    let keys = this.byAccount.get(accountId);
    if (!keys) {
      keys = [];
      this.byAccount.set(accountId, keys);
    }
    return keys;
  }

  private statusSet(status: JobStatus): Set<string> {
    let ids = this.byStatus.get(status);
    if (!ids) {
      ids = new Set();
      this.byStatus.set(status, ids);
    }
    return ids;
  }
}
