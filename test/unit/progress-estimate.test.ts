// The percent complete and its estimate flag (domain/progress-estimate.ts), the bytes-processed
// rules and units (domain/bytes-processed.ts), and the protocol's per-task bytes (execution/protocol.ts).
import { describe, expect, it } from 'vitest';
import {
  averageBytesPerSecond,
  countsBytesProcessed,
  formatByteRate,
  formatBytes,
} from '../../src/domain/bytes-processed.ts';
import { percentComplete, type PercentInput } from '../../src/domain/progress-estimate.ts';
import { applyAttemptsAndTasks, pushTaskStats } from '../../src/execution/protocol.ts';
import type { TaskOutcomeStats } from '../../src/engine/task-executor.ts';

const input = (over: Partial<PercentInput> = {}): PercentInput => ({
  status: 'Active',
  total: 1000,
  succeeded: 300,
  failed: 20,
  ended: false,
  listingOngoing: false,
  ...over,
});

describe('percentComplete', () => {
  it('is exact (not estimated) once the total is known', () => {
    expect(percentComplete(input())).toEqual({ Percent: 32, Estimated: false, EstimateBasis: null });
  });

  it('is an estimate of the tasks found so far while the listing goes on', () => {
    expect(percentComplete(input({ listingOngoing: true }))).toEqual({
      Percent: 32,
      Estimated: true,
      EstimateBasis: 'TasksFoundSoFar',
    });
  });

  it('has no percent before any task is known, estimated while listing', () => {
    expect(
      percentComplete(input({ total: 0, succeeded: 0, failed: 0, status: 'Preparing', listingOngoing: true })),
    ).toEqual({ Percent: null, Estimated: true, EstimateBasis: 'TasksFoundSoFar' });
    expect(percentComplete(input({ total: 0, succeeded: 0, failed: 0, status: 'Preparing' }))).toEqual({
      Percent: null,
      Estimated: false,
      EstimateBasis: null,
    });
  });

  it('an ended job is never an estimate; Complete is 100', () => {
    expect(percentComplete(input({ status: 'Complete', ended: true, listingOngoing: true }))).toEqual({
      Percent: 100,
      Estimated: false,
      EstimateBasis: null,
    });
    expect(percentComplete(input({ status: 'Cancelled', ended: true, listingOngoing: true }))).toEqual({
      Percent: 32,
      Estimated: false,
      EstimateBasis: null,
    });
  });

  it('rounds down and never exceeds 100', () => {
    expect(percentComplete(input({ total: 3, succeeded: 2, failed: 0 })).Percent).toBe(66);
    expect(percentComplete(input({ total: 3, succeeded: 4, failed: 0 })).Percent).toBe(100);
  });
});

describe('bytes processed', () => {
  it('counts for copy, replicate and checksum; never in a dry run, nor a copy tagged count-copy-bytes=false', () => {
    const plain = { dryRun: false, countCopyBytes: true };
    expect(countsBytesProcessed('S3PutObjectCopy', plain)).toBe(true);
    expect(countsBytesProcessed('S3ReplicateObject', plain)).toBe(true);
    expect(countsBytesProcessed('S3ComputeObjectChecksum', plain)).toBe(true);
    expect(countsBytesProcessed('S3PutObjectCopy', { ...plain, dryRun: true })).toBe(false);
    expect(countsBytesProcessed('S3PutObjectCopy', { ...plain, countCopyBytes: false })).toBe(false);
    expect(countsBytesProcessed('S3ComputeObjectChecksum', { ...plain, countCopyBytes: false })).toBe(true);
    expect(countsBytesProcessed('S3PutObjectTagging', plain)).toBe(false);
    expect(countsBytesProcessed('LambdaInvoke', plain)).toBe(false);
  });

  it('averages over the active time, none before a second of it', () => {
    expect(averageBytesPerSecond(3 * 1024 * 1024, 3)).toBe(1024 * 1024);
    expect(averageBytesPerSecond(1000, 0)).toBeNull();
  });

  it('writes sizes and rates in binary units', () => {
    expect(formatBytes(0)).toBe('0 bytes');
    expect(formatBytes(1023)).toBe('1023 bytes');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(1.5 * 1024 ** 3)).toBe('1.5 GiB');
    expect(formatBytes(12 * 1024 ** 2 + 1)).toBe('12 MiB');
    expect(formatBytes(1024 ** 2)).toBe('1 MiB');
    expect(formatByteRate(12 * 1024 ** 2)).toBe('12 MiB/s');
    expect(formatByteRate(null)).toBe('--/s');
  });
});

describe('per-task bytes in progress batches', () => {
  it('travel next to the task stats and come back on each task (none for -1 or an older worker)', () => {
    const tasks: number[] = [];
    const taskBytes: number[] = [];
    pushTaskStats(tasks, taskBytes, { succeeded: true, durationMs: 5, attempts: 1, throttledAttempts: 0, bytes: 42 });
    pushTaskStats(tasks, taskBytes, { succeeded: false, durationMs: 7, attempts: 2, throttledAttempts: 1 });
    const got: TaskOutcomeStats[] = [];
    const limits = { recordKind: () => undefined };
    applyAttemptsAndTasks(limits, (s) => got.push(s), '', tasks, taskBytes);
    expect(got).toEqual([
      { succeeded: true, durationMs: 5, attempts: 1, throttledAttempts: 0, bytes: 42 },
      { succeeded: false, durationMs: 7, attempts: 2, throttledAttempts: 1 },
    ]);
    const old: TaskOutcomeStats[] = [];
    applyAttemptsAndTasks(limits, (s) => old.push(s), '', tasks);
    expect(old.map((s) => s.bytes)).toEqual([undefined, undefined]);
  });
});
