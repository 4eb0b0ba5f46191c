/**
 * A job's limits as the runner and the task executor use them: the rate token before a task,
 * waits that a pause or a stop revokes (the task goes back untried), the adaptive concurrency fed
 * by attempt outcomes, and new settings while the job runs.
 */
import { describe, expect, it } from 'vitest';
import type { Chunk } from '../../src/domain/chunk.ts';
import { failed, succeeded, type TaskEntry } from '../../src/domain/task.ts';
import { JobLimits } from '../../src/engine/job-limits.ts';
import { JobRunner } from '../../src/engine/job-runner.ts';
import { createMemorySpool } from '../../src/storage/memory-spool.ts';

const entry: TaskEntry = { line: 1, bucket: 'b', key: 'k', rawKey: 'k' };
const slowDown = { result: failed(entry, 503, 'SlowDown', 'Please reduce your request rate.'), retryable: true };
const ok = { result: succeeded(entry), retryable: false };

/** A sleep that waits until the test ends it, or until the signal aborts it (then it resolves, as main.ts's does). */
function heldSleep(): { sleep: (ms: number, signal?: AbortSignal) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        waits.push(ms);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      }),
  };
}

describe('JobLimits', () => {
  it('throttled attempts lower the effective concurrency and call onChange; successes raise it', () => {
    let t = 0;
    let changes = 0;
    const limits = new JobLimits(
      { maxConcurrentTasks: 8 },
      { now: () => t, sleep: async () => {}, onChange: () => changes++ },
    );
    expect(limits.record(slowDown)).toBe(true);
    expect(limits.effectiveConcurrency).toBe(4);
    expect(changes).toBe(1);
    t += 5000;
    limits.record(slowDown);
    expect(limits.view()).toEqual({
      maxConcurrentTasks: 8,
      maxRequestsPerSecond: undefined,
      effectiveConcurrency: 2,
      throttledAttempts: 2,
    });
    expect(limits.record(ok)).toBe(false);
    limits.record(ok);
    expect(limits.effectiveConcurrency).toBe(3);
    expect(changes).toBe(3);
  });

  it('new settings while running: a higher limit applies at once, a rate appears and goes', async () => {
    const { sleep, waits } = heldSleep();
    let changes = 0;
    const limits = new JobLimits({ maxConcurrentTasks: 4 }, { now: () => 0, sleep, onChange: () => changes++ });
    expect(await limits.admit(new AbortController().signal)).toBe(true);
    limits.set({ maxConcurrentTasks: 16, maxRequestsPerSecond: 1 });
    expect(limits.effectiveConcurrency).toBe(16);
    expect(changes).toBe(1);
    expect(await limits.admit(new AbortController().signal)).toBe(true); // the burst token
    const ac = new AbortController();
    const second = limits.admit(ac.signal);
    await Promise.resolve();
    expect(waits).toEqual([1000]);
    ac.abort();
    expect(await second).toBe(false);
    limits.set({ maxConcurrentTasks: 16 });
    expect(await limits.admit(new AbortController().signal)).toBe(true);
    expect(waits).toHaveLength(1);
  });

  it('in the runner: a pause hands back tasks waiting for a rate token, untried; they run after the resume', async () => {
    let t = 0;
    const { sleep, waits } = heldSleep(); // waits end only when revoked; the test moves the clock itself
    const limits = new JobLimits({ maxConcurrentTasks: 4, maxRequestsPerSecond: 1 }, { now: () => t, sleep });
    const attempted: string[] = [];
    const chunk: Chunk = { index: 0, start: 0, end: 1, firstLine: 1, count: 6 };
    const runner = new JobRunner(
      {
        jobId: 'j',
        chunks: async function* () {
          yield chunk;
        },
        isChunkDone: () => false,
        readChunk: async function* () {
          for (let i = 0; i < 6; i++) yield { line: i + 1, bucket: 'b', key: `k${i}`, rawKey: `k${i}` };
        },
        spool: createMemorySpool(),
        executeTask: async (e) => {
          attempted.push(e.key);
          return succeeded(e);
        },
        onChunkDone: () => {},
        onResult: () => {},
        maxConcurrency: 4,
        limits,
      },
      4,
    );
    let idle = 0;
    runner.gate.onIdle(() => idle++);
    const run = runner.run();
    const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
    while (waits.length < 3) await tick();
    expect(attempted).toEqual(['k0']); // one token at once (burst 1); three tasks wait for theirs, holding slots
    expect(runner.inFlight).toBe(4);
    runner.setSlots(0); // pause: the waits are revoked, the tasks go back untried
    await tick();
    expect(runner.inFlight).toBe(0);
    expect(idle).toBeGreaterThan(0);
    expect(attempted).toEqual(['k0']);
    t += 60_000; // a minute later the bucket holds its burst again: the resumed job goes on
    runner.setSlots(4);
    while (attempted.length < 2) await tick();
    runner.stop(); // the stop revokes the waits again: nothing more is attempted, run() ends
    const outcome = await run;
    expect(outcome.finished).toBe(false);
    expect(attempted).toEqual(['k0', 'k1']); // k1, handed back by the pause, runs first after the resume
  });
});
