/**
 * The web page's additions to `GET /api/v1/jobs`: `search` (job id, description, tag key or value;
 * case-insensitive substring), `sort=created|priority` and `order=desc|asc`, each item then
 * carrying the job's `Tags`. Without these parameters the route answers ListJobs as before.
 *
 * A query filters and sorts the account's jobs on the store's index (storage/job-index.ts: id,
 * creation time, status, priority, description and tags of every job, in ListJobs' order, status
 * filter included), and reads the records of only the jobs of the page it returns: an ended job's
 * record is on disk (docs/job-lifecycle.md#job-store), and no other is read. It pages by position:
 * its NextToken is the offset of the next item as a decimal string, meaningful only with the same
 * query. No object of any job is read.
 */
import { S3BatchError } from '../../domain/errors.ts';
import type { S3Tag } from '../../domain/job-spec.ts';
import { pageSize } from '../../domain/list-page.ts';
import type { BatchService, JobListDescriptor } from '../../service/batch-service.ts';
import type { JobSummary } from '../../storage/job-index.ts';

export interface JobListQuery {
  /** Lower-cased search text; absent: no text filter. */
  readonly search?: string;
  readonly sort: 'created' | 'priority';
  readonly order: 'asc' | 'desc';
}

export type TaggedJobListDescriptor = JobListDescriptor & { Tags: S3Tag[] };

const MAX_SEARCH = 256;

/** The query parameters as a JobListQuery, or undefined when none of them is present (plain ListJobs). */
export function parseJobListQuery(q: { search?: unknown; sort?: unknown; order?: unknown }): JobListQuery | undefined {
  if (q.search === undefined && q.sort === undefined && q.order === undefined) return undefined;
  const one = (name: string, v: unknown): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new S3BatchError('InvalidRequestException', `${name} must be given once`);
    return v;
  };
  const search = one('search', q.search)?.trim();
  if (search !== undefined && search.length > MAX_SEARCH) {
    throw new S3BatchError('InvalidRequestException', `search must be at most ${MAX_SEARCH} characters long`);
  }
  const sort = one('sort', q.sort) ?? 'created';
  if (sort !== 'created' && sort !== 'priority')
    throw new S3BatchError('InvalidRequestException', 'sort must be created or priority');
  const order = one('order', q.order) ?? 'desc';
  if (order !== 'asc' && order !== 'desc')
    throw new S3BatchError('InvalidRequestException', 'order must be desc or asc');
  return { ...(search ? { search: search.toLowerCase() } : {}), sort, order };
}

export interface QueryPage {
  readonly jobStatuses: readonly string[];
  readonly nextToken?: string;
  readonly maxResults?: number;
}

/** One page of the account's jobs matching the query, sorted, each with its Tags. */
export function queryJobs(
  service: BatchService,
  accountId: string,
  query: JobListQuery,
  page: QueryPage,
): { Jobs: TaggedJobListDescriptor[]; NextToken?: string } {
  const size = pageSize(page.maxResults);
  let offset = 0;
  if (page.nextToken !== undefined) {
    if (!/^\d{1,9}$/.test(page.nextToken))
      throw new S3BatchError(
        'InvalidNextTokenException',
        'The nextToken of a search or sorted listing is the position it returned',
      );
    offset = Number(page.nextToken);
  }
  // The index's summaries, newest first (ListJobs' order): sorting them is then cheap (already in
  // order for sort=created, reversed for order=asc, ties in order for sort=priority).
  const matching: JobSummary[] = [];
  for (const job of service.jobSummaries(accountId, page.jobStatuses)) {
    if (query.search === undefined || matches(job, query.search)) matching.push(job);
  }
  matching.sort(comparator(query));
  // Only the page's records are read (the index and the records change together, synchronously).
  const Jobs = matching.slice(offset, offset + size).map((job) => service.listItem(accountId, job.id));
  const next = offset + Jobs.length;
  return { Jobs, ...(next < matching.length ? { NextToken: String(next) } : {}) };
}

function matches(job: JobSummary, needle: string): boolean {
  const has = (s: string | undefined): boolean => s?.toLowerCase().includes(needle) ?? false;
  return has(job.id) || has(job.description) || job.tags.some((t) => has(t.Key) || has(t.Value));
}

/** Newest first breaks ties (and is the whole order of sort=created&order=desc, as ListJobs). */
function comparator(query: JobListQuery): (a: JobSummary, b: JobSummary) => number {
  const newestFirst = (a: JobSummary, b: JobSummary): number =>
    b.creationTime.localeCompare(a.creationTime) || a.id.localeCompare(b.id);
  const sign = query.order === 'asc' ? -1 : 1;
  if (query.sort === 'created') return (a, b) => sign * newestFirst(a, b);
  return (a, b) => sign * (b.priority - a.priority) || newestFirst(a, b);
}
