/**
 * Turns an operation handler into "run this task to its final outcome": rules every operation
 * shares (a row with an empty version id fails without a call, as AWS does), then the handler's
 * attempt under the retry policy. Only the final attempt's result counts. With the job's limits,
 * throttled attempts slow the job down and are retried on their own budget (retry.ts).
 */
import type { TaskEntry, TaskResult } from '../domain/task.ts';
import type { AttemptOutcome, OperationContext, OperationHandler } from '../operations/operation.ts';
import { missingVersionOutcome } from '../operations/task-outcomes.ts';
import { isThrottled } from './adaptive-limit.ts';
import type { TaskDoneEvent } from './events.ts';
import type { TaskLimits } from './job-limits.ts';
import { DEFAULT_MAX_THROTTLED_RETRIES, runWithRetry, type RetryPolicy, type ThrottleRule } from './retry.ts';

export interface TaskExecutorArgs<C> {
  readonly handler: OperationHandler<C>;
  readonly config: C;
  readonly ctx: OperationContext;
  readonly policy: RetryPolicy;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly onRetry?: () => void;
  /** The job's rate limit and adaptive slow-down: a token before each retry, every attempt recorded. */
  readonly limits?: TaskLimits;
  /** Told each task's final outcome (for /metrics); not called when the task was abandoned (rejected). */
  readonly onDone?: (done: TaskOutcomeStats) => void;
}

/** What a task's run cost: the engine's task:done event without the operation it adds. */
export type TaskOutcomeStats = Omit<TaskDoneEvent, 'operation'>;

const THROTTLE_RULE: ThrottleRule = {
  isThrottled: (o) => isThrottled(o.result),
  maxRetries: DEFAULT_MAX_THROTTLED_RETRIES,
};

export type TaskExecutor = (entry: TaskEntry, signal: AbortSignal) => Promise<TaskResult>;

export function createTaskExecutor<C>(args: TaskExecutorArgs<C>): TaskExecutor {
  const { handler, config, ctx, policy, sleep, onDone } = args;
  return async (entry, signal) => {
    // The one place for this rule: handlers (and the dry-run wrapper) never see such a row.
    if (entry.versionId === '') {
      onDone?.({ succeeded: false, durationMs: 0, attempts: 0, throttledAttempts: 0 });
      return missingVersionOutcome(entry).result;
    }
    const { limits } = args;
    const started = onDone ? performance.now() : 0;
    if (!limits) {
      const run = await runWithRetry(
        () => handler.attempt(config, entry, ctx, signal),
        policy,
        sleep,
        signal,
        args.onRetry,
      );
      onDone?.({
        succeeded: run.result.status === 'succeeded',
        durationMs: performance.now() - started,
        attempts: run.attempts,
        throttledAttempts: 0,
        ...bytesOf(run.result),
      });
      return run.result;
    }
    let throttled = 0;
    const attempt = async (n: number): Promise<AttemptOutcome> => {
      if (n > 1) await limits.beforeRetry(signal);
      const outcome = await handler.attempt(config, entry, ctx, signal);
      if (limits.record(outcome)) throttled++;
      return outcome;
    };
    const run = await runWithRetry(attempt, policy, sleep, signal, args.onRetry, Math.random, THROTTLE_RULE);
    onDone?.({
      succeeded: run.result.status === 'succeeded',
      durationMs: performance.now() - started,
      attempts: run.attempts,
      throttledAttempts: throttled,
      ...bytesOf(run.result),
    });
    return run.result;
  };
}

/** The bytes a succeeded task moved or read, for /metrics (none for a failed one). */
function bytesOf(result: TaskResult): { bytes?: number } {
  return result.status === 'succeeded' && result.bytes !== undefined ? { bytes: result.bytes } : {};
}
