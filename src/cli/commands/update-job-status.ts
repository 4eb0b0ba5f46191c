/**
 * `s3batch update-job-status <id> <Ready|Cancelled> [--reason]`, and its shortcuts `confirm <id>`
 * (Suspended → Ready: the job runs) and `cancel <id>`.
 */
import type { RequestedJobStatus } from '@aws-sdk/client-s3-control';
import type { Command } from 'commander';
import { usageError } from '../cli-errors.ts';
import { toJson } from '../job-output.ts';
import { jobVerb, print, withConnection } from '../job-verb.ts';

/** `ready`/`confirm` → Ready, `cancelled`/`cancel` → Cancelled. */
function parseRequestedStatus(value: string): RequestedJobStatus {
  const v = value.toLowerCase();
  if (v === 'ready' || v === 'confirm' || v === 'confirmed') return 'Ready';
  if (v === 'cancelled' || v === 'canceled' || v === 'cancel') return 'Cancelled';
  throw usageError(
    `the requested status must be Ready (confirm a Suspended job) or Cancelled, got ${JSON.stringify(value)}`,
  );
}

function statusAction(env: NodeJS.ProcessEnv, status: (given: string | undefined) => RequestedJobStatus) {
  return async (jobId: string, ...rest: unknown[]): Promise<void> => {
    // commander passes the declared arguments, then the options and the command.
    const given = typeof rest[0] === 'string' ? rest[0] : undefined;
    const opts = (typeof rest[0] === 'string' ? rest[1] : rest[0]) as { reason?: string; json?: boolean } & Record<
      string,
      unknown
    >;
    const requested = status(given);
    await withConnection(opts, env, async (conn) => {
      const out = await conn.send(
        new conn.sdk.UpdateJobStatusCommand({
          AccountId: conn.accountId,
          JobId: jobId,
          RequestedJobStatus: requested,
          ...(opts.reason !== undefined ? { StatusUpdateReason: opts.reason } : {}),
        }),
      );
      print(opts.json === true ? toJson(out) : `${out.JobId ?? jobId}  ${out.Status ?? requested}`);
    });
  };
}

function define(program: Command, name: string, description: string): Command {
  return program.command(name).argument('<job-id>', 'the job').description(description);
}

export function registerUpdateJobStatus(program: Command, env: NodeJS.ProcessEnv): void {
  const update = define(program, 'update-job-status', 'Confirm (Ready) or cancel (Cancelled) a job')
    .argument('<status>', 'Ready or Cancelled')
    .option('--reason <text>', 'why (StatusUpdateReason, shown by describe-job)');
  jobVerb(update, [
    ['s3batch update-job-status "$JOB" Ready', 'confirm a Suspended job: it runs'],
    ['s3batch update-job-status "$JOB" Cancelled --reason "wrong manifest"', 'cancel it, saying why'],
  ]);
  update.action(statusAction(env, (given) => parseRequestedStatus(given ?? '')));

  const confirm = define(
    program,
    'confirm',
    'Confirm a Suspended job (waiting for confirmation): it runs. Same as update-job-status <id> Ready',
  ).option('--reason <text>', 'StatusUpdateReason');
  jobVerb(confirm, [['s3batch confirm "$JOB"', 'let a job created with confirmation required run']]);
  confirm.action(statusAction(env, () => 'Ready'));

  const cancel = define(
    program,
    'cancel',
    'Cancel a job (tasks in flight finish; the report covers what ran). Same as update-job-status <id> Cancelled',
  ).option('--reason <text>', 'StatusUpdateReason');
  jobVerb(cancel, [['s3batch cancel "$JOB" --reason "not needed"', 'cancel a job, saying why']]);
  cancel.action(statusAction(env, () => 'Cancelled'));
}
