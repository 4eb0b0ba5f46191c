/**
 * The web query (GET /api/v1/jobs?search=&sort=&order=, src/api/rest/job-list-query.ts) over many
 * archived jobs, on the real server (a subprocess on s3rver): a version-1 jobs.json of 3,000 ended
 * jobs is migrated to the archive by the first start, the server is restarted (the archive's
 * headers are then all the index has), and a search, sorted and paged, returns the right page with
 * each job's Description, Priority and Tags, as computed here from the seeded jobs.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../src/domain/job.ts';
import { JobStatus } from '../../src/domain/job-status.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { storedJob } from '../helpers/job-records.ts';
import { requireS3rver } from '../helpers/provided.ts';
import { startServerProcess, TEST_API_KEY, tempDataDir, type ServerProcess } from '../helpers/server-process.ts';

interface Item {
  JobId: string;
  Status: string;
  Priority: number;
  Description?: string;
  Tags?: { Key: string; Value: string }[];
}
interface Page {
  Jobs: Item[];
  NextToken?: string;
}

const JOBS = 3000;
let server: ServerProcess | undefined;
let api: JsonApi;
let dataDir: string;
const jobs: JobRecord[] = [];

beforeAll(async () => {
  const s3 = requireS3rver();
  dataDir = tempDataDir('s3batch-webquery-archive-');
  const t0 = Date.UTC(2026, 10, 1);
  for (let i = 0; i < JOBS; i++) {
    const creationTime = new Date(t0 + i * 1000).toISOString();
    const base = storedJob(`a${String(i).padStart(5, '0')}-0000-4000-8000-000000000000`, {
      accountId: TEST_API_KEY.accountId,
      creationTime,
      priority: (i * 7) % 5,
      status: i % 3 === 0 ? JobStatus.Failed : JobStatus.Complete,
      terminationDate: new Date(Date.now() - 3_600_000).toISOString(),
    });
    jobs.push({
      ...base,
      request: { ...base.request, Description: i % 10 === 0 ? `Nightly Needle run ${i}` : `batch ${i}` },
      tags: i % 25 === 0 ? [{ Key: 'Project', Value: `NEEDLE-${i}` }] : [{ Key: 'project', Value: 'hay' }],
    });
  }
  writeFileSync(
    path.join(dataDir, 'jobs.json'),
    JSON.stringify({ version: 1, jobs: Object.fromEntries(jobs.map((j) => [j.id, j])), tokens: {} }),
  );
  // The first start migrates the ended jobs to the archive; the second opens the archive as it is.
  server = await startServerProcess({ s3, dataDir });
  await server.kill('SIGTERM');
  server = await startServerProcess({ s3, dataDir });
  api = new JsonApi(server.url);
}, 120_000);

afterAll(async () => {
  await server?.kill('SIGTERM');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** What the query must answer: matching jobs, priority ascending, ties newest first. */
function expected(match: (j: JobRecord) => boolean): JobRecord[] {
  return jobs
    .filter(match)
    .sort(
      (a, b) => a.priority - b.priority || b.creationTime.localeCompare(a.creationTime) || a.id.localeCompare(b.id),
    );
}
const needle = (j: JobRecord): boolean =>
  (j.request.Description ?? '').toLowerCase().includes('needle') ||
  j.tags.some((t) => `${t.Key}`.toLowerCase().includes('needle') || t.Value.toLowerCase().includes('needle'));

describe('the web query over archived jobs (real server)', () => {
  it('keeps the ended jobs in the archive, not in jobs.json', () => {
    const live = JSON.parse(readFileSync(path.join(dataDir, 'jobs.json'), 'utf8')) as { jobs: object };
    expect(Object.keys(live.jobs)).toEqual([]);
    const lines = readFileSync(path.join(dataDir, 'jobs.archive.jsonl'), 'utf8').trimEnd().split('\n');
    expect(lines.length).toBe(JOBS + 1);
  });

  it('returns the right page of a search sorted by priority, with Description, Priority and Tags', async () => {
    const want = expected(needle);
    expect(want.length).toBe(JOBS / 10 + JOBS / 50); // descriptions every 10th, tags every 25th and not every 10th
    const page = await api.call<Page>('GET', '/jobs?search=NEEDLE&sort=priority&order=asc&maxResults=25&nextToken=50');
    expect(page.Jobs.map((j) => j.JobId)).toEqual(want.slice(50, 75).map((j) => j.id));
    expect(page.NextToken).toBe('75');
    for (const item of page.Jobs) {
      const job = jobs.find((j) => j.id === item.JobId)!;
      expect(item.Description).toBe(job.request.Description);
      expect(item.Priority).toBe(job.priority);
      expect(item.Status).toBe(job.status);
      expect(item.Tags).toEqual(job.tags);
    }
    const lastPage = await api.call<Page>(
      'GET',
      `/jobs?search=needle&sort=priority&order=asc&maxResults=1000&nextToken=${want.length - 3}`,
    );
    expect(lastPage.Jobs.map((j) => j.JobId)).toEqual(want.slice(-3).map((j) => j.id));
    expect(lastPage.NextToken).toBeUndefined();
  });

  it('combines the search with the status filter and sort=created', async () => {
    const want = jobs
      .filter((j) => needle(j) && j.status === JobStatus.Failed)
      .sort((a, b) => b.creationTime.localeCompare(a.creationTime));
    const page = await api.call<Page>('GET', '/jobs?search=needle&status=Failed&sort=created&maxResults=40');
    expect(page.Jobs.map((j) => j.JobId)).toEqual(want.slice(0, 40).map((j) => j.id));
  });
});
