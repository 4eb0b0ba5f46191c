/**
 * ListJobs' page size, one rule for every edge (S3 Control query, JSON API query, the service):
 * `maxResults` is an integer from 0 to 1000 (docs/s3control-api.md#pagination), refused with InvalidRequestException
 * otherwise. Pure: no I/O.
 */
import { S3BatchError } from './errors.ts';

/** The largest page, and the page an absent or 0 maxResults gets. */
export const MAX_PAGE_SIZE = 1000;

function refuse(): never {
  throw new S3BatchError('InvalidRequestException', `maxResults must be an integer from 0 to ${MAX_PAGE_SIZE}`);
}

/** A `maxResults` query parameter as received (digits only); undefined when it was not given. */
export function parseMaxResults(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) refuse();
  const value = Number(text);
  pageSize(value); // refuses a value past the largest page
  return value;
}

/**
 * The number of jobs a page holds for `maxResults`. 0 (allowed by the model, its meaning
 * undocumented) is the default page like an absent value: an empty page without a NextToken would
 * end every client's NextToken loop having listed nothing.
 */
export function pageSize(maxResults: number | undefined): number {
  const max = maxResults ?? MAX_PAGE_SIZE;
  if (!Number.isInteger(max) || max < 0 || max > MAX_PAGE_SIZE) refuse();
  return max === 0 ? MAX_PAGE_SIZE : max;
}
