/**
 * Chunk execution behind one interface, with placements: where the tasks of a running job's
 * chunks run. The engine (the control plane) keeps the chunk source, the chunk marks, the job's
 * limits and the store; a placement takes chunks from that source, reads their rows, runs the
 * tasks, spools the results and hands back progress and each finished chunk's counts.
 *
 *   inline  (inline.ts)   in the engine's own thread: `s3batch serve --workers 0`, unit tests
 *   threads (threads.ts)  worker threads of `serve` (node:worker_threads), one per core by default
 *
 * A placement that runs tasks elsewhere (remote `s3batch worker` processes) is one more adapter:
 * its worker side runs chunk-worker.ts over its own transport.
 *
 * The contract every placement keeps:
 * - a chunk is reported done (`onChunkDone`) only after its spool is durable;
 * - never more tasks in flight than `setSlots` and the job's effective concurrency allow, summed
 *   over wherever the tasks run (after a decrease, tasks already running finish);
 * - `stop()`: no new tasks, in-flight tasks finish, then `done` resolves with the partial chunks;
 * - `onIdle` whenever nothing is in flight while the capacity is 0 or the execution is stopped.
 */
import type { Chunk } from '../domain/chunk.ts';
import type { FailureGroups } from '../domain/failure-groups.ts';
import type { CreateJobRequest } from '../domain/job-spec.ts';
import type { JobLimits } from '../engine/job-limits.ts';
import type { TaskOutcomeStats } from '../engine/task-executor.ts';

/** Counts of one chunk's results. */
export interface ChunkCounts {
  readonly index: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Sum of the results' `bytes` (dry run), when any result had them. */
  readonly bytes?: number | undefined;
  /** The failed results grouped by error code. */
  readonly failures?: FailureGroups | undefined;
  /**
   * The part of these counts that the chunk's spool held when it was reopened after a crash or a
   * shutdown (the engine counted them from the spool at start, not from live progress).
   */
  readonly resumed?: LiveCounts | undefined;
}

export interface LiveCounts {
  readonly succeeded: number;
  readonly failed: number;
  readonly bytes?: number | undefined;
  /** The failed results grouped by error code (domain/failure-groups.ts). */
  readonly failures?: FailureGroups | undefined;
}

export interface RunOutcome {
  /** True when every chunk is done. */
  readonly finished: boolean;
  /** Chunks that were started but not finished (stopped or failed): their spools hold what ran. */
  readonly partial: readonly ChunkCounts[];
}

/** What any executor needs to run a job's tasks: plain data, so it can cross a thread or a queue. */
export interface JobSpec {
  readonly jobId: string;
  /** The job's request: its operation (dry run included), manifest and RoleArn (its storage profile). */
  readonly request: CreateJobRequest;
  /** The manifest's ETag checked at Preparing (CSV manifests). */
  readonly etag: string;
  /** True when the rows come from the job's local task list (inventory and generator jobs). */
  readonly localManifest: boolean;
}

/** A running job as the engine hands it to a placement. */
export interface PlacedJob {
  readonly spec: JobSpec;
  /** The job's limits (owned by the engine's thread): concurrency, rate, adaptive slow-down. */
  readonly limits: JobLimits;
  /** Upper bound of concurrent tasks for this job. */
  readonly maxConcurrency: number;
  /** The job's priority now (higher runs first), for placements that queue chunks. */
  readonly priority?: number | undefined;
  /**
   * The job's chunks, in order (the engine's chunk index or its growing local task list). Ends
   * when `stopped` aborts; `waiting(on)` brackets a wait for chunks still being listed.
   */
  chunks(stopped: AbortSignal, waiting: (on: boolean) => void): AsyncIterable<Chunk>;
  isChunkDone(index: number): boolean;
  /** Chunks not done yet, when known (a listing still running does not know): no more threads than that. */
  readonly chunksLeft?: number | undefined;
}

/** What an execution tells the engine. Called on the engine's thread. */
export interface ExecutionHooks {
  /** A chunk's spool is durable: store its mark and counters. */
  onChunkDone(counts: ChunkCounts): void;
  /** Results arrived (one task inline, a batch from elsewhere): live progress, failure threshold. */
  onResults(): void;
  /** Each task's final outcome (for /metrics). */
  onTaskDone(stats: TaskOutcomeStats): void;
  /** `starved` changed. */
  onStarvedChange(): void;
  /** Nothing in flight while the capacity is 0 or the execution is stopped. */
  onIdle(): void;
  /** Task slots went back. */
  onRelease(): void;
}

/** One running job's chunk execution. */
export interface JobExecution {
  readonly inFlight: number;
  /** Slots that may be in use at once now (the scheduler's slots, lowered by the job's limits). */
  readonly capacity: number;
  /** True once stopped. */
  readonly closed: boolean;
  /** No task to start: the chunk source waits for a listing and nothing is held. */
  readonly starved: boolean;
  /** The slots the job occupies, for the scheduler. */
  readonly occupied: number;
  /** Results of chunks not yet reported done. */
  readonly liveCounts: LiveCounts;
  setSlots(slots: number): void;
  /** The job's effective concurrency or rate changed. */
  limitsChanged(): void;
  stop(): void;
  /** Resolves when every chunk is done, or after stop() once in-flight tasks finished. */
  readonly done: Promise<RunOutcome>;
}

export interface ChunkPlacement {
  /** Where tasks run, for logs and /metrics: `inline` or `threads`. */
  readonly kind: string;
  start(job: PlacedJob, hooks: ExecutionHooks, slots: number): JobExecution;
  /** A job is on its way (created, or resumed at start): get ready to run tasks while it prepares. */
  warm?(): void;
  /**
   * A job ends without an execution here (Cancelling or Failing when the engine started): stop what
   * of it still runs elsewhere (another process's workers). Placements in this process have nothing
   * to do.
   */
  abandon?(jobId: string): Promise<void>;
  /** Ends the placement's resources (threads); executions must have ended. */
  close(): Promise<void>;
}
