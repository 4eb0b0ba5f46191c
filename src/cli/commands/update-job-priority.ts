/** `s3batch update-job-priority <id> <n>`: UpdateJobPriority (also while the job runs). */
import type { Command } from 'commander';
import { parsePriority } from '../args.ts';
import { toJson } from '../job-output.ts';
import { jobVerb, print, withConnection } from '../job-verb.ts';

export function registerUpdateJobPriority(program: Command, env: NodeJS.ProcessEnv): void {
  const cmd = program
    .command('update-job-priority')
    .argument('<job-id>', 'the job')
    .argument('<priority>', 'the new priority, 0 … 2147483647 (higher runs first)')
    .description("Change a job's priority; a running job's share of the workers follows");
  jobVerb(cmd, [['s3batch update-job-priority "$JOB" 50', 'run this job before those with lower priorities']]);
  cmd.action(async (jobId: string, priorityText: string, opts: { json?: boolean } & Record<string, unknown>) => {
    const priority = parsePriority(priorityText);
    await withConnection(opts, env, async (conn) => {
      const out = await conn.send(
        new conn.sdk.UpdateJobPriorityCommand({ AccountId: conn.accountId, JobId: jobId, Priority: priority }),
      );
      print(opts.json === true ? toJson(out) : `${out.JobId ?? jobId}  priority ${out.Priority ?? priority}`);
    });
  });
}
