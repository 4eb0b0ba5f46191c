/**
 * The end of a job: the completion report (when enabled and at least one task ran), then the
 * terminal status. A report that cannot be written is a `ReportWriteFailed` FailureReason, not a
 * crash: the job still ends with the status it earned. Interrupted by shutdown, it is redone at
 * the next start (the job is still Completing, Cancelling or Failing).
 */
import { parseBucketArn } from '../manifest/arn.ts';
import { writeReport } from '../reports/report-writer.ts';
import type { ResultSpool } from '../storage/result-spool.ts';
import { jobLog, type Log } from './job-log.ts';
import type { JobRecords } from './job-records.ts';
import type { StorageProfile } from './storage-profile.ts';

export type Terminal = 'Complete' | 'Cancelled' | 'Failed';

export interface FinalizerDeps {
  readonly records: JobRecords;
  readonly spool: ResultSpool;
  profileFor(roleArn: string): StorageProfile;
  readonly now: () => Date;
  cleanup(jobId: string): Promise<void>;
  onSettled(): void;
  readonly log: Log;
}

export class Finalizer {
  private readonly pending = new Map<string, Promise<void>>();
  private stopping = false;

  constructor(private readonly deps: FinalizerDeps) {}

  get busy(): boolean {
    return this.pending.size > 0;
  }

  finalize(jobId: string, terminal: Terminal): void {
    if (this.pending.has(jobId) || this.stopping) return;
    const p = this.run(jobId, terminal)
      .catch((err: unknown) =>
        this.deps.records.logFor(jobId).error({ err }, `job ${jobId}: finalizing failed: ${(err as Error).message}`),
      )
      .finally(() => {
        this.pending.delete(jobId);
        this.deps.onSettled();
      });
    this.pending.set(jobId, p);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled(this.pending.values());
  }

  /** Resolves when nothing is being finalized. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.pending.values());
  }

  private async run(jobId: string, terminal: Terminal): Promise<void> {
    const { records } = this.deps;
    const job = records.mustGet(jobId);
    const ran = job.progress.succeeded + job.progress.failed;
    const report = job.request.Report;
    if (report.Enabled && ran > 0 && report.Bucket) {
      try {
        const profile = this.deps.profileFor(job.request.RoleArn);
        const outcome = await writeReport({
          jobId,
          report: {
            bucketName: parseBucketArn(report.Bucket),
            prefix: report.Prefix,
            scope: report.ReportScope ?? 'AllTasks',
          },
          chunkIndices: await this.deps.spool.chunks(jobId),
          spool: this.deps.spool,
          store: profile.objects,
          now: this.deps.now,
        });
        records.update(jobId, (j) => ({ ...j, report: outcome }));
      } catch (err) {
        if (this.stopping) return; // written at the next start
        jobLog(this.deps.log, job).warn({}, `job ${jobId}: report not written: ${(err as Error).message}`);
        records.addFailureReason(
          jobId,
          'ReportWriteFailed',
          `The job report could not be written to your report bucket: ${(err as Error).message}`,
        );
      }
    }
    records.setStatus(jobId, terminal);
    await this.deps.cleanup(jobId);
  }
}
