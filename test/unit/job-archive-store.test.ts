/**
 * The lowdb job store's two files on a real temp dir (docs/job-lifecycle.md#job-store): ended jobs
 * in the append-only archive, live jobs and tokens in jobs.json; superseding lines, tombstones,
 * compaction, a torn archive tail, refusal of a corrupt or foreign archive, the migration of a
 * version-1 jobs.json (also after a crash in the middle of it), a crash between the two files'
 * writes, and the same answers as the memory store over random saves, removals and reopens.
 */
import { appendFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isS3BatchError } from '../../src/domain/errors.ts';
import { newestFirst, type JobRecord } from '../../src/domain/job.ts';
import { ALL_STATUSES, JobStatus } from '../../src/domain/job-status.ts';
import { ARCHIVE_MAGIC, putLine } from '../../src/storage/job-archive.ts';
import { archivePathOf, LowdbJobStore, type LowdbJobStoreOptions } from '../../src/storage/lowdb-job-store.ts';
import { MemoryJobStore } from '../../src/storage/memory-job-store.ts';
import { storedJob } from '../helpers/job-records.ts';

const A = '111122223333';
const B = '444455556666';

let dir: string;
let file: string;
let archive: string;
const open: LowdbJobStore[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3batch-archive-'));
  file = join(dir, 'jobs.json');
  archive = archivePathOf(file);
});

afterEach(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function openStore(options: LowdbJobStoreOptions = {}): Promise<LowdbJobStore> {
  const store = await LowdbJobStore.open(file, options);
  open.push(store);
  return store;
}

const at = (s: number): string => new Date(Date.UTC(2025, 0, 1, 0, 0, s)).toISOString();

/** A job; an ended one (Complete, Cancelled, Failed) has its TerminationDate. */
function job(n: number, status: JobStatus, patch: Partial<JobRecord> = {}): JobRecord {
  const ended = status === JobStatus.Complete || status === JobStatus.Cancelled || status === JobStatus.Failed;
  return storedJob(
    `job-${String(n).padStart(5, '0')}`,
    {
      accountId: A,
      creationTime: at(n),
      status,
      ...(ended ? { terminationDate: at(1000 + n) } : {}),
      ...patch,
    },
    String(n),
  );
}

function tokenOf(j: JobRecord): { accountId: string; token: string; requestHash: string; jobId: string } {
  return { accountId: j.accountId, token: j.clientRequestToken, requestHash: j.requestHash, jobId: j.id };
}

async function liveFile(): Promise<{ version: number; seq?: number; jobs: Record<string, JobRecord>; tokens: object }> {
  return JSON.parse(await readFile(file, 'utf8')) as {
    version: number;
    seq?: number;
    jobs: Record<string, JobRecord>;
    tokens: object;
  };
}

async function archiveLines(): Promise<Record<string, unknown>[]> {
  const text = await readFile(archive, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function openCode(): Promise<string> {
  try {
    await openStore();
  } catch (err) {
    if (isS3BatchError(err)) return err.code;
    throw err;
  }
  return 'opened';
}

const ids = (jobs: Iterable<JobRecord>): string[] => [...jobs].map((j) => j.id).sort();

describe('LowdbJobStore: live file and archive', () => {
  it('keeps ended jobs in the archive, live jobs in jobs.json, and reads both back after a reopen', async () => {
    const store = await openStore({ batchMs: 60_000 });
    const jobs = [
      job(1, JobStatus.Complete),
      job(2, JobStatus.Active),
      job(3, JobStatus.Failed),
      job(4, JobStatus.New),
      job(5, JobStatus.Cancelled),
    ];
    for (const j of jobs) {
      store.save(j);
      store.saveToken(tokenOf(j));
    }
    await store.flush();
    const live = await liveFile();
    expect(live.version).toBe(1);
    expect(Object.keys(live.jobs).sort()).toEqual(['job-00002', 'job-00004']);
    // The ended jobs' tokens left the live file with them: the archive answers them.
    expect(Object.keys(live.tokens)).toHaveLength(2);
    const lines = await archiveLines();
    expect(lines[0]).toEqual(JSON.parse(ARCHIVE_MAGIC));
    expect(lines.slice(1).map((l) => l.id)).toEqual(['job-00001', 'job-00003', 'job-00005']);
    expect(live.seq).toBe(3);

    const again = await openStore();
    expect(again.writes).toBe(0); // nothing to settle
    for (const j of jobs) {
      expect(again.get(j.id)).toEqual(j);
      expect(again.findToken(A, j.clientRequestToken)).toEqual(tokenOf(j));
    }
    expect(ids(again.list())).toEqual(ids(jobs));
    expect(again.statusCounts()).toEqual(
      new Map([
        [JobStatus.Complete, 1],
        [JobStatus.Active, 1],
        [JobStatus.Failed, 1],
        [JobStatus.New, 1],
        [JobStatus.Cancelled, 1],
      ]),
    );
    expect([...again.accountJobs(A)].map((j) => j.id)).toEqual([
      'job-00005',
      'job-00004',
      'job-00003',
      'job-00002',
      'job-00001',
    ]);
    expect([...again.accountJobs(A, undefined, [JobStatus.Complete, JobStatus.New])].map((j) => j.id)).toEqual([
      'job-00004',
      'job-00001',
    ]);
    expect(again.endedBefore(Date.parse(at(1004))).map((j) => j.id)).toEqual(['job-00001', 'job-00003']);
  });

  it('a job that ends moves from jobs.json to the archive in one write; a change after it supersedes its line', async () => {
    const store = await openStore({ batchMs: 60_000 });
    const running = job(1, JobStatus.Active);
    store.save(running);
    store.saveToken(tokenOf(running));
    await store.flush();
    const ended = job(1, JobStatus.Complete);
    store.save(ended);
    await store.flush();
    expect(store.writes).toBe(2);
    expect((await liveFile()).jobs).toEqual({});
    expect((await liveFile()).tokens).toEqual({});
    const tagged = { ...ended, tags: [{ Key: 'k', Value: 'v' }] };
    store.save(tagged);
    await store.flush();
    const lines = await archiveLines();
    expect(lines.slice(1).map((l) => [l.id, l.seq, l.token])).toEqual([
      ['job-00001', 1, 'token-1'],
      ['job-00001', 2, 'token-1'],
    ]);
    expect(store.get('job-00001')).toEqual(tagged);
    const again = await openStore();
    expect(again.get('job-00001')).toEqual(tagged);
    expect(again.list()).toHaveLength(1);
    expect(again.findToken(A, 'token-1')).toEqual(tokenOf(ended));
  });

  it('reads back headers with escaped or non-ASCII strings (a token with quotes, a backslash, ünïcode)', async () => {
    const store = await openStore({ batchMs: 60_000 });
    const odd = job(1, JobStatus.Complete, {
      clientRequestToken: 'a "quoted" \\ tökén',
      request: { ...job(1, JobStatus.Complete).request, ClientRequestToken: 'a "quoted" \\ tökén' },
    });
    const plain = job(2, JobStatus.Failed, { accountId: B });
    for (const j of [odd, plain]) {
      store.save(j);
      store.saveToken(tokenOf(j));
    }
    await store.close();
    const again = await openStore();
    expect(again.get(odd.id)).toEqual(odd);
    expect(again.findToken(A, odd.clientRequestToken)).toEqual(tokenOf(odd));
    expect(again.get(plain.id)).toEqual(plain);
    expect([...again.accountJobs(B)].map((j) => j.id)).toEqual([plain.id]);
  });

  it('removes an archived job with a tombstone: gone with its token, also after a reopen', async () => {
    const store = await openStore({ batchMs: 60_000 });
    for (const n of [1, 2]) {
      store.save(job(n, JobStatus.Active));
      store.saveToken(tokenOf(job(n, JobStatus.Active)));
    }
    await store.flush();
    for (const n of [1, 2]) store.save(job(n, JobStatus.Complete));
    await store.flush();
    store.remove('job-00001');
    expect(store.get('job-00001')).toBeUndefined();
    expect(store.findToken(A, 'token-1')).toBeUndefined();
    expect(store.endedBefore(Number.MAX_SAFE_INTEGER).map((j) => j.id)).toEqual(['job-00002']);
    await store.flush();
    expect((await archiveLines()).at(-1)).toEqual({ seq: 3, del: 'job-00001' });
    const again = await openStore();
    expect(again.get('job-00001')).toBeUndefined();
    expect(again.findToken(A, 'token-1')).toBeUndefined();
    expect(again.findToken(A, 'token-2')?.jobId).toBe('job-00002');
    expect(ids(again.list())).toEqual(['job-00002']);
  });

  it('compacts the archive once most of it is dead; the records and their reads stay the same', async () => {
    const store = await openStore({ batchMs: 60_000, compactMinBytes: 1 });
    for (let n = 0; n < 10; n++) store.save(job(n, JobStatus.Complete));
    await store.flush();
    const full = (await stat(archive)).size;
    expect(store.compactions).toBe(0);
    // Ten rounds of tag changes: each supersedes every line; the dead part soon outweighs the rest.
    for (let round = 0; round < 10; round++) {
      for (let n = 0; n < 10; n++)
        store.save({ ...job(n, JobStatus.Complete), tags: [{ Key: 'r', Value: String(round) }] });
      await store.flush();
    }
    store.remove('job-00009');
    await store.flush();
    expect(store.compactions).toBeGreaterThan(0);
    expect((await stat(archive)).size).toBeLessThan(full * 2);
    for (let n = 0; n < 9; n++)
      expect(store.get(job(n, JobStatus.Complete).id)?.tags).toEqual([{ Key: 'r', Value: '9' }]);
    await store.compactNow();
    const lines = await archiveLines();
    expect(lines.length).toBe(1 + 9); // the magic line and one line per current job
    const again = await openStore();
    expect(ids(again.list())).toEqual(ids(Array.from({ length: 9 }, (_, n) => job(n, JobStatus.Complete))));
    expect(again.get('job-00003')?.tags).toEqual([{ Key: 'r', Value: '9' }]);
    expect(again.get('job-00009')).toBeUndefined();
  });

  it('cuts off a torn last line when opening (a crash during an append), and keeps every whole line', async () => {
    const store = await openStore({ batchMs: 60_000 });
    store.save(job(1, JobStatus.Complete));
    store.save(job(2, JobStatus.Failed));
    await store.close();
    open.splice(0);
    const whole = (await stat(archive)).size;
    // Half of a line, as a SIGKILL in the middle of the write leaves it.
    const line = putLine(3, job(3, JobStatus.Complete), undefined);
    await appendFile(archive, line.slice(0, Math.floor(line.length / 2)));
    const messages: string[] = [];
    const again = await openStore({ onOpen: (m) => messages.push(m) });
    expect(messages).toEqual([expect.stringContaining('cut off a torn last line')]);
    expect((await stat(archive)).size).toBe(whole);
    expect(ids(again.list())).toEqual(['job-00001', 'job-00002']);
    // Appends go on after the cut: the file is whole lines again.
    again.save(job(3, JobStatus.Complete));
    await again.flush();
    expect((await archiveLines()).map((l) => l.id ?? 'magic')).toEqual([
      'magic',
      'job-00001',
      'job-00002',
      'job-00003',
    ]);
  });

  it.each([
    ['a foreign first line', '{"users":[]}\n'],
    ['a complete line that is not JSON', `${ARCHIVE_MAGIC}{"seq":1,"id":"x",garbage}\n${ARCHIVE_MAGIC}`],
    ['a job line without its header', `${ARCHIVE_MAGIC}{"seq":1,"job":{}}\n`],
    ['a line with a live status', `${ARCHIVE_MAGIC}${putLine(1, job(1, JobStatus.Active), undefined)}`],
  ])('refuses an archive with %s (InvalidConfiguration) and leaves both files untouched', async (_name, content) => {
    const live = '{"version":1,"jobs":{},"tokens":{}}';
    await writeFile(file, live);
    await writeFile(archive, content);
    expect(await openCode()).toBe('InvalidConfiguration');
    expect(await readFile(archive, 'utf8')).toBe(content);
    expect(await readFile(file, 'utf8')).toBe(live);
  });
});

/** A version-1 jobs.json as s3batch before the archive wrote it: every job in it, and every token. */
function v1Store(jobs: readonly JobRecord[]): string {
  const data = {
    version: 1,
    jobs: Object.fromEntries(jobs.map((j) => [j.id, j])),
    tokens: Object.fromEntries(jobs.map((j) => [`${j.accountId}\u0000${j.clientRequestToken}`, tokenOf(j)])),
  };
  return JSON.stringify(data, null, 2); // lowdb's JSONFile format
}

const V1_JOBS = [
  job(1, JobStatus.Complete, {
    tags: [{ Key: 'team', Value: 'a' }],
    progress: { total: 10, succeeded: 10, failed: 0 },
  }),
  job(2, JobStatus.Active),
  job(3, JobStatus.Failed, { failureReasons: [{ FailureCode: 'ManifestNotFound', FailureReason: 'gone' }] }),
  job(4, JobStatus.Suspended, { accountId: B }),
  job(5, JobStatus.Cancelled, { accountId: B }),
  job(6, JobStatus.New),
];

describe('LowdbJobStore: migration of a version-1 jobs.json', () => {
  async function expectMigrated(store: LowdbJobStore): Promise<void> {
    for (const j of V1_JOBS) {
      expect(store.get(j.id)).toEqual(j);
      expect(store.findToken(j.accountId, j.clientRequestToken)).toEqual(tokenOf(j));
    }
    expect(ids(store.list())).toEqual(ids(V1_JOBS));
    const live = await liveFile();
    expect(live.version).toBe(1);
    expect(Object.keys(live.jobs).sort()).toEqual(['job-00002', 'job-00004', 'job-00006']);
    const archived = (await archiveLines()).slice(1);
    const latest = new Map(archived.map((l) => [l.id, l]));
    expect([...latest.keys()].sort()).toEqual(['job-00001', 'job-00003', 'job-00005']);
  }

  it('moves its ended jobs to the archive on the first open; the second open has nothing to do', async () => {
    await writeFile(file, v1Store(V1_JOBS));
    const messages: string[] = [];
    const store = await openStore({ onOpen: (m) => messages.push(m) });
    expect(messages).toEqual([expect.stringContaining('moved 3 ended job(s)')]);
    expect(store.writes).toBe(1);
    await expectMigrated(store);
    await store.close();
    const again = await openStore();
    expect(again.writes).toBe(0);
    await expectMigrated(again);
    expect((await archiveLines()).length).toBe(1 + 3);
  });

  it('a crash after the archive was written but before jobs.json was: the next open finishes, each job once', async () => {
    await writeFile(file, v1Store(V1_JOBS));
    // What the migration's first step leaves: two of the three ended jobs appended (the last line torn).
    const ended = V1_JOBS.filter((j) => ['job-00001', 'job-00003', 'job-00005'].includes(j.id));
    const third = putLine(3, ended[2]!, 'token-5');
    await writeFile(
      archive,
      ARCHIVE_MAGIC + putLine(1, ended[0]!, 'token-1') + putLine(2, ended[1]!, 'token-3') + third.slice(0, 40),
    );
    const store = await openStore();
    await expectMigrated(store);
    await store.close();
    const again = await openStore();
    expect(again.writes).toBe(0);
    await expectMigrated(again);
  });

  it('a crash before the archive got its first line: the next open starts the migration over', async () => {
    await writeFile(file, v1Store(V1_JOBS));
    await writeFile(archive, ARCHIVE_MAGIC.slice(0, 10));
    const store = await openStore();
    await expectMigrated(store);
  });
});

describe('LowdbJobStore: a crash between the two files', () => {
  it('a job ended in the archive while jobs.json still holds it live: the archive copy wins', async () => {
    const store = await openStore({ batchMs: 60_000 });
    const running = job(1, JobStatus.Completing);
    store.save(running);
    store.saveToken(tokenOf(running));
    await store.flush();
    // jobs.json cannot be replaced from now on (lowdb writes .jobs.json.tmp and renames it).
    await mkdir(join(dir, '.jobs.json.tmp'));
    const ended = job(1, JobStatus.Complete);
    store.save(ended);
    await expect(store.flush()).rejects.toMatchObject({ code: 'EISDIR' });
    expect((await liveFile()).jobs['job-00001']?.status).toBe(JobStatus.Completing);
    // "Crash": the process is gone; the next one opens the files as they are.
    open.splice(0);
    await rm(join(dir, '.jobs.json.tmp'), { recursive: true });
    const again = await openStore();
    expect(again.get('job-00001')).toEqual(ended);
    expect(again.list()).toHaveLength(1);
    expect(again.statusCounts()).toEqual(new Map([[JobStatus.Complete, 1]]));
    expect(again.findToken(A, 'token-1')).toEqual(tokenOf(ended));
    expect((await liveFile()).jobs).toEqual({});
  });

  it('a job that ends while the archive is being written stays in that live file: a crash then loses nothing', async () => {
    const store = await openStore({ batchMs: 60_000 });
    for (const n of [1, 2]) {
      store.save(job(n, JobStatus.Completing));
      store.saveToken(tokenOf(job(n, JobStatus.Completing)));
    }
    await store.flush();
    // The moment no real part can pick: job 2 ends after the write took its snapshot, while its
    // archive lines go out (a wrapper around the real append, which still writes).
    const archiveOf = store as unknown as { archive: { append(lines: readonly string[]): Promise<number[]> } };
    const realAppend = archiveOf.archive.append.bind(archiveOf.archive);
    let during: (() => void) | undefined = () => store.save(job(2, JobStatus.Complete));
    archiveOf.archive.append = (lines) => {
      during?.();
      during = undefined;
      return realAppend(lines);
    };
    store.save(job(1, JobStatus.Complete));
    await store.flush();
    expect((await archiveLines()).slice(1).map((l) => l.id)).toEqual(['job-00001']);
    expect((await liveFile()).jobs['job-00002']?.status).toBe(JobStatus.Complete);
    // "Crash" now: the next process finds both jobs, ended, and moves job 2 to the archive.
    const again = await LowdbJobStore.open(file);
    expect(again.get('job-00001')).toEqual(job(1, JobStatus.Complete));
    expect(again.get('job-00002')).toEqual(job(2, JobStatus.Complete));
    expect(again.findToken(A, 'token-2')?.jobId).toBe('job-00002');
    expect((await liveFile()).jobs).toEqual({});
    await again.close();
    open.splice(open.indexOf(store), 1); // the "crashed" store writes nothing more
  });

  it('an archived job saved live again: jobs.json is written before its tombstone, and wins', async () => {
    const store = await openStore({ batchMs: 60_000 });
    store.save(job(1, JobStatus.Complete));
    store.saveToken(tokenOf(job(1, JobStatus.Complete)));
    await store.flush();
    store.save(job(1, JobStatus.Active));
    expect(store.findToken(A, 'token-1')?.jobId).toBe('job-00001');
    await store.flush();
    expect((await liveFile()).jobs['job-00001']?.status).toBe(JobStatus.Active);
    expect((await archiveLines()).at(-1)).toEqual({ seq: 2, del: 'job-00001' });
    // The state between the two writes: the live file is newer than the archive's line.
    const lines = (await readFile(archive, 'utf8')).split('\n');
    await writeFile(archive, `${lines.slice(0, -2).join('\n')}\n`);
    const again = await openStore();
    expect(again.get('job-00001')?.status).toBe(JobStatus.Active);
    expect(again.list()).toHaveLength(1);
    expect(again.findToken(A, 'token-1')?.jobId).toBe('job-00001');
  });
});

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('LowdbJobStore answers as the memory store does', () => {
  function expectSame(got: LowdbJobStore, want: MemoryJobStore, tokens: readonly [string, string][]): void {
    const byId = (jobs: readonly JobRecord[]): JobRecord[] => [...jobs].sort((a, b) => a.id.localeCompare(b.id));
    expect(byId(got.list())).toEqual(byId(want.list()));
    for (const j of want.list()) expect(got.get(j.id)).toEqual(j);
    expect(new Map(got.statusCounts())).toEqual(new Map(want.statusCounts()));
    for (const account of [A, B]) {
      expect([...got.accountJobs(account)]).toEqual([...want.accountJobs(account)]);
      expect([...got.accountJobs(account, undefined, [JobStatus.Complete, JobStatus.Active])]).toEqual([
        ...want.accountJobs(account, undefined, [JobStatus.Complete, JobStatus.Active]),
      ]);
      const cursor = [...want.accountJobs(account)][3];
      if (cursor) expect([...got.accountJobs(account, cursor)]).toEqual([...want.accountJobs(account, cursor)]);
    }
    for (const s of ALL_STATUSES) expect(byId(got.withStatus([s]))).toEqual(byId(want.withStatus([s])));
    for (const t of [1020, 1100, 2000])
      expect(got.endedBefore(Date.parse(at(t)))).toEqual(want.endedBefore(Date.parse(at(t))));
    for (const [account, token] of tokens)
      expect(got.findToken(account, token)).toEqual(want.findToken(account, token));
  }

  it('over random saves, status moves, tag changes, removals, tokens, compactions and reopens', async () => {
    const random = prng(13);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const statuses = [JobStatus.New, JobStatus.Active, JobStatus.Complete, JobStatus.Failed, JobStatus.Cancelled];
    const memory = new MemoryJobStore();
    let store = await openStore({ batchMs: 1, compactMinBytes: 4096 });
    const tokens: [string, string][] = [];
    const made: string[] = [];
    let compactions = 0;
    for (let step = 0; step < 800; step++) {
      const r = random();
      if (r < 0.3 || made.length === 0) {
        const n = step;
        const j = job(n, pick(statuses), { accountId: pick([A, B]), creationTime: at(Math.floor(random() * 60)) });
        made.push(j.id);
        memory.save(j);
        store.save(j);
        if (random() < 0.8) {
          memory.saveToken(tokenOf(j));
          store.saveToken(tokenOf(j));
        }
        tokens.push([j.accountId, j.clientRequestToken]);
      } else if (r < 0.7) {
        const current = memory.get(pick(made));
        if (current) {
          const status = pick(statuses);
          const next: JobRecord = {
            ...current,
            status,
            tags: [{ Key: 'step', Value: String(step) }],
            terminationDate: status === JobStatus.Active || status === JobStatus.New ? undefined : at(1000 + step),
          };
          memory.save(next);
          store.save(next);
        }
      } else if (r < 0.85) {
        const id = pick(made);
        memory.remove(id);
        store.remove(id);
      } else if (r < 0.9) {
        // A token saved again for another job of the same account (an overwrite).
        const [account, token] = pick(tokens);
        const other = memory.get(pick(made));
        if (other && other.accountId === account) {
          const entry = { accountId: account, token, requestHash: 'other', jobId: other.id };
          memory.saveToken(entry);
          store.saveToken(entry);
        }
      } else if (r < 0.93) {
        await store.close();
        compactions += store.compactions;
        store = await openStore({ batchMs: 1, compactMinBytes: 4096 });
      } else if (r < 0.96) {
        await new Promise((resolve) => setTimeout(resolve, 2)); // a batch goes out meanwhile
      }
      if (step % 40 === 0) expectSame(store, memory, tokens);
    }
    expectSame(store, memory, tokens);
    await store.close();
    expect(compactions + store.compactions).toBeGreaterThan(0);
    const last = await openStore();
    expectSame(last, memory, tokens);
    expect([...last.accountJobs(A)].map((j) => j.id)).toEqual(
      memory
        .list()
        .filter((j) => j.accountId === A)
        .sort(newestFirst)
        .map((j) => j.id),
    );
  });
});
