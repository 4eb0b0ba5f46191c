/**
 * The scheduling decision, as a pure function: given the runnable jobs and the global task-slot
 * budget, which jobs get how many slots.
 *
 * Invariants:
 * - Jobs are served in descending priority, FIFO (creation time, then id) on ties.
 * - Slots still held by in-flight tasks (of a Pausing job, of a job that shrinks) are not handed
 *   out again: the budget is never exceeded, so a higher-priority job waits until the job it
 *   pre-empts has drained (the engine plans again as tasks end).
 * - A running job that gets no slots is paused; a Ready or Paused job that gets slots starts.
 * - A job's demand is its concurrency: the engine passes the effective one, so a job slowed down
 *   by throttling asks for fewer slots and the rest go to the jobs after it.
 * - A job that waits for tasks (its listing has not produced more yet) keeps its place — its
 *   share is computed as if it ran, so a higher job still pre-empts it and a lower one does not —
 *   but lends that share to the jobs after it until it has tasks again; then they give it back
 *   (shrunk or pre-empted like any lower job).
 * - A job a user paused (domain/user-pause.ts) is no contender: it gets no slots, an Active or
 *   Ready one is paused, and its in-flight tasks keep their slots until they end.
 */
import type { JobStatus } from '../domain/job-status.ts';

export interface SchedulableJob {
  readonly id: string;
  readonly status: JobStatus;
  readonly priority: number;
  readonly creationTime: string;
  /** The job's own concurrency limit. */
  readonly concurrency: number;
  /**
   * Slots the job occupies now: its tasks in flight, or all of its slots while it runs with work
   * to do (a slot is taken again as soon as a task ends). Slots are free only when no job occupies them.
   */
  readonly inFlight: number;
  /** The job's runner has no task to start until its listing produces more (see above). */
  readonly waiting?: boolean;
  /** A user paused the job: it gets no slots until the user resumes it. */
  readonly userPaused?: boolean;
}

export type Decision =
  | { readonly action: 'start'; readonly jobId: string; readonly slots: number }
  | { readonly action: 'resume'; readonly jobId: string; readonly slots: number }
  | { readonly action: 'resize'; readonly jobId: string; readonly slots: number }
  | { readonly action: 'pause'; readonly jobId: string };

const RUNNABLE: ReadonlySet<JobStatus> = new Set<JobStatus>(['Ready', 'Active', 'Pausing', 'Paused']);

/** The statuses `plan` considers. */
export const SCHEDULABLE_STATUSES: ReadonlySet<JobStatus> = RUNNABLE;

/** True for the statuses `plan` considers (the others never get or hold slots). */
export function isSchedulable(status: JobStatus): boolean {
  return RUNNABLE.has(status);
}

export function byPriority(a: SchedulableJob, b: SchedulableJob): number {
  return b.priority - a.priority || a.creationTime.localeCompare(b.creationTime) || a.id.localeCompare(b.id);
}

export function plan(jobs: readonly SchedulableJob[], budget: number): Decision[] {
  const runnable = jobs.filter((j) => isSchedulable(j.status)).sort(byPriority);
  const contenders = runnable.filter((j) => j.status !== 'Pausing' && !j.userPaused);
  const held = runnable.filter((j) => j.userPaused && (j.status === 'Active' || j.status === 'Ready'));

  // Pass 1: the ideal allocation, as if no task were in flight anywhere. A waiting job claims
  // its share (`own`) but uses none of it: the jobs after it borrow it.
  let free = budget;
  let lent = 0;
  const own = new Map<string, number>();
  const ideal = new Map<string, number>();
  for (const job of contenders) {
    const claim = Math.min(job.concurrency, free);
    free -= claim;
    own.set(job.id, claim);
    if (job.waiting) {
      lent += claim;
      ideal.set(job.id, 0);
      continue;
    }
    const borrowed = Math.min(job.concurrency - claim, lent);
    lent -= borrowed;
    ideal.set(job.id, claim + borrowed);
  }
  // A waiting job with no share of its own is pre-empted too (it has nothing to lend).
  const preempted = contenders.filter(
    (j) => j.status === 'Active' && ideal.get(j.id) === 0 && (!j.waiting || own.get(j.id) === 0),
  );

  // Pass 2: a slot held by a task in flight stays taken until the task ends, whoever's share it
  // is now (a job that shrinks, drains or lends keeps its in-flight tasks' slots). Jobs that grow
  // or start get, in priority order, only slots really free; the engine plans again as tasks end.
  const decisions: Decision[] = [...held, ...preempted].map((j) => ({ action: 'pause' as const, jobId: j.id }));
  let unused = budget - runnable.reduce((n, j) => n + j.inFlight, 0);
  for (const job of contenders) {
    if (preempted.includes(job)) continue;
    const want = ideal.get(job.id) ?? 0;
    const grow = Math.min(Math.max(0, want - job.inFlight), Math.max(0, unused));
    unused -= grow;
    const slots = Math.min(want, job.inFlight) + grow;
    if (job.status === 'Active') {
      decisions.push({ action: 'resize', jobId: job.id, slots });
    } else if (job.waiting) {
      // Its higher jobs are gone: it runs again (with no slots until its listing moves).
      if ((own.get(job.id) ?? 0) > 0)
        decisions.push({ action: job.status === 'Ready' ? 'start' : 'resume', jobId: job.id, slots: 0 });
    } else if (slots > 0) {
      decisions.push({ action: job.status === 'Ready' ? 'start' : 'resume', jobId: job.id, slots });
    } // else: waits until slots free up
  }
  return decisions;
}
