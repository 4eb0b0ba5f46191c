/**
 * The s3batch CLI. Exit codes: 0 success, 1 server or unexpected error, 2 user error (bad
 * arguments or configuration).
 */
import { Command, CommanderError } from 'commander';
import { describeFailure, EXIT_USER_ERROR } from './cli-errors.ts';
import { registerServe } from './commands/serve.ts';
import { registerReport } from './commands/report.ts';
import { registerWatch } from './commands/watch.ts';

export { EXIT_SERVER_ERROR, EXIT_USER_ERROR } from './cli-errors.ts';

// The job verbs resolve their connection from this environment (src/cli/client-config.ts).
const env = process.env;

const program = new Command('s3batch')
  .description('Open, self-hosted S3 Batch Operations: run one operation over millions of S3 objects')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

registerServe(program);
registerWatch(program, env);
registerReport(program, env);

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
