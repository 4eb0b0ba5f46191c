/**
 * Where a job's result parts go (storage/s3-part-spool.ts): the bucket and prefix of its report,
 * in the object store of its storage profile.
 */
import { S3BatchError } from '../domain/errors.ts';
import type { CreateJobRequest, JobReport } from '../domain/job-spec.ts';
import { parseBucketArn } from '../manifest/arn.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { PartLocator } from '../storage/s3-part-spool.ts';

/** The report bucket's name and prefix ('' for none) of a request's Report; undefined when the report is disabled. */
export function reportPartsTarget(report: JobReport): { bucket: string; prefix: string } | undefined {
  if (!report.Enabled || !report.Bucket) return undefined;
  return { bucket: parseBucketArn(report.Bucket), prefix: report.Prefix ?? '' };
}

/**
 * A PartLocator over the jobs' CreateJob requests: the report's bucket and prefix, and the object
 * store of the request's RoleArn. A job whose request is unknown is an error, never "keeps
 * nothing" (which would drop its rows).
 */
export function locateByRequest(
  requestOf: (jobId: string) => CreateJobRequest | undefined | Promise<CreateJobRequest | undefined>,
  objectsFor: (roleArn: string) => ObjectStore,
): PartLocator {
  return async (jobId) => {
    const request = await requestOf(jobId);
    if (request === undefined) {
      throw new S3BatchError('InternalServiceException', `Job ${jobId} is unknown: its result parts cannot be located`);
    }
    const target = reportPartsTarget(request.Report);
    return target === undefined ? undefined : { ...target, objects: objectsFor(request.RoleArn) };
  };
}
