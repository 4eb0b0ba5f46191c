/**
 * Retry failed (docs/job-lifecycle.md#retry-failed): a new job of the same operation over exactly
 * the failed tasks of an ended job, optionally only those of some error codes. It works from the
 * job's completion report: the report's failed rows are streamed into a CSV manifest written under
 * the origin's report prefix (`<prefix>/job-<origin id>/retries/<uuid>.csv`), and the new job is
 * created from that manifest, pinned to its ETag. The new job names its origin (`retryOf`) and the
 * origin lists its retries.
 */
import { randomUUID } from 'node:crypto';
import { S3BatchError } from '../domain/errors.ts';
import { OTHER_FAILURE_CODE, UNKNOWN_FAILURE_CODE } from '../domain/failure-groups.ts';
import type { JobRecord, ReportOutcome } from '../domain/job.ts';
import type { CreateJobRequest, ManifestField } from '../domain/job-spec.ts';
import { isTerminal } from '../domain/job-status.ts';
import { reportKeys } from '../reports/report-format.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { BatchService } from './batch-service.ts';
import { failedRows, manifestBody, peek, withCodes, type OpenResultFile } from './retry-manifest.ts';

export interface RetryFailedDeps {
  readonly service: Pick<BatchService, 'getJob' | 'createJob' | 'durable'>;
  /** The object store of a job's storage profile (the one its report was written with). */
  readonly objectsFor: (roleArn: string) => ObjectStore;
}

/** What a retry takes besides the job: the codes to retry, and the new job's own settings. */
export interface RetryOptions {
  readonly codes?: readonly string[] | undefined;
  readonly ConfirmationRequired?: boolean | undefined;
  readonly Priority?: number | undefined;
  readonly Description?: string | undefined;
}

export interface RetryOutcome {
  readonly JobId: string;
  readonly RetryOf: string;
  /** Rows of the new manifest: the tasks of the new job. */
  readonly Tasks: number;
  readonly Manifest: { readonly ObjectArn: string; readonly ETag: string };
}

const MAX_CODES = 100;
const MAX_CODE_LENGTH = 256;

/** The body's `Codes`: undefined (every failed task) or a list of distinct non-empty codes. */
export function parseRetryCodes(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_CODES)
    throw new S3BatchError('InvalidRequest', `Codes must be a list of 1 to ${MAX_CODES} error codes`);
  for (const c of value) {
    if (typeof c !== 'string' || c.trim() === '' || c.length > MAX_CODE_LENGTH)
      throw new S3BatchError(
        'InvalidRequest',
        `Codes must hold error codes (non-empty strings of at most ${MAX_CODE_LENGTH} characters)`,
      );
  }
  return [...new Set((value as string[]).map((c) => c.trim()))];
}

export class RetryFailed {
  constructor(private readonly deps: RetryFailedDeps) {}

  async retry(accountId: string, jobId: string, options: RetryOptions = {}): Promise<RetryOutcome> {
    const origin = this.deps.service.getJob(accountId, jobId);
    const codes = options.codes === undefined ? undefined : new Set(options.codes);
    const { report, files } = this.failedFiles(origin, codes);
    const objects = this.deps.objectsFor(origin.request.RoleArn);
    const opens: OpenResultFile[] = files.map(
      (key) => async () => (await objects.open({ bucket: report.bucket, key })).body,
    );
    const peeked = await peek(withCodes(failedRows(opens), codes));
    if (peeked === undefined) {
      throw codes === undefined
        ? new S3BatchError('RetryNoFailedTasks', `The report of job ${jobId} has no failed rows`)
        : new S3BatchError(
            'RetryCodesMatchNothing',
            `No failed row of job ${jobId}'s report has code ${[...codes].join(', ')}`,
          );
    }
    const spec = origin.request.Manifest?.Spec;
    const csvOrigin = spec?.Format === 'S3BatchOperations_CSV_20180820';
    const withVersion = csvOrigin ? (spec?.Fields ?? []).includes('VersionId') : peeked.first.versionId !== '';
    const key = `${reportKeys(origin.request.Report.Prefix, origin.id).base}/retries/${randomUUID()}.csv`;
    const counted = { rows: 0 };
    const { etag } = await objects.put({ bucket: report.bucket, key }, manifestBody(peeked.all, withVersion, counted), {
      contentType: 'text/csv',
    });
    const Manifest = { ObjectArn: `arn:aws:s3:::${report.bucket}/${key}`, ETag: etag };
    const Fields: ManifestField[] = withVersion ? ['Bucket', 'Key', 'VersionId'] : ['Bucket', 'Key'];
    const { JobId } = this.deps.service.createJob(
      accountId,
      retryRequest(origin, options, Fields, Manifest),
      {},
      {
        retryOf: origin.id,
      },
    );
    await this.deps.service.durable();
    return { JobId, RetryOf: origin.id, Tasks: counted.rows, Manifest };
  }

  /** The keys of the report's result files with failed rows; refuses a job that cannot be retried. */
  private failedFiles(
    job: JobRecord,
    codes: ReadonlySet<string> | undefined,
  ): { report: ReportOutcome; files: string[] } {
    if (!isTerminal(job.status)) {
      throw new S3BatchError(
        'RetryJobNotEnded',
        `Job ${job.id} is ${job.status}: only an ended job (Complete, Failed or Cancelled) can have its failed tasks retried`,
      );
    }
    if (job.progress.failed === 0)
      throw new S3BatchError('RetryNoFailedTasks', `Job ${job.id} has no failed task to retry`);
    if (!job.report) {
      const why = job.request.Report.Enabled ? 'its completion report was not written' : 'reports are off for it';
      throw new S3BatchError(
        'RetryNoReport',
        `Job ${job.id} has no completion report (${why}): a retry reads the failed tasks from the report`,
      );
    }
    const files = job.report.files.filter((f) => f.taskStatus === 'failed' && f.rows > 0).map((f) => f.key);
    if (files.length === 0) {
      throw new S3BatchError('RetryNoFailedTasks', `The report of job ${job.id} has no failed rows to retry`);
    }
    if (codes !== undefined) {
      const groups = job.progress.failures ?? [];
      const known = new Set(groups.map((g) => g.code));
      // Only groups that count every failure tell for sure (a job that ran before they were kept has
      // none); codes beyond the kept ones are counted under Other, so an unlisted code may still match.
      const complete = groups.reduce((n, g) => n + g.count, 0) === job.progress.failed;
      if (complete && !known.has(OTHER_FAILURE_CODE) && ![...codes].some((c) => known.has(c))) {
        const listed = groups.map((g) => g.code).join(', ') || UNKNOWN_FAILURE_CODE;
        throw new S3BatchError(
          'RetryCodesMatchNothing',
          `No failed task of job ${job.id} has code ${[...codes].join(', ')}; its failures are ${listed}`,
        );
      }
    }
    return { report: job.report, files };
  }
}

/** The new job's request: the origin's operation, report, role and tags over the retry manifest. */
function retryRequest(
  origin: JobRecord,
  options: RetryOptions,
  Fields: ManifestField[],
  Location: { ObjectArn: string; ETag: string },
): Record<string, unknown> {
  const {
    ManifestGenerator: _generator,
    ClientRequestToken: _token,
    Manifest: _manifest,
    ...rest
  } = origin.request as CreateJobRequest;
  // The generator's own tags define a listing; the retry reads a manifest instead.
  const Tags = origin.tags.filter((t) => !t.Key.startsWith('s3batch:generator-'));
  const described = `Retry of job ${origin.id}${options.codes ? ` (${options.codes.join(', ')})` : ''}`;
  return {
    ...rest,
    Tags,
    Manifest: { Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields }, Location },
    ConfirmationRequired: options.ConfirmationRequired ?? false,
    Priority: options.Priority ?? origin.priority,
    Description: options.Description ?? described.slice(0, 256),
  };
}
