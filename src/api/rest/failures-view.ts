/**
 * Failures by error code on the JSON wire (docs/job-lifecycle.md#failures-by-code): the job view's
 * and the SSE events' `FailuresByCode`, in the API's PascalCase. The engine keeps and stores the
 * groups in their own shape (domain/failure-groups.ts); only this view renames them. Pure.
 */
import type { FailureGroups } from '../../domain/failure-groups.ts';

export interface FailureGroupView {
  Code: string;
  /** The HTTP status of the code's failures; null when they had different statuses. */
  HttpStatus: number | null;
  Count: number;
  /** Up to a few keys of failed tasks, decoded. */
  SampleKeys: string[];
}

export function failureGroupsView(groups: FailureGroups | undefined): FailureGroupView[] {
  return (groups ?? []).map((g) => ({
    Code: g.code,
    HttpStatus: g.httpStatus,
    Count: g.count,
    SampleKeys: [...g.sampleKeys],
  }));
}
