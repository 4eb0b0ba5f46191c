/**
 * The s3batch CLI. Exit codes: 0 success, 1 server or unexpected error, 2 user error (bad
 * arguments or configuration).
 */
import { Command, CommanderError } from 'commander';
import { isS3BatchError } from '../domain/errors.ts';
import { registerServe } from './commands/serve.ts';

export const EXIT_USER_ERROR = 2;
export const EXIT_SERVER_ERROR = 1;

const program = new Command('s3batch')
  .description('Open, self-hosted S3 Batch Operations: run one operation over millions of S3 objects')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

registerServe(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exit(err.exitCode === 0 ? 0 : EXIT_USER_ERROR);
  }
  if (isS3BatchError(err) && (err.code === 'InvalidConfiguration' || err.status < 500)) {
    process.stderr.write(`s3batch: ${err.message}\n`);
    process.exit(EXIT_USER_ERROR);
  }
  process.stderr.write(`s3batch: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(EXIT_SERVER_ERROR);
}
