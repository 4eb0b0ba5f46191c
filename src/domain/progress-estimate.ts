/**
 * A job's percent complete, and whether it is an estimate (docs/job-lifecycle.md#percent-complete).
 * Pure.
 *
 * A CSV manifest is read whole before any task runs, so its total is exact. An inventory or
 * generator job's total (TotalNumberOfTasks) is the number of tasks its listing found so far: a
 * generator job starts running at its first chunk while the listing goes on, and the total grows
 * with each chunk; an inventory job is Preparing (no task runs) until every data file is read.
 * While that listing is not complete the percent, done ÷ tasks found so far, can only overstate
 * how far the job is, and it says so: `Estimated: true` with the basis `TasksFoundSoFar`. S3
 * listings tell no object count up front, so there is no better total to divide by. Once the
 * listing ends, or the job ended, the percent is exact.
 */

/** What an estimated percent divides by: the tasks the listing found so far. */
export const ESTIMATE_BASIS_TASKS_FOUND_SO_FAR = 'TasksFoundSoFar';

export interface PercentComplete {
  /** Whole percent of the tasks done (succeeded + failed), rounded down; null while no task is known. */
  readonly Percent: number | null;
  /** True while the total can still grow (the listing of an inventory or generator job goes on). */
  readonly Estimated: boolean;
  /** What an estimate divides by (`TasksFoundSoFar`); null when the percent is exact. */
  readonly EstimateBasis: string | null;
}

export interface PercentInput {
  readonly status: string;
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  /** The job ended (Complete, Failed, Cancelled): its counts no longer change. */
  readonly ended: boolean;
  /** The job's tasks come from a listing (inventory or generator) that has not ended. */
  readonly listingOngoing: boolean;
}

export function percentComplete(p: PercentInput): PercentComplete {
  const estimated = p.listingOngoing && !p.ended;
  const basis = estimated ? ESTIMATE_BASIS_TASKS_FOUND_SO_FAR : null;
  if (p.status === 'Complete') return { Percent: 100, Estimated: false, EstimateBasis: null };
  if (p.total <= 0) return { Percent: null, Estimated: estimated, EstimateBasis: basis };
  const Percent = Math.min(100, Math.floor(((p.succeeded + p.failed) * 100) / p.total));
  return { Percent, Estimated: estimated, EstimateBasis: basis };
}
