/**
 * `s3batch notifications <job-id>`: the job's webhook delivery log (docs/notifications.md), one
 * line per delivery and one per attempt; --json prints the JSON API's answer.
 */
import type { Command } from 'commander';
import { toJson } from '../job-output.ts';
import { jobVerb, print, withConnection } from '../job-verb.ts';
import { jobPath } from '../job-view-fetch.ts';
import { apiError } from './report.ts';

interface DeliveryLine {
  EventId: string;
  Event: string;
  Status: string;
  Source: string;
  Url: string;
  State: string;
  AttemptCount: number;
  Attempts: { At: string; StatusCode: number | null; Error?: string }[];
  NextAttemptAt?: string;
  GaveUpReason?: string;
}

/** The log as text: a delivery per line, its attempts indented below it. */
export function deliveriesText(deliveries: readonly DeliveryLine[]): string {
  if (deliveries.length === 0) return 'No notifications for this job (no s3batch:notify tag and no account webhook).';
  const lines: string[] = [];
  for (const d of deliveries) {
    const tail =
      d.State === 'pending' && d.NextAttemptAt
        ? ` (next attempt ${d.NextAttemptAt})`
        : d.GaveUpReason
          ? ` (${d.GaveUpReason})`
          : '';
    lines.push(
      `${d.Event.padEnd(6)} ${d.Status.padEnd(10)} ${d.State.padEnd(9)} ${String(d.AttemptCount).padStart(2)} attempt(s)  ${d.Url} [${d.Source}]${tail}`,
    );
    for (const a of d.Attempts) lines.push(`    ${a.At}  ${a.StatusCode ?? '-'}${a.Error ? `  ${a.Error}` : ''}`);
  }
  return lines.join('\n');
}

export function registerNotifications(program: Command, env: NodeJS.ProcessEnv): void {
  const cmd = program
    .command('notifications')
    .argument('<job-id>', 'the job')
    .description(
      "Show a job's webhook deliveries: each event sent (status change or end), to which URL, its state and every attempt's HTTP status",
    );
  jobVerb(
    cmd,
    [
      ['s3batch notifications "$JOB"', 'one line per delivery, its attempts below it'],
      [
        's3batch notifications "$JOB" --json | jq ".Deliveries[] | select(.State != \\"delivered\\")"',
        'what is not delivered',
      ],
    ],
    'print the JSON API answer (GET /api/v1/jobs/{id}/notifications)',
  );
  cmd.action(async (jobId: string, opts: { json?: boolean } & Record<string, unknown>) => {
    await withConnection(opts, env, async (conn) => {
      const path = `${jobPath(jobId)}/notifications`;
      const res = await conn.signedFetch(path);
      if (!res.ok) throw await apiError(res, `GET ${path}`);
      const out = (await res.json()) as { Deliveries: DeliveryLine[] };
      print(opts.json === true ? toJson(out) : deliveriesText(out.Deliveries));
    });
  });
}
