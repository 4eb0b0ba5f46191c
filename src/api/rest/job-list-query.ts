/**
 * The web page's additions to `GET /api/v1/jobs`: `search` (job id, description, tag key or value;
 * case-insensitive substring), `sort=created|priority` and `order=desc|asc`, each item then
 * carrying the job's `Tags`. Without these parameters the route answers ListJobs as before.
 *
 * A query reads every job of the account (through ListJobs pages, so status filters and views stay
 * the service's), filters and sorts them, and pages by position: its NextToken is the offset of
 * the next item as a decimal string, meaningful only with the same query. The job list of an
 * account is bounded by the retention period, so holding its descriptors is fine here; no object
 * of any job is read.
 */
import { S3BatchError } from '../../domain/errors.ts';
import type { S3Tag } from '../../domain/job-spec.ts';
import { MAX_PAGE_SIZE, pageSize } from '../../domain/list-page.ts';
import type { BatchService, JobListDescriptor } from '../../service/batch-service.ts';

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
  const matching: TaggedJobListDescriptor[] = [];
  for (const job of allJobs(service, accountId, page.jobStatuses)) {
    let tags: S3Tag[];
    try {
      tags = [...service.getJob(accountId, job.JobId).tags];
    } catch {
      continue; // removed (retention) between the listing and now
    }
    const item = { ...job, Tags: tags };
    if (query.search === undefined || matches(item, query.search)) matching.push(item);
  }
  matching.sort(comparator(query));
  const Jobs = matching.slice(offset, offset + size);
  const next = offset + Jobs.length;
  return { Jobs, ...(next < matching.length ? { NextToken: String(next) } : {}) };
}

function* allJobs(
  service: BatchService,
  accountId: string,
  jobStatuses: readonly string[],
): Generator<JobListDescriptor> {
  let nextToken: string | undefined;
  do {
    const out = service.listJobs(accountId, {
      jobStatuses,
      maxResults: MAX_PAGE_SIZE,
      ...(nextToken !== undefined ? { nextToken } : {}),
    });
    yield* out.Jobs;
    nextToken = out.NextToken;
  } while (nextToken !== undefined);
}

function matches(job: TaggedJobListDescriptor, needle: string): boolean {
  const has = (s: string | undefined): boolean => s?.toLowerCase().includes(needle) ?? false;
  return has(job.JobId) || has(job.Description) || job.Tags.some((t) => has(t.Key) || has(t.Value));
}

/** Newest first breaks ties (and is the whole order of sort=created&order=desc, as ListJobs). */
function comparator(query: JobListQuery): (a: JobListDescriptor, b: JobListDescriptor) => number {
  const newestFirst = (a: JobListDescriptor, b: JobListDescriptor): number =>
    b.CreationTime.localeCompare(a.CreationTime) || a.JobId.localeCompare(b.JobId);
  const sign = query.order === 'asc' ? -1 : 1;
  if (query.sort === 'created') return (a, b) => sign * newestFirst(a, b);
  return (a, b) => sign * (b.Priority - a.Priority) || newestFirst(a, b);
}
