/** The engine's typed events: one `job:status` per status change, `job:progress` as tasks finish. */
import { EventEmitter } from 'node:events';
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

export interface EngineEventMap {
  'job:status': [JobStatusEvent];
  'job:progress': [JobProgressEvent];
}

export class EngineEvents extends EventEmitter<EngineEventMap> {
  constructor() {
    super();
    // Every SSE client and test waiter subscribes: no artificial listener cap.
    this.setMaxListeners(0);
  }
}
