// The SSE fan-out (api/rest/event-hub.ts) on a real EngineEvents, with a job whose counters the
// test moves by hand and vitest's fake clock (so the 250 ms coalescing is checked without waiting):
// one progress event per interval however many engine events, the last counters of a burst sent
// afterwards, nothing when nothing changed, status to the job's and the account's subscribers only,
// the final counters before a terminal status, `removed` to the account's subscribers that take it,
// and no engine listener left after unsubscribing.
// Also the text/event-stream framing (sseEvent) read back by the tests' SSE parser.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { JobStatus } from '../../src/domain/job-status.ts';
import {
  JobEventHub,
  type HubSubscriber,
  type ProgressPayload,
  type ProgressSnapshot,
  type RemovedPayload,
  type StatusPayload,
} from '../../src/api/rest/event-hub.ts';
import { sseEvent } from '../../src/api/rest/event-routes.ts';
import { EngineEvents } from '../../src/engine/events.ts';
import { SseParser } from '../helpers/sse.ts';

const A = '111122223333';
const B = '444455556666';

interface Fixture {
  events: EngineEvents;
  hub: JobEventHub;
  jobs: Map<string, ProgressSnapshot>;
  snapshots: number;
  /** Moves a job's counters and says so, as the engine does after a task. */
  tick(jobId: string, succeeded: number, failed?: number): void;
  status(jobId: string, from: JobStatus, to: JobStatus, account?: string): void;
}

function fixture(): Fixture {
  const events = new EngineEvents();
  const jobs = new Map<string, ProgressSnapshot>();
  const f: Fixture = {
    events,
    jobs,
    snapshots: 0,
    hub: new JobEventHub({
      events,
      intervalMs: 250,
      snapshot: (_account, jobId) => {
        f.snapshots++;
        const s = jobs.get(jobId);
        return s ? { ...s } : undefined;
      },
    }),
    tick(jobId, succeeded, failed = 0) {
      const s = jobs.get(jobId)!;
      jobs.set(jobId, { ...s, NumberOfTasksSucceeded: succeeded, NumberOfTasksFailed: failed });
      const accountId = jobId.startsWith('b') ? B : A;
      events.emit('job:progress', { jobId, accountId, progress: { total: s.TotalNumberOfTasks, succeeded, failed } });
    },
    status(jobId, from, to, account = jobId.startsWith('b') ? B : A) {
      const s = jobs.get(jobId);
      if (s) jobs.set(jobId, { ...s, Status: to });
      events.emit('job:status', { jobId, accountId: account, from, to, at: new Date().toISOString() });
    },
  };
  return f;
}

function job(jobId: string, total: number): ProgressSnapshot {
  return {
    JobId: jobId,
    Status: 'Active',
    TotalNumberOfTasks: total,
    NumberOfTasksSucceeded: 0,
    NumberOfTasksFailed: 0,
    ElapsedTimeInActiveSeconds: 0,
    Discovery: null,
    FailuresByCode: [],
    PercentComplete: { Percent: 0, Estimated: false, EstimateBasis: null },
    BytesProcessed: null,
    AverageBytesPerSecond: null,
  };
}

function recorder(
  accountId: string,
  jobId?: string,
): HubSubscriber & { got: Array<['status', StatusPayload] | ['progress', ProgressPayload]> } {
  const got: Array<['status', StatusPayload] | ['progress', ProgressPayload]> = [];
  return {
    accountId,
    ...(jobId !== undefined ? { jobId } : {}),
    got,
    status: (e) => got.push(['status', e]),
    progress: (e) => got.push(['progress', e]),
  };
}

const progressOf = (r: ReturnType<typeof recorder>): ProgressPayload[] =>
  r.got.filter((g) => g[0] === 'progress').map((g) => g[1] as ProgressPayload);

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('JobEventHub: progress', () => {
  it('many engine events within one interval make one progress event with the counters at send time', async () => {
    const f = fixture();
    f.jobs.set('j1', job('j1', 1000));
    const sub = recorder(A, 'j1');
    f.hub.subscribe(sub);
    for (let i = 1; i <= 100; i++) f.tick('j1', i);
    await vi.advanceTimersByTimeAsync(0);
    expect(progressOf(sub)).toHaveLength(1);
    expect(progressOf(sub)[0]).toMatchObject({
      JobId: 'j1',
      Status: 'Active',
      TotalNumberOfTasks: 1000,
      NumberOfTasksSucceeded: 100,
      NumberOfTasksFailed: 0,
    });
    // 100 more tasks at once: nothing before the interval is over, then one event with all of them.
    for (let i = 101; i <= 200; i++) f.tick('j1', i);
    await vi.advanceTimersByTimeAsync(249);
    expect(progressOf(sub)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(progressOf(sub).map((p) => p.NumberOfTasksSucceeded)).toEqual([100, 200]);
  });

  it('sends the last counters of a burst one interval later, then stops while nothing changes', async () => {
    const f = fixture();
    f.jobs.set('j1', job('j1', 50));
    const sub = recorder(A, 'j1');
    f.hub.subscribe(sub);
    f.tick('j1', 1);
    await vi.advanceTimersByTimeAsync(0);
    // The engine says nothing more (its own events are throttled), but counters still moved.
    f.jobs.set('j1', { ...f.jobs.get('j1')!, NumberOfTasksSucceeded: 7, NumberOfTasksFailed: 2 });
    await vi.advanceTimersByTimeAsync(250);
    expect(progressOf(sub).map((p) => [p.NumberOfTasksSucceeded, p.NumberOfTasksFailed])).toEqual([
      [1, 0],
      [7, 2],
    ]);
    const looks = f.snapshots;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(progressOf(sub)).toHaveLength(2);
    expect(f.snapshots).toBe(looks + 1); // one look found no change, then no timer is left
  });

  it("TasksPerSecond and EtaSeconds come from the job's rate over the last seconds", async () => {
    const f = fixture();
    f.jobs.set('j1', job('j1', 1000));
    const sub = recorder(A, 'j1');
    f.hub.subscribe(sub);
    // 100 tasks per second for 2 s, one engine event every 50 ms.
    for (let t = 1; t <= 40; t++) {
      f.tick('j1', t * 5);
      await vi.advanceTimersByTimeAsync(50);
    }
    const last = progressOf(sub).at(-1)!;
    expect(progressOf(sub)[0]!.TasksPerSecond).toBe(0); // one sample: no rate yet
    // Sampled when events are sent (every 250 ms), so close to the true 100/s, not exactly it.
    expect(last.TasksPerSecond).toBeGreaterThan(90);
    expect(last.TasksPerSecond).toBeLessThan(110);
    const eta = (1000 - last.NumberOfTasksSucceeded) / last.TasksPerSecond;
    expect(last.EtaSeconds).toBeGreaterThanOrEqual(Math.floor(eta));
    expect(last.EtaSeconds).toBeLessThanOrEqual(Math.ceil(eta) + 1);
  });

  it('BytesPerSecond is the rate of BytesProcessed over the last seconds; null when no bytes count', async () => {
    const f = fixture();
    f.jobs.set('copy', { ...job('copy', 1000), BytesProcessed: 0 });
    f.jobs.set('tags', job('tags', 1000));
    const copy = recorder(A, 'copy');
    const tags = recorder(A, 'tags');
    f.hub.subscribe(copy);
    f.hub.subscribe(tags);
    // 1 MiB per task, 100 tasks per second for 2 s.
    for (let t = 1; t <= 40; t++) {
      f.jobs.set('copy', { ...f.jobs.get('copy')!, BytesProcessed: t * 5 * 1024 * 1024 });
      f.tick('copy', t * 5);
      f.tick('tags', t * 5);
      await vi.advanceTimersByTimeAsync(50);
    }
    const last = progressOf(copy).at(-1)!;
    expect(last.BytesProcessed).toBe(last.NumberOfTasksSucceeded * 1024 * 1024);
    expect(last.BytesPerSecond).toBeGreaterThan(90 * 1024 * 1024);
    expect(last.BytesPerSecond).toBeLessThan(110 * 1024 * 1024);
    expect(progressOf(tags).map((p) => p.BytesPerSecond)).toEqual(progressOf(tags).map(() => null));
    expect(progressOf(tags).length).toBeGreaterThan(1);
  });

  it('a job nobody follows costs nothing: no snapshot is taken', async () => {
    const f = fixture();
    f.jobs.set('j1', job('j1', 10));
    f.jobs.set('j2', job('j2', 10));
    f.hub.subscribe(recorder(A, 'j2'));
    f.tick('j1', 5);
    await vi.advanceTimersByTimeAsync(1000);
    expect(f.snapshots).toBe(0);
  });
});

describe('JobEventHub: who gets what', () => {
  it("status and progress go to the job's stream and its account's stream, not to another job's or account's", async () => {
    const f = fixture();
    f.jobs.set('a1', job('a1', 10));
    f.jobs.set('a2', job('a2', 10));
    f.jobs.set('b1', job('b1', 10));
    const jobA1 = recorder(A, 'a1');
    const accountA = recorder(A);
    const accountB = recorder(B);
    for (const s of [jobA1, accountA, accountB]) f.hub.subscribe(s);
    f.status('a1', 'Ready', 'Active');
    f.status('a2', 'Ready', 'Active');
    f.status('b1', 'Ready', 'Active');
    f.tick('a2', 3);
    f.tick('b1', 4);
    await vi.advanceTimersByTimeAsync(0);
    expect(jobA1.got).toEqual([['status', { JobId: 'a1', From: 'Ready', To: 'Active', At: expect.any(String) }]]);
    expect(accountA.got.map(([k, e]) => `${k}:${e.JobId}`)).toEqual(['status:a1', 'status:a2', 'progress:a2']);
    expect(accountB.got.map(([k, e]) => `${k}:${e.JobId}`)).toEqual(['status:b1', 'progress:b1']);
  });

  it('an event for a job id of another account does not reach a stream of that id', async () => {
    const f = fixture();
    f.jobs.set('a1', job('a1', 10));
    const sub = recorder(A, 'a1');
    f.hub.subscribe(sub);
    f.status('a1', 'Ready', 'Active', B);
    await vi.advanceTimersByTimeAsync(0);
    expect(sub.got).toEqual([]);
  });

  it('the final counters go out before the terminal status, though the interval is not over', async () => {
    const f = fixture();
    f.jobs.set('j1', job('j1', 10));
    const sub = recorder(A, 'j1');
    f.hub.subscribe(sub);
    f.tick('j1', 1);
    await vi.advanceTimersByTimeAsync(0);
    f.tick('j1', 10);
    f.status('j1', 'Active', 'Completing');
    f.status('j1', 'Completing', 'Complete');
    await vi.advanceTimersByTimeAsync(0);
    expect(
      sub.got.map(([k, e]) => (k === 'status' ? `status:${e.To}` : `progress:${e.NumberOfTasksSucceeded}`)),
    ).toEqual(['progress:1', 'status:Completing', 'progress:10', 'status:Complete']);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sub.got).toHaveLength(4);
  });

  it("removed goes to the subscribers of the job's account that take it, and stops its pending progress", async () => {
    const f = fixture();
    f.jobs.set('a1', job('a1', 10));
    f.jobs.set('b1', job('b1', 10));
    const removedA: RemovedPayload[] = [];
    const removedB: RemovedPayload[] = [];
    const withoutRemoved = recorder(A); // takes status and progress only: nothing is called
    f.hub.subscribe({ ...recorder(A), removed: (e) => removedA.push(e) });
    f.hub.subscribe({ ...recorder(B), removed: (e) => removedB.push(e) });
    f.hub.subscribe(withoutRemoved);
    f.tick('a1', 3); // a progress event is due in the interval
    await vi.advanceTimersByTimeAsync(0);
    f.tick('a1', 5);
    f.jobs.delete('a1');
    f.events.emit('job:removed', { jobId: 'a1', accountId: A });
    expect(removedA).toEqual([]); // delivered after the engine's call stack
    await vi.advanceTimersByTimeAsync(1000);
    expect(removedA).toEqual([{ JobId: 'a1' }]);
    expect(removedB).toEqual([]);
    expect(withoutRemoved.got.map(([k, e]) => `${k}:${e.JobId}`)).toEqual(['progress:a1']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a subscriber that throws does not stop the others', async () => {
    const errors: unknown[] = [];
    const events = new EngineEvents();
    const hub = new JobEventHub({ events, intervalMs: 250, snapshot: () => undefined, onError: (e) => errors.push(e) });
    const ok = recorder(A);
    hub.subscribe({
      accountId: A,
      status: () => {
        throw new Error('socket gone');
      },
      progress: () => {},
    });
    hub.subscribe(ok);
    events.emit('job:status', { jobId: 'x', accountId: A, from: 'New', to: 'Preparing', at: 'now' });
    await vi.advanceTimersByTimeAsync(0);
    expect(ok.got).toHaveLength(1);
    expect(errors).toHaveLength(1);
  });
});

describe('JobEventHub: listeners', () => {
  it('listens on the engine only while someone subscribes; many subscribe/unsubscribe cycles leave nothing', async () => {
    const f = fixture();
    f.jobs.set('j1', job('j1', 10));
    expect(f.events.listenerCount('job:status')).toBe(0);
    for (let i = 0; i < 500; i++) {
      const off = f.hub.subscribe(recorder(A, i % 2 === 0 ? 'j1' : undefined));
      f.tick('j1', i % 10); // leaves a timer pending
      off();
      off(); // idempotent
    }
    expect(f.hub.size).toBe(0);
    expect(f.events.listenerCount('job:status')).toBe(0);
    expect(f.events.listenerCount('job:progress')).toBe(0);
    expect(f.events.listenerCount('job:removed')).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('close() drops every subscriber', () => {
    const f = fixture();
    f.hub.subscribe(recorder(A));
    f.hub.subscribe(recorder(B, 'b1'));
    f.hub.close();
    expect(f.hub.size).toBe(0);
    expect(f.events.listenerCount('job:progress')).toBe(0);
  });
});

describe('sseEvent framing', () => {
  it('is one event block the SSE parser reads back', () => {
    const parser = new SseParser();
    const data = { JobId: 'j', Text: 'line1\nline2 — ünïcode', N: 3 };
    const text = `${sseEvent('progress', data)}: ping\n\n${sseEvent('end', { ok: true })}`;
    // Fed in small pieces, as a socket may deliver it.
    const got = [];
    for (let i = 0; i < text.length; i += 7) got.push(...parser.push(text.slice(i, i + 7), 0));
    expect(got).toEqual([
      { kind: 'event', event: 'progress', data: JSON.stringify(data), at: 0 },
      { kind: 'comment', text: 'ping', at: 0 },
      { kind: 'event', event: 'end', data: '{"ok":true}', at: 0 },
    ]);
    expect(JSON.parse((got[0] as { data: string }).data)).toEqual(data);
  });

  it('the parser follows the format: CRLF, multi-line data, no space after the colon, unnamed events', () => {
    const parser = new SseParser();
    expect(parser.push('data:a\r\ndata: b\r\n\r\nevent: x\ndata\n\n:c\n', 0)).toEqual([
      { kind: 'event', event: 'message', data: 'a\nb', at: 0 },
      { kind: 'event', event: 'x', data: '', at: 0 },
      { kind: 'comment', text: 'c', at: 0 },
    ]);
  });
});
