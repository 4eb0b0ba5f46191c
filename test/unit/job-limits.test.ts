/**
 * A job's limits as the runner and the task executor use them: the rate token before a task,
 * waits that a pause or a stop revokes (the worker pool's `admit`), the adaptive concurrency fed
 * by attempt outcomes, and new settings while the job runs.
 */
import { describe, expect, it } from 'vitest';
import { failed, succeeded, type TaskEntry } from '../../src/domain/task.ts';
import { JobLimits } from '../../src/engine/job-limits.ts';
import { runPool, SlotGate } from '../../src/engine/worker-pool.ts';

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
    const limits = new JobLimits({ maxConcurrentTasks: 8 }, { now: () => t, sleep: async () => {}, onChange: () => changes++ });
    expect(limits.record(slowDown)).toBe(true);
    expect(limits.effectiveConcurrency).toBe(4);
    expect(changes).toBe(1);
    t += 5000;
    limits.record(slowDown);
    expect(limits.view()).toEqual({ maxConcurrentTasks: 8, maxRequestsPerSecond: undefined, effectiveConcurrency: 2, throttledAttempts: 2 });
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

  it('in the worker pool: a pause revokes the loops waiting for a rate token, so the pool goes idle at once', async () => {
    const { sleep } = heldSleep(); // the clock never moves: only the burst token is ever granted
    const limits = new JobLimits({ maxConcurrentTasks: 4, maxRequestsPerSecond: 1 }, { now: () => 0, sleep });
    const gate = new SlotGate(4);
    let idle = 0;
    gate.onIdle(() => idle++);
    const done: number[] = [];
    async function* items(): AsyncGenerator<number> {
      for (let i = 0; i < 10; i++) yield i;
    }
    const pool = runPool(items(), gate, 4, async (i) => void done.push(i), (revoked) => limits.admit(revoked));
    while (done.length < 1) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(done).toEqual([0]); // one token, one task; then every loop waits for a token, holding a slot
    expect(gate.inFlight).toBe(4);
    gate.setCapacity(0); // pause
    await new Promise((r) => setImmediate(r));
    expect(gate.inFlight).toBe(0);
    expect(idle).toBeGreaterThan(0);
    gate.close(); // stop: the loops end although no token ever came
    await pool;
    expect(done).toEqual([0]);
  });
});
