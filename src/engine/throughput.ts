/**
 * Keeps a job's throughput history (domain/throughput-history.ts) in its record: the engine calls
 * this as its progress events go out and when a run starts or ends. The record is written only
 * when the history keeps the sample (at most one per step, plus a run's edges), never per task.
 */
import type { JobRecord } from '../domain/job.ts';
import type { Progress } from '../domain/progress.ts';
import { recordThroughput } from '../domain/throughput-history.ts';
import type { JobRecords } from './job-records.ts';

export function sampleThroughput(
  records: JobRecords,
  job: JobRecord,
  progress: Progress,
  nowMs: number,
  force: boolean,
): void {
  const next = recordThroughput(job.throughput, { t: nowMs, s: progress.succeeded, f: progress.failed }, { force });
  if (next !== job.throughput) records.update(job.id, (j) => ({ ...j, throughput: next }));
}
