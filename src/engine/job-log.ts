/**
 * The engine's logger: the part of pino's Logger it uses (src/logging.ts builds the real one), so
 * the engine imports no logging library. A job's lines go through `jobLog`, a child logger that puts
 * `jobId` and `accountId` on each of them.
 */
export interface Log {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  child(bindings: Record<string, unknown>): Log;
}

/** The logger of one job: every line it writes carries the job's id and account. */
export function jobLog(log: Log, job: { readonly id: string; readonly accountId: string }): Log {
  return log.child({ jobId: job.id, accountId: job.accountId });
}

/** Writes nothing (tests that do not look at the log). */
export const NO_LOG: Log = {
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => NO_LOG,
};
