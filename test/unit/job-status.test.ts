import { describe, expect, it } from 'vitest';
import { isS3BatchError } from '../../src/domain/errors.ts';
import {
  ALL_STATUSES,
  canTransition,
  elapsedActiveSeconds,
  failureTarget,
  JobStatus,
  requestedStatusTarget,
  runnerEndTarget,
  runnerErrorTarget,
  transition,
  TRANSITIONS,
  type JobStatus as Status,
  type StatusFields,
} from '../../src/domain/job-status.ts';

const at = (s: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
const fields = (status: Status): StatusFields => ({ status, activeMs: 0 });

// The expected table, written out independently of the implementation's.
const LEGAL: Record<Status, Status[]> = {
  New: ['Preparing', 'Cancelled', 'Failing', 'Failed'],
  Preparing: ['Suspended', 'Ready', 'Cancelling', 'Cancelled', 'Failing', 'Failed'],
  Suspended: ['Ready', 'Cancelled', 'Failing', 'Failed'],
  // Ready → Paused: a user's pause before the job got slots (domain/user-pause.ts).
  Ready: ['Active', 'Paused', 'Cancelled', 'Failing', 'Failed'],
  Active: ['Pausing', 'Completing', 'Complete', 'Cancelling', 'Failing'],
  Pausing: ['Paused', 'Completing', 'Cancelling', 'Failing'],
  Paused: ['Active', 'Completing', 'Cancelling', 'Failing'],
  Completing: ['Complete', 'Failed'],
  Complete: [],
  Cancelling: ['Cancelled'],
  Cancelled: [],
  Failing: ['Failed'],
  Failed: [],
};

describe('status machine', () => {
  it('has the 13 statuses of the model', () => {
    expect([...ALL_STATUSES].sort()).toEqual([
      'Active',
      'Cancelled',
      'Cancelling',
      'Complete',
      'Completing',
      'Failed',
      'Failing',
      'New',
      'Paused',
      'Pausing',
      'Preparing',
      'Ready',
      'Suspended',
    ]);
  });

  for (const from of Object.keys(LEGAL) as Status[]) {
    for (const to of ALL_STATUSES) {
      const legal = LEGAL[from].includes(to);
      it(`${from} → ${to} is ${legal ? 'legal' : 'illegal'}`, () => {
        expect(canTransition(from, to)).toBe(legal);
        if (legal) {
          expect(transition(fields(from), to, at(0)).status).toBe(to);
        } else {
          let caught: unknown;
          try {
            transition(fields(from), to, at(0));
          } catch (err) {
            caught = err;
          }
          expect(isS3BatchError(caught) && caught.code).toBe('IllegalTransition');
        }
      });
    }
  }

  it('the table has no transition out of a terminal status', () => {
    expect(TRANSITIONS.Complete).toEqual([]);
    expect(TRANSITIONS.Cancelled).toEqual([]);
    expect(TRANSITIONS.Failed).toEqual([]);
  });

  it('records SuspendedDate and SuspendedCause on entering Suspended', () => {
    const s = transition(fields('Preparing'), 'Suspended', at(5));
    expect(s.suspendedDate).toBe(at(5).toISOString());
    expect(s.suspendedCause).toMatch(/confirm/i);
  });

  it('records TerminationDate on a terminal status only', () => {
    expect(transition(fields('Ready'), 'Active', at(1)).terminationDate).toBeUndefined();
    expect(transition(fields('Completing'), 'Complete', at(9)).terminationDate).toBe(at(9).toISOString());
    expect(transition(fields('Cancelling'), 'Cancelled', at(8)).terminationDate).toBe(at(8).toISOString());
    expect(transition(fields('Failing'), 'Failed', at(7)).terminationDate).toBe(at(7).toISOString());
  });

  it('counts only time spent in Active, across pause and resume', () => {
    let j = transition(fields('Ready'), 'Active', at(0));
    expect(elapsedActiveSeconds(j, at(3))).toBe(3);
    j = transition(j, 'Pausing', at(10)); // 10 s active
    j = transition(j, 'Paused', at(12));
    expect(elapsedActiveSeconds(j, at(100))).toBe(10);
    j = transition(j, 'Active', at(100));
    j = transition(j, 'Completing', at(105)); // +5 s
    j = transition(j, 'Complete', at(200));
    expect(elapsedActiveSeconds(j, at(1000))).toBe(15);
  });
});

describe('UpdateJobStatus rules (docs/job-lifecycle.md#update-job-status)', () => {
  const cases: Array<[Status, 'Ready' | 'Cancelled', Status | 'JobStatusException']> = [
    ['Suspended', 'Ready', 'Ready'],
    ['Suspended', 'Cancelled', 'Cancelled'],
    ['New', 'Cancelled', 'Cancelled'],
    ['Ready', 'Cancelled', 'Cancelled'],
    ['Preparing', 'Cancelled', 'Cancelling'],
    ['Active', 'Cancelled', 'Cancelling'],
    ['Pausing', 'Cancelled', 'Cancelling'],
    ['Paused', 'Cancelled', 'Cancelling'],
    ['Cancelling', 'Cancelled', 'Cancelling'],
    ['Completing', 'Cancelled', 'JobStatusException'],
    ['Failing', 'Cancelled', 'JobStatusException'],
    ['Complete', 'Cancelled', 'JobStatusException'],
    ['Failed', 'Cancelled', 'JobStatusException'],
    ['Cancelled', 'Cancelled', 'JobStatusException'],
  ];
  for (const s of ALL_STATUSES) {
    if (s !== JobStatus.Suspended) cases.push([s, 'Ready', 'JobStatusException']);
  }
  for (const [from, requested, expected] of cases) {
    it(`${requested} from ${from} → ${expected}`, () => {
      if (expected === 'JobStatusException') {
        expect(() => requestedStatusTarget('j1', from, requested)).toThrow(
          expect.objectContaining({ code: 'JobStatusException' }),
        );
      } else {
        expect(requestedStatusTarget('j1', from, requested)).toBe(expected);
      }
    });
  }
});

describe("the engine's moves", () => {
  // Each table written out for all 13 statuses: undefined = the event changes nothing.
  const ON_FAILURE: Record<Status, Status | undefined> = {
    New: 'New',
    Preparing: 'Preparing',
    Suspended: 'Suspended',
    Ready: 'Ready',
    Active: 'Failing',
    Pausing: 'Failing',
    Paused: 'Failing',
    Completing: 'Completing',
    Complete: undefined,
    Cancelling: undefined,
    Cancelled: undefined,
    Failing: undefined,
    Failed: undefined,
  };
  const ON_RUNNER_END: Record<Status, { next?: Status; final: Status } | undefined> = {
    New: undefined,
    Preparing: undefined,
    Suspended: undefined,
    Ready: undefined,
    Active: { next: 'Completing', final: 'Complete' },
    Pausing: { next: 'Completing', final: 'Complete' },
    Paused: { next: 'Completing', final: 'Complete' },
    Completing: undefined,
    Complete: undefined,
    Cancelling: { final: 'Cancelled' },
    Cancelled: undefined,
    Failing: { final: 'Failed' },
    Failed: undefined,
  };

  it('a job-level failure: Failing while tasks may be in flight, dropped once the job is ending', () => {
    for (const from of ALL_STATUSES) expect(failureTarget(from), from).toBe(ON_FAILURE[from]);
  });

  it("a runner's error: Failing from a running job, an end already under way is kept", () => {
    for (const from of ['Active', 'Pausing', 'Paused'] as const) expect(runnerErrorTarget(from)).toBe('Failing');
    expect(runnerErrorTarget('Failing')).toBe('Failing');
    expect(runnerErrorTarget('Cancelling')).toBe('Cancelling');
  });

  it("a runner's end: Cancelling → Cancelled, Failing → Failed, a running job → Completing → Complete", () => {
    for (const from of ALL_STATUSES) expect(runnerEndTarget(from), from).toEqual(ON_RUNNER_END[from]);
  });

  it('every move is a legal transition of the table (or no change)', () => {
    for (const from of ALL_STATUSES) {
      const to = failureTarget(from);
      if (to !== undefined && to !== from) expect(canTransition(from, to), `${from} → ${to}`).toBe(true);
      const end = runnerEndTarget(from);
      if (end?.next !== undefined) {
        expect(canTransition(from, end.next), `${from} → ${end.next}`).toBe(true);
        expect(canTransition(end.next, end.final), `${end.next} → ${end.final}`).toBe(true);
      } else if (end) {
        expect(canTransition(from, end.final), `${from} → ${end.final}`).toBe(true);
      }
    }
    for (const from of ['Active', 'Pausing', 'Paused'] as const) {
      expect(canTransition(from, runnerErrorTarget(from))).toBe(true);
    }
  });
});
