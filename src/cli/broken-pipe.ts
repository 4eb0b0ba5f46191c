/**
 * `s3batch watch … | head -3` or `s3batch report --failed … | head`: when the reader goes away,
 * writing to stdout fails with EPIPE. That is the reader's choice, not an error: stop quietly
 * (exit 0) instead of dying with a stack trace.
 */
let installed = false;

export function exitQuietlyOnBrokenPipe(): void {
  if (installed) return;
  installed = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}
