// Failed tasks grouped by error code (domain/failure-groups.ts): counts, HTTP status (null when a
// code's failures differ), at most 5 sample keys, the order (count desc, then code), the bound on
// codes (further codes fold into Other), and merging/subtracting groups as the placements do.
import { describe, expect, it } from 'vitest';
import {
  FailureTally,
  MAX_FAILURE_CODES,
  MAX_SAMPLE_KEYS,
  mergeFailures,
  subtractFailures,
} from '../../src/domain/failure-groups.ts';
import { addProgress } from '../../src/domain/progress.ts';

describe('failure groups', () => {
  it('counts per code with its status and up to 5 sample keys, sorted by count then code', () => {
    const t = new FailureTally();
    for (let i = 0; i < 8; i++) t.add('NoSuchKey', 404, `missing/${i}`);
    t.add('AccessDenied', 403, 'secret/a');
    t.add('AccessDenied', 403, 'secret/b');
    t.add('InternalError', 500, 'x');
    t.add('InternalError', 503, 'y');
    t.add('', 400, 'z');
    expect(t.groupsNow()).toEqual([
      {
        code: 'NoSuchKey',
        httpStatus: 404,
        count: 8,
        sampleKeys: ['missing/0', 'missing/1', 'missing/2', 'missing/3', 'missing/4'],
      },
      { code: 'AccessDenied', httpStatus: 403, count: 2, sampleKeys: ['secret/a', 'secret/b'] },
      { code: 'InternalError', httpStatus: null, count: 2, sampleKeys: ['x', 'y'] },
      { code: 'Unknown', httpStatus: 400, count: 1, sampleKeys: ['z'] },
    ]);
  });

  it(`keeps at most ${MAX_FAILURE_CODES} codes: failures of further codes are counted under Other`, () => {
    const t = new FailureTally();
    for (let c = 0; c < MAX_FAILURE_CODES + 20; c++) t.add(`Code${String(c).padStart(3, '0')}`, 400, `k${c}`);
    const groups = t.groupsNow();
    expect(groups.length).toBe(MAX_FAILURE_CODES);
    expect(groups.reduce((n, g) => n + g.count, 0)).toBe(MAX_FAILURE_CODES + 20);
    const other = groups.find((g) => g.code === 'Other');
    expect(other?.count).toBe(21);
    expect(other?.sampleKeys.length).toBe(MAX_SAMPLE_KEYS);
    expect(groups[0]).toMatchObject({ code: 'Other', count: 21 });
  });

  it('a million failures in a handful of codes stay a handful of small groups', () => {
    const t = new FailureTally();
    for (let i = 0; i < 1_000_000; i++)
      t.add(i % 3 === 0 ? 'AccessDenied' : 'NoSuchKey', i % 3 === 0 ? 403 : 404, `k/${i}`);
    const groups = t.groupsNow();
    expect(groups.map((g) => [g.code, g.count, g.sampleKeys.length])).toEqual([
      ['NoSuchKey', 666_666, 5],
      ['AccessDenied', 333_334, 5],
    ]);
    expect(JSON.stringify(groups).length).toBeLessThan(1000);
  });

  it('merges (counters of chunks) and subtracts (a run less its resumed rows)', () => {
    const a = [
      { code: 'NoSuchKey', httpStatus: 404, count: 3, sampleKeys: ['a', 'b'] },
      { code: 'AccessDenied', httpStatus: 403, count: 1, sampleKeys: ['c'] },
    ];
    const b = [{ code: 'AccessDenied', httpStatus: 403, count: 4, sampleKeys: ['d', 'c'] }];
    expect(mergeFailures(a, b)).toEqual([
      { code: 'AccessDenied', httpStatus: 403, count: 5, sampleKeys: ['c', 'd'] },
      { code: 'NoSuchKey', httpStatus: 404, count: 3, sampleKeys: ['a', 'b'] },
    ]);
    expect(mergeFailures(undefined, undefined)).toBeUndefined();
    expect(mergeFailures(a, undefined)).toBe(a);
    expect(subtractFailures(a, [{ code: 'AccessDenied', httpStatus: 403, count: 1, sampleKeys: [] }])).toEqual([
      { code: 'NoSuchKey', httpStatus: 404, count: 3, sampleKeys: ['a', 'b'] },
    ]);
  });

  it('travels with the job counters: addProgress merges them and keeps counters without failures unchanged', () => {
    const p = addProgress({ total: 10, succeeded: 1, failed: 0 }, { succeeded: 2, failed: 0 });
    expect(p).toEqual({ total: 10, succeeded: 3, failed: 0 });
    const q = addProgress(p, {
      succeeded: 0,
      failed: 2,
      failures: [{ code: 'NoSuchKey', httpStatus: 404, count: 2, sampleKeys: ['a'] }],
    });
    const r = addProgress(q, {
      succeeded: 0,
      failed: 1,
      failures: [{ code: 'NoSuchKey', httpStatus: 404, count: 1, sampleKeys: ['b'] }],
    });
    expect(r).toEqual({
      total: 10,
      succeeded: 3,
      failed: 3,
      failures: [{ code: 'NoSuchKey', httpStatus: 404, count: 3, sampleKeys: ['a', 'b'] }],
    });
  });
});
