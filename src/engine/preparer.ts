/**
 * Preparing: New → Preparing → Suspended | Ready, or → Failing → Failed. The manifest is streamed
 * once (validated, counted, cut into chunks) with at most `concurrency` jobs preparing at a time.
 * Inventory and generator jobs go through prepare-local.ts; a generator job leaves Preparing at
 * its first chunk while its listing goes on here (it keeps its preparation slot until it ends).
 * A cancelled preparation (Cancelling) ends Cancelled; one interrupted by shutdown is redone at
 * the next start (its status stays New/Preparing).
 */
import { S3BatchError } from '../domain/errors.ts';
import { JobStatus } from '../domain/job-status.ts';
import { prepareCsvManifest } from '../manifest/prepare-manifest.ts';
import type { CreateJobRequest } from '../domain/job-spec.ts';
import type { parseOperation } from '../operations/index.ts';
import type { RetryCall } from '../operations/operation.ts';
import type { ChunkIndexFile } from '../storage/chunk-index-file.ts';
import type { LocalManifestFiles } from '../storage/local-manifest-files.ts';
import { failureOf } from './failure.ts';
import { jobLog, type Log } from './job-log.ts';
import type { JobRecords } from './job-records.ts';
import { listingPending, prepareLocalJob, usesLocalManifest } from './prepare-local.ts';
import { retryCallUnder, type RetryPolicy } from './retry.ts';
import type { StorageProfile } from './storage-profile.ts';

const DISCOVERY_INTERVAL_MS = 500;

export interface PreparerDeps {
  readonly records: JobRecords;
  readonly chunkSize: number;
  readonly maxTasksPerJob: number;
  readonly concurrency: number;
  /** The engine's task retry policy, also used for the operation's prepare() checks. */
  readonly retry: RetryPolicy;
  chunkIndex(jobId: string): ChunkIndexFile;
  profileFor(roleArn: string): StorageProfile;
  /** The job's operation (under dry run, the wrapper that changes nothing). */
  operationFor(request: CreateJobRequest): ReturnType<typeof parseOperation>;
  cleanup(jobId: string): Promise<void>;
  /** Called after each preparation ends (the scheduler may have new work). */
  onSettled(): void;
  readonly log: Log;
  /** The local task list of an inventory or generator job. */
  localManifest(jobId: string): LocalManifestFiles;
  /** A local task list grew or ended (wake the job's runner; re-plan). */
  onListChanged(jobId: string): void;
  /** A listing that goes on after the job left Preparing failed: fail the job (the engine's path). */
  failJob(jobId: string, code: string, message: string): void;
  readonly now: () => Date;
}

export class Preparer {
  private readonly active = new Map<string, { ctl: AbortController; done: Promise<void> }>();
  /** Jobs that left Preparing while their listing goes on (generator jobs). */
  private readonly streaming = new Set<string>();
  private readonly queue: string[] = [];
  private stopping = false;
  private readonly retryCall: RetryCall;

  constructor(private readonly deps: PreparerDeps) {
    this.retryCall = retryCallUnder(deps.retry);
  }

  get busy(): boolean {
    return this.active.size > 0 || this.queue.length > 0;
  }

  enqueue(jobId: string): void {
    if (this.stopping || this.queue.includes(jobId) || this.active.has(jobId)) return;
    this.queue.push(jobId);
    this.pump();
  }

  /**
   * Aborts a running preparation or listing; true when the job was still Preparing (the
   * preparation then ends the job itself). A listing that went on after Preparing just stops.
   */
  abort(jobId: string): boolean {
    const p = this.active.get(jobId);
    p?.ctl.abort();
    return p !== undefined && !this.streaming.has(jobId);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.queue.length = 0;
    for (const p of this.active.values()) p.ctl.abort();
    await Promise.allSettled([...this.active.values()].map((p) => p.done));
  }

  private pump(): void {
    while (!this.stopping && this.active.size < this.deps.concurrency && this.queue.length > 0) {
      const jobId = this.queue.shift()!;
      const ctl = new AbortController();
      const done = this.prepare(jobId, ctl.signal).finally(() => {
        this.active.delete(jobId);
        this.streaming.delete(jobId);
        this.pump();
        this.deps.onSettled();
      });
      this.active.set(jobId, { ctl, done });
    }
  }

  private async prepare(jobId: string, signal: AbortSignal): Promise<void> {
    const { records } = this.deps;
    let job = records.get(jobId);
    if (!job) return;
    const resumingListing = listingPending(job);
    if (job.status !== JobStatus.New && job.status !== JobStatus.Preparing && !resumingListing) return;
    if (job.status === JobStatus.New) job = records.setStatus(jobId, JobStatus.Preparing);
    if (resumingListing) this.streaming.add(jobId);
    try {
      if (usesLocalManifest(job)) {
        const profile = this.deps.profileFor(job.request.RoleArn);
        const { name, handler, config } = this.deps.operationFor(job.request);
        if (!resumingListing) await handler.prepare?.(config, profile.operations, signal, this.retryCall);
        await prepareLocalJob({
          records,
          jobId,
          profile,
          files: this.deps.localManifest(jobId),
          chunkSize: this.deps.chunkSize,
          maxTasks: this.deps.maxTasksPerJob,
          sameBucket: name === 'S3PutObjectCopy',
          signal,
          now: this.deps.now,
          onListChanged: () => this.deps.onListChanged(jobId),
          onStreaming: () => this.streaming.add(jobId),
        });
        return;
      }
      const manifest = job.request.Manifest;
      if (!manifest) throw new S3BatchError('InvalidRequest', 'The job has no manifest');
      const profile = this.deps.profileFor(job.request.RoleArn);
      const { name, handler, config } = this.deps.operationFor(job.request);
      await handler.prepare?.(config, profile.operations, signal, this.retryCall);
      let lastDiscovery = this.deps.now().getTime();
      const prepared = await prepareCsvManifest({
        store: profile.objects,
        location: manifest.Location,
        fields: manifest.Spec.Fields ?? [],
        chunkSize: this.deps.chunkSize,
        maxTasks: this.deps.maxTasksPerJob,
        sameBucket: name === 'S3PutObjectCopy',
        index: this.deps.chunkIndex(jobId),
        signal,
        onProgress: (rows) => {
          // Discovery metrics, live but at most a store write every DISCOVERY_INTERVAL_MS (a CSV manifest tells no sizes).
          const now = this.deps.now().getTime();
          if (now - lastDiscovery < DISCOVERY_INTERVAL_MS) return;
          lastDiscovery = now;
          const discovery = {
            objectsListed: rows,
            objectsFound: rows,
            totalBytes: 0,
            chunkCount: 0,
            listingComplete: false,
          };
          records.update(jobId, (j) => ({ ...j, discovery }));
        },
      });
      signal.throwIfAborted();
      const ready = job.request.ConfirmationRequired === false;
      records.setStatus(jobId, ready ? JobStatus.Ready : JobStatus.Suspended, (j) => ({
        ...j,
        prepared: {
          totalTasks: prepared.totalTasks,
          chunkCount: prepared.chunkCount,
          etag: prepared.etag,
          bytes: prepared.bytes,
        },
        progress: { ...j.progress, total: prepared.totalTasks },
        discovery: {
          objectsListed: prepared.totalTasks,
          objectsFound: prepared.totalTasks,
          totalBytes: 0,
          chunkCount: prepared.chunkCount,
          listingComplete: true,
        },
      }));
    } catch (err) {
      if (this.streaming.has(jobId)) {
        // The job is past Preparing: cancel, failure and shutdown are the engine's; a listing error fails the job.
        const status = records.get(jobId)?.status;
        if (this.stopping || signal.aborted || status === undefined || !listingPending(records.mustGet(jobId))) return;
        const { code, message } = failureOf(err);
        records.logFor(jobId).warn({ code }, `job ${jobId}: the manifest listing failed: ${code}: ${message}`);
        this.deps.failJob(jobId, code, message);
        return;
      }
      if (records.mustGet(jobId).status === JobStatus.Cancelling) {
        records.setStatus(jobId, JobStatus.Cancelled);
        await this.deps.cleanup(jobId);
        return;
      }
      if (this.stopping) return; // shutdown: prepared again at the next start
      const { code, message } = failureOf(err);
      jobLog(this.deps.log, job).warn({ code }, `job ${jobId} failed in Preparing: ${code}: ${message}`);
      records.addFailureReason(jobId, code, message);
      records.setStatus(jobId, JobStatus.Failing);
      records.setStatus(jobId, JobStatus.Failed);
      await this.deps.cleanup(jobId);
    }
  }
}
