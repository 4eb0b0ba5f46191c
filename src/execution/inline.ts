/**
 * The inline placement: a job's tasks run in the engine's own thread, all its chunks through one
 * worker pool (engine/job-runner.ts), as s3batch always did. `s3batch serve --workers 0`, and the
 * engine's default (unit tests run it on in-memory fakes).
 */
import { JobRunner } from '../engine/job-runner.ts';
import type { ResultSpool } from '../storage/result-spool.ts';
import { chunkReader, jobTaskExecutor, type ChunkWorkDeps } from './chunk-work.ts';
import type { ChunkPlacement, ExecutionHooks, JobExecution, PlacedJob } from './placement.ts';

export interface InlinePlacementDeps extends ChunkWorkDeps {
  readonly spool: ResultSpool;
}

export class InlinePlacement implements ChunkPlacement {
  readonly kind = 'inline';

  constructor(private readonly deps: InlinePlacementDeps) {}

  start(job: PlacedJob, hooks: ExecutionHooks, slots: number): JobExecution {
    const { spec, limits } = job;
    const runner = new JobRunner(
      {
        jobId: spec.jobId,
        chunks: (stopped, waiting) => job.chunks(stopped, waiting),
        isChunkDone: (i) => job.isChunkDone(i),
        readChunk: chunkReader(this.deps, spec),
        spool: this.deps.spool,
        executeTask: jobTaskExecutor(this.deps, spec, limits, (d) => hooks.onTaskDone(d)),
        onChunkDone: (c) => hooks.onChunkDone(c),
        onResult: () => hooks.onResults(),
        maxConcurrency: job.maxConcurrency,
        limits,
        onStarvedChange: () => hooks.onStarvedChange(),
      },
      slots,
    );
    runner.gate.onIdle(() => hooks.onIdle());
    runner.gate.onRelease(() => hooks.onRelease());
    const done = runner.run();
    return {
      get inFlight() {
        return runner.inFlight;
      },
      get capacity() {
        return runner.gate.size;
      },
      get closed() {
        return runner.gate.isClosed;
      },
      get starved() {
        return runner.starved;
      },
      get occupied() {
        return runner.occupied;
      },
      get liveCounts() {
        return runner.liveCounts;
      },
      setSlots: (n) => runner.setSlots(n),
      limitsChanged: () => runner.limitsChanged(),
      stop: () => runner.stop(),
      done,
    };
  }

  async close(): Promise<void> {}
}
