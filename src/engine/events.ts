/**
 * The engine's typed events: one `job:status` per status change, `job:progress` as tasks finish,
 * `task:done` once per finished task (its final outcome, for /metrics), `job:removed` when a job's
 * record is deleted (the retention sweep): from then on the job does not exist.
 */
import { EventEmitter } from 'node:events';
import type { OperationName } from '../domain/job-spec.ts';
import type { JobStatus } from '../domain/job-status.ts';
import type { Progress } from '../domain/progress.ts';

export interface JobStatusEvent {
  readonly jobId: string;
  readonly accountId: string;
  readonly from: JobStatus;
  readonly to: JobStatus;
  readonly at: string;
}

export interface JobProgressEvent {
  readonly jobId: string;
  readonly accountId: string;
  readonly progress: Progress;
}

export interface JobRemovedEvent {
  readonly jobId: string;
  readonly accountId: string;
}

/** A task's final outcome (no job id or key: what /metrics counts). */
export interface TaskDoneEvent {
  readonly operation: OperationName;
  readonly succeeded: boolean;
  /** From the first attempt to the final outcome, backoff sleeps included. */
  readonly durationMs: number;
  /** Attempts made (1 = no retry; 0 = failed without a call, e.g. a row with an empty VersionId). */
  readonly attempts: number;
  /** Of those, attempts the storage answered with throttling (SlowDown, 429, 503…). */
  readonly throttledAttempts: number;
  /** Bytes the task moved or read (copy, replicate, checksum; not a dry run); absent when none or unknown. */
  readonly bytes?: number | undefined;
}

export interface EngineEventMap {
  'job:status': [JobStatusEvent];
  'job:progress': [JobProgressEvent];
  'task:done': [TaskDoneEvent];
  'job:removed': [JobRemovedEvent];
}

export class EngineEvents extends EventEmitter<EngineEventMap> {
  constructor() {
    super();
    // Every SSE client and test waiter subscribes: no artificial listener cap.
    this.setMaxListeners(0);
  }
}
