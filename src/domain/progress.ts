/** Progress counters and the task-failure threshold (docs/job-lifecycle.md#failure-threshold). */
import { type FailureGroups, mergeFailures } from './failure-groups.ts';

export interface Progress {
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Bytes of the objects the tasks acted on, when the operation reports them (dry run). */
  readonly bytes?: number | undefined;
  /** Failed tasks grouped by error code (domain/failure-groups.ts); absent before any failure. */
  readonly failures?: FailureGroups | undefined;
}

/** The threshold is watched only once this many tasks have run. */
export const THRESHOLD_MIN_TASKS = 1000;

/**
 * AWS: once at least 1,000 tasks have run, a job whose failed ÷ run exceeds 50 % fails.
 * A small job therefore never fails on the threshold, even at 100 % failure.
 */
export function thresholdExceeded(succeeded: number, failed: number): boolean {
  const run = succeeded + failed;
  return run >= THRESHOLD_MIN_TASKS && failed * 2 > run;
}

/** Adds task outcomes to the counters (the total stays); bytes only when either side has them. */
export function addProgress(
  a: Progress,
  b: {
    readonly succeeded: number;
    readonly failed: number;
    readonly bytes?: number | undefined;
    readonly failures?: FailureGroups | undefined;
  },
): Progress {
  const sum: Progress = { total: a.total, succeeded: a.succeeded + b.succeeded, failed: a.failed + b.failed };
  const withBytes =
    a.bytes === undefined && b.bytes === undefined ? sum : { ...sum, bytes: (a.bytes ?? 0) + (b.bytes ?? 0) };
  const failures = mergeFailures(a.failures, b.failures);
  return failures === undefined ? withBytes : { ...withBytes, failures };
}
