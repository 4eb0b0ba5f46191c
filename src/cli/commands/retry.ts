/**
 * `s3batch retry <job> [--codes NoSuchKey,…]`: a new job of the same operation over the failed
 * tasks of an ended job (docs/job-lifecycle.md#retry-failed), through the JSON API
 * (`POST /api/v1/jobs/:id/retry`; S3 Control has no such operation).
 */
import type { Command } from 'commander';
import { parsePriority } from '../args.ts';
import { usageError } from '../cli-errors.ts';
import { toJson } from '../job-output.ts';
import { jobVerb, print, withConnection } from '../job-verb.ts';
import { jobPath } from '../job-view-fetch.ts';
import { apiError } from './report.ts';

interface RetryAnswer {
  readonly Job: { readonly JobId: string; readonly Status: string };
  readonly RetryOf: string | null;
  readonly RetryManifest: { readonly ObjectArn: string; readonly ETag: string; readonly Tasks: number };
}

/** `--codes a,b` → the distinct codes; an empty list is a usage error. */
export function parseCodes(text: string): string[] {
  const codes = [...new Set(text.split(',').map((c) => c.trim()))].filter((c) => c !== '');
  if (codes.length === 0) throw usageError('--codes needs at least one error code, e.g. --codes NoSuchKey');
  return codes;
}

export function registerRetry(program: Command, env: NodeJS.ProcessEnv): void {
  const cmd = program
    .command('retry')
    .argument('<job-id>', 'an ended job whose report has failed rows')
    .option('--codes <codes>', 'only the failed tasks of these error codes, comma-separated (e.g. NoSuchKey,SlowDown)')
    .option('--priority <n>', "the new job's priority (default: the job's)")
    .option('--confirmation-required', 'create the new job Suspended until confirmed (default: it runs at once)')
    .description(
      "Retry a job's failed tasks: a new job of the same operation over exactly the failed rows of its report (s3batch extension)",
    );
  jobVerb(
    cmd,
    [
      ['s3batch retry "$JOB"', 'retry every failed task of the job'],
      ['s3batch retry "$JOB" --codes SlowDown,InternalError', 'retry only the tasks that failed with these codes'],
    ],
    'print the new job view as JSON',
  );
  cmd.action(
    async (
      jobId: string,
      opts: { json?: boolean; codes?: string; priority?: string; confirmationRequired?: boolean } & Record<
        string,
        unknown
      >,
    ) => {
      const body: Record<string, unknown> = {};
      if (opts.codes !== undefined) body.Codes = parseCodes(opts.codes);
      if (opts.priority !== undefined) body.Priority = parsePriority(opts.priority);
      if (opts.confirmationRequired === true) body.ConfirmationRequired = true;
      await withConnection(opts, env, async (conn) => {
        const path = `${jobPath(jobId)}/retry`;
        const res = await conn.signedFetch(path, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        if (!res.ok) throw await apiError(res, `POST ${path}`);
        const out = (await res.json()) as RetryAnswer;
        print(
          opts.json === true
            ? toJson(out)
            : `${out.Job.JobId}  retry of ${jobId}: ${out.RetryManifest.Tasks} failed task${out.RetryManifest.Tasks === 1 ? '' : 's'}, ${out.Job.Status}\n` +
                `Manifest  ${out.RetryManifest.ObjectArn} (ETag ${out.RetryManifest.ETag})`,
        );
      });
    },
  );
}
