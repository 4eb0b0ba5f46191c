// The engine's task:done event (what /metrics counts): the task executor reports each task's final
// outcome once — attempts made, throttled attempts among them, success — and the engine emits it
// with the job's operation for every task of a job, on in-memory parts (the fake handler's answers
// are scripted per key; nothing here can reach S3).
import { afterEach, describe, expect, it } from 'vitest';
import { failed, succeeded, type TaskEntry } from '../../src/domain/task.ts';
import type { TaskDoneEvent } from '../../src/engine/events.ts';
import { JobLimits } from '../../src/engine/job-limits.ts';
import { createTaskExecutor, type TaskOutcomeStats } from '../../src/engine/task-executor.ts';
import type { AttemptOutcome, OperationContext, OperationHandler } from '../../src/operations/operation.ts';
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

afterEach(stopTestEngines);

const entry = (key: string, versionId?: string): TaskEntry => ({ line: 1, bucket: 'src', key, rawKey: key, versionId });
const sleep = async (): Promise<void> => {};
const ctx = {} as OperationContext; // the scripted handler reads nothing from it

const SLOWDOWN = (e: TaskEntry): AttemptOutcome => ({
  result: failed(e, 503, 'SlowDown', 'Please reduce your request rate.'),
  retryable: true,
});
const ERROR500 = (e: TaskEntry): AttemptOutcome => ({
  result: failed(e, 500, 'InternalError', 'We encountered an internal error.'),
  retryable: true,
});
const NOT_FOUND = (e: TaskEntry): AttemptOutcome => ({
  result: failed(e, 404, 'NoSuchKey', 'The specified key does not exist.'),
  retryable: false,
});
const OK = (e: TaskEntry): AttemptOutcome => ({ result: succeeded(e), retryable: false });

/** A handler answering each key's attempts from its script (the last answer repeats). */
function scripted(scripts: Record<string, Array<(e: TaskEntry) => AttemptOutcome>>): OperationHandler<object> {
  const attempts = new Map<string, number>();
  return {
    name: 'S3PutObjectTagging',
    parse: () => ({}),
    async attempt(_c, e) {
      const n = attempts.get(e.key) ?? 0;
      attempts.set(e.key, n + 1);
      const script = scripts[e.key] ?? [OK];
      await new Promise((r) => setImmediate(r));
      return script[Math.min(n, script.length - 1)]!(e);
    },
  };
}

describe('task executor: onDone', () => {
  const run = async (
    key: string,
    scripts: Record<string, Array<(e: TaskEntry) => AttemptOutcome>>,
    withLimits = true,
    versionId?: string,
  ): Promise<TaskOutcomeStats[]> => {
    const done: TaskOutcomeStats[] = [];
    const limits = withLimits ? new JobLimits({ maxConcurrentTasks: 4 }, { now: () => 0, sleep }) : undefined;
    const execute = createTaskExecutor({
      handler: scripted(scripts),
      config: {},
      ctx,
      policy: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
      sleep,
      ...(limits ? { limits } : {}),
      onDone: (d) => done.push(d),
    });
    await execute(entry(key, versionId), new AbortController().signal);
    return done;
  };

  it('a task that succeeds at once: one attempt, none throttled', async () => {
    const [d, ...more] = await run('a', {});
    expect(more).toEqual([]);
    expect(d).toMatchObject({ succeeded: true, attempts: 1, throttledAttempts: 0 });
    expect(d!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('retries: throttled attempts counted apart from the other failures', async () => {
    expect(await run('a', { a: [SLOWDOWN, SLOWDOWN, ERROR500, OK] })).toEqual([
      { succeeded: true, attempts: 4, throttledAttempts: 2, durationMs: expect.any(Number) },
    ]);
  });

  it('a permanent failure: one attempt, not succeeded', async () => {
    expect(await run('a', { a: [NOT_FOUND] })).toEqual([
      { succeeded: false, attempts: 1, throttledAttempts: 0, durationMs: expect.any(Number) },
    ]);
  });

  it('retries exhausted (3 ordinary attempts)', async () => {
    expect(await run('a', { a: [ERROR500] })).toMatchObject([{ succeeded: false, attempts: 3, throttledAttempts: 0 }]);
  });

  it('without job limits (no throttle budget): attempts still counted', async () => {
    expect(await run('a', { a: [SLOWDOWN, OK] }, false)).toMatchObject([
      { succeeded: true, attempts: 2, throttledAttempts: 0 },
    ]);
  });

  it('a row with an empty VersionId fails with no attempt', async () => {
    expect(await run('a', {}, true, '')).toEqual([
      { succeeded: false, attempts: 0, throttledAttempts: 0, durationMs: 0 },
    ]);
  });
});

describe('engine: task:done', () => {
  it('one event per task of a job, with its operation and outcome, and nothing that names the job or key', async () => {
    const objects = new MemoryObjectStore();
    objects.createBucket('src');
    objects.createBucket('reports');
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    const scripts: Record<string, Array<(e: TaskEntry) => AttemptOutcome>> = {};
    for (const k of keys.slice(0, 5)) scripts[k] = [NOT_FOUND];
    for (const k of keys.slice(5, 8)) scripts[k] = [SLOWDOWN, OK];
    const store = new MemoryJobStore();
    const { engine, service } = newTestEngine({
      store,
      objects,
      handler: scripted(scripts),
      config: { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 } },
    });
    const seen: TaskDoneEvent[] = [];
    engine.events.on('task:done', (e) => seen.push(e));
    await engine.start();
    const { etag } = await objects.put({ bucket: 'src', key: 'm.csv' }, keys.map((k) => `src,${k}\n`).join(''));
    const { JobId } = service.createJob(TEST_ACCOUNT, taggingJobRequest({ Manifest: csvManifest('m.csv', etag) }));
    await waitForStatus(engine, store, JobId, 'Complete');
    expect(seen).toHaveLength(30);
    expect(seen.filter((e) => !e.succeeded)).toHaveLength(5);
    expect(seen.filter((e) => e.attempts === 2 && e.throttledAttempts === 1 && e.succeeded)).toHaveLength(3);
    expect(new Set(seen.map((e) => e.operation))).toEqual(new Set(['S3PutObjectTagging']));
    for (const e of seen)
      expect(Object.keys(e).sort()).toEqual(['attempts', 'durationMs', 'operation', 'succeeded', 'throttledAttempts']);
  });
});
