/**
 * The JSON job view (GET /api/v1/jobs/:id) that `describe-job` and `watch` read s3batch's own
 * members from (progress-extras.ts, failures-output.ts): the S3 Control DescribeJob carries none.
 * Undefined when the server cannot tell (no JSON API there, a refusal, the network): DescribeJob's
 * answer then stands alone. Never throws.
 */
import type { Connection } from './connection.ts';

/** The JSON API path of a job; its sub-resources (report, pause, retry, notifications) follow it. */
export const jobPath = (jobId: string): string => `/api/v1/jobs/${encodeURIComponent(jobId)}`;

export async function fetchJobView(conn: Connection, jobId: string): Promise<unknown> {
  try {
    const res = await conn.signedFetch(jobPath(jobId));
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    return await res.json();
  } catch {
    return undefined;
  }
}
