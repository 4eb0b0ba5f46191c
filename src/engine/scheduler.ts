/**
 * The scheduling decision, as a pure function: given the runnable jobs and the global task-slot
 * budget, which jobs get how many slots.
 *
 * Invariants:
 * - Jobs are served in descending priority, FIFO (creation time, then id) on ties.
 * - Slots still held by in-flight tasks of a Pausing job are not handed out again: the budget
 *   is never exceeded, so a higher-priority job waits until the job it pre-empts has drained.
 * - A running job that gets no slots is paused; a Ready or Paused job that gets slots starts.
 */
import type { JobStatus } from '../domain/job-status.ts';

export interface SchedulableJob {
  readonly id: string;
  readonly status: JobStatus;
  readonly priority: number;
  readonly creationTime: string;
  /** The job's own concurrency limit. */
  readonly concurrency: number;
  /** Tasks in flight now (only matters for Pausing jobs). */
  readonly inFlight: number;
}

export type Decision =
  | { readonly action: 'start'; readonly jobId: string; readonly slots: number }
  | { readonly action: 'resume'; readonly jobId: string; readonly slots: number }
  | { readonly action: 'resize'; readonly jobId: string; readonly slots: number }
  | { readonly action: 'pause'; readonly jobId: string };

const RUNNABLE: ReadonlySet<JobStatus> = new Set<JobStatus>(['Ready', 'Active', 'Pausing', 'Paused']);

export function byPriority(a: SchedulableJob, b: SchedulableJob): number {
  return b.priority - a.priority || a.creationTime.localeCompare(b.creationTime) || a.id.localeCompare(b.id);
}

export function plan(jobs: readonly SchedulableJob[], budget: number): Decision[] {
  const runnable = jobs.filter((j) => RUNNABLE.has(j.status)).sort(byPriority);
  const contenders = runnable.filter((j) => j.status !== 'Pausing');

  // Pass 1: the ideal allocation, as if no task were in flight anywhere.
  let free = budget;
  const ideal = new Map<string, number>();
  for (const job of contenders) {
    const slots = Math.min(job.concurrency, free);
    free -= slots;
    ideal.set(job.id, slots);
  }
  const preempted = contenders.filter((j) => j.status === 'Active' && ideal.get(j.id) === 0);

  // Pass 2: running jobs keep their ideal share; slots still held by draining jobs (Pausing, or
  // pre-empted now) are not free yet, so jobs that start get only what is really left.
  const held = [...runnable.filter((j) => j.status === 'Pausing'), ...preempted].reduce((n, j) => n + j.inFlight, 0);
  let remaining = Math.max(0, budget - held);
  const decisions: Decision[] = preempted.map((j) => ({ action: 'pause' as const, jobId: j.id }));
  for (const job of contenders) {
    const slots = ideal.get(job.id) ?? 0;
    if (job.status !== 'Active' || slots === 0) continue;
    remaining -= slots;
    decisions.push({ action: 'resize', jobId: job.id, slots });
  }
  for (const job of contenders) {
    if (job.status === 'Active') continue;
    const slots = Math.min(ideal.get(job.id) ?? 0, Math.max(0, remaining));
    if (slots === 0) continue; // waits until slots free up
    remaining -= slots;
    decisions.push({ action: job.status === 'Ready' ? 'start' : 'resume', jobId: job.id, slots });
  }
  return decisions;
}
