/**
 * The job status machine. One table of legal transitions, one function that applies them.
 *
 *   New         the job record exists; nothing has been read yet.
 *   Preparing   the manifest is streamed once: rows validated and counted, chunk index recorded.
 *   Suspended   prepared, waiting for UpdateJobStatus(Ready) (ConfirmationRequired).
 *   Ready       prepared and confirmed; waits for the scheduler to give it task slots.
 *   Active      tasks are being dispatched.
 *   Pausing     a higher-priority job took the slots, or a user paused the job; no new tasks,
 *               in-flight ones finish.
 *   Paused      no task in flight; resumes by itself when slots come back, unless a user paused
 *               it (domain/user-pause.ts): then it waits for the user's resume.
 *   Completing  every task has a result; the completion report is being written.
 *   Complete    terminal: every task ran (each succeeded or failed).
 *   Cancelling  the user cancelled; no new tasks, in-flight ones finish, report of what ran.
 *   Cancelled   terminal.
 *   Failing     a job-level failure (manifest, threshold, …); in-flight tasks finish, report.
 *   Failed      terminal.
 *
 * Everything outside this module reads the status; only `transition()` changes it, and it
 * records the timestamps that go with each change (SuspendedDate, TerminationDate, active time).
 */
import { S3BatchError } from './errors.ts';

export const JobStatus = {
  New: 'New',
  Preparing: 'Preparing',
  Suspended: 'Suspended',
  Ready: 'Ready',
  Active: 'Active',
  Pausing: 'Pausing',
  Paused: 'Paused',
  Completing: 'Completing',
  Complete: 'Complete',
  Cancelling: 'Cancelling',
  Cancelled: 'Cancelled',
  Failing: 'Failing',
  Failed: 'Failed',
} as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

export const ALL_STATUSES: readonly JobStatus[] = Object.values(JobStatus);

export function isJobStatus(value: unknown): value is JobStatus {
  return typeof value === 'string' && (ALL_STATUSES as readonly string[]).includes(value);
}

const S = JobStatus;

/** Legal automatic and user-driven transitions. Anything not listed is a bug or a refused request. */
export const TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  New: [S.Preparing, S.Cancelled, S.Failing, S.Failed],
  Preparing: [S.Suspended, S.Ready, S.Cancelling, S.Cancelled, S.Failing, S.Failed],
  Suspended: [S.Ready, S.Cancelled, S.Failing, S.Failed],
  // Ready → Paused: a user paused the job before it got slots (domain/user-pause.ts).
  Ready: [S.Active, S.Paused, S.Cancelled, S.Failing, S.Failed],
  Active: [S.Pausing, S.Completing, S.Complete, S.Cancelling, S.Failing],
  // A job whose last tasks finished while it was being paused completes from there.
  Pausing: [S.Paused, S.Completing, S.Cancelling, S.Failing],
  Paused: [S.Active, S.Completing, S.Cancelling, S.Failing],
  Completing: [S.Complete, S.Failed],
  Complete: [],
  Cancelling: [S.Cancelled],
  Cancelled: [],
  Failing: [S.Failed],
  Failed: [],
};

export type TerminalStatus = typeof S.Complete | typeof S.Cancelled | typeof S.Failed;

export const TERMINAL_STATUSES: readonly JobStatus[] = [S.Complete, S.Cancelled, S.Failed];

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The fields of a job that the status machine owns. */
export interface StatusFields {
  readonly status: JobStatus;
  readonly suspendedDate?: string | undefined;
  readonly suspendedCause?: string | undefined;
  readonly terminationDate?: string | undefined;
  /** Milliseconds spent in Active before the current Active period. */
  readonly activeMs: number;
  /** ISO time the current Active period began, when Active. */
  readonly activeSince?: string | undefined;
}

export const SUSPENDED_CAUSE =
  'Awaiting confirmation (ConfirmationRequired): confirm with UpdateJobStatus requestedJobStatus=Ready';

/**
 * Applies one transition and returns the new status fields; throws `IllegalTransition` (an
 * internal error, never a user error) when the table does not allow it.
 */
export function transition<T extends StatusFields>(job: T, to: JobStatus, now: Date): T {
  const from = job.status;
  if (!canTransition(from, to)) {
    throw new S3BatchError('IllegalTransition', `Illegal job status transition ${from} → ${to}`);
  }
  const iso = now.toISOString();
  let activeMs = job.activeMs;
  let activeSince = job.activeSince;
  if (from === S.Active && activeSince !== undefined) {
    activeMs += Math.max(0, now.getTime() - Date.parse(activeSince));
    activeSince = undefined;
  }
  if (to === S.Active) activeSince = iso;
  return {
    ...job,
    status: to,
    activeMs,
    activeSince,
    ...(to === S.Suspended ? { suspendedDate: iso, suspendedCause: SUSPENDED_CAUSE } : {}),
    ...(isTerminal(to) ? { terminationDate: iso } : {}),
  };
}

/** Whole seconds spent in Active, including the current Active period. */
export function elapsedActiveSeconds(job: StatusFields, now: Date): number {
  let ms = job.activeMs;
  if (job.status === S.Active && job.activeSince !== undefined) {
    ms += Math.max(0, now.getTime() - Date.parse(job.activeSince));
  }
  return Math.floor(ms / 1000);
}

/**
 * UpdateJobStatus (docs/job-lifecycle.md#update-job-status): `Ready` only from Suspended; `Cancelled` from every live
 * state except the two that are already finishing (Completing, Failing). Returns the status the job
 * moves to, or throws JobStatusException.
 */
export function requestedStatusTarget(jobId: string, from: JobStatus, requested: 'Ready' | 'Cancelled'): JobStatus {
  const refuse = (): never => {
    throw new S3BatchError(
      'JobStatusException',
      `Job ${jobId} is in state ${from}; requested status ${requested} is not allowed`,
    );
  };
  if (requested === 'Ready') return from === S.Suspended ? S.Ready : refuse();
  switch (from) {
    case S.New:
    case S.Suspended:
    case S.Ready:
      return S.Cancelled;
    case S.Preparing:
    case S.Active:
    case S.Pausing:
    case S.Paused:
    case S.Cancelling:
      return S.Cancelling;
    default:
      return refuse();
  }
}

// -------------------------------------------------------------------------------------------------
// The engine's moves: the status each event leads to, decided here next to the table (as BullMQ
// names moveToCompleted and moveToFailed) and applied by engine.ts through `transition()`.

/**
 * A job-level failure (an unreadable manifest, the task-failure threshold, an error while
 * preparing or scheduling): the status the job takes now, or `undefined` when it is already
 * ending (terminal, Failing, Cancelling) and the failure is dropped unrecorded. A job whose tasks
 * may be in flight (Active, Pausing, Paused) goes to Failing; any other keeps its status (the
 * returned one is `from`) until the finalizer takes it to Failed.
 */
export function failureTarget(from: JobStatus): JobStatus | undefined {
  if (isTerminal(from) || from === S.Failing || from === S.Cancelling) return undefined;
  return from === S.Active || from === S.Pausing || from === S.Paused ? S.Failing : from;
}

/**
 * A job's runner threw (no stop was asked of it): the failure is recorded and the job goes to
 * Failing, unless it is already on its way to an end (Failing, Cancelling), which it keeps.
 */
export function runnerErrorTarget(from: JobStatus): JobStatus {
  return from === S.Failing || from === S.Cancelling ? from : S.Failing;
}

/** Where a job goes when its runner ended: `next` to set now (when any), `final` for the finalizer. */
export interface RunnerEndMove {
  readonly next?: JobStatus;
  readonly final: TerminalStatus;
}

/**
 * A job's runner ended (every task ran, or it stopped for a cancel or a failure; not a shutdown):
 * Cancelling ends Cancelled and Failing ends Failed; a job still running its course (Active,
 * Pausing, Paused) moves to Completing and ends Complete. `undefined`: nothing to move.
 */
export function runnerEndTarget(from: JobStatus): RunnerEndMove | undefined {
  switch (from) {
    case S.Cancelling:
      return { final: S.Cancelled };
    case S.Failing:
      return { final: S.Failed };
    case S.Active:
    case S.Pausing:
    case S.Paused:
      return { next: S.Completing, final: S.Complete };
    default:
      return undefined;
  }
}
