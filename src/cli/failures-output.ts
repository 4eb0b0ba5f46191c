/**
 * Failures by error code and retry links in the CLI's job summary (docs/job-lifecycle.md#failures-by-code):
 * read from the JSON job view (`GET /api/v1/jobs/:id`), which the S3 Control DescribeJob does not
 * carry, and printed after the summary as a small table.
 */
import type { FailureGroupView } from '../api/rest/failures-view.ts';
import { table } from './job-output.ts';

/** The members of the JSON job view this part of the CLI shows. */
export interface FailureInsight {
  readonly FailuresByCode: readonly Readonly<FailureGroupView>[];
  readonly RetryOf: string | null;
  readonly Retries: readonly string[];
}

/** The job view's failures by code and retry links (parsed JSON); undefined when it does not have them. */
export function readFailureInsight(view: unknown): FailureInsight | undefined {
  if (typeof view !== 'object' || view === null) return undefined;
  const v = view as Partial<FailureInsight>;
  if (!Array.isArray(v.FailuresByCode)) return undefined;
  return { FailuresByCode: v.FailuresByCode, RetryOf: v.RetryOf ?? null, Retries: v.Retries ?? [] };
}

/** The lines after the summary: the failures table (with a retry hint) and the retry links. */
export function failureInsightText(jobId: string, insight: FailureInsight, ended: boolean): string {
  let out = '';
  if (insight.RetryOf !== null) out += `Retry of    ${insight.RetryOf}\n`;
  if (insight.Retries.length > 0) out += `Retries     ${insight.Retries.join(', ')}\n`;
  const groups = insight.FailuresByCode;
  if (groups.length > 0) {
    out += `\nFailures by code:\n`;
    out += table(
      ['CODE', 'HTTP', 'COUNT', 'SAMPLE KEYS'],
      groups.map((g) => [
        g.Code,
        g.HttpStatus === null ? '-' : String(g.HttpStatus),
        String(g.Count),
        g.SampleKeys.join(' '),
      ]),
    );
    if (ended) out += `Retry them: s3batch retry ${jobId} [--codes ${groups[0]!.Code}]\n`;
  }
  return out;
}
