// The dry-run wrapper on a fake S3 client: what it sends (HEAD only, never the operation's own
// calls), the "would …" messages per operation kind, failed rows, bytes, the report probe and its
// refusal, and when the engine substitutes it. The client is faked because these are unit tests;
// test/e2e/delete-dry-run.test.ts runs the same code against Ceph RGW.
import { S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3BatchError } from '../../src/domain/errors.ts';
import { addProgress } from '../../src/domain/progress.ts';
import type { JobReport } from '../../src/domain/job-spec.ts';
import type { TaskEntry } from '../../src/domain/task.ts';
import { DEFAULT_RETRY_POLICY, retryCallUnder } from '../../src/engine/retry.ts';
import { dryRunOperation, dryRunSummary, probeReportLocation, withDryRun } from '../../src/operations/dry-run.ts';
import { parseOperation } from '../../src/operations/index.ts';
import type { OperationContext } from '../../src/operations/operation.ts';

interface Sent {
  readonly command: string;
  readonly input: Record<string, unknown>;
}

/** A fake S3 client: HEAD answers with a size (404 for keys starting with "missing"), PUT/DELETE succeed unless refused. */
function fakeS3(opts: { refusePut?: S3ServiceException } = {}): { s3: S3Client; sent: Sent[] } {
  const sent: Sent[] = [];
  const s3 = {
    send: async (cmd: { constructor: { name: string }; input: Record<string, unknown> }) => {
      sent.push({ command: cmd.constructor.name, input: cmd.input });
      switch (cmd.constructor.name) {
        case 'HeadObjectCommand':
          if (String(cmd.input.Key).startsWith('missing')) {
            throw new S3ServiceException({
              name: 'NotFound',
              $fault: 'client',
              $metadata: { httpStatusCode: 404 },
              message: 'UnknownError',
            });
          }
          return { ContentLength: String(cmd.input.Key).length * 10 };
        case 'PutObjectCommand':
          if (opts.refusePut) throw opts.refusePut;
          return { VersionId: 'probe-v1' };
        case 'HeadBucketCommand':
        case 'DeleteObjectCommand':
          return {};
        default:
          throw new Error(`the dry run must not send ${cmd.constructor.name}`);
      }
    },
  } as unknown as S3Client;
  return { s3, sent };
}

const REPORT: JobReport = {
  Enabled: true,
  Bucket: 'arn:aws:s3:::reports',
  Format: 'Report_CSV_20180820',
  Prefix: 'runs/',
  ReportScope: 'AllTasks',
};
const never = new AbortController().signal;
const entry = (key: string, versionId?: string): TaskEntry => ({
  line: 1,
  bucket: 'src',
  key,
  rawKey: encodeURIComponent(key),
  versionId,
});

async function attempt(operation: Parameters<typeof parseOperation>[0], e: TaskEntry) {
  const { s3, sent } = fakeS3();
  const dry = dryRunOperation(parseOperation(operation), REPORT);
  const outcome = await dry.handler.attempt(dry.config, e, { s3 } as OperationContext, never);
  return { outcome, sent };
}

describe('dry run', () => {
  it('HEADs the object (its version) and says what a copy would do, with the size', async () => {
    const { outcome, sent } = await attempt(
      { S3PutObjectCopy: { TargetResource: 'arn:aws:s3:::dest', TargetKeyPrefix: 'pre' } },
      entry('a b.txt', 'v7'),
    );
    expect(sent).toEqual([{ command: 'HeadObjectCommand', input: { Bucket: 'src', Key: 'a b.txt', VersionId: 'v7' } }]);
    expect(outcome.retryable).toBe(false);
    expect(outcome.result).toMatchObject({
      status: 'succeeded',
      httpStatus: 200,
      errorCode: '',
      rawKey: 'a%20b.txt',
      versionId: 'v7',
      bytes: 70,
    });
    expect(outcome.result.message).toBe('DryRun: would S3PutObjectCopy to arn:aws:s3:::dest/pre/a b.txt (70 bytes)');
  });

  it('messages for tagging, tag removal and delete (JSON and reserved LambdaInvoke forms)', async () => {
    const tag = await attempt(
      {
        S3PutObjectTagging: {
          TagSet: [
            { Key: 'k', Value: 'v' },
            { Key: 'x', Value: '' },
          ],
        },
      },
      entry('t'),
    );
    expect(tag.outcome.result.message).toBe(
      'DryRun: would S3PutObjectTagging: replace the tag set with k=v&x= (10 bytes)',
    );
    const untag = await attempt({ S3PutObjectTagging: { TagSet: [] } }, entry('t'));
    expect(untag.outcome.result.message).toBe('DryRun: would S3PutObjectTagging: remove every tag (10 bytes)');
    const delTags = await attempt({ S3DeleteObjectTagging: {} }, entry('t'));
    expect(delTags.outcome.result.message).toBe('DryRun: would S3DeleteObjectTagging: remove every tag (10 bytes)');
    const del = await attempt({ S3DeleteObject: {} }, entry('d', 'v1'));
    expect(del.outcome.result.message).toBe(
      'DryRun: would delete version v1 of the object (other versions kept) (10 bytes)',
    );
    const viaLambda = await attempt(
      { LambdaInvoke: { FunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:s3batch-delete-objects' } },
      entry('d'),
    );
    expect(viaLambda.outcome.result.message).toBe(
      'DryRun: would delete the object (a plain delete: on a versioned bucket a delete marker, all versions kept) (10 bytes)',
    );
    for (const r of [tag, untag, delTags, del, viaLambda])
      expect(r.sent.map((s) => s.command)).toEqual(['HeadObjectCommand']);
  });

  it('a missing object is a failed row with its status and code', async () => {
    const { outcome } = await attempt({ S3DeleteObject: {} }, entry('missing.txt'));
    expect(outcome.result).toMatchObject({ status: 'failed', httpStatus: 404, errorCode: 'NoSuchKey' });
    expect(outcome.result.bytes).toBeUndefined();
  });

  it("prepare runs the operation's own checks, then writes and deletes one probe under the report prefix", async () => {
    const { s3, sent } = fakeS3();
    const dry = dryRunOperation(parseOperation({ S3PutObjectCopy: { TargetResource: 'arn:aws:s3:::dest' } }), REPORT);
    await dry.handler.prepare!(dry.config, { s3 } as OperationContext, never, retryCallUnder(DEFAULT_RETRY_POLICY));
    expect(sent.map((s) => s.command)).toEqual(['HeadBucketCommand', 'PutObjectCommand', 'DeleteObjectCommand']);
    const put = sent[1]!.input;
    expect(put.Bucket).toBe('reports');
    expect(put.Key).toMatch(/^runs\/\.s3batch-dry-run-probe-[0-9a-f-]{36}$/);
    expect(sent[2]!.input).toMatchObject({ Bucket: 'reports', Key: put.Key, VersionId: 'probe-v1' });
  });

  it('a refused probe is ReportLocationNotWritable; no report, no probe', async () => {
    const refusal = new S3ServiceException({
      name: 'AccessDenied',
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
      message: 'Access Denied',
    });
    const { s3 } = fakeS3({ refusePut: refusal });
    const err = await probeReportLocation(REPORT, s3, never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3BatchError);
    expect((err as S3BatchError).code).toBe('ReportLocationNotWritable');
    expect((err as S3BatchError).message).toMatch(
      /^Dry run: the report location s3:\/\/reports\/runs is not writable \(403 AccessDenied\)/,
    );

    const quiet = fakeS3();
    await probeReportLocation({ Enabled: false }, quiet.s3, never);
    expect(quiet.sent).toEqual([]);
  });

  it('withDryRun substitutes only under the s3batch:dry-run=true tag; the summary follows the same tag', () => {
    const parsed = parseOperation({ S3DeleteObject: {} });
    expect(withDryRun(parsed, { Report: REPORT })).toBe(parsed);
    expect(withDryRun(parsed, { Report: REPORT, Tags: [{ Key: 's3batch:dry-run', Value: 'false' }] })).toBe(parsed);
    const dry = withDryRun(parsed, {
      Report: REPORT,
      Tags: [
        { Key: 'team', Value: 'a' },
        { Key: 's3batch:dry-run', Value: 'true' },
      ],
    });
    expect(dry.handler).not.toBe(parsed.handler);
    expect(dry.name).toBe('S3DeleteObject');

    const progress = { total: 5, succeeded: 3, failed: 2, bytes: 300 };
    expect(dryRunSummary({}, progress)).toBeNull();
    expect(dryRunSummary({ Tags: [{ Key: 's3batch:dry-run', Value: 'true' }] }, progress)).toEqual({
      Tasks: 5,
      Objects: 3,
      Failed: 2,
      Bytes: 300,
    });
    expect(
      dryRunSummary({ Tags: [{ Key: 's3batch:dry-run', Value: 'true' }] }, { total: 1, succeeded: 0, failed: 1 }),
    ).toEqual({ Tasks: 1, Objects: 0, Failed: 1, Bytes: 0 });
  });

  it('bytes add up in the progress counters only when tasks report them', () => {
    const start = { total: 4, succeeded: 0, failed: 0 };
    expect(addProgress(start, { succeeded: 2, failed: 1 })).toEqual({ total: 4, succeeded: 2, failed: 1 });
    expect('bytes' in addProgress(start, { succeeded: 2, failed: 1 })).toBe(false);
    const once = addProgress(start, { succeeded: 2, failed: 0, bytes: 100 });
    expect(addProgress(once, { succeeded: 1, failed: 1 })).toEqual({ total: 4, succeeded: 3, failed: 1, bytes: 100 });
    expect(addProgress(once, { succeeded: 1, failed: 0, bytes: 50 })).toEqual({
      total: 4,
      succeeded: 3,
      failed: 0,
      bytes: 150,
    });
  });
});
