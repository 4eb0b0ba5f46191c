/**
 * Preparing: New → Preparing → Suspended | Ready, or → Failing → Failed. The manifest is streamed
 * once (validated, counted, cut into chunks) with at most `concurrency` jobs preparing at a time.
 * A cancelled preparation (Cancelling) ends Cancelled; one interrupted by shutdown is redone at
 * the next start (its status stays New/Preparing).
 */
import { S3BatchError } from '../domain/errors.ts';
import { JobStatus } from '../domain/job-status.ts';
import type { ChunkIndexFile } from '../manifest/chunk-index.ts';
import { prepareCsvManifest } from '../manifest/prepare-manifest.ts';
import type { CreateJobRequest } from '../domain/job-spec.ts';
import type { parseOperation } from '../operations/index.ts';
import { failureOf } from './failure.ts';
import type { JobRecords, Log } from './job-records.ts';
import type { StorageProfile } from './storage-profile.ts';

export interface PreparerDeps {
  readonly records: JobRecords;
  readonly chunkSize: number;
  readonly maxTasksPerJob: number;
  readonly concurrency: number;
  chunkIndex(jobId: string): ChunkIndexFile;
  profileFor(roleArn: string): StorageProfile;
  /** The job's operation (under dry run, the wrapper that changes nothing). */
  operationFor(request: CreateJobRequest): ReturnType<typeof parseOperation>;
  cleanup(jobId: string): Promise<void>;
  /** Called after each preparation ends (the scheduler may have new work). */
  onSettled(): void;
  readonly log: Log;
}

export class Preparer {
  private readonly active = new Map<string, { ctl: AbortController; done: Promise<void> }>();
  private readonly queue: string[] = [];
  private stopping = false;

  constructor(private readonly deps: PreparerDeps) {}

  get busy(): boolean {
    return this.active.size > 0 || this.queue.length > 0;
  }

  enqueue(jobId: string): void {
    if (this.stopping || this.queue.includes(jobId) || this.active.has(jobId)) return;
    this.queue.push(jobId);
    this.pump();
  }

  /** Aborts a running preparation; true when there was one (it then ends the job itself). */
  abort(jobId: string): boolean {
    const p = this.active.get(jobId);
    p?.ctl.abort();
    return p !== undefined;
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
        this.pump();
        this.deps.onSettled();
      });
      this.active.set(jobId, { ctl, done });
    }
  }

  private async prepare(jobId: string, signal: AbortSignal): Promise<void> {
    const { records } = this.deps;
    let job = records.get(jobId);
    if (!job || (job.status !== JobStatus.New && job.status !== JobStatus.Preparing)) return;
    if (job.status === JobStatus.New) job = records.setStatus(jobId, JobStatus.Preparing);
    try {
      const manifest = job.request.Manifest;
      if (!manifest) throw new S3BatchError('InvalidRequest', 'The job has no manifest');
      const profile = this.deps.profileFor(job.request.RoleArn);
      const { name, handler, config } = this.deps.operationFor(job.request);
      await handler.prepare?.(config, profile.operations, signal);
      const prepared = await prepareCsvManifest({
        store: profile.objects,
        location: manifest.Location,
        fields: manifest.Spec.Fields ?? [],
        chunkSize: this.deps.chunkSize,
        maxTasks: this.deps.maxTasksPerJob,
        sameBucket: name === 'S3PutObjectCopy',
        index: this.deps.chunkIndex(jobId),
        signal,
      });
      signal.throwIfAborted();
      const ready = job.request.ConfirmationRequired === false;
      records.setStatus(jobId, ready ? JobStatus.Ready : JobStatus.Suspended, (j) => ({
        ...j,
        prepared: { totalTasks: prepared.totalTasks, chunkCount: prepared.chunkCount, etag: prepared.etag, bytes: prepared.bytes },
        progress: { ...j.progress, total: prepared.totalTasks },
      }));
    } catch (err) {
      if (records.mustGet(jobId).status === JobStatus.Cancelling) {
        records.setStatus(jobId, JobStatus.Cancelled);
        await this.deps.cleanup(jobId);
        return;
      }
      if (this.stopping) return; // shutdown: prepared again at the next start
      const { code, message } = failureOf(err);
      this.deps.log('warn', `job ${jobId} failed in Preparing: ${code}: ${message}`);
      records.addFailureReason(jobId, code, message);
      records.setStatus(jobId, JobStatus.Failing);
      records.setStatus(jobId, JobStatus.Failed);
      await this.deps.cleanup(jobId);
    }
  }
}
