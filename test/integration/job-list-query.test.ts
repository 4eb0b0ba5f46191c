/**
 * GET /api/v1/jobs with the web page's parameters (src/api/rest/job-list-query.ts), on the real
 * server (a subprocess on s3rver) through the JSON API: `search` over job id, description, tag
 * key and value (any case), `sort=created|priority` with `order`, combined with the status filter,
 * each item with its Tags, position paging, and 400s for bad values. Without these parameters the
 * answer is ListJobs' as before (no Tags).
 *
 * The jobs read a manifest that does not exist: they fail in Preparing, which is all a listing needs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, JsonApi } from '../helpers/json-api.ts';
import { jobRequest } from '../helpers/jobs.ts';
import { requireS3rver } from '../helpers/provided.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

interface Item {
  JobId: string;
  Priority: number;
  Description?: string;
  Tags?: { Key: string; Value: string }[];
}
interface Page {
  Jobs: Item[];
  NextToken?: string;
}

let server: ServerProcess;
let api: JsonApi;
/** In creation order, oldest first. */
const ids: string[] = [];

const SPECS = [
  { Description: 'Nightly tagging of logs', Priority: 5, Tags: [{ Key: 'team', Value: 'Alpha' }] },
  { Description: 'copy photos', Priority: 50, Tags: [{ Key: 'cost-centre', Value: 'media' }] },
  { Description: 'restore archive', Priority: 5, Tags: [] },
  { Priority: 1, Tags: [{ Key: 'team', Value: 'beta' }] },
];

const list = (query: string): Promise<Page> => api.call<Page>('GET', `/jobs${query}`);
const idsOf = (p: Page): string[] => p.Jobs.map((j) => j.JobId);

beforeAll(async () => {
  const s3rver = requireS3rver();
  server = await startServerProcess({ s3: s3rver });
  api = new JsonApi(server.url);
  for (const spec of SPECS) {
    const req = jobRequest({
      manifestBucket: 'no-such-bucket-web',
      manifestKey: 'm.csv',
      etag: 'x',
      operation: { S3PutObjectTagging: { TagSet: [] } },
      reportBucket: 'no-such-bucket-web',
      priority: spec.Priority,
      confirmationRequired: false,
      // Jobs that fail in Preparing: CreateJob's access check is skipped.
      extra: { ...spec, SkipAccessCheck: true },
    });
    ids.push((await api.createJob(req)).JobId);
    await new Promise((r) => setTimeout(r, 5)); // distinct creation times (milliseconds)
  }
  for (const id of ids) await api.waitFor(id, 'Failed');
});

afterAll(async () => {
  await server?.kill('SIGTERM');
});

describe('GET /api/v1/jobs search, sort and order', () => {
  it('without them answers as before: newest first, no Tags', async () => {
    const out = await list('');
    expect(idsOf(out)).toEqual([...ids].reverse());
    expect(out.Jobs.every((j) => j.Tags === undefined)).toBe(true);
  });

  it('each item carries its Tags once any of them is given', async () => {
    const out = await list('?sort=created');
    expect(idsOf(out)).toEqual([...ids].reverse());
    expect(out.Jobs.find((j) => j.JobId === ids[0])?.Tags).toEqual([{ Key: 'team', Value: 'Alpha' }]);
    expect(out.Jobs.find((j) => j.JobId === ids[2])?.Tags).toEqual([]);
  });

  it('search matches the job id, the description, a tag key or value, in any case', async () => {
    expect(idsOf(await list(`?search=${ids[2]!.toUpperCase().slice(0, 18)}`))).toEqual([ids[2]]);
    expect(idsOf(await list('?search=PHOTOS'))).toEqual([ids[1]]);
    expect(idsOf(await list('?search=cost-CENTRE'))).toEqual([ids[1]]);
    expect(idsOf(await list('?search=alpha'))).toEqual([ids[0]]);
    expect(idsOf(await list('?search=team'))).toEqual([ids[3], ids[0]]);
    expect(idsOf(await list('?search=%20%20logs%20'))).toEqual([ids[0]]); // trimmed
    expect(idsOf(await list('?search=nothing-like-this'))).toEqual([]);
  });

  it('sorts by priority or creation, either way; equal priorities newest first', async () => {
    expect(idsOf(await list('?sort=priority'))).toEqual([ids[1], ids[2], ids[0], ids[3]]);
    expect(idsOf(await list('?sort=priority&order=asc'))).toEqual([ids[3], ids[2], ids[0], ids[1]]);
    expect(idsOf(await list('?sort=created&order=asc'))).toEqual(ids);
    expect(idsOf(await list('?order=desc'))).toEqual([...ids].reverse());
  });

  it('combines with the status filter', async () => {
    expect(idsOf(await list('?status=Failed&search=team&sort=priority'))).toEqual([ids[0], ids[3]]);
    expect(idsOf(await list('?status=Active&search=team'))).toEqual([]);
  });

  it('pages by position with maxResults and NextToken', async () => {
    const first = await list('?sort=priority&maxResults=3');
    expect(idsOf(first)).toEqual([ids[1], ids[2], ids[0]]);
    expect(first.NextToken).toBe('3');
    const second = await list(`?sort=priority&maxResults=3&nextToken=${first.NextToken}`);
    expect(idsOf(second)).toEqual([ids[3]]);
    expect(second.NextToken).toBeUndefined();
  });

  it.each([
    ['?sort=size', 'InvalidRequestException'],
    ['?order=up', 'InvalidRequestException'],
    ['?search=a&search=b', 'InvalidRequestException'],
    [`?search=${'x'.repeat(257)}`, 'InvalidRequestException'],
    ['?sort=created&maxResults=1001', 'InvalidRequestException'],
    ['?sort=created&nextToken=abc', 'InvalidNextTokenException'],
    ['?sort=created&status=Nope', 'InvalidRequestException'],
  ])('%s is 400 %s', async (query, code) => {
    const err = await list(query).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, code });
  });
});
