// The job view's progress members (api/rest/progress-view.ts) from stored records: when the
// percent is an estimate (inventory and generator listings), and which jobs have bytes processed.
import { describe, expect, it } from 'vitest';
import { progressExtras } from '../../src/api/rest/progress-view.ts';
import type { JobRecord } from '../../src/domain/job.ts';
import { JobStatus } from '../../src/domain/job-status.ts';
import { storedJob } from '../helpers/job-records.ts';

const base = storedJob('j1');
const withRequest = (request: Partial<JobRecord['request']>, patch: Partial<JobRecord> = {}): JobRecord =>
  storedJob('j1', { ...patch, request: { ...base.request, ...request } });
const inventory = {
  Manifest: {
    Spec: { Format: 'S3InventoryReport_CSV_20161130' as const },
    Location: { ObjectArn: 'arn:aws:s3:::inv/manifest.json', ETag: 'e' },
  },
};
const listing = (listingComplete: boolean) => ({
  objectsListed: 500,
  objectsFound: 400,
  totalBytes: 4000,
  chunkCount: 4,
  listingComplete,
});

describe('progressExtras', () => {
  it('an inventory job reading its report is an estimate, with no percent yet', () => {
    const r = withRequest(inventory, { status: JobStatus.Preparing, discovery: listing(false) });
    expect(progressExtras(r, { total: 0, succeeded: 0, failed: 0 }, 0).PercentComplete).toEqual({
      Percent: null,
      Estimated: true,
      EstimateBasis: 'TasksFoundSoFar',
    });
  });

  it('a generator job is an estimate until its listing completes', () => {
    const request = {
      Manifest: undefined,
      ManifestGenerator: { S3JobManifestGenerator: { SourceBucket: 'arn:aws:s3:::src', EnableManifestOutput: false } },
    };
    const p = { total: 400, succeeded: 100, failed: 0 };
    const listingOn = withRequest(request, { status: JobStatus.Active, discovery: listing(false) });
    expect(progressExtras(listingOn, p, 5).PercentComplete).toEqual({
      Percent: 25,
      Estimated: true,
      EstimateBasis: 'TasksFoundSoFar',
    });
    const listed = withRequest(request, { status: JobStatus.Active, discovery: listing(true) });
    expect(progressExtras(listed, p, 5).PercentComplete).toEqual({
      Percent: 25,
      Estimated: false,
      EstimateBasis: null,
    });
  });

  it('a CSV job is exact, also while its manifest is read', () => {
    const r = withRequest({}, { status: JobStatus.Preparing, discovery: listing(false) });
    expect(progressExtras(r, { total: 0, succeeded: 0, failed: 0 }, 0).PercentComplete.Estimated).toBe(false);
  });

  it('bytes processed: copy counts (with the average over active time), tagging and dry runs do not', () => {
    const copy = { Operation: { S3PutObjectCopy: { TargetResource: 'arn:aws:s3:::dst' } } };
    const p = { total: 10, succeeded: 10, failed: 0, bytes: 4096 };
    expect(progressExtras(withRequest(copy), p, 4)).toMatchObject({
      BytesProcessed: 4096,
      AverageBytesPerSecond: 1024,
    });
    expect(progressExtras(withRequest(copy), { total: 1, succeeded: 0, failed: 0 }, 0)).toMatchObject({
      BytesProcessed: 0,
      AverageBytesPerSecond: null,
    });
    const uncounted = withRequest({ ...copy, Tags: [{ Key: 's3batch:count-copy-bytes', Value: 'false' }] });
    expect(progressExtras(uncounted, p, 4)).toMatchObject({ BytesProcessed: null, AverageBytesPerSecond: null });
    const dryRun = withRequest({ ...copy, Tags: [{ Key: 's3batch:dry-run', Value: 'true' }] });
    expect(progressExtras(dryRun, p, 4)).toMatchObject({ BytesProcessed: null, AverageBytesPerSecond: null });
    expect(progressExtras(withRequest({}), p, 4)).toMatchObject({ BytesProcessed: null, AverageBytesPerSecond: null });
  });
});
