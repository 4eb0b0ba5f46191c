/**
 * Resume at task grain, end to end (docs/execution.md#resume-after-a-crash): a rate-limited copy
 * job on a real `s3batch serve --local` process, SIGKILLed a few times while a chunk is half done
 * and started again on the same data folder each time.
 *
 * Before each kill the test waits until the spool of an unfinished chunk holds some results; after
 * the kill it reads, from the data folder, which tasks the spools hold durably. Those tasks must not
 * run again: their copies keep a LastModified from before the kill (s3rver's LastModified has
 * second resolution, so a copy redone within the same second would go unnoticed; one noticed is
 * never a false alarm). In the end the report holds every row exactly once, and the destination
 * bucket holds exactly the copies, with the right bytes.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { getText, jobRequest, putObjectsAndManifest, readReport } from '../helpers/jobs.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { createTestBucket } from '../helpers/s3-servers.ts';
import { embeddedS3Client, startServerProcess, tempDataDir, type ServerProcess } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';

const TASKS = 240;
const CHUNK = 80;
const KILLS = 3;

/** Pids of live processes whose command line mentions `text` (a test's own data folder). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Complete spool lines per chunk (a torn last line left out): chunk index → the keys it holds. */
function spooledKeys(dataDir: string, jobId: string): Map<number, string[]> {
  const dir = path.join(dataDir, 'spool', jobId);
  const out = new Map<number, string[]>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    const m = /^chunk-(\d+)\.[sf]\.ndjson$/.exec(name);
    if (!m) continue;
    const text = readFileSync(path.join(dir, name), 'utf8');
    const lines = text.split('\n').slice(0, -1); // the piece after the last \n is torn (or empty)
    const keys = out.get(Number(m[1])) ?? [];
    for (const line of lines) keys.push(decodeURIComponent((JSON.parse(line) as unknown[])[2] as string));
    out.set(Number(m[1]), keys);
  }
  return out;
}

const servers: ServerProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.kill('SIGTERM');
  for (const dir of dirs.splice(0)) {
    for (const pid of processesMentioning(dir)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('SIGKILL during a rate-limited job, restarts on the same data folder', () => {
  it('resumes each chunk after its durable tasks and reports every task exactly once', async () => {
    const dataDir = tempDataDir('s3batch-kill-resume-');
    dirs.push(dataDir);
    const args = ['--job-concurrency', '4', '--chunk-size', String(CHUNK)];
    const serve = async (): Promise<{ server: ServerProcess; api: JsonApi; s3: S3Client }> => {
      const server = await startServerProcess({ dataDir, args });
      servers.push(server);
      return { server, api: new JsonApi(server.url), s3: embeddedS3Client(server) };
    };

    let { server, api, s3 } = await serve();
    const src = await createTestBucket(s3, 'kr-src');
    const dst = await createTestBucket(s3, 'kr-dst');
    const reports = await createTestBucket(s3, 'kr-rep');
    const keys = Array.from({ length: TASKS }, (_, i) => `obj/${String(i).padStart(4, '0')}`);
    const etag = await putObjectsAndManifest(s3, src, 'manifest.csv', keys);
    const { JobId } = await api.createJob(
      jobRequest({
        manifestBucket: src,
        manifestKey: 'manifest.csv',
        etag,
        operation: { S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${dst}`, MetadataDirective: 'COPY' } },
        reportBucket: reports,
        confirmationRequired: false,
        extra: { Tags: [{ Key: 's3batch:max-requests-per-second', Value: '30' }] },
      }),
    );

    /** Per kill: when it happened and the keys the spools held durably right after it. */
    const kills: { at: number; durable: Set<string>; partial: number }[] = [];
    for (let k = 0; k < KILLS; k++) {
      // A chunk not finished whose spool already holds results: the kill cuts it short.
      await until(
        () => [...spooledKeys(dataDir, JobId).values()].some((c) => c.length >= 10 && c.length < CHUNK - 10),
        `a chunk half done before kill ${k + 1}`,
        { timeoutMs: 60_000, everyMs: 20 },
      );
      await server.kill('SIGKILL');
      const at = Date.now();
      const held = spooledKeys(dataDir, JobId);
      const partial = Math.max(...[...held.values()].map((c) => (c.length < CHUNK ? c.length : 0)));
      kills.push({ at, durable: new Set([...held.values()].flat()), partial });
      ({ server, api, s3 } = await serve());
    }

    const done = await api.waitFor(JobId, ['Complete', 'Failed'], 120_000);
    expect(done.Job.Status).toBe('Complete');
    expect(done.Job.ProgressSummary).toMatchObject({
      TotalNumberOfTasks: TASKS,
      NumberOfTasksSucceeded: TASKS,
      NumberOfTasksFailed: 0,
    });
    // Bytes processed survived the kills too: each task's copy counted once (a body is its key).
    const bytes = keys.reduce((n, key) => n + Buffer.byteLength(key), 0);
    expect(((await api.describe(JobId)) as unknown as { BytesProcessed: number }).BytesProcessed).toBe(bytes);

    // The report: every row exactly once.
    const report = await readReport(s3, reports, undefined, JobId);
    const reported = report.rows.map((r) => decodeURIComponent(r[1]!));
    expect(reported).toHaveLength(TASKS);
    expect([...reported].sort()).toEqual(keys);

    // The objects: exactly the copies, with the right bytes.
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: dst }));
    const copies = (listed.Contents ?? []).map((o) => ({ key: o.Key!, modified: o.LastModified!.getTime() }));
    expect(copies.map((c) => c.key).sort()).toEqual(keys);
    for (const key of [keys[0]!, keys[TASKS - 1]!]) expect(await getText(s3, dst, key)).toBe(key);

    // Progress survived each kill: a partly done chunk kept its results, and tasks durable at a kill
    // were not run again after it.
    const modified = new Map(copies.map((c) => [c.key, c.modified]));
    for (const kill of kills) {
      expect(kill.partial).toBeGreaterThan(0);
      const redone = [...kill.durable].filter((key) => modified.get(key)! > kill.at);
      expect(redone).toEqual([]);
    }
  });
});
