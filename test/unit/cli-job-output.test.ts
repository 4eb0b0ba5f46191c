/** The job verbs' human output (src/cli/job-output.ts): summary, tables, progress, and --json without $metadata. */
import { describe, expect, it } from 'vitest';
import { describeText, jobsTable, operationOf, progressOf, tagsTable, toJson } from '../../src/cli/job-output.ts';
import { readProgressExtras } from '../../src/cli/progress-extras.ts';
import { DELETE_FUNCTION_ARN } from '../../src/cli/create-job-request.ts';

describe('job output', () => {
  it('progress is done/total with a floored percent; unknown totals say so', () => {
    expect(progressOf({ TotalNumberOfTasks: 3, NumberOfTasksSucceeded: 1, NumberOfTasksFailed: 1 })).toBe('2/3 (66%)');
    expect(progressOf({ TotalNumberOfTasks: 0 })).toBe('0/0'); // e.g. Failed before its manifest was read: not "100%"
    expect(progressOf(undefined)).toBe('-');
    expect(progressOf({ NumberOfTasksSucceeded: 4 })).toBe('4/?');
  });

  it('names the operation; the s3batch delete is not shown as a Lambda call', () => {
    expect(operationOf({ S3PutObjectCopy: { TargetResource: 'arn:aws:s3:::b' } })).toBe('S3PutObjectCopy');
    expect(operationOf({ LambdaInvoke: { FunctionArn: DELETE_FUNCTION_ARN } })).toBe('Delete (s3batch)');
  });

  it('describe: status, progress, failures, report, dates, and how to confirm a job waiting for it', () => {
    const text = describeText({
      JobId: 'job-1',
      Status: 'Suspended',
      ConfirmationRequired: true,
      Priority: 10,
      SuspendedCause: 'Awaiting confirmation',
      Operation: { S3DeleteObjectTagging: {} },
      ProgressSummary: {
        TotalNumberOfTasks: 4,
        NumberOfTasksSucceeded: 0,
        NumberOfTasksFailed: 1,
        Timers: { ElapsedTimeInActiveSeconds: 125 },
      },
      FailureReasons: [{ FailureCode: 'ManifestNotFound', FailureReason: 'gone' }],
      Report: { Enabled: true, Bucket: 'arn:aws:s3:::logs', Prefix: 'r', ReportScope: 'FailedTasksOnly' },
      CreationTime: new Date('2026-01-02T03:04:05.678Z'),
    });
    expect(text).toContain('Status      Suspended\n');
    expect(text).toContain('Progress    1/4 (25%)\n');
    expect(text).toContain('Active for  2m 05s\n');
    expect(text).toContain('Waiting     for confirmation: s3batch confirm job-1\n');
    expect(text).toContain('Failure     ManifestNotFound: gone\n');
    expect(text).toContain('Report      arn:aws:s3:::logs/r (FailedTasksOnly)\n');
    expect(text).toContain('Created     2026-01-02T03:04:05Z\n');
    expect(describeText({ JobId: 'j', Status: 'Complete', Report: { Enabled: false } })).toContain('Report     none\n');
  });

  it('tables align their columns and say when there is nothing', () => {
    expect(jobsTable([])).toBe('No jobs.\n');
    const t = jobsTable([
      {
        JobId: 'a',
        Status: 'Active',
        Priority: 5,
        Operation: 'S3PutObjectCopy',
        ProgressSummary: { TotalNumberOfTasks: 2, NumberOfTasksSucceeded: 1 },
        CreationTime: new Date('2026-01-01T00:00:00Z'),
      },
    ]);
    expect(t.split('\n')[0]).toBe(
      'JOB ID  STATUS  PRIORITY  OPERATION        PROGRESS   FAILED  CREATED               DESCRIPTION',
    );
    expect(t.split('\n')[1]).toBe('a       Active  5         S3PutObjectCopy  1/2 (50%)  0       2026-01-01T00:00:00Z');
    expect(tagsTable([{ Key: 'team', Value: 'storage' }])).toBe('KEY   VALUE\nteam  storage\n');
    expect(tagsTable([])).toBe('No tags.\n');
  });

  it('--json drops the SDK $metadata and writes dates as ISO text', () => {
    expect(
      JSON.parse(toJson({ $metadata: { httpStatusCode: 200 }, JobId: 'x', When: new Date('2026-01-01T00:00:00Z') })),
    ).toEqual({ JobId: 'x', When: '2026-01-01T00:00:00.000Z' });
  });
});

describe('describeText with the JSON view members', () => {
  const job = {
    JobId: 'j',
    Status: 'Active',
    ProgressSummary: { TotalNumberOfTasks: 200, NumberOfTasksSucceeded: 50, NumberOfTasksFailed: 0 },
  } as const;

  it('says when the percent is an estimate and what it divides by', () => {
    const extras = readProgressExtras({
      PercentComplete: { Percent: 25, Estimated: true, EstimateBasis: 'TasksFoundSoFar' },
      Discovery: { ObjectsListed: 5000, ObjectsFound: 200, TotalBytes: 1, ListingComplete: false },
      BytesProcessed: null,
      AverageBytesPerSecond: null,
    });
    const text = describeText(job, extras);
    expect(text).toContain(
      'Progress   50/200 (25%), estimated: of 200 tasks found so far in 5,000 objects listed; the listing goes on\n',
    );
    expect(text).not.toContain('Processed');
  });

  it('shows bytes processed with their average rate', () => {
    const extras = readProgressExtras({
      PercentComplete: { Percent: 25, Estimated: false, EstimateBasis: null },
      Discovery: null,
      BytesProcessed: 3 * 1024 * 1024,
      AverageBytesPerSecond: 1024 * 1024,
    });
    const text = describeText(job, extras);
    expect(text).toContain('Progress   50/200 (25%)\n');
    expect(text).toContain('Processed  3 MiB (3145728 bytes), average 1 MiB/s\n');
  });

  it('says who paused the job and how it goes on', () => {
    const members = { PercentComplete: { Percent: 25, Estimated: false }, BytesProcessed: null };
    const at = '2026-12-07T10:00:00.000Z';
    const paused = { ...job, Status: 'Paused' } as const;
    const byUser = readProgressExtras({ ...members, PausedBy: 'user', UserPause: { Reason: null, PausedAt: at } });
    expect(describeText(paused, byUser)).toContain(`Paused     by a user at ${at}; s3batch resume j to go on\n`);
    const byPriority = readProgressExtras({ ...members, PausedBy: 'priority', UserPause: null });
    expect(describeText(paused, byPriority)).toContain(
      'Paused     by priority: higher-priority jobs hold the slots; it resumes by itself\n',
    );
    // Paused before it runs: the job is Suspended (or New, Preparing) and will wait Paused.
    const early = readProgressExtras({ ...members, PausedBy: null, UserPause: { Reason: 'later', PausedAt: at } });
    expect(describeText({ ...job, Status: 'Suspended' }, early)).toContain(
      `Paused     by a user at ${at}, before it runs: it will wait Paused; s3batch resume j to go on\n`,
    );
    const running = readProgressExtras({ ...members, PausedBy: null, UserPause: null });
    expect(describeText(job, running)).not.toContain('Paused');
    // An odd member from an older or foreign server is ignored, not printed.
    const odd = readProgressExtras({ ...members, PausedBy: 'someone', UserPause: { PausedAt: 5 } });
    expect(odd).toMatchObject({ pausedBy: null, userPausedAt: null });
  });

  it('reads nothing from a view without the members', () => {
    expect(readProgressExtras({ Job: {} })).toBeUndefined();
    expect(readProgressExtras(null)).toBeUndefined();
  });
});
