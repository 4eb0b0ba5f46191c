/**
 * `s3batch watch <job>`: follows a job through DescribeJob (S3 Control API) until it ends. On a
 * terminal a live progress line, elsewhere plain "n of total" lines, with --json newline-delimited
 * JSON objects; what is printed is decided by WatchPrinter (src/cli/watch-printer.ts).
 *
 * Exit codes: 0 the job ended Complete; 3 it ended Failed or Cancelled (its failure reasons are
 * printed); 2 a user error (unknown job, bad flag); 1 the server or network failed; 130 Ctrl-C
 * (the job is left as it is). A Suspended job is watched on: it waits for `s3batch confirm`.
 */
import type { JobDescriptor } from '@aws-sdk/client-s3-control';
import type { Command } from 'commander';
import { exitQuietlyOnBrokenPipe } from '../broken-pipe.ts';
import { usageError } from '../cli-errors.ts';
import { jobVerb, withConnection } from '../job-verb.ts';
import { fetchJobView } from '../job-view-fetch.ts';
import { type ProgressExtras, readProgressExtras } from '../progress-extras.ts';
import { isEnded } from '../progress-line.ts';
import { WatchPrinter, type JobObservation, type WatchMode } from '../watch-printer.ts';

/** The job ended Failed or Cancelled. */
const EXIT_JOB_NOT_COMPLETE = 3;
/** Ctrl-C: 128 + SIGINT, as shells report it. */
const EXIT_INTERRUPTED = 130;

const MIN_INTERVAL_S = 0.1;
const MAX_INTERVAL_S = 3600;
/** Not on a terminal, a progress line at most this often unless --interval says otherwise. */
const PLAIN_DEFAULT_MS = 5000;
const TTY_DEFAULT_MS = 1000;
/** Plain and json modes still ask this often, so status changes and the end show without delay. */
const MAX_POLL_MS = 1000;

function parseIntervalSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < MIN_INTERVAL_S || n > MAX_INTERVAL_S) {
    throw usageError(
      `--interval must be a number of seconds from ${MIN_INTERVAL_S} to ${MAX_INTERVAL_S}, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function observationOf(jobId: string, job: JobDescriptor | undefined, extras?: ProgressExtras): JobObservation {
  const p = job?.ProgressSummary;
  return {
    jobId: job?.JobId ?? jobId,
    status: job?.Status ?? 'Unknown',
    total: p?.TotalNumberOfTasks ?? 0,
    succeeded: p?.NumberOfTasksSucceeded ?? 0,
    failed: p?.NumberOfTasksFailed ?? 0,
    elapsedActiveSeconds: p?.Timers?.ElapsedTimeInActiveSeconds ?? 0,
    failureReasons: job?.FailureReasons ?? [],
    ...(job?.StatusUpdateReason ? { statusUpdateReason: job.StatusUpdateReason } : {}),
    extras,
  };
}

export function registerWatch(program: Command, env: NodeJS.ProcessEnv): void {
  const cmd = program
    .command('watch')
    .argument('<job-id>', 'the job to follow')
    .description('Follow a job until it ends: a live progress bar on a terminal, "n of total" lines elsewhere')
    .option(
      '--interval <seconds>',
      'on a terminal: seconds between refreshes (default 1); elsewhere: least seconds between two progress lines (default 5, with --json 1); status changes always show within a second',
    )
    .addHelpText(
      'after',
      `
Exit codes:
  0    the job ended Complete
  3    the job ended Failed or Cancelled (its failure reasons are printed)
  2    user error: unknown job, bad arguments or configuration
  1    the server or the network failed
  130  stopped with Ctrl-C (the job itself is not touched)
A Suspended job is watched on: it waits for \`s3batch confirm <job-id>\` (a hint says so).`,
    );
  jobVerb(
    cmd,
    [
      [
        's3batch watch 7f3c1a52-0d6e-4b8c-9e3f-1a2b3c4d5e6f',
        'Active      [██████████░░░░░░░░░░]   52%  5,210 / 10,000  143/s  ETA 34s  failed 12',
      ],
      ['s3batch watch "$JOB" > watch.log', 'plain lines: 5210 of 10000 tasks (52%), 12 failed, Active'],
      ['s3batch watch "$JOB" && s3batch report "$JOB"', 'download the report once the job completed'],
      ['s3batch watch "$JOB" --json | jq -c \'select(.Type == "progress")\'', 'newline-delimited JSON for scripts'],
    ],
    'newline-delimited JSON objects instead of the bar: {"Type":"status"|"progress"|"end",…}',
  );
  cmd.action(async (jobId: string, opts: Record<string, unknown>) => {
    const mode: WatchMode = opts.json === true ? 'json' : process.stdout.isTTY === true ? 'tty' : 'plain';
    const intervalMs =
      typeof opts.interval === 'string'
        ? parseIntervalSeconds(opts.interval) * 1000
        : mode === 'plain'
          ? PLAIN_DEFAULT_MS
          : TTY_DEFAULT_MS;
    const pollMs = mode === 'tty' ? intervalMs : Math.min(intervalMs, MAX_POLL_MS);
    await withConnection(opts, env, async (conn) => {
      exitQuietlyOnBrokenPipe();
      const printer = new WatchPrinter({
        mode,
        write: (text) => process.stdout.write(text),
        columns: () => process.stdout.columns,
        lineEveryMs: intervalMs,
      });
      process.once('SIGINT', () => {
        printer.interrupt();
        process.stderr.write(`stopped watching; job ${jobId} goes on (s3batch cancel ${jobId} stops it)\n`);
        process.exit(EXIT_INTERRUPTED);
      });
      try {
        for (;;) {
          // s3batch's own members (an estimated percent, bytes processed) from the JSON job view, read
          // alongside DescribeJob (it never throws: without it DescribeJob's answer stands alone).
          const [out, view] = await Promise.all([
            conn.send(new conn.sdk.DescribeJobCommand({ AccountId: conn.accountId, JobId: jobId })),
            fetchJobView(conn, jobId),
          ]);
          const o = observationOf(jobId, out.Job, readProgressExtras(view));
          printer.observe(o, performance.now(), new Date());
          if (isEnded(o.status)) {
            printer.finish(new Date());
            if (o.status !== 'Complete') process.exitCode = EXIT_JOB_NOT_COMPLETE;
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, pollMs));
        }
      } finally {
        printer.interrupt(); // an error message then starts on a line of its own
      }
    });
  });
}
