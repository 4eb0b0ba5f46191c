/**
 * The s3batch extension members about progress that `describe-job` and `watch` show next to
 * DescribeJob's counts, read from the JSON job view (GET /api/v1/jobs/:id, progress-view.ts on
 * the server): whether the percent is an estimate (a listing goes on), the bytes processed, and
 * who paused the job (a user or priority).
 * Pure: the view comes from job-view-fetch.ts; undefined when it does not have these members.
 */
import { formatByteRate, formatBytes } from '../domain/bytes-processed.ts';
import { formatCount } from './progress-line.ts';

export interface ProgressExtras {
  /** The percent divides by the tasks found so far: the listing goes on. */
  readonly estimated: boolean;
  /** Tasks the listing found so far (the Discovery member), when told. */
  readonly tasksFound: number | undefined;
  readonly objectsListed: number | undefined;
  /** Null: the operation moves no bytes (or a dry run). */
  readonly bytesProcessed: number | null;
  readonly averageBytesPerSecond: number | null;
  /** Who holds a Pausing or Paused job (PausedBy); null in every other status. */
  readonly pausedBy: 'user' | 'priority' | null;
  /** When a user paused the job (UserPause.PausedAt), while that pause is set; also before it runs. */
  readonly userPausedAt: string | null;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The members of a job view (parsed JSON); undefined when it has none of them. */
export function readProgressExtras(view: unknown): ProgressExtras | undefined {
  if (typeof view !== 'object' || view === null) return undefined;
  const v = view as Record<string, unknown>;
  const pc = v.PercentComplete as Record<string, unknown> | undefined;
  if (typeof pc !== 'object' || pc === null || !('BytesProcessed' in v)) return undefined;
  const d = (typeof v.Discovery === 'object' && v.Discovery !== null ? v.Discovery : {}) as Record<string, unknown>;
  const up = (typeof v.UserPause === 'object' && v.UserPause !== null ? v.UserPause : {}) as Record<string, unknown>;
  return {
    estimated: pc.Estimated === true,
    tasksFound: isNum(d.ObjectsFound) ? d.ObjectsFound : undefined,
    objectsListed: isNum(d.ObjectsListed) ? d.ObjectsListed : undefined,
    bytesProcessed: isNum(v.BytesProcessed) ? v.BytesProcessed : null,
    averageBytesPerSecond: isNum(v.AverageBytesPerSecond) ? v.AverageBytesPerSecond : null,
    pausedBy: v.PausedBy === 'user' || v.PausedBy === 'priority' ? v.PausedBy : null,
    userPausedAt: typeof up.PausedAt === 'string' ? up.PausedAt : null,
  };
}

/**
 * Who paused the job, and how it goes on: `by a user at <time>; s3batch resume <id> to go on`,
 * `by priority: …`; undefined when nothing holds it.
 */
export function pauseText(jobId: string, x: ProgressExtras): string | undefined {
  const resume = `s3batch resume ${jobId} to go on`;
  if (x.pausedBy === 'priority') return 'by priority: higher-priority jobs hold the slots; it resumes by itself';
  const at = x.userPausedAt === null ? '' : ` at ${x.userPausedAt}`;
  if (x.pausedBy === 'user') return `by a user${at}; ${resume}`;
  if (x.userPausedAt !== null) return `by a user${at}, before it runs: it will wait Paused; ${resume}`;
  return undefined;
}

/** `estimated: of 1,200 tasks found so far in 5,000 objects listed; the listing goes on`. */
export function estimateText(x: ProgressExtras): string {
  if (x.tasksFound === undefined || x.tasksFound === 0) return 'estimated: no task found yet; the listing goes on';
  const found = `${formatCount(x.tasksFound)} tasks found so far`;
  const listed = x.objectsListed === undefined ? '' : ` in ${formatCount(x.objectsListed)} objects listed`;
  return `estimated: of ${found}${listed}; the listing goes on`;
}

/** `1.5 GiB (1610612736 bytes), average 12 MiB/s`. */
export function bytesText(bytes: number, averagePerSecond: number | null): string {
  const avg = averagePerSecond === null ? '' : `, average ${formatByteRate(averagePerSecond)}`;
  return `${formatBytes(bytes)} (${bytes} bytes)${avg}`;
}
