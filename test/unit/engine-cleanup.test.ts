/**
 * A job's files (spools, chunk index, local task list) are removed in the background when it is
 * cancelled or times out in Suspended. A removal that fails (a permissions error, a full disk) is a
 * warning in the job's log, never an unhandled rejection that would end the server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { succeeded } from '../../src/domain/task.ts';
import type { Log } from '../../src/engine/job-log.ts';
import type { OperationHandler } from '../../src/operations/operation.ts';
import { createMemorySpool } from '../../src/storage/memory-spool.ts';
import { MemoryJobStore } from '../../src/storage/memory-job-store.ts';
import { MemoryObjectStore } from '../../src/storage/memory-object-store.ts';
import {
  csvManifest,
  newTestEngine,
  stopTestEngines,
  taggingJobRequest,
  TEST_ACCOUNT,
  waitForStatus,
} from '../helpers/engine-harness.ts';
import { until } from '../helpers/until.ts';

afterEach(stopTestEngines);

/** A log that keeps its warnings, with the bindings of the child it was written through. */
function recordingLog(warnings: { bindings: Record<string, unknown>; message: string }[]): Log {
  const make = (bindings: Record<string, unknown>): Log => ({
    info: () => {},
    error: () => {},
    warn: (_fields, message) => void warnings.push({ bindings, message }),
    child: (more) => make({ ...bindings, ...more }),
  });
  return make({});
}

const handler: OperationHandler<object> = {
  name: 'S3PutObjectTagging',
  parse: () => ({}),
  attempt: async (_config, entry) => ({ result: succeeded(entry), retryable: false }),
};

async function suspendedJob(now?: () => Date) {
  const objects = new MemoryObjectStore();
  for (const b of ['src', 'reports']) objects.createBucket(b);
  const etag = (await objects.put({ bucket: 'src', key: 'm.csv' }, 'src,a\nsrc,b\n')).etag;
  const store = new MemoryJobStore();
  const warnings: { bindings: Record<string, unknown>; message: string }[] = [];
  const spool = createMemorySpool();
  spool.removeJob = async () => {
    throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
  };
  const { engine, service } = newTestEngine({
    store,
    objects,
    handler,
    spool,
    config: { suspendedTimeoutMs: 1000 },
    ...(now ? { now } : {}),
    deps: { log: recordingLog(warnings) },
  });
  await engine.start();
  const req = taggingJobRequest({ Manifest: csvManifest('m.csv', etag) });
  delete req.ConfirmationRequired;
  const { JobId } = service.createJob(TEST_ACCOUNT, req);
  await waitForStatus(engine, store, JobId, 'Suspended');
  return { engine, service, store, warnings, JobId };
}

describe("when removing a job's files fails", () => {
  it('cancelling a Suspended job: the job is Cancelled and the failure is a warning with its jobId', async () => {
    const { service, warnings, JobId } = await suspendedJob();
    expect(service.updateJobStatus(TEST_ACCOUNT, JobId, 'Cancelled').Status).toBe('Cancelled');
    await until(() => warnings.length > 0, 'the warning about the files');
    expect(warnings[0]).toEqual({
      bindings: { jobId: JobId, accountId: TEST_ACCOUNT },
      message: expect.stringContaining('EACCES'),
    });
  });

  it('a Suspended job past the timeout: it fails with ConfirmationTimeout and the failure is a warning', async () => {
    let clock = Date.now();
    const { engine, store, warnings, JobId } = await suspendedJob(() => new Date(clock));
    clock += 2000;
    engine.sweepSuspended();
    expect(store.get(JobId)?.status).toBe('Failed');
    await until(() => warnings.length > 0, 'the warning about the files');
    expect(warnings[0]).toEqual({
      bindings: { jobId: JobId, accountId: TEST_ACCOUNT },
      message: expect.stringContaining('EACCES'),
    });
  });
});
