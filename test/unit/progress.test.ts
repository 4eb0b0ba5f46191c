import { describe, expect, it } from 'vitest';
import { thresholdExceeded } from '../../src/domain/progress.ts';
import { isChunkDone, markChunkDone, NO_CHUNKS_DONE } from '../../src/domain/job.ts';

describe('task-failure threshold (docs/job-lifecycle.md#failure-threshold)', () => {
  it('never trips before 1,000 tasks ran, even at 100 % failure', () => {
    expect(thresholdExceeded(0, 999)).toBe(false);
    expect(thresholdExceeded(0, 10)).toBe(false);
  });
  it('1,000 tasks with 500 failures is exactly 50 %: not exceeded', () => {
    expect(thresholdExceeded(500, 500)).toBe(false);
  });
  it('1,000 tasks with 501 failures exceeds 50 %', () => {
    expect(thresholdExceeded(499, 501)).toBe(true);
  });
  it('trips at the 1,000th task when all failed', () => {
    expect(thresholdExceeded(0, 1000)).toBe(true);
  });
  it('keeps watching after 1,000', () => {
    expect(thresholdExceeded(1000, 1001)).toBe(true);
    expect(thresholdExceeded(1001, 1001)).toBe(false);
  });
});

describe('chunk marks', () => {
  it('advances the watermark over contiguous done chunks and keeps the rest sparse', () => {
    let m = NO_CHUNKS_DONE;
    m = markChunkDone(m, 2);
    expect(m).toEqual({ watermark: 0, done: [2] });
    m = markChunkDone(m, 0);
    expect(m).toEqual({ watermark: 1, done: [2] });
    m = markChunkDone(m, 1);
    expect(m).toEqual({ watermark: 3, done: [] });
    expect(isChunkDone(m, 2)).toBe(true);
    expect(isChunkDone(m, 3)).toBe(false);
    expect(markChunkDone(m, 1)).toBe(m);
  });
});
