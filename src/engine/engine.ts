/**
 * The engine drives every job from New to a terminal status:
 *
 *   New → Preparing (stream the manifest once, record the chunk index) → Suspended | Ready
 *   Ready → Active (the scheduler gave it slots) ⇄ Pausing → Paused (pre-empted)
 *   Active → Completing (report) → Complete;  … → Cancelling → Cancelled;  … → Failing → Failed
 *
 * It owns no I/O of its own: the job store, the object store per storage profile, the result
 * spool and the chunk-index files come in as ports (see EngineDeps), so unit tests run it on
 * in-memory fakes. All status changes go through `setStatus`, i.e. through `transition()`.
 *
 * Crash safety: the store holds, per job, the status, the counters of finished chunks and the
 * chunk marks. On start, `recover()` resumes every job from what the store says: unfinished
 * chunks are redone from their start (their spools are discarded), so each task is reported once.
 */
import type { Chunk } from '../domain/chunk.ts';
import { isS3BatchError, S3BatchError } from '../domain/errors.ts';
import { appendHistory, isChunkDone, markChunkDone, type JobRecord } from '../domain/job.ts';
import type { JobManifest, JobOperation } from '../domain/job-spec.ts';
import { JobStatus, isTerminal, transition, type JobStatus as Status } from '../domain/job-status.ts';
import { thresholdExceeded, type Progress } from '../domain/progress.ts';
import type { TaskEntry, TaskResult } from '../domain/task.ts';
import type { ChunkIndexFile } from '../manifest/chunk-index.ts';
import { parseBucketArn } from '../manifest/csv-manifest.ts';
import { prepareCsvManifest, readChunk } from '../manifest/prepare-manifest.ts';
import { parseOperation } from '../operations/index.ts';
import type { OperationContext } from '../operations/operation.ts';
import { writeReport } from '../reports/report-writer.ts';
import type { JobStore } from '../storage/job-store.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { ResultSpool } from '../storage/result-spool.ts';
import { EngineEvents } from './events.ts';
import { JobRunner, type ChunkCounts } from './job-runner.ts';
import type { RetryPolicy } from './retry.ts';
import { plan, type Decision } from './scheduler.ts';
import { createTaskExecutor } from './task-executor.ts';

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
}

/** What a storage profile (selected by the job's RoleArn) gives the engine. */
export interface StorageProfile {
  readonly objects: ObjectStore;
  readonly operations: OperationContext;
}

export interface EngineDeps {
  readonly store: JobStore;
  readonly spool: ResultSpool;
  chunkIndex(jobId: string): ChunkIndexFile;
  removeChunkIndex(jobId: string): Promise<void>;
  profileFor(roleArn: string): StorageProfile;
  readonly now: () => Date;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** The operation registry (tests may substitute handlers that need no S3). */
  readonly operations?: (op: JobOperation) => ParsedOperation;
}

export type ParsedOperation = ReturnType<typeof parseOperation>;

interface Running {
  readonly runner: JobRunner;
  readonly done: Promise<void>;
  lastProgressEvent: number;
  /** Why the runner was stopped, when it was. */
  stopReason?: 'cancel' | 'fail' | 'shutdown';
}

export class Engine {
  readonly events = new EngineEvents();
  private readonly running = new Map<string, Running>();
  private readonly preparing = new Map<string, AbortController>();
  private readonly prepareQueue: string[] = [];
  private readonly finalizing = new Map<string, Promise<void>>();
  private scheduled = false;
  private stopping = false;

  constructor(
    private readonly config: EngineConfig,
    private readonly deps: EngineDeps,
  ) {}

  // ---------------------------------------------------------------------------------------------
  // Public API (called by the service facade)

  /** Resumes every job the store holds, from its stored status. */
  async start(): Promise<void> {
    for (const job of this.deps.store.list()) {
      switch (job.status) {
        case JobStatus.New:
        case JobStatus.Preparing:
          this.enqueuePrepare(job.id);
          break;
        case JobStatus.Active:
        case JobStatus.Pausing:
        case JobStatus.Paused:
          await this.discardUnfinishedSpools(job);
          if (job.status === JobStatus.Pausing) this.setStatus(job.id, JobStatus.Paused);
          break;
        case JobStatus.Completing:
          this.finalize(job.id, JobStatus.Complete);
          break;
        case JobStatus.Cancelling:
          await this.discardUnfinishedSpools(job);
          this.finalize(job.id, JobStatus.Cancelled);
          break;
        case JobStatus.Failing:
          await this.discardUnfinishedSpools(job);
          this.finalize(job.id, JobStatus.Failed);
          break;
        default:
          break;
      }
    }
    this.schedule();
  }

  /** Stops dispatching, lets in-flight tasks finish and flushes the store; jobs resume at the next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const ctl of this.preparing.values()) ctl.abort();
    for (const r of this.running.values()) {
      r.stopReason ??= 'shutdown';
      r.runner.stop();
    }
    await Promise.allSettled([...[...this.running.values()].map((r) => r.done), ...this.finalizing.values()]);
    await this.deps.store.flush();
  }

  /** A new job was stored (status New): prepare it. */
  submit(jobId: string): void {
    this.enqueuePrepare(jobId);
  }

  confirm(jobId: string): void {
    this.setStatus(jobId, JobStatus.Ready);
    this.schedule();
  }

  /** Cancels a live job; `target` is what requestedStatusTarget() decided (Cancelled or Cancelling). */
  cancel(jobId: string, target: Status): void {
    const job = this.mustGet(jobId);
    if (job.status === JobStatus.Cancelling) return; // already on its way
    this.setStatus(jobId, target);
    if (target === JobStatus.Cancelled) {
      void this.cleanup(jobId);
      return;
    }
    const prep = this.preparing.get(jobId);
    if (prep) {
      prep.abort();
      return; // the preparation ends, sees Cancelling, and finalizes
    }
    const r = this.running.get(jobId);
    if (r) {
      r.stopReason = 'cancel';
      r.runner.stop(); // the runner's end finalizes
    } else {
      this.finalize(jobId, JobStatus.Cancelled);
    }
  }

  setPriority(jobId: string, priority: number): void {
    this.update(jobId, (job) => ({ ...job, priority }));
    this.schedule();
  }

  /** Progress including tasks of chunks still running. */
  progressOf(job: JobRecord): Progress {
    const r = this.running.get(job.id);
    if (!r) return job.progress;
    const live = r.runner.liveCounts;
    return { total: job.progress.total, succeeded: job.progress.succeeded + live.succeeded, failed: job.progress.failed + live.failed };
  }

  /** Resolves when nothing is preparing, running or finalizing (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0 || this.preparing.size > 0 || this.finalizing.size > 0 || this.prepareQueue.length > 0) {
      await Promise.allSettled([...[...this.running.values()].map((r) => r.done), ...this.finalizing.values()]);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private parseOperation(op: JobOperation): ParsedOperation {
    return (this.deps.operations ?? parseOperation)(op);
  }

  // ---------------------------------------------------------------------------------------------
  // Record updates: the only place that writes jobs and emits status events

  private mustGet(jobId: string): JobRecord {
    const job = this.deps.store.get(jobId);
    if (!job) throw new S3BatchError('NotFoundException', `The specified job does not exist: ${jobId}`);
    return job;
  }

  private update(jobId: string, fn: (job: JobRecord) => JobRecord): JobRecord {
    const job = fn(this.mustGet(jobId));
    this.deps.store.save(job);
    return job;
  }

  private setStatus(jobId: string, to: Status, patch: (job: JobRecord) => JobRecord = (j) => j): JobRecord {
    const before = this.mustGet(jobId);
    const at = this.deps.now();
    const moved = transition(before, to, at);
    const after = patch({ ...moved, history: appendHistory(before.history, { status: to, at: at.toISOString() }) });
    this.deps.store.save(after);
    this.deps.log('info', `job ${jobId}: ${before.status} → ${to}`);
    this.events.emit('job:status', { jobId, accountId: after.accountId, from: before.status, to, at: at.toISOString() });
    return after;
  }

  private addFailureReason(jobId: string, code: string, reason: string): void {
    this.update(jobId, (job) => ({
      ...job,
      failureReasons: [...job.failureReasons, { FailureCode: code.slice(0, 64), FailureReason: truncate(reason, 256) }],
    }));
  }

  // ---------------------------------------------------------------------------------------------
  // Preparing

  private enqueuePrepare(jobId: string): void {
    if (this.stopping || this.prepareQueue.includes(jobId) || this.preparing.has(jobId)) return;
    this.prepareQueue.push(jobId);
    this.pumpPrepare();
  }

  private pumpPrepare(): void {
    while (!this.stopping && this.preparing.size < this.config.prepareConcurrency && this.prepareQueue.length > 0) {
      const jobId = this.prepareQueue.shift()!;
      const ctl = new AbortController();
      this.preparing.set(jobId, ctl);
      void this.prepare(jobId, ctl.signal).finally(() => {
        this.preparing.delete(jobId);
        this.pumpPrepare();
        this.schedule();
      });
    }
  }

  private async prepare(jobId: string, signal: AbortSignal): Promise<void> {
    let job = this.deps.store.get(jobId);
    if (!job || (job.status !== JobStatus.New && job.status !== JobStatus.Preparing)) return;
    if (job.status === JobStatus.New) job = this.setStatus(jobId, JobStatus.Preparing);
    try {
      const manifest = job.request.Manifest;
      if (!manifest) throw new S3BatchError('InvalidRequest', 'The job has no manifest');
      const profile = this.deps.profileFor(job.request.RoleArn);
      const { name, handler, config } = this.parseOperation(job.request.Operation);
      await handler.prepare?.(config, profile.operations, signal);
      const prepared = await prepareCsvManifest({
        store: profile.objects,
        location: manifest.Location,
        fields: manifest.Spec.Fields ?? [],
        chunkSize: this.config.chunkSize,
        maxTasks: this.config.maxTasksPerJob,
        sameBucket: name === 'S3PutObjectCopy',
        index: this.deps.chunkIndex(jobId),
        signal,
      });
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
      const ready = job.request.ConfirmationRequired === false;
      this.setStatus(jobId, ready ? JobStatus.Ready : JobStatus.Suspended, (j) => ({
        ...j,
        prepared: { totalTasks: prepared.totalTasks, chunkCount: prepared.chunkCount, etag: prepared.etag, bytes: prepared.bytes },
        progress: { ...j.progress, total: prepared.totalTasks },
      }));
    } catch (err) {
      const current = this.mustGet(jobId);
      if (current.status === JobStatus.Cancelling) {
        this.setStatus(jobId, JobStatus.Cancelled);
        return;
      }
      if (this.stopping) return; // shutdown: prepared again at the next start
      const { code, message } = failureOf(err);
      this.deps.log('warn', `job ${jobId} failed in Preparing: ${code}: ${message}`);
      this.addFailureReason(jobId, code, message);
      this.setStatus(jobId, JobStatus.Failing);
      this.setStatus(jobId, JobStatus.Failed);
      await this.cleanup(jobId);
    }
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

  private applyPlan(): void {
    const jobs = this.deps.store.list().map((job) => ({
      id: job.id,
      status: job.status,
      priority: job.priority,
      creationTime: job.creationTime,
      concurrency: this.config.jobConcurrency,
      inFlight: this.running.get(job.id)?.runner.inFlight ?? 0,
    }));
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
          this.setStatus(d.jobId, JobStatus.Active);
          this.startRunner(d.jobId, d.slots);
          break;
        case 'resume':
          this.setStatus(d.jobId, JobStatus.Active);
          this.startRunner(d.jobId, d.slots);
          break;
        case 'resize':
          this.startRunner(d.jobId, d.slots);
          break;
        case 'pause': {
          this.setStatus(d.jobId, JobStatus.Pausing);
          const r = this.running.get(d.jobId);
          if (r) r.runner.setSlots(0);
          else this.setStatus(d.jobId, JobStatus.Paused);
          break;
        }
      }
  }

  /** Starts the job's runner, or gives a running one its new number of slots. */
  private startRunner(jobId: string, slots: number): void {
    const existing = this.running.get(jobId);
    if (existing) {
      existing.runner.setSlots(slots);
      return;
    }
    const job = this.mustGet(jobId);
    const manifest = job.request.Manifest as JobManifest;
    const prepared = job.prepared!;
    const profile = this.deps.profileFor(job.request.RoleArn);
    const { handler, config } = this.parseOperation(job.request.Operation);
    const executeTask = createTaskExecutor({
      handler,
      config,
      ctx: profile.operations,
      policy: this.config.retry,
      sleep: this.deps.sleep,
    });
    const index = this.deps.chunkIndex(jobId);
    const runner: JobRunner = new JobRunner(
      {
        jobId,
        chunks: () => index.read(),
        isChunkDone: (i) => isChunkDone(this.mustGet(jobId).chunks, i),
        readChunk: (chunk: Chunk, signal: AbortSignal): AsyncIterable<TaskEntry> =>
          readChunk({ store: profile.objects, location: manifest.Location, etag: prepared.etag, fields: manifest.Spec.Fields ?? [], chunk, signal }),
        spool: this.deps.spool,
        executeTask,
        onChunkDone: (c) => this.onChunkDone(jobId, c),
        onResult: (result) => this.onResult(jobId, result),
        maxConcurrency: this.config.jobConcurrency,
      },
      slots,
    );
    runner.gate.onIdle(() => this.onRunnerIdle(jobId));
    const entry: Running = {
      runner,
      lastProgressEvent: 0,
      done: runner.run().then(
        (outcome) => this.onRunnerEnd(jobId, outcome.partial, undefined),
        (err: unknown) => this.onRunnerEnd(jobId, (err as { partial?: ChunkCounts[] }).partial ?? [], err),
      ),
    };
    this.running.set(jobId, entry);
  }

  private onChunkDone(jobId: string, c: ChunkCounts): void {
    // One store write per finished chunk: its mark and its counters together.
    this.update(jobId, (job) => ({
      ...job,
      chunks: markChunkDone(job.chunks, c.index),
      progress: { ...job.progress, succeeded: job.progress.succeeded + c.succeeded, failed: job.progress.failed + c.failed },
    }));
  }

  private onResult(jobId: string, _result: TaskResult): void {
    const r = this.running.get(jobId);
    const job = this.deps.store.get(jobId);
    if (!r || !job) return;
    const progress = this.progressOf(job);
    if (r.stopReason === undefined && thresholdExceeded(progress.succeeded, progress.failed)) {
      this.fail(jobId, 'TaskFailureThresholdExceeded',
        `Job failed: ${progress.failed} of ${progress.succeeded + progress.failed} tasks failed (more than 50 % after at least 1,000 tasks)`);
      return;
    }
    const now = Date.now();
    if (now - r.lastProgressEvent >= this.config.progressIntervalMs) {
      r.lastProgressEvent = now;
      this.events.emit('job:progress', { jobId, accountId: job.accountId, progress });
    }
  }

  /** A job-level failure while running: stop dispatching; the runner's end finalizes as Failed. */
  private fail(jobId: string, code: string, reason: string): void {
    const r = this.running.get(jobId);
    const job = this.mustGet(jobId);
    if (isTerminal(job.status) || job.status === JobStatus.Failing || job.status === JobStatus.Cancelling) return;
    this.addFailureReason(jobId, code, reason);
    if (job.status === JobStatus.Pausing || job.status === JobStatus.Paused || job.status === JobStatus.Active) {
      this.setStatus(jobId, JobStatus.Failing);
    }
    if (r) {
      r.stopReason = 'fail';
      r.runner.stop();
    } else {
      this.finalize(jobId, JobStatus.Failed);
    }
  }

  private onRunnerIdle(jobId: string): void {
    const job = this.deps.store.get(jobId);
    const r = this.running.get(jobId);
    if (job?.status === JobStatus.Pausing && r && !r.runner.gate.isClosed) {
      this.setStatus(jobId, JobStatus.Paused);
      this.schedule();
    }
  }

  private async onRunnerEnd(jobId: string, partial: readonly ChunkCounts[], err: unknown): Promise<void> {
    const r = this.running.get(jobId);
    this.running.delete(jobId);
    const reason = r?.stopReason;
    if (reason === 'shutdown') return;
    // Fold the partial chunks' counts into the record: they are in the report of a job that ends now.
    const extra = partial.reduce((a, c) => ({ succeeded: a.succeeded + c.succeeded, failed: a.failed + c.failed }), { succeeded: 0, failed: 0 });
    if (extra.succeeded + extra.failed > 0) {
      this.update(jobId, (job) => ({
        ...job,
        progress: { ...job.progress, succeeded: job.progress.succeeded + extra.succeeded, failed: job.progress.failed + extra.failed },
      }));
    }
    if (err !== undefined && reason === undefined) {
      const { code, message } = failureOf(err);
      this.deps.log('error', `job ${jobId} failed while running: ${code}: ${message}`);
      this.addFailureReason(jobId, code, message);
      const job = this.mustGet(jobId);
      if (job.status !== JobStatus.Failing && job.status !== JobStatus.Cancelling) this.setStatus(jobId, JobStatus.Failing);
    }
    const job = this.mustGet(jobId);
    if (job.status === JobStatus.Cancelling) this.finalize(jobId, JobStatus.Cancelled);
    else if (job.status === JobStatus.Failing) this.finalize(jobId, JobStatus.Failed);
    else if (job.status === JobStatus.Active || job.status === JobStatus.Pausing || job.status === JobStatus.Paused) {
      this.setStatus(jobId, JobStatus.Completing);
      this.finalize(jobId, JobStatus.Complete);
    }
    this.schedule();
  }

  // ---------------------------------------------------------------------------------------------
  // Completing: the report, then the terminal status

  private finalize(jobId: string, terminal: 'Complete' | 'Cancelled' | 'Failed'): void {
    if (this.finalizing.has(jobId)) return;
    const p = this.writeReportAndEnd(jobId, terminal)
      .catch((err: unknown) => this.deps.log('error', `job ${jobId}: finalizing failed: ${(err as Error).message}`))
      .finally(() => {
        this.finalizing.delete(jobId);
        this.schedule();
      });
    this.finalizing.set(jobId, p);
  }

  private async writeReportAndEnd(jobId: string, terminal: 'Complete' | 'Cancelled' | 'Failed'): Promise<void> {
    const job = this.mustGet(jobId);
    const ran = job.progress.succeeded + job.progress.failed;
    const report = job.request.Report;
    if (report.Enabled && ran > 0 && report.Bucket) {
      try {
        const profile = this.deps.profileFor(job.request.RoleArn);
        const outcome = await writeReport({
          jobId,
          report: { bucketName: parseBucketArn(report.Bucket), prefix: report.Prefix, scope: report.ReportScope ?? 'AllTasks' },
          chunkIndices: await this.deps.spool.chunks(jobId),
          spool: this.deps.spool,
          store: profile.objects,
          now: this.deps.now,
        });
        this.update(jobId, (j) => ({ ...j, report: outcome }));
      } catch (err) {
        if (this.stopping) return; // written at the next start
        this.deps.log('warn', `job ${jobId}: report not written: ${(err as Error).message}`);
        this.addFailureReason(jobId, 'ReportWriteFailed',
          `The job report could not be written to your report bucket: ${(err as Error).message}`);
      }
    }
    this.setStatus(jobId, terminal);
    await this.cleanup(jobId);
  }

  /** Spools of chunks not marked done hold results that will be produced again: drop them. */
  private async discardUnfinishedSpools(job: JobRecord): Promise<void> {
    for (const index of await this.deps.spool.chunks(job.id)) {
      if (!isChunkDone(job.chunks, index)) await this.deps.spool.discard(job.id, index);
    }
  }

  private async cleanup(jobId: string): Promise<void> {
    await this.deps.spool.removeJob(jobId);
    await this.deps.removeChunkIndex(jobId);
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A job-level failure code and reason from any error (spec §4.3 codes; InternalError otherwise). */
export function failureOf(err: unknown): { code: string; message: string } {
  if (isS3BatchError(err)) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'InternalError', message };
}
