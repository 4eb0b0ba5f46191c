/**
 * Failures by error code and retry links in the CLI's job summary (docs/job-lifecycle.md#failures-by-code):
 * read from the JSON job view (`GET /api/v1/jobs/:id`), which the S3 Control DescribeJob does not
 * carry, and printed after the summary as a small table.
 */
import type { Connection } from './connection.ts';
import { table } from './job-output.ts';

export interface FailureGroupView {
  readonly code: string;
  readonly httpStatus: number | null;
  readonly count: number;
  readonly sampleKeys: readonly string[];
}

/** The members of the JSON job view this part of the CLI shows. */
export interface FailureInsight {
  readonly failuresByCode: readonly FailureGroupView[];
  readonly retryOf: string | null;
  readonly retries: readonly string[];
}

/** The job's failures by code and retry links; undefined when the server's JSON view does not have them. */
export async function fetchFailureInsight(conn: Connection, jobId: string): Promise<FailureInsight | undefined> {
  const res = await conn.signedFetch(`/api/v1/jobs/${encodeURIComponent(jobId)}`);
  if (!res.ok) {
    await res.body?.cancel();
    return undefined;
  }
  const view = (await res.json()) as Partial<FailureInsight>;
  if (!Array.isArray(view.failuresByCode)) return undefined;
  return { failuresByCode: view.failuresByCode, retryOf: view.retryOf ?? null, retries: view.retries ?? [] };
}

/** The lines after the summary: the failures table (with a retry hint) and the retry links. */
export function failureInsightText(jobId: string, insight: FailureInsight, ended: boolean): string {
  let out = '';
  if (insight.retryOf !== null) out += `Retry of    ${insight.retryOf}\n`;
  if (insight.retries.length > 0) out += `Retries     ${insight.retries.join(', ')}\n`;
  const groups = insight.failuresByCode;
  if (groups.length > 0) {
    out += `\nFailures by code:\n`;
    out += table(
      ['CODE', 'HTTP', 'COUNT', 'SAMPLE KEYS'],
      groups.map((g) => [
        g.code,
        g.httpStatus === null ? '-' : String(g.httpStatus),
        String(g.count),
        g.sampleKeys.join(' '),
      ]),
    );
    if (ended) out += `Retry them: s3batch retry ${jobId} [--codes ${groups[0]!.code}]\n`;
  }
  return out;
}
