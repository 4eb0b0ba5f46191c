import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/domain/job-status.ts';
import { plan, type SchedulableJob } from '../../src/engine/scheduler.ts';

const job = (id: string, status: JobStatus, priority: number, t: number, inFlight = 0, concurrency = 10): SchedulableJob => ({
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
    expect(plan([job('s', 'Suspended', 99, 0), job('c', 'Complete', 99, 0), job('p', 'Preparing', 99, 0)], 10)).toEqual([]);
  });
});
