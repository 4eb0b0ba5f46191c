/**
 * The web query (src/api/rest/job-list-query.ts) on the store's index: over random jobs on a real
 * lowdb store folder (live file and archive), it answers every search, sort, order, status filter
 * and page exactly as the full walk it replaced (every job through ListJobs pages and getJob, kept
 * below as the reference), after changes of tags, priority, description and status, removals, a
 * compaction of the archive, a reopen of the folder, a version-1 jobs.json migration and an archive
 * whose headers predate the search fields (rewritten by the open); and it reads the records of the
 * returned page only.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../src/domain/job.ts';
import { JobStatus } from '../../src/domain/job-status.ts';
import type { S3Tag } from '../../src/domain/job-spec.ts';
import { MAX_PAGE_SIZE, pageSize } from '../../src/domain/list-page.ts';
import {
  type JobListQuery,
  parseJobListQuery,
  type QueryPage,
  queryJobs,
  type TaggedJobListDescriptor,
} from '../../src/api/rest/job-list-query.ts';
import type { BatchService } from '../../src/service/batch-service.ts';
import { archivePathOf, LowdbJobStore } from '../../src/storage/lowdb-job-store.ts';
import { MemoryObjectStore } from '../../src/storage/memory-object-store.ts';
import { newTestEngine, stopTestEngines } from '../helpers/engine-harness.ts';
import { storedJob } from '../helpers/job-records.ts';

const A = '111122223333';
const B = '444455556666';

/** The query as it was before the index kept the search fields: every job of the account, read. */
function fullWalk(service: BatchService, accountId: string, query: JobListQuery, page: QueryPage) {
  const size = pageSize(page.maxResults);
  const offset = page.nextToken === undefined ? 0 : Number(page.nextToken);
  const matching: TaggedJobListDescriptor[] = [];
  let nextToken: string | undefined;
  do {
    const out = service.listJobs(accountId, {
      jobStatuses: page.jobStatuses,
      maxResults: MAX_PAGE_SIZE,
      ...(nextToken !== undefined ? { nextToken } : {}),
    });
    for (const job of out.Jobs) {
      const item = { ...job, Tags: [...service.getJob(accountId, job.JobId).tags] };
      const has = (s: string | undefined): boolean => s?.toLowerCase().includes(query.search!) ?? false;
      if (
        query.search === undefined ||
        has(item.JobId) ||
        has(item.Description) ||
        item.Tags.some((t) => has(t.Key) || has(t.Value))
      )
        matching.push(item);
    }
    nextToken = out.NextToken;
  } while (nextToken !== undefined);
  const newestFirst = (a: TaggedJobListDescriptor, b: TaggedJobListDescriptor): number =>
    b.CreationTime.localeCompare(a.CreationTime) || a.JobId.localeCompare(b.JobId);
  const sign = query.order === 'asc' ? -1 : 1;
  matching.sort(
    query.sort === 'created'
      ? (a, b) => sign * newestFirst(a, b)
      : (a, b) => sign * (b.Priority - a.Priority) || newestFirst(a, b),
  );
  const Jobs = matching.slice(offset, offset + size);
  const next = offset + Jobs.length;
  return { Jobs, ...(next < matching.length ? { NextToken: String(next) } : {}) };
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['Nightly', 'logs', 'photos', 'ALPHA', 'beta', 'team', 'Cost-Centre', 'archive', 'Ärger', 'x'];
const ENDED = [JobStatus.Complete, JobStatus.Failed, JobStatus.Cancelled];
const LIVE = [JobStatus.Suspended, JobStatus.Paused];
const at = (s: number): string => new Date(Date.UTC(2025, 0, 1, 0, 0, s)).toISOString();

let random: () => number;
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const tagsOf = (): S3Tag[] => {
  const keys = new Set<string>();
  const n = Math.floor(random() * 3);
  while (keys.size < n) keys.add(`${pick(WORDS)}${keys.size}`);
  return [...keys].map((Key) => ({ Key, Value: pick(WORDS) }));
};
const descriptionOf = (): string | undefined =>
  random() < 0.2 ? undefined : `${pick(WORDS)} ${pick(WORDS)} ${Math.floor(random() * 100)}`;

function randomJob(i: number): JobRecord {
  const base = storedJob(`job-${String(i).padStart(4, '0')}-${Math.floor(random() * 1e6).toString(16)}`, {
    accountId: random() < 0.8 ? A : B,
    creationTime: at(Math.floor(random() * 40)), // ties by creation time happen
    priority: Math.floor(random() * 4) * 5,
    status: random() < 0.7 ? pick(ENDED) : pick(LIVE),
  });
  const Description = descriptionOf();
  return {
    ...base,
    tags: tagsOf(),
    request: { ...base.request, ...(Description !== undefined ? { Description } : {}) },
  };
}

/** A random change of a job, as the service and the engine make them (a new record saved). */
function change(job: JobRecord): JobRecord {
  const r = random();
  if (r < 0.3) return { ...job, tags: tagsOf() };
  if (r < 0.5) return { ...job, priority: Math.floor(random() * 4) * 5 };
  if (r < 0.65) {
    const { Description: _, ...request } = job.request;
    const d = descriptionOf();
    return { ...job, request: { ...request, ...(d !== undefined ? { Description: d } : {}) } };
  }
  return { ...job, status: pick([...ENDED, ...LIVE]) };
}

const QUERIES: Record<string, unknown>[] = [
  { sort: 'created' },
  { sort: 'created', order: 'asc' },
  { sort: 'priority' },
  { sort: 'priority', order: 'asc' },
  { search: 'team' },
  { search: 'ALPHA', sort: 'priority' },
  { search: ' cost-centre ', order: 'asc' },
  { search: 'ärger' },
  { search: 'job-00' },
  { search: '1', sort: 'priority', order: 'asc' },
  { search: 'nothing-like-this' },
];
const STATUS_FILTERS: string[][] = [[], [JobStatus.Complete], [JobStatus.Failed, JobStatus.Suspended]];

/** Every query, status filter and page size, paged to the end, against the full walk. */
function expectSameAnswers(service: BatchService): number {
  let compared = 0;
  for (const account of [A, B])
    for (const q of QUERIES)
      for (const jobStatuses of STATUS_FILTERS)
        for (const maxResults of [7, 1000]) {
          const query = parseJobListQuery(q)!;
          let nextToken: string | undefined;
          do {
            const page = { jobStatuses, maxResults, ...(nextToken !== undefined ? { nextToken } : {}) };
            const got = queryJobs(service, account, query, page);
            expect(got).toEqual(fullWalk(service, account, query, page));
            compared += got.Jobs.length;
            nextToken = got.NextToken;
          } while (nextToken !== undefined);
        }
  return compared;
}

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3batch-webquery-'));
  file = join(dir, 'jobs.json');
});

afterEach(async () => {
  await stopTestEngines();
  await rm(dir, { recursive: true, force: true });
});

function serviceOn(store: LowdbJobStore): BatchService {
  return newTestEngine({
    store,
    objects: new MemoryObjectStore(),
    handler: { execute: async () => ({ status: 'succeeded', resultCode: '200', resultString: '' }) } as never,
  }).service;
}

describe('the web query on the index', () => {
  it('answers as the full walk over random jobs, changes, removals and a reopen of the folder', async () => {
    random = prng(13);
    let store = await LowdbJobStore.open(file, { batchMs: 1 });
    let service = serviceOn(store);
    const jobs = Array.from({ length: 160 }, (_, i) => randomJob(i));
    for (const job of jobs) store.save(job);
    await store.flush();
    expect(expectSameAnswers(service)).toBeGreaterThan(0);
    for (let round = 0; round < 3; round++) {
      for (let k = 0; k < 40; k++) {
        const job = store.get(pick(jobs).id);
        if (!job) continue;
        if (random() < 0.1) store.remove(job.id);
        else store.save(change(job));
      }
      // Tags through the service too (PutJobTagging, DeleteJobTagging), on archived jobs.
      for (const job of [...store.accountJobs(A, undefined, ENDED)].slice(0, 3)) {
        service.putJobTagging(A, job.id, [{ Key: 'Team', Value: `round-${round}` }]);
      }
      const last = [...store.accountJobs(A, undefined, ENDED)][3];
      if (last) service.deleteJobTagging(A, last.id);
      expectSameAnswers(service);
      await store.flush();
      expectSameAnswers(service);
      if (round === 1) {
        // Compaction moves the archived lines: the entries stay, the page's records are read from the new file.
        await store.compactNow();
        expect(store.compactions).toBe(1);
        expectSameAnswers(service);
      }
      await store.close();
      await stopTestEngines();
      store = await LowdbJobStore.open(file, { batchMs: 1 });
      service = serviceOn(store);
      expectSameAnswers(service);
    }
    await store.close();
  });

  it('reads the records of the returned page only', async () => {
    random = prng(5);
    const seed = await LowdbJobStore.open(file, { batchMs: 1 });
    for (let i = 0; i < 120; i++) seed.save(randomJob(i));
    await seed.close();
    const store = await LowdbJobStore.open(file, { batchMs: 1 });
    const service = serviceOn(store);
    const read = new Set<string>();
    const get = store.get.bind(store);
    store.get = (id: string) => {
      read.add(id);
      return get(id);
    };
    for (const q of QUERIES) {
      read.clear();
      const got = queryJobs(service, A, parseJobListQuery(q)!, { jobStatuses: [], maxResults: 5 });
      expect([...read].sort()).toEqual(got.Jobs.map((j) => j.JobId).sort());
    }
    await store.close();
  });

  it('answers the same after migrating a version-1 jobs.json, and on an archive written before the search fields', async () => {
    random = prng(21);
    const jobs = Array.from({ length: 80 }, (_, i) => randomJob(i));
    await writeFile(
      file,
      JSON.stringify({ version: 1, jobs: Object.fromEntries(jobs.map((j) => [j.id, j])), tokens: {} }),
    );
    let store = await LowdbJobStore.open(file, { batchMs: 1 });
    expectSameAnswers(serviceOn(store));
    await store.close();
    await stopTestEngines();
    // The archive's lines as the store wrote them before their header carried priority, description and tags.
    const archive = archivePathOf(file);
    const lines = (await readFile(archive, 'utf8')).trimEnd().split('\n');
    const old = lines.map((line, i) => {
      if (i === 0) return line;
      const { priority: _p, description: _d, tags: _t, ...rest } = JSON.parse(line) as Record<string, unknown>;
      expect(_p).toBeTypeOf('number');
      return JSON.stringify(rest);
    });
    await writeFile(archive, `${old.join('\n')}\n`);
    const told: string[] = [];
    store = await LowdbJobStore.open(file, { batchMs: 1, onOpen: (m) => told.push(m) });
    let service = serviceOn(store);
    expectSameAnswers(service);
    // Opening wrote each such job's line anew, with the search fields in its header.
    expect(told.some((m) => m.includes(`rewrote ${old.length - 1} line(s)`))).toBe(true);
    const latest = new Map<string, Record<string, unknown>>();
    for (const line of (await readFile(archive, 'utf8')).trimEnd().split('\n').slice(1)) {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (typeof parsed.id === 'string') latest.set(parsed.id, parsed);
    }
    expect(latest.size).toBe(old.length - 1);
    for (const line of latest.values()) expect(line.priority).toBeTypeOf('number');
    await store.close();
    await stopTestEngines();
    told.length = 0;
    store = await LowdbJobStore.open(file, { batchMs: 1, onOpen: (m) => told.push(m) });
    expect(told).toEqual([]);
    service = serviceOn(store);
    expectSameAnswers(service);
    expect(queryJobs(service, A, parseJobListQuery({ search: 'team' })!, { jobStatuses: [] }).Jobs.length).toBe(
      jobs.filter(
        (j) =>
          j.accountId === A &&
          (j.request.Description?.toLowerCase().includes('team') ||
            j.tags.some((t) => `${t.Key}\n${t.Value}`.toLowerCase().includes('team'))),
      ).length,
    );
    await store.close();
  });
});
