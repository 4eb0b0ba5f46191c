/**
 * Runs the Active phase of one job: walks the chunk index, skips chunks already done, reads each
 * remaining chunk (a ranged GET of the manifest), runs its tasks through the worker pool and
 * spools the results. A chunk is reported done (`onChunkDone`) only after its spool is durable.
 *
 * Resume at task grain: each result is spooled with its row's ordinal in the chunk, and the spool
 * makes rows durable in batches while the chunk runs. A chunk cut short by a crash or a shutdown
 * is reopened with `resume`: the rows its spool already holds are skipped (they need not be a
 * prefix: tasks run concurrently), so a crash loses only the tasks of the last batch. The counts
 * of those earlier rows are the chunk's `resumed` base: left out of `liveCounts` (the engine
 * counts them from the spool at start) and included in the chunk's counts when it is done.
 *
 * The runner never changes the job's status; the engine does, from what the runner reports:
 * `run()` resolves when every chunk is done or after `stop()` once in-flight tasks finished.
 */
import { setMaxListeners } from 'node:events';
import type { Chunk } from '../domain/chunk.ts';
import { FailureTally, mergeFailures } from '../domain/failure-groups.ts';
import type { TaskEntry, TaskResult } from '../domain/task.ts';
import type { ResultSpool, SpoolWriter } from '../storage/result-spool.ts';
import type { ChunkCounts, LiveCounts, RunOutcome } from '../execution/placement.ts';
import type { TaskLimits } from './job-limits.ts';
import { runPool, SlotGate } from './worker-pool.ts';

export type { ChunkCounts, RunOutcome } from '../execution/placement.ts';

export interface RunnerDeps {
  readonly jobId: string;
  /**
   * The job's chunk index, in order. A source that waits for chunks still being listed ends when
   * `stopped` aborts (the runner was stopped), and calls `waiting(true)` when it starts such a
   * wait and `waiting(false)` when the wait ends.
   */
  chunks(stopped: AbortSignal, waiting: (on: boolean) => void): AsyncIterable<Chunk>;
  isChunkDone(index: number): boolean;
  readChunk(chunk: Chunk, signal: AbortSignal): AsyncIterable<TaskEntry>;
  readonly spool: ResultSpool;
  executeTask(entry: TaskEntry, signal: AbortSignal): Promise<TaskResult>;
  /** Called once per chunk, after its spool is closed (durable); the counts include resumed rows. */
  onChunkDone(counts: ChunkCounts): void;
  /** Called for every task result (live progress, failure threshold). */
  onResult(result: TaskResult): void;
  /** Upper bound of concurrent tasks for this job (the number of pool loops). */
  readonly maxConcurrency: number;
  /** The job's own limits: they lower the slots the scheduler gave and pace new tasks. */
  readonly limits?: TaskLimits;
  /** `starved` changed (the scheduler lends the slots of a starved runner to other jobs). */
  onStarvedChange?(): void;
}

interface ChunkState {
  readonly chunk: Chunk;
  readonly writer: SpoolWriter;
  /** Counts of the rows the spool held when the chunk was reopened. */
  readonly base: LiveCounts;
  pending: number;
  allRead: boolean;
  succeeded: number;
  failed: number;
  bytes: number | undefined;
  /** This runner's failed results of the chunk, by error code. */
  readonly failures: FailureTally;
  completing: boolean;
}

interface Task {
  readonly state: ChunkState;
  readonly entry: TaskEntry;
  /** The row's position in its chunk, from 0. */
  readonly ordinal: number;
}

const NOTHING: LiveCounts = { succeeded: 0, failed: 0 };

export class JobRunner {
  readonly gate: SlotGate;
  private readonly abort = new AbortController();
  /** Aborted by stop(): ends a chunk source waiting for more chunks. */
  private readonly stopCtl = new AbortController();
  private readonly open = new Map<number, ChunkState>();
  private readonly completions: Promise<void>[] = [];
  /** Tasks whose wait for a rate token was revoked: they run before new rows. */
  private readonly handedBack: Task[] = [];
  private stopped = false;
  /** Slots the scheduler gave; the gate's capacity is this, or less under the job's limits. */
  private slots: number;
  /** The chunk source waits for chunks still being listed. */
  private sourceWaiting = false;
  /** Tasks a pool loop took from the source and holds until it gets a slot. */
  private inHand = 0;
  private wasStarved = false;

  constructor(
    private readonly deps: RunnerDeps,
    initialSlots: number,
  ) {
    this.slots = initialSlots;
    this.gate = new SlotGate(this.capacity());
    // Every in-flight request listens on the job's signal: up to maxConcurrency listeners, by design.
    setMaxListeners(0, this.abort.signal);
  }

  get inFlight(): number {
    return this.gate.inFlight;
  }

  /** Results of chunks not yet reported done, produced by this runner (resumed rows left out). */
  get liveCounts(): LiveCounts {
    let succeeded = 0;
    let failed = 0;
    let bytes: number | undefined;
    const tally = new FailureTally();
    for (const s of this.open.values()) {
      succeeded += s.succeeded;
      failed += s.failed;
      if (s.bytes !== undefined) bytes = (bytes ?? 0) + s.bytes;
      if (s.failed > 0) tally.addGroups(s.failures.groupsNow());
    }
    const counts = bytes === undefined ? { succeeded, failed } : { succeeded, failed, bytes };
    return tally.size === 0 ? counts : { ...counts, failures: tally.groupsNow() };
  }

  /**
   * True while the runner has no task to start: its source waits for a listing to produce more
   * chunks and no loop holds a task (tasks may still be in flight). The engine then lends the
   * job's slots to other jobs until the listing moves.
   */
  get starved(): boolean {
    return this.sourceWaiting && this.inHand === 0 && this.handedBack.length === 0 && !this.stopped;
  }

  /**
   * The slots the job occupies, for the scheduler: every slot of its gate while it has work (a
   * loop between two tasks, taking its next row, keeps its place), only its tasks in flight while
   * it is starved or its gate shrank below them.
   */
  get occupied(): number {
    if (this.starved || this.stopped) return this.gate.inFlight;
    return Math.max(this.gate.inFlight, Math.min(this.deps.maxConcurrency, this.gate.size));
  }

  setSlots(slots: number): void {
    this.slots = slots;
    this.gate.setCapacity(this.capacity());
  }

  /** The job's effective concurrency changed: resize the gate. */
  limitsChanged(): void {
    this.gate.setCapacity(this.capacity());
  }

  private capacity(): number {
    const limit = this.deps.limits?.effectiveConcurrency;
    return limit === undefined ? this.slots : Math.min(this.slots, limit);
  }

  /** No new tasks; in-flight tasks finish; `run()` then resolves with the partial chunks. */
  stop(): void {
    this.stopped = true;
    this.stopCtl.abort();
    this.gate.close();
  }

  async run(): Promise<RunOutcome> {
    let failure: unknown;
    try {
      await runPool(this.source(), this.gate, this.deps.maxConcurrency, (item) => {
        this.inHand--;
        this.starvedChanged();
        return this.runTask(item);
      });
    } catch (err) {
      failure = err;
    }
    await Promise.all(this.completions);
    const partial: ChunkCounts[] = [];
    for (const state of this.open.values()) {
      await state.writer.close();
      partial.push(chunkCounts(state));
    }
    this.open.clear();
    this.abort.abort();
    if (failure !== undefined) throw Object.assign(failure as object, { partial });
    return { finished: !this.stopped && partial.length === 0, partial };
  }

  private async *tasks(): AsyncGenerator<Task> {
    const waiting = (on: boolean): void => {
      this.sourceWaiting = on;
      this.starvedChanged();
    };
    for await (const chunk of this.deps.chunks(this.stopCtl.signal, waiting)) {
      if (this.stopped) return;
      if (this.deps.isChunkDone(chunk.index)) continue;
      const writer = await this.deps.spool.open(this.deps.jobId, chunk.index, { resume: true });
      const done = writer.resumed?.ordinals;
      const state: ChunkState = {
        chunk,
        writer,
        base: writer.resumed === undefined ? NOTHING : countsOf(writer.resumed),
        pending: 0,
        allRead: false,
        succeeded: 0,
        failed: 0,
        bytes: undefined,
        failures: new FailureTally(),
        completing: false,
      };
      this.open.set(chunk.index, state);
      // A chunk whose every row is in its spool already needs no read.
      if (done === undefined || done.size < chunk.count) {
        let ordinal = 0;
        for await (const entry of this.deps.readChunk(chunk, this.abort.signal)) {
          if (this.stopped) return;
          const o = ordinal++;
          if (done?.has(o)) continue;
          state.pending++;
          yield { state, entry, ordinal: o };
        }
      }
      state.allRead = true;
      this.maybeComplete(state);
    }
  }

  /** The tasks: first those handed back while waiting for a rate token, then the chunks' rows. */
  private source(): AsyncIterator<Task> {
    const rows = this.tasks();
    const taken = (next: IteratorResult<Task>): IteratorResult<Task> => {
      if (!next.done) this.inHand++;
      return next;
    };
    return {
      next: () =>
        this.handedBack.length > 0
          ? Promise.resolve(taken({ value: this.handedBack.shift()!, done: false }))
          : rows.next().then(taken),
    };
  }

  private starvedChanged(): void {
    const now = this.starved;
    if (now === this.wasStarved) return;
    this.wasStarved = now;
    this.deps.onStarvedChange?.();
  }

  private async runTask(task: Task): Promise<void> {
    const { state, entry } = task;
    // The rate token is taken with the task in hand, right before its first attempt (taking it
    // earlier, tokens that came due while the manifest was read would go out as one burst). A
    // pause or a stop revokes the wait: the task goes back, untried, for the next loop (after a
    // stop, it runs when its chunk resumes at the next start, or the chunk ends partial).
    const limits = this.deps.limits;
    if (limits?.rateLimited && !(await limits.admit(this.gate.revoked))) {
      this.handedBack.push(task);
      this.starvedChanged();
      return;
    }
    const result = await this.deps.executeTask(entry, this.abort.signal);
    state.writer.append(result, task.ordinal);
    // A spool that cannot keep up holds this task's slot until it drains: memory stays bounded.
    const backlog = state.writer.ready();
    if (backlog) await backlog;
    if (result.status === 'succeeded') state.succeeded++;
    else {
      state.failed++;
      state.failures.addResult(result);
    }
    if (result.bytes !== undefined) state.bytes = (state.bytes ?? 0) + result.bytes;
    state.pending--;
    this.deps.onResult(result);
    this.maybeComplete(state);
  }

  private maybeComplete(state: ChunkState): void {
    if (!state.allRead || state.pending > 0 || state.completing || this.stopped) return;
    state.completing = true;
    this.completions.push(
      state.writer.close().then(() => {
        this.open.delete(state.chunk.index);
        this.deps.onChunkDone(chunkCounts(state));
      }),
    );
  }
}

function countsOf(rows: LiveCounts): LiveCounts {
  const counts = { succeeded: rows.succeeded, failed: rows.failed, bytes: rows.bytes };
  return rows.failures === undefined ? counts : { ...counts, failures: rows.failures };
}

/** The chunk's counts: its resumed rows and this runner's. */
function chunkCounts(state: ChunkState): ChunkCounts {
  const b = state.base;
  const bytes = b.bytes === undefined && state.bytes === undefined ? undefined : (b.bytes ?? 0) + (state.bytes ?? 0);
  const failures = mergeFailures(b.failures, state.failed > 0 ? state.failures.groupsNow() : undefined);
  return {
    index: state.chunk.index,
    succeeded: b.succeeded + state.succeeded,
    failed: b.failed + state.failed,
    bytes,
    ...(failures === undefined ? {} : { failures }),
    ...(b === NOTHING ? {} : { resumed: countsOf(b) }),
  };
}
