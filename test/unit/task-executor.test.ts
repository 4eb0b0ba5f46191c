// The task executor's shared rule: a manifest row whose VersionId column is empty fails with
// AWS's answer (400 InvalidRequest "Task failed due to missing VersionId") before any handler runs,
// for every registered operation kind (the registry is iterated, so a new kind is covered) and for
// the dry-run wrapper. The handlers' attempt() is replaced by a spy that records calls; the S3
// client only records what would be sent. Both are fakes because the point is that nothing is
// called at all.
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it, vi } from 'vitest';
import { succeeded, type TaskEntry } from '../../src/domain/task.ts';
import { JobLimits } from '../../src/engine/job-limits.ts';
import type { RetryPolicy } from '../../src/engine/retry.ts';
import { createTaskExecutor } from '../../src/engine/task-executor.ts';
import { dryRunOperation } from '../../src/operations/dry-run.ts';
import { getOperation, supportedOperations } from '../../src/operations/index.ts';
import type { AttemptOutcome, OperationContext, OperationHandler } from '../../src/operations/operation.ts';

const never = new AbortController().signal;
const policy: RetryPolicy = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 };
const sleep = async (): Promise<void> => {};
const entry = (versionId?: string): TaskEntry => ({
  line: 4,
  bucket: 'src',
  key: 'a b.txt',
  rawKey: 'a%20b.txt',
  versionId,
});

const MISSING_VERSION = {
  bucket: 'src',
  rawKey: 'a%20b.txt',
  versionId: '',
  status: 'failed',
  httpStatus: 400,
  errorCode: 'InvalidRequest',
  message: 'Task failed due to missing VersionId',
};

/** A context whose S3 client records every command instead of sending it. */
function recordingCtx(): { ctx: OperationContext; sent: string[] } {
  const sent: string[] = [];
  const s3 = {
    send: async (cmd: { constructor: { name: string } }) => {
      sent.push(cmd.constructor.name);
      return {};
    },
  } as unknown as S3Client;
  return { ctx: { s3, multipartCopyThresholdBytes: 5 * 1024 ** 3, multipartCopyPartBytes: 8 * 1024 ** 2 }, sent };
}

/** The registered handler with its attempt() replaced by a spy that succeeds. */
function spied(handler: OperationHandler): { handler: OperationHandler; attempt: ReturnType<typeof vi.fn> } {
  const attempt = vi.fn(
    async (_config: unknown, e: TaskEntry): Promise<AttemptOutcome> => ({ result: succeeded(e), retryable: false }),
  );
  return { handler: { ...handler, attempt }, attempt };
}

const kinds = supportedOperations();

describe('task executor: a row with an empty VersionId', () => {
  it('the registry lists the kinds iterated below', () => {
    expect(kinds).toEqual(
      expect.arrayContaining(['S3PutObjectCopy', 'S3PutObjectTagging', 'S3DeleteObject', 'LambdaInvoke']),
    );
  });

  it.each(kinds)('%s: fails 400 InvalidRequest "missing VersionId"; the handler is never called', async (kind) => {
    const registered = getOperation(kind);
    expect(registered).toBeDefined();
    const { handler, attempt } = spied(registered!);
    const { ctx, sent } = recordingCtx();
    const execute = createTaskExecutor({ handler, config: undefined, ctx, policy, sleep });

    expect(await execute(entry(''), never)).toEqual(MISSING_VERSION);
    expect(attempt).not.toHaveBeenCalled();
    expect(sent).toEqual([]);

    // The spy is the one the executor runs: a row with a version id, or without the column, reaches it.
    expect(await execute(entry('v1'), never)).toMatchObject({ status: 'succeeded', versionId: 'v1' });
    expect(await execute(entry(undefined), never)).toMatchObject({ status: 'succeeded', versionId: '' });
    expect(attempt).toHaveBeenCalledTimes(2);
  });

  it.each(kinds)('%s with the job limits: same failure, no attempt recorded', async (kind) => {
    const { handler, attempt } = spied(getOperation(kind)!);
    const limits = new JobLimits({ maxConcurrentTasks: 4 }, { now: () => 0, sleep, onChange: () => {} });
    const record = vi.spyOn(limits, 'record');
    const execute = createTaskExecutor({ handler, config: undefined, ctx: recordingCtx().ctx, policy, sleep, limits });

    expect(await execute(entry(''), never)).toEqual(MISSING_VERSION);
    expect(attempt).not.toHaveBeenCalled();
    expect(record).not.toHaveBeenCalled();
    await execute(entry('v1'), never);
    expect(attempt).toHaveBeenCalledTimes(1);
    expect(record).toHaveBeenCalledTimes(1);
  });

  it.each(kinds)('%s under dry run: same failure, no HEAD sent', async (kind) => {
    const handler = getOperation(kind)!;
    const dry = dryRunOperation({ name: kind, handler, config: undefined }, { Enabled: false });
    const { ctx, sent } = recordingCtx();
    const execute = createTaskExecutor({ handler: dry.handler, config: dry.config, ctx, policy, sleep });

    expect(await execute(entry(''), never)).toEqual(MISSING_VERSION);
    expect(sent).toEqual([]);
    // The dry-run wrapper does HEAD a row that names a version (its "would …" text needs a parsed
    // config, which this test does not build, so only the request is checked).
    await execute(entry('v1'), never);
    expect(sent).toEqual(['HeadObjectCommand']);
  });
});
