import { describe, expect, it } from 'vitest';
import { CLEAR_LINE } from '../../src/cli/progress-line.ts';
import { WatchPrinter, type JobObservation, type WatchMode } from '../../src/cli/watch-printer.ts';

const JOB = '7f3c1a52-0d6e-4b8c-9e3f-1a2b3c4d5e6f';

const obs = (status: string, succeeded: number, failed = 0, over: Partial<JobObservation> = {}): JobObservation => ({
  jobId: JOB,
  status,
  total: 1000,
  succeeded,
  failed,
  elapsedActiveSeconds: 0,
  failureReasons: [],
  ...over,
});

function printer(mode: WatchMode, lineEveryMs = 5000, columns = 100): { p: WatchPrinter; out: () => string } {
  let out = '';
  const p = new WatchPrinter({ mode, write: (t) => (out += t), columns: () => columns, lineEveryMs });
  return { p, out: () => out };
}

const at = (s: number): Date => new Date(2026, 10, 28, 8, 31, s);

describe('WatchPrinter, plain (not a terminal)', () => {
  it('prints a status line per change and a progress line per change, at most one per interval', () => {
    const { p, out } = printer('plain', 5000);
    p.observe(obs('Preparing', 0, 0, { total: 0 }), 0, at(0));
    p.observe(obs('Active', 0), 1000, at(1));
    p.observe(obs('Active', 100), 2000, at(2)); // within 5 s of the last line: held back
    p.observe(obs('Active', 300, 2), 6500, at(6));
    p.observe(obs('Active', 300, 2), 12_000, at(12)); // nothing changed: no line
    p.observe(obs('Complete', 990, 10), 13_000, at(13));
    p.finish(at(13));
    expect(out().split('\n')).toEqual([
      '08:31:00 Preparing',
      '0 of 0 tasks, 0 failed, Preparing',
      '08:31:01 Preparing → Active',
      '302 of 1000 tasks (30%), 2 failed, Active',
      '08:31:13 Active → Complete',
      '1000 of 1000 tasks (100%), 10 failed, Complete',
      `Job ${JOB} is Complete: 990 succeeded, 10 failed. Report: s3batch report ${JOB}`,
      '',
    ]);
    expect(out()).not.toContain('\x1b');
  });

  it('prints the final counts even inside the interval, and the failure reasons of a failed job', () => {
    const { p, out } = printer('plain', 5000);
    p.observe(obs('Active', 10), 0, at(0));
    p.observe(
      obs('Failed', 10, 60, {
        failureReasons: [
          { FailureCode: 'TaskFailureThresholdExceeded', FailureReason: 'more than 50% of tasks failed' },
        ],
        statusUpdateReason: 'threshold',
      }),
      1000,
      at(1),
    );
    p.finish(at(1));
    const lines = out().split('\n');
    expect(lines).toContain('70 of 1000 tasks (7%), 60 failed, Failed');
    expect(lines).toContain(`Job ${JOB} ended Failed. Reason: threshold`);
    expect(lines).toContain('  TaskFailureThresholdExceeded: more than 50% of tasks failed');
  });

  it('a Suspended job gets the hint to confirm it', () => {
    const { p, out } = printer('plain');
    p.observe(obs('Suspended', 0), 0, at(0));
    expect(out()).toContain(`s3batch confirm ${JOB}`);
  });
});

describe('WatchPrinter, tty', () => {
  it('redraws one line in place and writes status changes above it', () => {
    const { p, out } = printer('tty', 1000, 100);
    p.observe(obs('Active', 0), 0, at(0));
    p.observe(obs('Active', 500), 1000, at(1));
    p.observe(obs('Complete', 1000), 2000, at(2));
    p.finish(at(2));
    const o = out();
    // Every redraw starts with CR + erase line; the bar is never followed by a newline until the end.
    const draws = o.split(CLEAR_LINE).filter((d) => d !== '');
    expect(draws[0]).toBe('08:31:00 Active\n');
    expect(draws[1]).toMatch(/^Active {6}\[░{30}\] {4}0% {2}0 \/ 1,000 {2}--\/s {2}ETA -- {2}failed 0$/);
    expect(draws[2]).toMatch(/^Active {6}\[█{15}░{15}\] {3}50% {2}500 \/ 1,000 {2}500\/s {2}ETA 1s {2}failed 0$/);
    expect(draws[3]).toBe('08:31:02 Active → Complete\n');
    expect(draws[4]).toMatch(/^Complete {4}\[█{30}\] {2}100% {2}1,000 \/ 1,000 {2}failed 0\n/);
    expect(o.endsWith('\n')).toBe(true);
  });

  it('follows the terminal width between redraws', () => {
    let columns = 120;
    let out = '';
    const p = new WatchPrinter({ mode: 'tty', write: (t) => (out += t), columns: () => columns, lineEveryMs: 1000 });
    p.observe(obs('Active', 500), 0, at(0));
    columns = 40;
    p.observe(obs('Active', 600), 1000, at(1));
    const draws = out.split(CLEAR_LINE).filter((d) => !d.endsWith('\n'));
    expect([...draws[0]!].length).toBeGreaterThan(40);
    expect([...draws[1]!].length).toBeLessThanOrEqual(39);
  });

  it('interrupt ends the live line', () => {
    const { p, out } = printer('tty');
    p.observe(obs('Active', 5), 0, at(0));
    p.interrupt();
    expect(out().endsWith('\n')).toBe(true);
  });
});

describe('WatchPrinter, json', () => {
  it('writes status, progress and end objects, one per line', () => {
    const { p, out } = printer('json', 1000);
    p.observe(obs('Active', 0, 0, { elapsedActiveSeconds: 1 }), 0, at(0));
    p.observe(obs('Active', 400, 0, { elapsedActiveSeconds: 2 }), 1000, at(1));
    p.observe(obs('Cancelled', 450, 0, { statusUpdateReason: 'stop' }), 1500, at(2));
    p.finish(at(2));
    const objects = out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objects.map((o) => o.Type)).toEqual(['status', 'progress', 'progress', 'status', 'progress', 'end']);
    expect(objects[0]).toMatchObject({ JobId: JOB, From: null, To: 'Active' });
    expect(objects[2]).toMatchObject({
      Status: 'Active',
      NumberOfTasksSucceeded: 400,
      TotalNumberOfTasks: 1000,
      TasksPerSecond: 400,
      EtaSeconds: 2,
      ElapsedTimeInActiveSeconds: 2,
    });
    expect(objects[4]).toMatchObject({
      Status: 'Cancelled',
      NumberOfTasksSucceeded: 450,
      TasksPerSecond: null,
      EtaSeconds: null,
    });
    expect(objects[5]).toEqual({
      Type: 'end',
      JobId: JOB,
      Status: 'Cancelled',
      FailureReasons: [],
      StatusUpdateReason: 'stop',
    });
  });
});
