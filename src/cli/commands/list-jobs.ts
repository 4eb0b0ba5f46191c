/**
 * `s3batch list-jobs [--status S…] [--max N] [--all]`: ListJobs, newest first, as a table or --json.
 * One page unless --all (which follows NextToken); --max caps how many jobs are listed.
 */
import type { JobListDescriptor, JobStatus } from '@aws-sdk/client-s3-control';
import type { Command } from 'commander';
import { parsePositiveInt, parseStatus } from '../args.ts';
import { jobsTable, toJson } from '../job-output.ts';
import { jobVerb, print, withConnection } from '../job-verb.ts';

/** The S3 Control API's largest page. */
const PAGE_MAX = 1000;

interface ListOptions {
  status?: string[];
  max?: string;
  all?: boolean;
  nextToken?: string;
  json?: boolean;
}

export function registerListJobs(program: Command, env: NodeJS.ProcessEnv): void {
  const cmd = program
    .command('list-jobs')
    .description("List the account's jobs, newest first")
    .option(
      '--status <status...>',
      'only jobs in these statuses (Active, Suspended, Complete, Failed, Cancelled, …; any case)',
    )
    .option('--max <n>', 'list at most n jobs (default: one page of up to 1000)')
    .option('--all', 'follow the pages to the end (with --max: up to n)')
    .option('--next-token <token>', 'continue where an earlier list stopped');
  jobVerb(cmd, [
    ['s3batch list-jobs', 'the newest jobs as a table'],
    ['s3batch list-jobs --status Active Suspended', 'the running jobs and those waiting for confirmation'],
    [
      's3batch list-jobs --all --json | jq -r \'.Jobs[] | select(.Status=="Failed") | .JobId\'',
      'every failed job id, for a script',
    ],
  ]);
  cmd.action(async (opts: ListOptions & Record<string, unknown>) => {
    const statuses: JobStatus[] | undefined = opts.status?.map(parseStatus);
    const max = opts.max === undefined ? undefined : parsePositiveInt(opts.max, '--max');
    await withConnection(opts, env, async (conn) => {
      const jobs: JobListDescriptor[] = [];
      let token = opts.nextToken;
      for (;;) {
        const want = Math.min(PAGE_MAX, max === undefined ? PAGE_MAX : max - jobs.length);
        const out = await conn.send(
          new conn.sdk.ListJobsCommand({
            AccountId: conn.accountId,
            MaxResults: want,
            ...(statuses !== undefined ? { JobStatuses: statuses } : {}),
            ...(token !== undefined ? { NextToken: token } : {}),
          }),
        );
        jobs.push(...(out.Jobs ?? []));
        token = out.NextToken;
        const full = max !== undefined && jobs.length >= max;
        if (token === undefined || full || (opts.all !== true && max === undefined)) break;
      }
      if (opts.json === true) {
        print(toJson({ Jobs: jobs, ...(token !== undefined ? { NextToken: token } : {}) }));
        return;
      }
      print(jobsTable(jobs));
      if (token !== undefined) process.stderr.write(`(more jobs: --all, or --next-token ${token})\n`);
    });
  });
}
