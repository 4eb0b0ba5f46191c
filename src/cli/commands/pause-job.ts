/**
 * `s3batch pause <id> [--reason TEXT]` and `s3batch resume <id> [--reason TEXT]`: a user's pause
 * (s3batch extension, docs/job-lifecycle.md#user-pause) through the JSON API
 * (`POST /api/v1/jobs/{id}/pause|resume`). The answer is printed as `<id>  <Status>`.
 */
import type { Command } from 'commander';
import { jobVerb, print, withConnection } from '../job-verb.ts';
import { jobPath } from '../job-view-fetch.ts';
import { apiError } from './report.ts';

interface StatusAnswer {
  readonly JobId: string;
  readonly Status: string;
  readonly StatusUpdateReason?: string;
}

function action(env: NodeJS.ProcessEnv, verb: 'pause' | 'resume') {
  return async (jobId: string, opts: { reason?: string; json?: boolean } & Record<string, unknown>): Promise<void> => {
    await withConnection(opts, env, async (conn) => {
      const res = await conn.signedFetch(`${jobPath(jobId)}/${verb}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(opts.reason !== undefined ? { Reason: opts.reason } : {}),
      });
      if (!res.ok) throw await apiError(res, `POST ${jobPath(jobId)}/${verb}`);
      const out = (await res.json()) as StatusAnswer;
      print(opts.json === true ? JSON.stringify(out, null, 2) : `${out.JobId}  ${out.Status}`);
    });
  };
}

export function registerPauseJob(program: Command, env: NodeJS.ProcessEnv): void {
  const pause = program
    .command('pause')
    .argument('<job-id>', 'the job')
    .description(
      'Pause a job (s3batch extension): it starts no task, lets those in flight finish and gives its slots to ' +
        'other jobs (Active → Pausing → Paused). A job not running yet prepares, then waits Paused. Survives restarts.',
    )
    .option('--reason <text>', 'why (StatusUpdateReason, shown by describe-job and the web page)');
  jobVerb(pause, [
    ['s3batch pause "$JOB" --reason "nightly backup window"', 'pause a job, saying why'],
    ['s3batch resume "$JOB"', 'let it run again'],
  ]);
  pause.action(action(env, 'pause'));

  const resume = program
    .command('resume')
    .argument('<job-id>', 'the job')
    .description('Resume a job a user paused: it runs again when its priority gives it slots')
    .option('--reason <text>', 'StatusUpdateReason');
  jobVerb(resume, [['s3batch resume "$JOB"', 'resume a paused job']]);
  resume.action(action(env, 'resume'));
}
