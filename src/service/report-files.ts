/**
 * A job's completion report as the JSON API hands it out: which files it has (from the job
 * record's ReportOutcome) and their bytes, streamed from the report bucket through the job's
 * storage profile. Nothing is buffered: a file is opened with GetObject and its body passed on
 * chunk by chunk, so a report of any size costs the server a few chunks of memory.
 *
 * Files are addressed by their base name only, and a name is looked up in the job's own file list
 * (result files and manifest.json): no name reaches the store as a key of its own.
 */
import { S3BatchError } from '../domain/errors.ts';
import type { JobRecord, ReportOutcome } from '../domain/job.ts';
import { isTerminal } from '../domain/job-status.ts';
import { ObjectStoreError, type ObjectStore } from '../storage/object-store.ts';

export interface ReportFilesDeps {
  /** The account's job record (NotFoundException for an unknown job or another account's). */
  readonly getJob: (accountId: string, jobId: string) => JobRecord;
  /** The object store of a job's storage profile (main.ts: profileFor(roleArn).objects). */
  readonly objectsFor: (roleArn: string) => ObjectStore;
}

export const REPORT_MANIFEST_NAME = 'manifest.json';

export interface ReportFileEntry {
  /** Base name: `<40 hex>.csv`, or manifest.json. */
  readonly name: string;
  readonly key: string;
  readonly taskStatus: 'succeeded' | 'failed';
  readonly rows: number;
  readonly md5: string;
}

export interface ReportListing {
  readonly job: JobRecord;
  /** Null while the job has no report (see noReportMessage for why). */
  readonly report: {
    readonly bucket: string;
    readonly prefix?: string | undefined;
    readonly manifestKey: string;
    readonly writtenAt: string;
    readonly files: readonly ReportFileEntry[];
  } | null;
}

/** An object being streamed to the caller. */
export interface ReportDownload {
  readonly name: string;
  readonly contentType: string;
  /** Bytes, when known before the body is read (not for concatenations). */
  readonly size?: number | undefined;
  readonly body: AsyncIterable<Uint8Array>;
  /** Releases the storage connection when the body is not read to its end (client gone, HEAD). */
  cancel(): void;
}

function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/** Why a job has no report (yet): its status, whether reports are on, whether writing it failed. */
function noReportMessage(job: JobRecord): string {
  const r = job.request.Report;
  if (!r.Enabled)
    return `Job ${job.id} has no completion report: reports are off for it (Report Enabled=false when it was created)`;
  if (!isTerminal(job.status)) {
    return `Job ${job.id} is ${job.status}: its completion report is written when the job ends (Complete, Failed or Cancelled)`;
  }
  const failed = job.failureReasons.find((f) => f.FailureCode === 'ReportWriteFailed');
  if (failed)
    return `Job ${job.id} ended ${job.status} but its completion report could not be written: ${failed.FailureReason}`;
  if (job.progress.succeeded + job.progress.failed === 0) {
    return `Job ${job.id} ended ${job.status} before any task ran, so no completion report was written`;
  }
  return `Job ${job.id} ended ${job.status} without a completion report`;
}

export class ReportFiles {
  constructor(private readonly deps: ReportFilesDeps) {}

  /** The job and its report's files (result files in the record's order). */
  list(accountId: string, jobId: string): ReportListing {
    const job = this.deps.getJob(accountId, jobId);
    const outcome = job.report;
    if (!outcome) return { job, report: null };
    return {
      job,
      report: {
        bucket: outcome.bucket,
        prefix: job.request.Report.Prefix,
        manifestKey: outcome.manifestKey,
        writtenAt: outcome.writtenAt,
        files: outcome.files.map((f) => ({
          name: baseName(f.key),
          key: f.key,
          taskStatus: f.taskStatus,
          rows: f.rows,
          md5: f.md5,
        })),
      },
    };
  }

  /** Streams one file of the job's report, named by its base name (manifest.json or a result file). */
  async open(accountId: string, jobId: string, name: string): Promise<ReportDownload> {
    const { job, outcome } = this.reported(accountId, jobId);
    let key: string | undefined;
    if (name === REPORT_MANIFEST_NAME) key = outcome.manifestKey;
    else key = outcome.files.find((f) => baseName(f.key) === name)?.key;
    if (key === undefined) {
      const names = [REPORT_MANIFEST_NAME, ...outcome.files.map((f) => baseName(f.key))];
      const shown =
        names.length > 6 ? `${names.slice(0, 6).join(', ')} and ${names.length - 6} more` : names.join(', ');
      throw new S3BatchError(
        'ReportNotFound',
        `The report of job ${jobId} has no file named ${JSON.stringify(name)}; its files are ${shown}`,
      );
    }
    const opened = await this.openObject(job, outcome.bucket, key);
    return {
      name,
      contentType: name === REPORT_MANIFEST_NAME ? 'application/json' : 'text/csv; charset=utf-8',
      size: opened.size,
      body: opened.body,
      cancel: () => destroyBody(opened.body),
    };
  }

  /**
   * Every failed-task row of the report: the failed result files one after the other, as they are
   * in the bucket (CSV rows without a header, as AWS writes them). The first file is opened before
   * this returns, so a storage failure there is an error answer rather than a cut-off body.
   */
  async openFailed(accountId: string, jobId: string): Promise<ReportDownload> {
    const { job, outcome } = this.reported(accountId, jobId);
    const failed = outcome.files.filter((f) => f.taskStatus === 'failed');
    let current =
      failed[0] === undefined ? undefined : (await this.openObject(job, outcome.bucket, failed[0].key)).body;
    const rest = failed.slice(1);
    const open = (key: string): Promise<{ body: AsyncIterable<Uint8Array> }> =>
      this.openObject(job, outcome.bucket, key);
    let cancelled = false;
    const body = (async function* (): AsyncGenerator<Uint8Array> {
      if (current === undefined || cancelled) return;
      yield* current;
      for (const f of rest) {
        if (cancelled) return;
        current = (await open(f.key)).body;
        yield* current;
      }
    })();
    return {
      name: `job-${job.id}-failed.csv`,
      contentType: 'text/csv; charset=utf-8',
      size: failed.length === 0 ? 0 : undefined,
      body,
      cancel: () => {
        cancelled = true;
        if (current !== undefined) destroyBody(current);
      },
    };
  }

  private reported(accountId: string, jobId: string): { job: JobRecord; outcome: ReportOutcome } {
    const job = this.deps.getJob(accountId, jobId);
    if (!job.report) throw new S3BatchError('ReportNotFound', noReportMessage(job));
    return { job, outcome: job.report };
  }

  private async openObject(
    job: JobRecord,
    bucket: string,
    key: string,
  ): Promise<{ body: AsyncIterable<Uint8Array>; size: number }> {
    try {
      const opened = await this.deps.objectsFor(job.request.RoleArn).open({ bucket, key });
      return { body: opened.body, size: opened.size };
    } catch (err) {
      if (err instanceof ObjectStoreError) {
        throw new S3BatchError(
          'ReportUnavailable',
          `The report file s3://${bucket}/${key} could not be read (${err.code}, HTTP ${err.httpStatus}): ${err.message}`,
          { cause: err },
        );
      }
      // The job's role no longer names a storage profile (the profiles file changed).
      if (err instanceof S3BatchError)
        throw new S3BatchError('ReportUnavailable', `The report of job ${job.id} cannot be read: ${err.message}`, {
          cause: err,
        });
      throw err;
    }
  }
}

/** Closes an S3 body (a Node stream under the SDK's types) that will not be read to its end. */
function destroyBody(body: AsyncIterable<Uint8Array>): void {
  const stream = body as { destroy?: () => void; destroyed?: boolean };
  if (typeof stream.destroy === 'function' && stream.destroyed !== true) stream.destroy();
}
