/**
 * Dry run (job tag `s3batch:dry-run=true`, docs/extensions.md#dry-run): the job is prepared and run as usual, but
 * with this handler in place of its operation, so nothing in the job's buckets changes:
 *
 *  - prepare: the operation's own job-level checks (e.g. the copy target bucket exists), then
 *    proves the report location writable: PUT a small probe object under the report prefix and
 *    delete exactly that version again. A refusal fails the job with ReportLocationNotWritable.
 *  - attempt: HEAD the task's object (its version, when the row names one): read-only; proves
 *    access and gives the object's size. The report row says what the task would do, e.g.
 *    `DryRun: would S3PutObjectCopy to arn:aws:s3:::dest/prefix/key (1234 bytes)`; the result
 *    carries the size, which the engine sums into the job's byte count. A HEAD refused (404, 403)
 *    is a failed row with that code.
 *
 * Every object is HEADed (one read request per task); the job ends Complete with the counts.
 * The substitution does not depend on the manifest kind (CSV, inventory or generated).
 */
import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3BatchError } from '../domain/errors.ts';
import { parseJobExtensions } from '../domain/job-extensions.ts';
import type { CreateJobRequest, JobReport } from '../domain/job-spec.ts';
import { succeeded, type TaskEntry } from '../domain/task.ts';
import { parseBucketArn } from '../manifest/arn.ts';
import { describeS3Error } from '../storage/s3-error-classification.ts';
import type { ParsedOperation } from './index.ts';
import type { OperationHandler } from './operation.ts';
import { failureOutcome, rethrowIfOwnAbort, versionIdOf } from './task-outcomes.ts';

export interface DryRunConfig {
  /** The job's real operation, parsed: described, never run. */
  readonly inner: ParsedOperation;
  readonly report: JobReport;
}

/** The job's operation as the engine runs it: wrapped by dryRunOperation when the job's tags ask for a dry run. */
export function withDryRun(
  parsed: ParsedOperation,
  request: Pick<CreateJobRequest, 'Tags' | 'Report'>,
): ParsedOperation {
  return parseJobExtensions(request.Tags).dryRun ? dryRunOperation(parsed, request.Report) : parsed;
}

/** The job's operation, wrapped so that running it changes nothing. Keeps the operation's name. */
export function dryRunOperation(inner: ParsedOperation, report: JobReport): ParsedOperation {
  const handler: OperationHandler<DryRunConfig> = {
    name: inner.name,

    parse(): DryRunConfig {
      throw new S3BatchError('InternalServiceException', 'a dry run wraps an operation that is parsed already');
    },

    async prepare(config, ctx, signal, retry) {
      await config.inner.handler.prepare?.(config.inner.config, ctx, signal, retry);
      await probeReportLocation(config.report, ctx.s3, signal);
    },

    async attempt(config, entry, ctx, signal) {
      try {
        const head = await ctx.s3.send(
          new HeadObjectCommand({ Bucket: entry.bucket, Key: entry.key, VersionId: versionIdOf(entry) }),
          { abortSignal: signal },
        );
        const bytes = head.ContentLength ?? 0;
        const result = {
          ...succeeded(entry, `DryRun: would ${describeTask(config.inner, entry)} (${bytes} bytes)`),
          bytes,
        };
        return { result, retryable: false };
      } catch (err) {
        rethrowIfOwnAbort(err, signal);
        return failureOutcome(entry, err);
      }
    },
  };
  return { name: inner.name, handler: handler as OperationHandler, config: Object.freeze({ inner, report }) };
}

/** What one task of the operation would do, after "would ". */
function describeTask(inner: ParsedOperation, entry: TaskEntry): string {
  const { handler, config } = inner;
  return handler.describe ? handler.describe(config, entry) : inner.name;
}

/**
 * Proves the report location writable: PUT a probe object under the report prefix, then delete
 * exactly the version written (no delete marker is left on a versioned bucket). No report, no probe.
 */
export async function probeReportLocation(report: JobReport, s3: S3Client, signal: AbortSignal): Promise<void> {
  if (!report.Enabled || !report.Bucket) return;
  const bucket = parseBucketArn(report.Bucket);
  const prefix = report.Prefix?.replace(/\/+$/, '') ?? '';
  const key = `${prefix === '' ? '' : `${prefix}/`}.s3batch-dry-run-probe-${randomUUID()}`;
  let written: { VersionId?: string | undefined };
  try {
    written = await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: 'dry-run probe',
        ExpectedBucketOwner: report.ExpectedBucketOwner,
      }),
      { abortSignal: signal },
    );
  } catch (err) {
    rethrowIfOwnAbort(err, signal);
    const info = describeS3Error(err);
    throw new S3BatchError(
      'ReportLocationNotWritable',
      `Dry run: the report location s3://${bucket}/${prefix} is not writable (${info.httpStatus} ${info.code}); the real job could not write its completion report`,
      { cause: err },
    );
  }
  try {
    await s3.send(
      new DeleteObjectCommand({
        Bucket: bucket,
        Key: key,
        VersionId: written.VersionId,
        ExpectedBucketOwner: report.ExpectedBucketOwner,
      }),
      { abortSignal: signal },
    );
  } catch (err) {
    rethrowIfOwnAbort(err, signal);
    // Writable is what we had to prove; a probe left behind is harmless (and named as such).
  }
}

/** The dry-run block of the JSON API's job view: what the job would act on. Null for a real job. */
export interface DryRunSummary {
  /** Manifest rows (tasks) the job would run. */
  readonly Tasks: number;
  /** Objects found and accessible (HEAD succeeded) so far. */
  readonly Objects: number;
  /** Rows whose object is missing or refused (failed rows in the report). */
  readonly Failed: number;
  /** Total size of the objects found. */
  readonly Bytes: number;
}

export function dryRunSummary(
  request: Pick<CreateJobRequest, 'Tags'>,
  progress: { total: number; succeeded: number; failed: number; bytes?: number | undefined },
): DryRunSummary | null {
  let dryRun: boolean;
  try {
    dryRun = parseJobExtensions(request.Tags).dryRun;
  } catch {
    return null;
  }
  return dryRun
    ? { Tasks: progress.total, Objects: progress.succeeded, Failed: progress.failed, Bytes: progress.bytes ?? 0 }
    : null;
}
