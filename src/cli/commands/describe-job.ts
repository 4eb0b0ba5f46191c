/** `s3batch describe-job <id>`: DescribeJob, as a summary (status, progress, failures, report) or --json. */
import type { Command } from 'commander';
import { failureInsightText, readFailureInsight } from '../failures-output.ts';
import { describeText, toJson } from '../job-output.ts';
import { jobVerb, print, withConnection } from '../job-verb.ts';
import { fetchJobView } from '../job-view-fetch.ts';
import { readProgressExtras } from '../progress-extras.ts';
import { isEnded } from '../progress-line.ts';

export function registerDescribeJob(program: Command, env: NodeJS.ProcessEnv): void {
  const cmd = program
    .command('describe-job')
    .argument('<job-id>', 'the job')
    .description(
      'Show a job: status, priority, progress (done/total, %), failures and their reasons, manifest, report location, dates',
    );
  jobVerb(cmd, [
    ['s3batch describe-job 2f1c7c8e-5b7a-4a0e-9d43-0c7e3f3b6d21', 'a readable summary'],
    ['s3batch describe-job "$JOB" --json | jq .Job.ProgressSummary', 'the DescribeJob answer as JSON, for scripts'],
  ]);
  cmd.action(async (jobId: string, opts: { json?: boolean } & Record<string, unknown>) => {
    await withConnection(opts, env, async (conn) => {
      const out = await conn.send(new conn.sdk.DescribeJobCommand({ AccountId: conn.accountId, JobId: jobId }));
      if (opts.json === true || out.Job === undefined) {
        print(toJson(out));
        return;
      }
      // s3batch's own members come from the JSON job view: an estimated percent and bytes processed,
      // failures by error code and retry links.
      const view = await fetchJobView(conn, jobId);
      const insight = readFailureInsight(view);
      const ended = isEnded(out.Job.Status ?? '');
      print(
        describeText(out.Job, readProgressExtras(view)) + (insight ? failureInsightText(jobId, insight, ended) : ''),
      );
    });
  });
}
