/**
 * Turns an operation handler into "run this task to its final outcome": rules every operation
 * shares (a row with an empty version id fails without a call, as AWS does), then the handler's
 * attempt under the retry policy. Only the final attempt's result counts.
 */
import { failed, type TaskEntry, type TaskResult } from '../domain/task.ts';
import type { OperationContext, OperationHandler } from '../operations/operation.ts';
import { runWithRetry, type RetryPolicy } from './retry.ts';

export interface TaskExecutorArgs<C> {
  readonly handler: OperationHandler<C>;
  readonly config: C;
  readonly ctx: OperationContext;
  readonly policy: RetryPolicy;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly onRetry?: () => void;
}

export type TaskExecutor = (entry: TaskEntry, signal: AbortSignal) => Promise<TaskResult>;

export function createTaskExecutor<C>(args: TaskExecutorArgs<C>): TaskExecutor {
  const { handler, config, ctx, policy, sleep } = args;
  return async (entry, signal) => {
    if (entry.versionId === '') {
      return failed(entry, 400, 'InvalidRequest', 'Task failed due to missing VersionId');
    }
    const run = await runWithRetry(() => handler.attempt(config, entry, ctx, signal), policy, sleep, signal, args.onRetry);
    return run.result;
  };
}
