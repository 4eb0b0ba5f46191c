/**
 * `s3batch report <job>`: a job's completion report through the JSON API's report routes (S3
 * Control has no operation for it), SigV4-signed with the CLI's key.
 *
 *   default   downloads manifest.json and every result file into --out (default
 *             ./s3batch-report-<job>/), streamed to disk, each result file's MD5 checked against
 *             the listing; prints what was written (--json: the listing plus the files written)
 *   --failed  prints every failed-task row to stdout: the CSV as stored, or with --json a JSON
 *             array of {Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage}
 *
 * No report (yet) is a user error (exit 2) with the server's reason.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Command } from 'commander';
import { exitQuietlyOnBrokenPipe } from '../broken-pipe.ts';
import { CliError, EXIT_SERVER_ERROR, EXIT_USER_ERROR } from '../cli-errors.ts';
import type { ReportView } from '../../api/rest/report-routes.ts';
import type { Connection } from '../connection.ts';
import { jobVerb, withConnection } from '../job-verb.ts';
import { jobPath } from '../job-view-fetch.ts';
import { formatCount, isEnded } from '../progress-line.ts';
import { reportRows, writeDrained, writeJsonArray } from '../report-rows.ts';

export interface WrittenFile {
  readonly Name: string;
  readonly Path: string;
  readonly Bytes: number;
  readonly Md5: string;
}

/** An error answer of the JSON API (`{"error":{"code","message"}}`) as a CliError: 4xx → 2, else 1. */
export async function apiError(res: Response, what: string): Promise<CliError> {
  const text = await res.text().catch(() => '');
  let code = `HTTP${res.status}`;
  let message = text.trim() === '' ? `${what}: HTTP ${res.status} ${res.statusText}` : text.trim();
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
  } catch {
    // not JSON: the text as it came
  }
  return new CliError(code, message, res.status >= 400 && res.status < 500 ? EXIT_USER_ERROR : EXIT_SERVER_ERROR);
}

async function getListing(conn: Connection, jobId: string): Promise<ReportView> {
  const res = await conn.signedFetch(`${jobPath(jobId)}/report`);
  if (!res.ok) throw await apiError(res, `GET ${jobPath(jobId)}/report`);
  return (await res.json()) as ReportView;
}

/** The hint for a job that may still write its report. */
function watchHint(jobId: string, status: string): string {
  return isEnded(status) ? '' : `; use \`s3batch watch ${jobId}\` and run this when it ends`;
}

/** "No report" as exit 2, with the server's reason (asked from the manifest route) and the hint. */
async function noReport(conn: Connection, listing: ReportView): Promise<CliError> {
  const res = await conn.signedFetch(`${jobPath(listing.JobId)}/report/files/manifest.json`);
  const reason = res.ok ? `Job ${listing.JobId} has no completion report yet` : (await apiError(res, 'report')).message;
  if (res.ok) await res.body?.cancel();
  return new CliError('ReportNotFound', `${reason}${watchHint(listing.JobId, listing.Status)}`, EXIT_USER_ERROR);
}

/** A name from the server used as a file name: a plain base name only. */
function safeName(name: string): string {
  if (name === '' || name === '.' || name === '..' || name !== path.basename(name) || name.includes('\\')) {
    throw new CliError(
      'InvalidReportListing',
      `the server listed a report file named ${JSON.stringify(name)}, which is not a plain file name`,
      EXIT_SERVER_ERROR,
    );
  }
  return name;
}

/** Streams one report file to `<dir>/<name>` (through `<name>.part`), checking its MD5 when known. */
async function download(
  conn: Connection,
  url: string,
  dir: string,
  name: string,
  expectedMd5: string | undefined,
): Promise<WrittenFile> {
  const res = await conn.signedFetch(url);
  if (!res.ok || res.body === null) throw await apiError(res, `GET ${url}`);
  const target = path.join(dir, safeName(name));
  const part = `${target}.part`;
  const hash = createHash('md5');
  let bytes = 0;
  try {
    await pipeline(
      Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          bytes += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(part),
    );
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  }
  const md5 = hash.digest('hex');
  if (expectedMd5 !== undefined && md5 !== expectedMd5.toLowerCase()) {
    await rm(part, { force: true });
    throw new CliError(
      'ReportChecksumMismatch',
      `${name}: downloaded ${bytes} bytes with MD5 ${md5}, the report lists ${expectedMd5}; nothing kept`,
      EXIT_SERVER_ERROR,
    );
  }
  await rename(part, target);
  return { Name: name, Path: target, Bytes: bytes, Md5: md5 };
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

const writeOut = (chunk: string | Uint8Array): Promise<void> => writeDrained(process.stdout, chunk);

async function printFailed(conn: Connection, jobId: string, json: boolean): Promise<void> {
  const res = await conn.signedFetch(`${jobPath(jobId)}/report/failed`);
  if (!res.ok || res.body === null) {
    const err = await apiError(res, 'report');
    if (err.code !== 'ReportNotFound') throw err;
    const listing = await getListing(conn, jobId).catch(() => undefined);
    throw new CliError(err.code, `${err.message}${listing ? watchHint(jobId, listing.Status) : ''}`, EXIT_USER_ERROR);
  }
  const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  if (json) {
    await writeJsonArray(reportRows(body), process.stdout);
    return;
  }
  for await (const chunk of body) await writeOut(chunk as Buffer);
}

async function downloadAll(conn: Connection, jobId: string, outDir: string | undefined, json: boolean): Promise<void> {
  const listing = await getListing(conn, jobId);
  const report = listing.Report;
  if (report === null) throw await noReport(conn, listing);
  const dir = path.resolve(outDir ?? `s3batch-report-${listing.JobId}`);
  await mkdir(dir, { recursive: true });
  const written: WrittenFile[] = [await download(conn, report.Manifest.Url, dir, 'manifest.json', undefined)];
  for (const f of report.Files) written.push(await download(conn, f.Url, dir, f.Name, f.Md5));
  if (json) {
    await writeOut(`${JSON.stringify({ ...listing, Directory: dir, Written: written }, null, 2)}\n`);
    return;
  }
  const where = `s3://${report.Bucket}/${report.ManifestKey.replace(/manifest\.json$/, '')}`;
  const lines = [`Report of job ${listing.JobId} (${listing.Status}), written ${report.WrittenAt} to ${where}`];
  const nameWidth = Math.max(...written.map((w) => w.Name.length));
  lines.push(
    `  ${'manifest.json'.padEnd(nameWidth)}  ${''.padEnd(9)}  ${''.padStart(12)}  ${formatBytes(written[0]!.Bytes).padStart(10)}`,
  );
  report.Files.forEach((f, i) => {
    const w = written[i + 1]!;
    lines.push(
      `  ${w.Name.padEnd(nameWidth)}  ${f.TaskStatus.padEnd(9)}  ${`${formatCount(f.Rows)} rows`.padStart(12)}  ${formatBytes(w.Bytes).padStart(10)}  MD5 ok`,
    );
  });
  const total = written.reduce((n, w) => n + w.Bytes, 0);
  const rows = report.Files.reduce((n, f) => n + f.Rows, 0);
  const failed = report.Files.filter((f) => f.TaskStatus === 'failed').reduce((n, f) => n + f.Rows, 0);
  lines.push(
    `Wrote ${written.length} files (${formatBytes(total)}, ${formatCount(rows)} rows, ${formatCount(failed)} failed) to ${dir}`,
  );
  if (failed > 0) lines.push(`Failed rows only: s3batch report ${listing.JobId} --failed`);
  await writeOut(`${lines.join('\n')}\n`);
}

export function registerReport(program: Command, env: NodeJS.ProcessEnv): void {
  const cmd = program
    .command('report')
    .argument('<job-id>', 'the job whose completion report to get')
    .description(
      "Download a job's completion report (manifest.json and result CSVs, MD5-checked), or print its failed rows",
    )
    .option('--out <dir>', 'folder to write the files to (created if missing; default ./s3batch-report-<job-id>/)')
    .option('--failed', 'print the failed-task rows to stdout instead of downloading (CSV as stored)')
    .addHelpText(
      'after',
      `
Each result file's MD5 is checked against the report's listing (a mismatch keeps nothing, exit 1).
A job without a report (still running, reports off, ended before any task ran) exits 2 with the reason.
Keys in the rows stay URL-encoded as in the manifest.`,
    );
  jobVerb(
    cmd,
    [
      [
        's3batch report 7f3c1a52-0d6e-4b8c-9e3f-1a2b3c4d5e6f',
        'writes manifest.json and the result CSVs (<40 hex>.csv) into ./s3batch-report-7f3c1a52-…/',
      ],
      ['s3batch report "$JOB" --out /tmp/reports/"$JOB"', 'into a folder of your choice'],
      ['s3batch report "$JOB" --failed > failed.csv', 'the failed rows, CSV as the report stores them'],
      [
        's3batch report "$JOB" --failed --json | jq -r \'.[] | "\\(.Key) \\(.ErrorCode)"\'',
        'the failed rows as JSON objects',
      ],
      ['s3batch watch "$JOB"; s3batch report "$JOB" --failed', 'wait for the end, then see what failed'],
    ],
    'with --failed: a JSON array of {Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage}; else the listing and the files written, as JSON',
  );
  cmd.action(async (jobId: string, opts: Record<string, unknown>) => {
    if (opts.failed === true && typeof opts.out === 'string') {
      throw new CliError(
        'InvalidArgument',
        '--out downloads the report; --failed prints rows to stdout: give one of them',
        EXIT_USER_ERROR,
      );
    }
    if (typeof opts.out === 'string' && opts.out.trim() === '')
      throw new CliError('InvalidArgument', '--out needs a folder name', EXIT_USER_ERROR);
    await withConnection(opts, env, async (conn) => {
      exitQuietlyOnBrokenPipe();
      if (opts.failed === true) await printFailed(conn, jobId, opts.json === true);
      else await downloadAll(conn, jobId, typeof opts.out === 'string' ? opts.out : undefined, opts.json === true);
    });
  });
}
