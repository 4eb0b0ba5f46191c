import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/domain/job-status.ts';
import { plan, type SchedulableJob } from '../../src/engine/scheduler.ts';

const job = (
  id: string,
  status: JobStatus,
  priority: number,
  t: number,
  inFlight = 0,
  concurrency = 10,
): SchedulableJob => ({
  id,
  status,
  priority,
  creationTime: new Date(Date.UTC(2026, 0, 1, 0, 0, t)).toISOString(),
  concurrency,
  inFlight,
});

describe('scheduler plan', () => {
  it('starts Ready jobs by priority, higher first, FIFO on ties, within the budget', () => {
    const d = plan([job('low', 'Ready', 1, 0), job('b', 'Ready', 5, 2), job('a', 'Ready', 5, 1)], 20);
    expect(d).toEqual([
      { action: 'start', jobId: 'a', slots: 10 },
      { action: 'start', jobId: 'b', slots: 10 },
    ]);
  });

  it('pre-empts the lowest running job; the new job waits until its slots are free', () => {
    const d = plan([job('low', 'Active', 1, 0, 10), job('high', 'Ready', 9, 5)], 10);
    expect(d).toEqual([{ action: 'pause', jobId: 'low' }]);
  });

  it('starts the higher job once the pre-empted one has drained (Paused)', () => {
    const d = plan([job('low', 'Paused', 1, 0), job('high', 'Ready', 9, 5)], 10);
    expect(d).toEqual([{ action: 'start', jobId: 'high', slots: 10 }]);
  });

  it('does not hand out slots still held by a Pausing job', () => {
    const d = plan([job('low', 'Pausing', 1, 0, 4), job('high', 'Ready', 9, 5)], 10);
    expect(d).toEqual([{ action: 'start', jobId: 'high', slots: 6 }]);
  });

  it('resumes a paused job when the higher one is gone', () => {
    expect(plan([job('low', 'Paused', 1, 0)], 10)).toEqual([{ action: 'resume', jobId: 'low', slots: 10 }]);
  });

  it('an equal-priority later job does not pre-empt a running one', () => {
    expect(plan([job('first', 'Active', 5, 0, 10), job('second', 'Ready', 5, 1)], 10)).toEqual([
      { action: 'resize', jobId: 'first', slots: 10 },
    ]);
  });

  it('a priority raise lets a paused job pre-empt the running one', () => {
    const d = plan([job('a', 'Active', 5, 0, 10), job('b', 'Paused', 50, 1)], 10);
    expect(d).toEqual([{ action: 'pause', jobId: 'a' }]);
  });

  it('ignores jobs that are not runnable', () => {
    expect(plan([job('s', 'Suspended', 99, 0), job('c', 'Complete', 99, 0), job('p', 'Preparing', 99, 0)], 10)).toEqual(
      [],
    );
  });
  it('a job slowed down by throttling asks for its effective concurrency: the next job gets the rest', () => {
    // 'hot' (limit 10) runs at 3 after SlowDowns: the engine passes 3 as its concurrency
    expect(plan([job('hot', 'Active', 9, 0, 3, 3), job('other', 'Ready', 1, 1)], 10)).toEqual([
      { action: 'resize', jobId: 'hot', slots: 3 },
      { action: 'start', jobId: 'other', slots: 7 },
    ]);
  });

  it('slots held by tasks of a job that shrinks are not handed out until those tasks end', () => {
    // 'hot' just went from 10 to 3 with 10 tasks in flight: 'other' waits for them
    expect(plan([job('hot', 'Active', 9, 0, 10, 3), job('other', 'Ready', 1, 1)], 10)).toEqual([
      { action: 'resize', jobId: 'hot', slots: 3 },
    ]);
    expect(plan([job('hot', 'Active', 9, 0, 6, 3), job('other', 'Ready', 1, 1)], 10)).toEqual([
      { action: 'resize', jobId: 'hot', slots: 3 },
      { action: 'start', jobId: 'other', slots: 4 },
    ]);
  });

  it('a job waiting for its listing lends its share to the jobs after it', () => {
    const waiting = { ...job('gen', 'Active', 9, 0), waiting: true };
    expect(plan([waiting, job('low', 'Ready', 1, 1)], 10)).toEqual([
      { action: 'resize', jobId: 'gen', slots: 0 },
      { action: 'start', jobId: 'low', slots: 10 },
    ]);
    // its last tasks still in flight keep their slots
    expect(plan([{ ...waiting, inFlight: 4 }, job('low', 'Ready', 1, 1)], 10)).toEqual([
      { action: 'resize', jobId: 'gen', slots: 0 },
      { action: 'start', jobId: 'low', slots: 6 },
    ]);
  });

  it('the lender takes its share back when it has tasks again: the borrower is pre-empted and drains first', () => {
    expect(plan([job('gen', 'Active', 9, 0), job('low', 'Active', 1, 1, 10)], 10)).toEqual([
      { action: 'pause', jobId: 'low' },
      { action: 'resize', jobId: 'gen', slots: 0 },
    ]);
    expect(plan([job('gen', 'Active', 9, 0), job('low', 'Pausing', 1, 1, 3)], 10)).toEqual([
      { action: 'resize', jobId: 'gen', slots: 7 },
    ]);
  });

  it('a higher job pre-empts a waiting one; the waiting one resumes (without slots) once the higher job is gone', () => {
    expect(plan([{ ...job('gen', 'Active', 1, 0), waiting: true }, job('high', 'Ready', 9, 1)], 10)).toEqual([
      { action: 'pause', jobId: 'gen' },
      { action: 'start', jobId: 'high', slots: 10 },
    ]);
    expect(plan([{ ...job('gen', 'Paused', 1, 0), waiting: true }, job('high', 'Active', 9, 1, 10)], 10)).toEqual([
      { action: 'resize', jobId: 'high', slots: 10 },
    ]);
    expect(plan([{ ...job('gen', 'Paused', 1, 0), waiting: true }], 10)).toEqual([
      { action: 'resume', jobId: 'gen', slots: 0 },
    ]);
  });
});
