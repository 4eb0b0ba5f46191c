/**
 * How long a job may wait and how long its record is kept: the one home of these defaults. The
 * config loader (config.ts) takes them as the defaults of its settings (in days), the engine as
 * the defaults of its own (in milliseconds, for tests that build an engine without the config).
 */

/** One day in milliseconds. */
export const DAY_MS = 86_400_000;

/** A job Suspended longer than this fails with ConfirmationTimeout (as AWS: 30 days). */
export const DEFAULT_SUSPENDED_TIMEOUT_DAYS = 30;

/** An ended job's record (Complete, Cancelled, Failed) is deleted this long after it ended (as AWS: 90 days). */
export const DEFAULT_JOB_RETENTION_DAYS = 90;

/** Days (fractions allowed) as whole milliseconds. */
export function daysToMs(days: number): number {
  return Math.round(days * DAY_MS);
}
