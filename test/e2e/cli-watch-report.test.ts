/**
 * `s3batch watch` and `s3batch report` as subprocesses (node bin/s3batch.mjs) against the real
 * `s3batch serve` working on Ceph RGW. The CLI finds the server and its key through the
 * S3BATCH_* environment, as a user's shell would give them.
 *
 * - watch without a terminal: plain lines with monotonic counts, status lines, the final "N of N",
 *   exit 0; under a pseudo-terminal (util-linux `script`): the redrawn bar's escape sequences and
 *   its final 100%; --json objects; a cancelled job → exit 3; Ctrl-C → 130 with the job untouched.
 * - report: files downloaded byte-for-byte equal to the report objects in S3 with their MD5s,
 *   --failed rows as stored and as JSON objects, --json listing; no report → exit 2 with the
 *   server's reason; unknown job → exit 2.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI_BIN as BIN,
  serverEnv,
  shellEnv,
  startCli as startCliProcess,
  type CliResult,
  type RunningCli,
} from '../helpers/cli-process.ts';
import { jobRequest, putManifest } from '../helpers/jobs.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { requireCeph } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, putObjects } from '../helpers/s3-servers.ts';
import { startServerProcess, tempDataDir, TEST_API_KEY, type ServerProcess } from '../helpers/server-process.ts';

const SCRIPT = '/usr/bin/script';
const OBJECTS = 2000;
const MISSING = 20;
const TOTAL = OBJECTS + MISSING;

let server: ServerProcess;
let api: JsonApi;
let s3: S3Client;
let bucket: string;
let reports: string;
let etag: string;
/** Folder the CLI runs in (its ./s3batch-report-<id>/ lands here); also its HOME. */
let cwd: string;

/** The S3BATCH_* variables only: XDG_CONFIG_HOME is the working folder, which has no profiles file. */
function cliEnv(): NodeJS.ProcessEnv {
  return { ...shellEnv(cwd), XDG_CONFIG_HOME: cwd, ...serverEnv(server.url, TEST_API_KEY) };
}

const startCli = (command: string, args: readonly string[]): RunningCli =>
  startCliProcess(command, args, { cwd, env: cliEnv() });

const s3batch = (...args: string[]): RunningCli => startCli(process.execPath, [BIN, ...args]);
const run = (...args: string[]): Promise<CliResult> => s3batch(...args).done;

/** A tagging job over the objects and MISSING absent keys, waiting in Suspended for confirmation. */
async function suspendedJob(): Promise<string> {
  const { JobId } = await api.createJob(
    jobRequest({
      manifestBucket: bucket,
      manifestKey: 'manifest.csv',
      etag,
      operation: { S3PutObjectTagging: { TagSet: [{ Key: 'watched', Value: 'yes' }] } },
      reportBucket: reports,
      reportPrefix: 'cli',
      confirmationRequired: true,
    }),
  );
  await api.waitFor(JobId, 'Suspended');
  return JobId;
}

async function objectBytes(key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: reports, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');
const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

beforeAll(async () => {
  const ceph = requireCeph();
  s3 = makeS3Client(ceph);
  bucket = await createTestBucket(s3, 'cli-watch');
  reports = await createTestBucket(s3, 'cli-reports');
  const keys = Array.from({ length: OBJECTS }, (_, i) => `objects/${String(i).padStart(5, '0')}.txt`);
  await putObjects(s3, bucket, keys, 'x');
  const rows = [...keys, ...Array.from({ length: MISSING }, (_, i) => `missing/${i} with space.txt`)].map((key) => ({
    bucket,
    key,
  }));
  etag = (await putManifest(s3, bucket, 'manifest.csv', rows)).etag;
  // Four tasks at a time, so the job runs for seconds and the watchers see it move (~10 s here).
  server = await startServerProcess({ s3: ceph, args: ['--job-concurrency', '4'] });
  api = new JsonApi(server.url);
  cwd = tempDataDir('s3batch-cli-watch-');
});

afterAll(async () => {
  await server?.kill('SIGTERM');
  s3?.destroy();
});

describe('s3batch watch and report', () => {
  let completeJob: string;

  it('watch follows a job to Complete: plain lines, a pseudo-terminal bar and --json objects, all exit 0', async () => {
    completeJob = await suspendedJob();
    const plain = s3batch('watch', completeJob, '--interval', '0.2');
    const json = s3batch('watch', completeJob, '--json', '--interval', '0.2');
    // A pseudo-terminal 100 columns wide; -e returns the CLI's exit code.
    const tty = startCli(SCRIPT, [
      '-qefc',
      `stty cols 100; exec "${process.execPath}" "${BIN}" watch ${completeJob} --interval 0.2`,
      '/dev/null',
    ]);
    await plain.waitForOutput(/waits for confirmation/);
    await json.waitForOutput(/"To":"Suspended"/);
    await tty.waitForOutput(/Suspended/);
    const started = Date.now();
    await api.updateStatus(completeJob, 'Ready');

    const p = await plain.done;
    const ranMs = Date.now() - started;
    expect(p.code, p.stderr).toBe(0);
    const out = lines(p.stdout);
    expect(p.stdout).not.toContain('\x1b'); // not a terminal: no escape sequences
    expect(out[0]).toMatch(/^\d\d:\d\d:\d\d Suspended$/);
    expect(out[1]).toContain(`s3batch confirm ${completeJob}`);
    const statusLines = out.filter((l) => /^\d\d:\d\d:\d\d \w+ → \w+$/.test(l));
    expect(statusLines[0]).toMatch(/ Suspended → \w+$/);
    expect(statusLines.at(-1)).toMatch(/ → Complete$/);
    expect(statusLines.some((l) => l.endsWith('→ Active'))).toBe(true);
    const progress = out
      .map((l) => /^(\d+) of (\d+) tasks(?: \((\d+)%\))?, (\d+) failed, (\w+)$/.exec(l))
      .filter((m) => m !== null);
    const done = progress.map((m) => Number(m[1]));
    const failed = progress.map((m) => Number(m[4]));
    for (let i = 1; i < done.length; i++) {
      expect(done[i]).toBeGreaterThanOrEqual(done[i - 1]!);
      expect(failed[i]).toBeGreaterThanOrEqual(failed[i - 1]!);
    }
    expect(
      done.some((d) => d > 0 && d < TOTAL),
      `no line while the job ran (${ranMs} ms):\n${p.stdout}`,
    ).toBe(true);
    expect(progress.at(-1)![0]).toBe(`${TOTAL} of ${TOTAL} tasks (100%), ${MISSING} failed, Complete`);
    expect(out.at(-1)).toBe(
      `Job ${completeJob} is Complete: ${OBJECTS} succeeded, ${MISSING} failed. Report: s3batch report ${completeJob}`,
    );

    const t = await tty.done;
    expect(t.code, t.stderr + t.stdout).toBe(0);
    // The live line is redrawn in place: carriage return + erase line, then the bar.
    const draws = t.stdout.split('\r\x1b[2K').slice(1);
    expect(draws.length).toBeGreaterThan(3);
    for (const d of draws) {
      const first = d.split(/\r?\n/)[0]!;
      expect([...first].length).toBeLessThanOrEqual(99); // never the last column of 100
    }
    expect(draws.some((d) => /^Active {6}\[█*░+\] +\d+% {2}[\d,]+ \/ 2,020 {2}[\d.,-]+\/s {2}ETA /.test(d))).toBe(true);
    const last = draws.filter((d) => d.startsWith('Complete')).at(-1)!;
    expect(last).toMatch(/^Complete {4}\[█{30}\] {2}100% {2}2,020 \/ 2,020 {2}failed 20\r?\n/);
    expect(t.stdout).toMatch(/\d\d:\d\d:\d\d \w+ → Complete\r?\n/);

    const j = await json.done;
    expect(j.code, j.stderr).toBe(0);
    const objects = lines(j.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objects[0]).toMatchObject({ Type: 'status', JobId: completeJob, From: null, To: 'Suspended' });
    const counts = objects
      .filter((o) => o.Type === 'progress')
      .map((o) => Number(o.NumberOfTasksSucceeded) + Number(o.NumberOfTasksFailed));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(objects.at(-2)).toMatchObject({
      Type: 'progress',
      Status: 'Complete',
      TotalNumberOfTasks: TOTAL,
      NumberOfTasksSucceeded: OBJECTS,
      NumberOfTasksFailed: MISSING,
    });
    expect(objects.at(-1)).toEqual({ Type: 'end', JobId: completeJob, Status: 'Complete', FailureReasons: [] });
  });

  it('report downloads manifest.json and every result file, byte-for-byte the S3 objects, MD5-checked', async () => {
    const listing = (await api.call('GET', `/jobs/${completeJob}/report`)) as {
      Report: {
        ManifestKey: string;
        Files: { Name: string; Key: string; Md5: string; Rows: number; TaskStatus: string }[];
      };
    };
    const out = path.join(cwd, 'downloaded');
    const r = await run('report', completeJob, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const files = listing.Report.Files;
    expect(files.map((f) => f.TaskStatus).sort()).toEqual(['failed', 'succeeded']);
    expect(readdirSync(out).sort()).toEqual(['manifest.json', ...files.map((f) => f.Name)].sort());
    expect(readFileSync(path.join(out, 'manifest.json'))).toEqual(await objectBytes(listing.Report.ManifestKey));
    for (const f of files) {
      const local = readFileSync(path.join(out, f.Name));
      expect(local.equals(await objectBytes(f.Key)), f.Name).toBe(true);
      expect(md5(local)).toBe(f.Md5);
      expect(r.stdout).toMatch(new RegExp(`${f.Name} +${f.TaskStatus} +${f.Rows.toLocaleString('en-US')} rows`));
    }
    expect(r.stdout).toContain(`Wrote 3 files`);
    expect(r.stdout).toContain(`${TOTAL.toLocaleString('en-US')} rows, ${MISSING} failed`);

    // Without --out: ./s3batch-report-<id>/ in the working folder; --json prints the listing and what was written.
    const j = await run('report', completeJob, '--json');
    expect(j.code, j.stderr).toBe(0);
    const view = JSON.parse(j.stdout) as {
      JobId: string;
      Report: typeof listing.Report;
      Directory: string;
      Written: { Name: string; Path: string; Bytes: number; Md5: string }[];
    };
    expect(view.JobId).toBe(completeJob);
    expect(view.Report).toEqual(listing.Report);
    expect(view.Directory).toBe(path.join(cwd, `s3batch-report-${completeJob}`));
    expect(view.Written.map((w) => w.Name)).toEqual(['manifest.json', ...files.map((f) => f.Name)]);
    for (const w of view.Written) expect(md5(readFileSync(w.Path))).toBe(w.Md5);
    expect(readdirSync(view.Directory).filter((n) => n.endsWith('.part'))).toEqual([]);
  });

  it('report --failed prints the failed rows as stored, and with --json as objects', async () => {
    const listing = (await api.call('GET', `/jobs/${completeJob}/report`)) as {
      Report: { Files: { Key: string; TaskStatus: string }[] };
    };
    const failedFiles = listing.Report.Files.filter((f) => f.TaskStatus === 'failed');
    const stored = Buffer.concat(await Promise.all(failedFiles.map((f) => objectBytes(f.Key)))).toString('utf8');

    const csv = await run('report', completeJob, '--failed');
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).toBe(stored);
    expect(csv.stdout.split('\r\n').filter((l) => l !== '')).toHaveLength(MISSING);

    const json = await run('report', completeJob, '--failed', '--json');
    expect(json.code, json.stderr).toBe(0);
    const rows = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(rows).toHaveLength(MISSING);
    for (const row of rows) {
      expect(Object.keys(row)).toEqual([
        'Bucket',
        'Key',
        'VersionId',
        'TaskStatus',
        'ErrorCode',
        'HTTPStatusCode',
        'ResultMessage',
      ]);
      expect(row).toMatchObject({
        Bucket: bucket,
        VersionId: '',
        TaskStatus: 'failed',
        ErrorCode: 'NoSuchKey',
        HTTPStatusCode: 404,
      });
      expect(row.Key).toMatch(/^missing\/\d+%20with%20space\.txt$/); // URL-encoded as in the manifest
      expect(row.ResultMessage).toMatch(/NoSuchKey/);
    }
  });

  it('watch of a job that gets cancelled exits 3 with the reason; Ctrl-C exits 130 and leaves the job alone; no report → exit 2', async () => {
    const jobId = await suspendedJob();
    const watcher = s3batch('watch', jobId, '--interval', '0.2');
    const interrupted = s3batch('watch', jobId, '--interval', '0.2');
    await watcher.waitForOutput(/waits for confirmation/);
    await interrupted.waitForOutput(/waits for confirmation/);
    interrupted.child.kill('SIGINT');
    const i = await interrupted.done;
    expect(i.code).toBe(130);
    expect(i.stderr).toContain(`stopped watching; job ${jobId} goes on`);
    expect((await api.describe(jobId)).Job.Status).toBe('Suspended');

    // A job that has not ended has no report yet: exit 2, the server's reason and the hint to watch.
    for (const args of [
      ['report', jobId],
      ['report', jobId, '--failed'],
    ]) {
      const r = await run(...args);
      expect(r.code, r.stdout).toBe(2);
      expect(r.stderr).toContain(`Job ${jobId} is Suspended`);
      expect(r.stderr).toContain(`use \`s3batch watch ${jobId}\` and run this when it ends`);
    }

    await api.updateStatus(jobId, 'Cancelled', 'not needed after all');
    const w = await watcher.done;
    expect(w.code, w.stderr).toBe(3);
    const out = lines(w.stdout);
    expect(out).toContain(`0 of ${TOTAL} tasks (0%), 0 failed, Cancelled`);
    expect(out.some((l) => /^\d\d:\d\d:\d\d Suspended → Cancelled$/.test(l))).toBe(true);
    expect(out.at(-1)).toBe(`Job ${jobId} ended Cancelled. Reason: not needed after all`);

    // Cancelled before any task ran: no report ever; the server says why.
    const r = await run('report', jobId);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^s3batch: ReportNotFound: .*before any task ran/);
    expect(r.stderr).not.toContain('s3batch watch');
    expect(existsSync(path.join(cwd, `s3batch-report-${jobId}`))).toBe(false);
  });

  it('watch exits 1 (server or network error) when the server goes away mid-watch', async () => {
    const ceph = requireCeph();
    const doomed = await startServerProcess({ s3: ceph });
    try {
      const { JobId } = await new JsonApi(doomed.url).createJob(
        jobRequest({
          manifestBucket: bucket,
          manifestKey: 'manifest.csv',
          etag,
          operation: { S3PutObjectTagging: { TagSet: [] } },
          reportBucket: reports,
          confirmationRequired: true,
        }),
      );
      const watcher = startCli(process.execPath, [
        BIN,
        'watch',
        JobId,
        '--interval',
        '0.2',
        '--endpoint-url',
        doomed.url,
      ]);
      await watcher.waitForOutput(/Suspended/);
      await doomed.kill('SIGKILL');
      const r = await watcher.done;
      expect(r.code, r.stdout).toBe(1);
      expect(r.stderr).toContain(`EndpointUnreachable: cannot reach the s3batch server at ${doomed.url}`);
    } finally {
      await doomed.kill('SIGKILL');
    }
  });

  it('an unknown job and bad arguments are user errors (exit 2)', async () => {
    const unknown = randomUUID();
    const notFound = [
      ['watch', unknown],
      ['report', unknown],
      ['report', unknown, '--failed'],
    ];
    const badArgs = [
      ['watch', unknown, '--interval', '0'],
      ['watch', unknown, '--interval', 'soon'],
      ['report', unknown, '--failed', '--out', 'x'],
      ['watch'],
      ['report', unknown, '--out', ''],
    ];
    const results = await Promise.all([...notFound, ...badArgs].map((args) => run(...args)));
    results.forEach((r, i) => {
      const args = [...notFound, ...badArgs][i]!;
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace for a user error
      if (i < notFound.length) expect(r.stderr).toMatch(/NotFound/);
    });
    expect(results[3]!.stderr).toContain('--interval must be a number of seconds');
    expect(results[5]!.stderr).toContain('give one of them');
    expect(results[7]!.stderr).toContain('--out needs a folder name');
  });

  it('report --out naming a file: exit 2 saying what is in the way, no stack trace', async () => {
    const inTheWay = path.join(cwd, 'in-the-way.txt');
    writeFileSync(inTheWay, 'not a folder');
    const r = await run('report', completeJob, '--out', inTheWay);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      /^s3batch: LocalFileError: cannot mkdir .*in-the-way\.txt: a file of that name is in the way \(EEXIST\)\n$/,
    );
  });

  it('--help documents the exit codes and gives examples', () => {
    const watch = spawnSync(process.execPath, [BIN, 'watch', '--help'], { cwd, encoding: 'utf8' });
    expect(watch.status).toBe(0);
    expect(watch.stdout).toMatch(/3 +the job ended Failed or Cancelled/);
    expect(watch.stdout).toMatch(/130 +stopped with Ctrl-C/);
    expect(watch.stdout).toContain('Examples:');
    const report = spawnSync(process.execPath, [BIN, 'report', '--help'], { cwd, encoding: 'utf8' });
    expect(report.status).toBe(0);
    expect(report.stdout).toContain('--failed');
    expect(report.stdout).toContain('Examples:');
  });
});
