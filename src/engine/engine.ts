/**
 * The engine drives every job from New to a terminal status:
 *
 *   New → Preparing (preparer.ts) → Suspended | Ready
 *   Ready → Active (the scheduler gave it slots) ⇄ Pausing → Paused (pre-empted, or a user's pause)
 *   Active → Completing → Complete;  … → Cancelling → Cancelled;  … → Failing → Failed
 *   (the report and the terminal status: finalizer.ts)
 *
 * It owns no I/O of its own: the job store, the object store per storage profile, the result
 * spool and the chunk-index files come in as ports (EngineDeps), so unit tests run it on
 * in-memory fakes. All record writes and status changes go through JobRecords; which status an
 * event leads to (a failure, a runner's end) is decided in domain/job-status.ts, next to the table.
 *
 * Crash safety: the store holds, per job, the status, the counters of finished chunks and the
 * chunk marks; the spools of unfinished chunks hold, durably, the tasks they finished (each with
 * its row's ordinal). `start()` resumes every job from what the store says: a running job's
 * unfinished chunks resume after their durable tasks (job-runner.ts), whose counts the engine
 * keeps aside (`resumed`) until the chunk is done, so progress and the failure threshold include
 * them once; a spool that cannot be resumed is discarded and its chunk redone from its start.
 * Each task is reported exactly once.
 */
import { isChunkDone, markChunkDone, newestFirst, type JobRecord } from '../domain/job.ts';
import { daysToMs, DEFAULT_JOB_RETENTION_DAYS, DEFAULT_SUSPENDED_TIMEOUT_DAYS } from '../domain/job-lifetime.ts';
import { parseJobExtensions } from '../domain/job-extensions.ts';
import type { CreateJobRequest, JobOperation } from '../domain/job-spec.ts';
import {
  ALL_STATUSES,
  failureTarget,
  isTerminal,
  JobStatus,
  runnerEndTarget,
  runnerErrorTarget,
  type JobStatus as Status,
} from '../domain/job-status.ts';
import { mergeFailures } from '../domain/failure-groups.ts';
import { addProgress, thresholdExceeded, type Progress } from '../domain/progress.ts';
import { InlinePlacement } from '../execution/inline.ts';
import type { ChunkCounts, ChunkPlacement, JobExecution, LiveCounts } from '../execution/placement.ts';
import type { ChunkIndexFile } from '../storage/chunk-index-file.ts';
import { withJobTags } from '../operations/job-operation.ts';
import { parseOperation } from '../operations/index.ts';
import type { JobStore } from '../storage/job-store.ts';
import type { ResultSpool } from '../storage/result-spool.ts';
import { EngineEvents } from './events.ts';
import { failureOf } from './failure.ts';
import { Finalizer } from './finalizer.ts';
import type { Log } from './job-log.ts';
import { JobRecords } from './job-records.ts';
import { JobLimits, type JobLimitSettings, type JobLimitsView } from './job-limits.ts';
import { Preparer } from './preparer.ts';
import { ListingSignals, localTaskSource, memoryLocalManifests } from './local-tasks.ts';
import { listingPending, usesLocalManifest } from './prepare-local.ts';
import type { LocalManifestFiles } from '../storage/local-manifest-files.ts';
import type { RetryPolicy } from './retry.ts';
import { isSchedulable, plan, SCHEDULABLE_STATUSES, type Decision } from './scheduler.ts';
import type { StorageProfile } from './storage-profile.ts';
import { Sweeper } from './sweeper.ts';
import type { TaskOutcomeStats } from './task-executor.ts';
import { sampleThroughput } from './throughput.ts';

export type { StorageProfile } from './storage-profile.ts';

export interface EngineConfig {
  /** Global budget of concurrent tasks over all jobs. */
  readonly maxConcurrentTasks: number;
  /** Concurrent tasks of one job. */
  readonly jobConcurrency: number;
  /** Manifest rows per chunk. */
  readonly chunkSize: number;
  readonly maxTasksPerJob: number;
  /** Manifests prepared at the same time. */
  readonly prepareConcurrency: number;
  readonly retry: RetryPolicy;
  /** Minimum interval between two `job:progress` events of one job. */
  readonly progressIntervalMs: number;
  /** A job Suspended longer than this fails with ConfirmationTimeout (default: domain/job-lifetime.ts). */
  readonly suspendedTimeoutMs?: number;
  /** A terminal job's record is deleted this long after it ended (default: domain/job-lifetime.ts). */
  readonly jobRetentionMs?: number;
}

export type ParsedOperation = ReturnType<typeof parseOperation>;

export interface EngineDeps {
  readonly store: JobStore;
  readonly spool: ResultSpool;
  chunkIndex(jobId: string): ChunkIndexFile;
  removeChunkIndex(jobId: string): Promise<void>;
  /** Local task lists of inventory and generator jobs (default: in memory). */
  localManifest?(jobId: string): LocalManifestFiles;
  removeLocalManifest?(jobId: string): Promise<void>;
  profileFor(roleArn: string): StorageProfile;
  readonly now: () => Date;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly log: Log;
  /** The operation registry (tests may substitute handlers that need no S3). */
  readonly operations?: (op: JobOperation) => ParsedOperation;
  /** Where tasks run (execution/placement.ts); default: inline, in the engine's thread. */
  readonly placement?: ChunkPlacement;
}

interface Running {
  readonly runner: JobExecution;
  readonly limits: JobLimits;
  readonly done: Promise<void>;
  lastProgressEvent: number;
  /** Why the runner was stopped, when it was. */
  stopReason?: 'cancel' | 'fail' | 'shutdown';
}

export class Engine {
  readonly events = new EngineEvents();
  /** The only writer of job records; the service writes through it too. */
  readonly records: JobRecords;
  private readonly preparer: Preparer;
  private readonly finalizer: Finalizer;
  private readonly running = new Map<string, Running>();
  /**
   * Per job, the counts of the durable rows found at start in the spools of unfinished chunks; a
   * chunk leaves the map when its counts (which include these rows) come back from the runner.
   */
  private readonly resumed = new Map<string, Map<number, LiveCounts>>();
  /** Wakes runners that follow a task list a listing still appends to. */
  private readonly listings = new ListingSignals();
  private readonly localLists: { get(jobId: string): LocalManifestFiles; remove(jobId: string): Promise<void> };
  private scheduled = false;
  private stopping = false;
  private readonly sweeper: Sweeper;
  private readonly placement: ChunkPlacement;

  constructor(
    private readonly config: EngineConfig,
    private readonly deps: EngineDeps,
  ) {
    this.records = new JobRecords(deps.store, this.events, deps.now, deps.log);
    const cleanup = (jobId: string): Promise<void> => this.cleanup(jobId);
    const onSettled = (): void => this.schedule();
    const memoryLists = memoryLocalManifests();
    this.localLists = {
      get: (jobId) => (deps.localManifest ? deps.localManifest(jobId) : memoryLists.get(jobId)),
      remove: (jobId) => (deps.removeLocalManifest ? deps.removeLocalManifest(jobId) : memoryLists.remove(jobId)),
    };
    this.preparer = new Preparer({
      records: this.records,
      chunkSize: config.chunkSize,
      maxTasksPerJob: config.maxTasksPerJob,
      concurrency: config.prepareConcurrency,
      retry: config.retry,
      chunkIndex: deps.chunkIndex,
      profileFor: deps.profileFor,
      operationFor: (request) => this.operationFor(request),
      cleanup,
      onSettled,
      log: deps.log,
      localManifest: (jobId) => this.localLists.get(jobId),
      onListChanged: (jobId) => {
        this.listings.notify(jobId);
        // TotalNumberOfTasks and the discovery metrics changed: tell progress watchers (SSE, CLI).
        const job = this.records.get(jobId);
        if (job) this.events.emit('job:progress', { jobId, accountId: job.accountId, progress: this.progressOf(job) });
        this.schedule();
      },
      failJob: (jobId, code, message) => this.fail(jobId, code, message),
      now: deps.now,
    });
    this.placement =
      deps.placement ??
      new InlinePlacement({
        profileFor: deps.profileFor,
        operationFor: (request) => this.operationFor(request),
        localManifest: (jobId) => this.localLists.get(jobId),
        retry: config.retry,
        sleep: deps.sleep,
        spool: deps.spool,
      });
    this.sweeper = new Sweeper({
      records: this.records,
      now: deps.now,
      log: deps.log,
      suspendedTimeoutMs: config.suspendedTimeoutMs ?? daysToMs(DEFAULT_SUSPENDED_TIMEOUT_DAYS),
      jobRetentionMs: config.jobRetentionMs ?? daysToMs(DEFAULT_JOB_RETENTION_DAYS),
      isRunning: (jobId) => this.running.has(jobId),
      cleanup,
    });
    this.finalizer = new Finalizer({
      records: this.records,
      spool: deps.spool,
      profileFor: deps.profileFor,
      now: deps.now,
      cleanup,
      onSettled,
      log: deps.log,
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Public API (called by the service facade)

  /** Resumes every job the store holds, from its stored status. */
  async start(): Promise<void> {
    // The live jobs only (the store's status index), oldest first: the ended ones need nothing.
    const live = (s: Status): boolean => s === JobStatus.New || s === JobStatus.Preparing || isSchedulable(s);
    const resumable = ALL_STATUSES.filter((s) => !isTerminal(s));
    const jobs = this.records.withStatus(resumable).sort((a, b) => newestFirst(b, a));
    for (const job of jobs) {
      switch (job.status) {
        case JobStatus.New:
        case JobStatus.Preparing:
          this.preparer.enqueue(job.id);
          break;
        case JobStatus.Active:
        case JobStatus.Pausing:
        case JobStatus.Paused:
          await this.resumeUnfinishedSpools(job);
          if (job.status === JobStatus.Pausing) this.records.setStatus(job.id, JobStatus.Paused);
          break;
        case JobStatus.Completing:
          this.finalizer.finalize(job.id, JobStatus.Complete);
          break;
        case JobStatus.Cancelling:
          await this.abandon(job.id);
          await this.discardUnfinishedSpools(job);
          this.finalizer.finalize(job.id, JobStatus.Cancelled);
          break;
        case JobStatus.Failing:
          await this.abandon(job.id);
          await this.discardUnfinishedSpools(job);
          this.finalizer.finalize(job.id, JobStatus.Failed);
          break;
        default:
          break;
      }
      // A generator job that left Preparing before its listing ended: the listing resumes.
      const now = this.records.get(job.id);
      if (now && listingPending(now)) this.preparer.enqueue(job.id);
    }
    if ([...this.records.statusCounts().keys()].some(live)) this.placement.warm?.();
    this.sweeper.start();
    this.schedule();
  }

  /** What of a job that ends at start still runs elsewhere stops (execution/placement.ts `abandon`). */
  private async abandon(jobId: string): Promise<void> {
    try {
      await this.placement.abandon?.(jobId);
    } catch (err) {
      this.deps.log.warn({ err, jobId }, `could not stop what still runs of job ${jobId}: ${(err as Error).message}`);
    }
  }

  /**
   * Fails every job that waited in Suspended longer than the timeout (sweeper.ts,
   * docs/job-lifecycle.md#suspended-timeout).
   */
  sweepSuspended(): void {
    this.sweeper.sweepSuspended();
  }

  /**
   * Deletes every job that ended longer than the retention ago (sweeper.ts, docs/job-lifecycle.md#job-retention).
   * Returns how many.
   */
  sweepExpired(): number {
    return this.sweeper.sweepExpired();
  }

  /** Stops dispatching, lets in-flight tasks finish and flushes the store; jobs resume at the next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.sweeper.stop();
    for (const r of this.running.values()) {
      r.stopReason ??= 'shutdown';
      r.runner.stop();
    }
    await Promise.allSettled([
      this.preparer.stop(),
      this.finalizer.stop(),
      ...[...this.running.values()].map((r) => r.done),
    ]);
    await this.records.flush();
  }

  /** A new job was stored (status New): prepare it. */
  submit(jobId: string): void {
    this.placement.warm?.();
    this.preparer.enqueue(jobId);
  }

  confirm(jobId: string): void {
    this.records.setStatus(jobId, JobStatus.Ready);
    this.schedule();
  }

  /** Cancels a live job; `target` is what requestedStatusTarget() decided (Cancelled or Cancelling). */
  cancel(jobId: string, target: Status): void {
    if (this.records.mustGet(jobId).status === JobStatus.Cancelling) return; // already on its way
    this.records.setStatus(jobId, target);
    // Also stops a listing that goes on after Preparing (generator jobs).
    const preparing = this.preparer.abort(jobId);
    if (target === JobStatus.Cancelled) {
      // In the background; a file that cannot be removed is logged, never an unhandled rejection.
      this.cleanup(jobId).catch((err: unknown) =>
        this.records
          .logFor(jobId)
          .warn({}, `job ${jobId}: files of a cancelled job not removed: ${(err as Error).message}`),
      );
      return;
    }
    if (preparing) return; // the preparation ends and sees Cancelling
    const r = this.running.get(jobId);
    if (r) {
      r.stopReason = 'cancel';
      r.runner.stop(); // the runner's end finalizes
    } else {
      this.settleResumed(jobId);
      this.finalizer.finalize(jobId, JobStatus.Cancelled);
    }
  }

  /**
   * A user pauses the job (domain/user-pause.ts): the flag is stored with the record and the
   * scheduler takes the job's slots (Active → Pausing → Paused; Ready → Paused). The service
   * checked the status (checkPausable). Pausing a job paused already keeps its first time.
   */
  pause(jobId: string, reason: string | undefined): void {
    const at = this.deps.now().toISOString();
    this.records.update(jobId, (job) => ({
      ...job,
      userPause: { reason: reason ?? job.userPause?.reason, at: job.userPause?.at ?? at },
    }));
    this.planNow();
  }

  /** A user resumes the job: the flag goes, and the scheduler gives it slots by priority. */
  resume(jobId: string): void {
    this.records.update(jobId, ({ userPause: _gone, ...job }) => job);
    this.planNow();
  }

  setPriority(jobId: string, priority: number): void {
    this.records.update(jobId, (job) => ({ ...job, priority }));
    this.schedule();
  }

  /**
   * The job's `s3batch:` limit tags changed (PutJobTagging, DeleteJobTagging): a running job
   * applies them at once, a waiting one when it starts; the scheduler re-plans its share.
   */
  tagsChanged(jobId: string): void {
    const r = this.running.get(jobId);
    const job = this.records.get(jobId);
    if (r && job) r.limits.set(this.limitSettings(job));
    this.schedule();
  }

  /** The job's limits: while it runs, its effective concurrency and the throttled attempts so far. */
  limitsOf(job: JobRecord): JobLimitsView & { readonly running: boolean } {
    const r = this.running.get(job.id);
    const stored = job.throttledAttempts ?? 0;
    if (r) {
      const v = r.limits.view();
      return { ...v, throttledAttempts: stored + v.throttledAttempts, running: true };
    }
    const s = this.limitSettings(job);
    return { ...s, effectiveConcurrency: s.maxConcurrentTasks, throttledAttempts: stored, running: false };
  }

  /** The server's per-job concurrency, lowered by the job's own `s3batch:` tags. */
  private limitSettings(job: JobRecord): JobLimitSettings {
    let ext: ReturnType<typeof parseJobExtensions> | undefined;
    try {
      ext = parseJobExtensions(job.tags);
    } catch {
      ext = undefined; // checked when the tags were set; a record from an older version runs on the defaults
    }
    return {
      maxConcurrentTasks: Math.min(this.config.jobConcurrency, ext?.maxConcurrentTasks ?? Number.POSITIVE_INFINITY),
      maxRequestsPerSecond: ext?.maxRequestsPerSecond,
    };
  }

  /** Progress including the tasks of chunks still running and the durable tasks of unfinished chunks. */
  progressOf(job: JobRecord): Progress {
    const r = this.running.get(job.id);
    let progress = job.progress;
    for (const c of this.resumed.get(job.id)?.values() ?? []) progress = addProgress(progress, c);
    return r ? addProgress(progress, r.runner.liveCounts) : progress;
  }

  /** Resolves when nothing is preparing, running or finalizing (for tests and tools). */
  async idle(): Promise<void> {
    while (this.running.size > 0 || this.preparer.busy || this.finalizer.busy) {
      await Promise.allSettled([...[...this.running.values()].map((r) => r.done), this.finalizer.settled()]);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private parseOperation(op: JobOperation): ParsedOperation {
    return (this.deps.operations ?? parseOperation)(op);
  }

  /** The job's operation with its `s3batch:` tags applied (fixed at CreateJob): dry run, copy bytes. */
  private operationFor(request: CreateJobRequest): ParsedOperation {
    return withJobTags(this.parseOperation(request.Operation), request);
  }

  // ---------------------------------------------------------------------------------------------
  // Scheduling

  /** Re-plans soon (coalesces bursts of events into one planning pass). */
  private schedule(): void {
    if (this.scheduled || this.stopping) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.applyPlan();
    });
  }

  /** Plans at once (a user's pause or resume: its answer shows the status it led to). */
  private planNow(): void {
    if (!this.stopping) this.applyPlan();
  }

  private applyPlan(): void {
    // Only jobs the plan considers: the demand of the others (ended jobs kept for the retention
    // period among them) would cost a parse of their tags on every pass for nothing.
    const jobs = this.records.withStatus(SCHEDULABLE_STATUSES).map((job) => {
      const r = this.running.get(job.id);
      return {
        id: job.id,
        status: job.status,
        priority: job.priority,
        creationTime: job.creationTime,
        // A running job asks for its effective concurrency: slots it cannot use while the storage
        // throttles it go to other jobs. A runner waiting for its listing lends its share.
        concurrency: r ? r.limits.effectiveConcurrency : this.limitSettings(job).maxConcurrentTasks,
        inFlight: r?.runner.occupied ?? 0,
        waiting: r?.runner.starved ?? false,
        userPaused: job.userPause !== undefined,
      };
    });
    for (const d of plan(jobs, this.config.maxConcurrentTasks)) {
      try {
        this.applyDecision(d);
      } catch (err) {
        const { code, message } = failureOf(err);
        this.fail(d.jobId, code, message);
      }
    }
  }

  private applyDecision(d: Decision): void {
    switch (d.action) {
      case 'start':
      case 'resume':
        this.records.setStatus(d.jobId, JobStatus.Active);
        this.startRunner(d.jobId, d.slots);
        this.sampleThroughput(d.jobId, true); // a run starts (or a paused one resumes)
        break;
      case 'resize':
        this.startRunner(d.jobId, d.slots);
        break;
      case 'pause': {
        const r = this.running.get(d.jobId);
        // A Ready job a user paused has nothing in flight: it waits Paused (domain/user-pause.ts).
        if (!r && this.records.mustGet(d.jobId).status === JobStatus.Ready) {
          this.records.setStatus(d.jobId, JobStatus.Paused);
          break;
        }
        this.records.setStatus(d.jobId, JobStatus.Pausing);
        if (r) r.runner.setSlots(0);
        else this.records.setStatus(d.jobId, JobStatus.Paused);
        break;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Active: one runner per running job

  /** Starts the job's runner, or gives a running one its new number of slots. */
  private startRunner(jobId: string, slots: number): void {
    const existing = this.running.get(jobId);
    if (existing) {
      existing.runner.setSlots(slots);
      return;
    }
    const job = this.records.mustGet(jobId);
    const prepared = job.prepared!;
    const operation = this.operationFor(job.request).name;
    // The execution is created below; the limits reach it through this late-bound callback.
    let runnerRef: JobExecution | undefined;
    const limits = new JobLimits(this.limitSettings(job), {
      now: () => this.deps.now().getTime(),
      sleep: this.deps.sleep,
      onChange: () => {
        runnerRef?.limitsChanged();
        this.schedule(); // the job's demand moved: lend or take back slots
      },
    });
    const index = this.deps.chunkIndex(jobId);
    // Inventory and generator jobs run from their local task list, which may still be growing.
    const local = usesLocalManifest(job)
      ? localTaskSource(this.localLists.get(jobId), this.listings, jobId)
      : undefined;
    const records = this.records;
    const dryRun = parseJobExtensions(job.request.Tags).dryRun;
    const runner = this.placement.start(
      {
        spec: { jobId, request: job.request, etag: prepared.etag, localManifest: local !== undefined },
        limits,
        maxConcurrency: this.config.jobConcurrency,
        get priority() {
          return records.get(jobId)?.priority;
        },
        // Chunks below the watermark are done: the index is read from there (a seek, not a scan).
        chunks: (stopped, waiting) =>
          local
            ? local.chunks(stopped, waiting, this.records.mustGet(jobId).chunks.watermark)
            : index.read(this.records.mustGet(jobId).chunks.watermark),
        isChunkDone: (i) => isChunkDone(this.records.mustGet(jobId).chunks, i),
        chunksLeft: chunksLeft(job),
      },
      {
        onChunkDone: (c) => this.onChunkDone(jobId, c),
        onResults: () => this.onResult(jobId),
        // task:done carries no job id or key: it feeds /metrics (counters by operation). A dry
        // run's bytes are what it would act on, not bytes processed: /metrics leaves them out.
        onTaskDone: (d: TaskOutcomeStats) =>
          void this.events.emit('task:done', { operation, ...d, ...(dryRun ? { bytes: undefined } : {}) }),
        // Starved: waiting for its listing with nothing to start; the scheduler lends its slots.
        onStarvedChange: () => this.schedule(),
        onIdle: () => this.onRunnerIdle(jobId),
        // A slot that went back while a running job holds more tasks than its slots (it shrank, or
        // lends them while its last tasks end) may be what another job waits for: plan again. (A
        // pre-empted job's slots go back all at once, when it is Paused.)
        onRelease: () => {
          if (this.draining()) this.schedule();
        },
      },
      slots,
    );
    runnerRef = runner;
    const entry: Running = {
      runner,
      limits,
      lastProgressEvent: 0,
      done: runner.done.then(
        (outcome) => this.onRunnerEnd(jobId, outcome.partial, undefined),
        (err: unknown) => this.onRunnerEnd(jobId, (err as { partial?: ChunkCounts[] }).partial ?? [], err),
      ),
    };
    this.running.set(jobId, entry);
  }

  /** True when an Active job has more tasks in flight than its slots (they are not free yet). */
  private draining(): boolean {
    for (const [jobId, r] of this.running) {
      if (r.runner.inFlight > r.runner.capacity && this.records.get(jobId)?.status === JobStatus.Active) return true;
    }
    return false;
  }

  private onChunkDone(jobId: string, c: ChunkCounts): void {
    this.resumed.get(jobId)?.delete(c.index); // c includes them now
    // One store write per finished chunk: its mark and its counters together.
    this.records.update(jobId, (job) => ({
      ...job,
      chunks: markChunkDone(job.chunks, c.index),
      progress: addProgress(job.progress, c),
    }));
  }

  private onResult(jobId: string): void {
    const r = this.running.get(jobId);
    const job = this.records.get(jobId);
    if (!r || !job) return;
    const progress = this.progressOf(job);
    if (r.stopReason === undefined && thresholdExceeded(progress.succeeded, progress.failed)) {
      const run = progress.succeeded + progress.failed;
      this.fail(
        jobId,
        'TaskFailureThresholdExceeded',
        `Job failed: ${progress.failed} of ${run} tasks failed (more than 50 % after at least 1,000 tasks)`,
      );
      return;
    }
    const now = this.deps.now().getTime();
    if (now - r.lastProgressEvent >= this.config.progressIntervalMs) {
      r.lastProgressEvent = now;
      this.events.emit('job:progress', { jobId, accountId: job.accountId, progress });
      sampleThroughput(this.records, job, progress, now, false); // the counters just sent, not again
    }
  }

  /** Records the job's counters now in its throughput history: a run's edges (force), kept within a step. */
  private sampleThroughput(jobId: string, force: boolean): void {
    const job = this.records.get(jobId);
    if (job) sampleThroughput(this.records, job, this.progressOf(job), this.deps.now().getTime(), force);
  }

  /** A job-level failure: stop dispatching; the runner's end (or the finalizer) makes it Failed. */
  private fail(jobId: string, code: string, reason: string): void {
    const from = this.records.mustGet(jobId).status;
    const to = failureTarget(from);
    if (to === undefined) return; // already ending
    this.records.addFailureReason(jobId, code, reason);
    if (to !== from) this.records.setStatus(jobId, to);
    const r = this.running.get(jobId);
    if (r) {
      r.stopReason = 'fail';
      r.runner.stop();
    } else {
      this.settleResumed(jobId);
      this.finalizer.finalize(jobId, JobStatus.Failed);
    }
  }

  private onRunnerIdle(jobId: string): void {
    const r = this.running.get(jobId);
    if (this.records.get(jobId)?.status === JobStatus.Pausing && r && !r.runner.closed) {
      this.records.setStatus(jobId, JobStatus.Paused);
      this.sampleThroughput(jobId, true); // the pause shows as 0 tasks/s until it resumes
      this.schedule();
    }
  }

  private onRunnerEnd(jobId: string, partial: readonly ChunkCounts[], err: unknown): void {
    const ended = this.running.get(jobId);
    const reason = ended?.stopReason;
    this.running.delete(jobId);
    const throttled = ended?.limits.throttledAttempts ?? 0;
    if (throttled > 0)
      this.records.update(jobId, (job) => ({ ...job, throttledAttempts: (job.throttledAttempts ?? 0) + throttled }));
    if (reason === 'shutdown') return;
    // The partial chunks' results are in the report of a job that ends now: count them (their
    // counts include their resumed rows), and the resumed rows of chunks this run did not reach.
    const left = this.resumed.get(jobId);
    this.resumed.delete(jobId);
    for (const c of partial) left?.delete(c.index);
    const extra = [...partial, ...(left?.values() ?? [])].reduce<LiveCounts>(
      (a, c) => ({
        succeeded: a.succeeded + c.succeeded,
        failed: a.failed + c.failed,
        bytes: c.bytes === undefined ? a.bytes : (a.bytes ?? 0) + c.bytes,
        failures: mergeFailures(a.failures, c.failures),
      }),
      { succeeded: 0, failed: 0, bytes: undefined },
    );
    if (extra.succeeded + extra.failed > 0) {
      this.records.update(jobId, (job) => ({ ...job, progress: addProgress(job.progress, extra) }));
    }
    this.sampleThroughput(jobId, true); // the run's end, with its last counters
    if (err !== undefined && reason === undefined) {
      const { code, message } = failureOf(err);
      this.records.logFor(jobId).error({ code }, `job ${jobId} failed while running: ${code}: ${message}`);
      this.records.addFailureReason(jobId, code, message);
      const from = this.records.mustGet(jobId).status;
      const to = runnerErrorTarget(from);
      if (to !== from) this.records.setStatus(jobId, to);
    }
    const move = runnerEndTarget(this.records.mustGet(jobId).status);
    if (move) {
      if (move.next !== undefined) this.records.setStatus(jobId, move.next);
      this.finalizer.finalize(jobId, move.final);
    }
    this.schedule();
  }

  // ---------------------------------------------------------------------------------------------
  // Files of a job

  /**
   * Spools of chunks not marked done: those that can be resumed stay, their durable rows counted
   * aside until the chunk is done; the others hold results that will be produced again: dropped.
   */
  private async resumeUnfinishedSpools(job: JobRecord): Promise<void> {
    const kept = new Map<number, LiveCounts>();
    for (const index of await this.deps.spool.chunks(job.id)) {
      if (isChunkDone(job.chunks, index)) continue;
      const rows = await this.deps.spool.durable(job.id, index);
      if (rows === undefined) await this.deps.spool.discard(job.id, index);
      else
        kept.set(index, { succeeded: rows.succeeded, failed: rows.failed, bytes: rows.bytes, failures: rows.failures });
    }
    if (kept.size > 0) this.resumed.set(job.id, kept);
  }

  /** A job that ends without its runner: the durable rows of its unfinished chunks are in its report. */
  private settleResumed(jobId: string): void {
    const left = this.resumed.get(jobId);
    this.resumed.delete(jobId);
    if (left === undefined || left.size === 0) return;
    this.records.update(jobId, (job) => {
      let progress = job.progress;
      for (const c of left.values()) progress = addProgress(progress, c);
      return { ...job, progress };
    });
  }

  /** Spools of chunks not marked done hold results that will be produced again: drop them. */
  private async discardUnfinishedSpools(job: JobRecord): Promise<void> {
    for (const index of await this.deps.spool.chunks(job.id)) {
      if (!isChunkDone(job.chunks, index)) await this.deps.spool.discard(job.id, index);
    }
  }

  /**
   * Removes an ended (or removed) job's files. The store is flushed first: until the job's final
   * status is durable, a crash would bring it back as Active or Completing, and with its chunk
   * index and spool gone it would fail (ENOENT) or report no rows. A flush that fails keeps the files.
   */
  private async cleanup(jobId: string): Promise<void> {
    await this.records.flush();
    this.resumed.delete(jobId);
    this.preparer.abort(jobId); // a listing still appending to the task list
    this.listings.forget(jobId);
    await this.deps.spool.removeJob(jobId);
    await this.deps.removeChunkIndex(jobId);
    await this.localLists.remove(jobId);
  }
}

/** Chunks of the job not done yet; undefined while a listing may still add some. */
function chunksLeft(job: JobRecord): number | undefined {
  const total = usesLocalManifest(job)
    ? job.discovery?.listingComplete
      ? job.discovery.chunkCount
      : undefined
    : job.prepared?.chunkCount;
  return total === undefined ? undefined : Math.max(0, total - job.chunks.watermark - job.chunks.done.length);
}
