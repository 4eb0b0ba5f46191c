/**
 * The s3batch CLI. Exit codes: 0 success, 1 server or unexpected error, 2 user error (bad
 * arguments or configuration).
 */
import { Command, CommanderError } from 'commander';
import { describeFailure, EXIT_USER_ERROR } from './cli-errors.ts';
import { registerServe } from './commands/serve.ts';
import { registerWorker } from './commands/worker.ts';
import { registerCreateJob } from './commands/create-job.ts';
import { registerDescribeJob } from './commands/describe-job.ts';
import { registerJobTagging } from './commands/job-tagging.ts';
import { registerListJobs } from './commands/list-jobs.ts';
import { registerUpdateJobPriority } from './commands/update-job-priority.ts';
import { registerUpdateJobStatus } from './commands/update-job-status.ts';
import { registerReport } from './commands/report.ts';
import { registerRetry } from './commands/retry.ts';
import { registerWatch } from './commands/watch.ts';

// The job verbs resolve their connection from this environment (src/cli/client-config.ts).
const env = process.env;

const program = new Command('s3batch')
  .description('Open, self-hosted S3 Batch Operations: run one operation over millions of S3 objects')
  .version('0.1.0')
  // Usage errors read like the others (`s3batch: <Code>: <message>`), with a pointer to --help.
  .configureOutput({ outputError: (text, write) => write(`s3batch: UsageError: ${text.replace(/^error: /, '')}`) })
  .showHelpAfterError('(add --help for usage and examples)')
  .exitOverride()
  .addHelpText(
    'after',
    `
Examples:
  $ s3batch serve --local
      a server on http://127.0.0.1:8080 with an embedded S3 (npm start in the repository); it prints an API key
  $ s3batch list-jobs
      from the folder the server started in, the verbs find it and its key by themselves
  $ s3batch create-job --help
      every way to describe a job, with examples (each command has --help)
  $ s3batch watch "$JOB" && s3batch report "$JOB"
      follow a job to the end, then download its completion report

The web Jobs page is at the server's root (http://127.0.0.1:8080/), with the same API key.
Exit codes: 0 done, 2 your error (bad arguments, a 4xx answer), 1 the server's or the network's.`,
  );

registerServe(program);
registerWorker(program);
registerCreateJob(program, env);
registerDescribeJob(program, env);
registerListJobs(program, env);
registerUpdateJobStatus(program, env);
registerUpdateJobPriority(program, env);
registerJobTagging(program, env);
registerWatch(program, env);
registerReport(program, env);
registerRetry(program, env);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exit(err.exitCode === 0 ? 0 : EXIT_USER_ERROR);
  }
  const failure = describeFailure(err);
  process.stderr.write(`${failure.line}\n`);
  process.exit(failure.exitCode);
}
