/**
 * How the job verbs print (pure: each function returns text). `--json` prints the SDK's output
 * without `$metadata`; the default is for people: a summary of one job, a table of many.
 */
import type { JobDescriptor, JobListDescriptor, JobOperation, S3Tag } from '@aws-sdk/client-s3-control';
import { formatDuration } from '../domain/progress-rate.ts';
import { bytesText, estimateText, type ProgressExtras, pauseText } from './progress-extras.ts';

/** The SDK's output as JSON (dates as ISO text), without the SDK's `$metadata`. */
export function toJson(output: object): string {
  const { $metadata: _ignored, ...rest } = output as { $metadata?: unknown };
  return `${JSON.stringify(rest, null, 2)}\n`;
}

/** The operation's AWS name (the one member of JobOperation that is set). */
export function operationOf(op: JobOperation | undefined): string {
  if (op === undefined) return '-';
  const name = Object.entries(op).find(([, v]) => v !== undefined)?.[0] ?? '-';
  // The s3batch delete travels as LambdaInvoke of the reserved function; say what it does.
  if (name === 'LambdaInvoke' && /:function:s3batch-delete-objects$/.test(op.LambdaInvoke?.FunctionArn ?? ''))
    return 'Delete (s3batch)';
  return name;
}

/** `done/total (p%)`; total unknown while the manifest is read; no percentage of no tasks (a job that failed before reading its manifest is not "100%"). */
export function progressOf(
  p:
    | {
        TotalNumberOfTasks?: number | undefined;
        NumberOfTasksSucceeded?: number | undefined;
        NumberOfTasksFailed?: number | undefined;
      }
    | undefined,
): string {
  const total = p?.TotalNumberOfTasks;
  const done = (p?.NumberOfTasksSucceeded ?? 0) + (p?.NumberOfTasksFailed ?? 0);
  if (total === undefined) return done > 0 ? `${done}/?` : '-';
  if (total === 0) return `${done}/0`;
  return `${done}/${total} (${Math.floor((done * 100) / total)}%)`;
}

const iso = (d: Date | undefined): string => (d === undefined ? '-' : d.toISOString().replace(/\.\d{3}Z$/, 'Z'));

/** A table with left-aligned columns separated by two spaces (no trailing spaces). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return (
    all
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/**
 * The human summary of DescribeJob; `extras` (the JSON job view's s3batch members, when the
 * server tells them) add whether the percent is an estimate, the bytes processed and who paused it.
 */
export function describeText(job: JobDescriptor, extras?: ProgressExtras): string {
  const p = job.ProgressSummary;
  const progress = progressOf(p);
  const lines: [string, string][] = [
    ['Job', job.JobId ?? '-'],
    ['Status', job.Status ?? '-'],
    ['Operation', operationOf(job.Operation)],
    ['Priority', String(job.Priority ?? '-')],
    ['Progress', extras?.estimated === true ? `${progress}, ${estimateText(extras)}` : progress],
    ['Succeeded', String(p?.NumberOfTasksSucceeded ?? 0)],
    ['Failed', String(p?.NumberOfTasksFailed ?? 0)],
  ];
  if (extras !== undefined && extras.bytesProcessed !== null)
    lines.push(['Processed', bytesText(extras.bytesProcessed, extras.averageBytesPerSecond)]);
  if (p?.Timers?.ElapsedTimeInActiveSeconds !== undefined)
    lines.push(['Active for', formatDuration(p.Timers.ElapsedTimeInActiveSeconds)]);
  if (job.Description !== undefined && job.Description !== '') lines.push(['Description', job.Description]);
  if (job.Status === 'Suspended') {
    if (job.ConfirmationRequired === true && /confirm/i.test(job.SuspendedCause ?? 'confirm'))
      lines.push(['Waiting', `for confirmation: s3batch confirm ${job.JobId ?? ''}`]);
    else if (job.SuspendedCause !== undefined) lines.push(['Suspended', job.SuspendedCause]);
  }
  const paused = extras === undefined ? undefined : pauseText(job.JobId ?? '', extras);
  if (paused !== undefined) lines.push(['Paused', paused]);
  if (job.StatusUpdateReason !== undefined) lines.push(['Reason', job.StatusUpdateReason]);
  for (const f of job.FailureReasons ?? []) lines.push(['Failure', `${f.FailureCode ?? ''}: ${f.FailureReason ?? ''}`]);
  const loc = job.Manifest?.Location;
  if (loc?.ObjectArn !== undefined)
    lines.push([
      'Manifest',
      `${loc.ObjectArn} (${job.Manifest?.Spec?.Format ?? '?'}${loc.ETag !== undefined ? `, ETag ${loc.ETag}` : ''})`,
    ]);
  else if (job.ManifestGenerator !== undefined)
    lines.push(['Manifest', `generated from ${job.ManifestGenerator.S3JobManifestGenerator?.SourceBucket ?? '?'}`]);
  const r = job.Report;
  if (r?.Enabled === true)
    lines.push([
      'Report',
      `${r.Bucket ?? ''}${r.Prefix !== undefined ? `/${r.Prefix}` : ''} (${r.ReportScope ?? 'AllTasks'})`,
    ]);
  else lines.push(['Report', 'none']);
  lines.push(['Created', iso(job.CreationTime)]);
  if (job.SuspendedDate !== undefined) lines.push(['Suspended at', iso(job.SuspendedDate)]);
  if (job.TerminationDate !== undefined) lines.push(['Terminated', iso(job.TerminationDate)]);
  lines.push(['Role', job.RoleArn ?? '-']);
  const w = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}

/** The human table of ListJobs. */
export function jobsTable(jobs: readonly JobListDescriptor[]): string {
  if (jobs.length === 0) return 'No jobs.\n';
  return table(
    ['JOB ID', 'STATUS', 'PRIORITY', 'OPERATION', 'PROGRESS', 'FAILED', 'CREATED', 'DESCRIPTION'],
    jobs.map((j) => [
      j.JobId ?? '-',
      j.Status ?? '-',
      String(j.Priority ?? '-'),
      j.Operation ?? '-',
      progressOf(j.ProgressSummary),
      String(j.ProgressSummary?.NumberOfTasksFailed ?? 0),
      iso(j.CreationTime),
      j.Description ?? '',
    ]),
  );
}

/** The human table of a job's tags. */
export function tagsTable(tags: readonly S3Tag[]): string {
  if (tags.length === 0) return 'No tags.\n';
  return table(
    ['KEY', 'VALUE'],
    tags.map((t) => [t.Key ?? '', t.Value ?? '']),
  );
}
