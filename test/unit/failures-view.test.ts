// The wire shape of failures by code (api/rest/failures-view.ts): the stored groups keep their own
// field names (persisted records stay readable); the JSON view and SSE events carry PascalCase.
import { describe, expect, it } from 'vitest';
import { failureGroupsView } from '../../src/api/rest/failures-view.ts';
import { FailureTally } from '../../src/domain/failure-groups.ts';

describe('failureGroupsView', () => {
  it('renames the stored groups to the JSON API members, in the same order', () => {
    const tally = new FailureTally();
    tally.add('NoSuchKey', 404, 'a');
    tally.add('NoSuchKey', 404, 'b');
    tally.add('SlowDown', 503, 'c');
    tally.add('SlowDown', 500);
    expect(failureGroupsView(tally.groupsNow())).toEqual([
      { Code: 'NoSuchKey', HttpStatus: 404, Count: 2, SampleKeys: ['a', 'b'] },
      { Code: 'SlowDown', HttpStatus: null, Count: 2, SampleKeys: ['c'] },
    ]);
  });

  it('gives an empty list for a record without groups (a job from before they were kept)', () => {
    expect(failureGroupsView(undefined)).toEqual([]);
    expect(failureGroupsView([])).toEqual([]);
  });
});
