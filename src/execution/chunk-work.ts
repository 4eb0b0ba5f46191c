/**
 * What every placement does the same way, wherever it runs: reading a chunk's rows (a ranged GET
 * of the manifest, or the job's local task list) and turning the job's operation into "run this
 * task to its final outcome" on the storage profile the job's RoleArn selects.
 */
import type { Chunk } from '../domain/chunk.ts';
import type { CreateJobRequest, JobManifest } from '../domain/job-spec.ts';
import type { ManifestField } from '../domain/job-spec.ts';
import type { TaskEntry } from '../domain/task.ts';
import type { ParsedOperation } from '../operations/index.ts';
import { readChunk } from '../manifest/prepare-manifest.ts';
import { readLocalChunk, readLocalFields } from '../manifest/local-manifest.ts';
import type { LocalManifestFiles } from '../storage/local-manifest-files.ts';
import type { RetryPolicy, Sleep } from '../engine/retry.ts';
import type { StorageProfile } from '../engine/storage-profile.ts';
import type { TaskLimits } from '../engine/job-limits.ts';
import { createTaskExecutor, type TaskExecutor, type TaskOutcomeStats } from '../engine/task-executor.ts';
import type { JobSpec } from './placement.ts';

/** The ports a chunk executor reads and runs with. */
export interface ChunkWorkDeps {
  profileFor(roleArn: string): StorageProfile;
  /** The job's operation (under `s3batch:dry-run=true`, one that changes nothing). */
  operationFor(request: CreateJobRequest): ParsedOperation;
  /** The job's local task list (inventory and generator jobs). */
  localManifest(jobId: string): LocalManifestFiles;
  readonly retry: RetryPolicy;
  readonly sleep: Sleep;
}

/** Reads the rows of one of the job's chunks. */
export function chunkReader(
  deps: ChunkWorkDeps,
  spec: JobSpec,
): (chunk: Chunk, signal: AbortSignal) => AsyncIterable<TaskEntry> {
  if (spec.localManifest) {
    const files = deps.localManifest(spec.jobId);
    let fields: ManifestField[] | undefined;
    return (chunk) =>
      (async function* () {
        fields ??= await readLocalFields(files);
        if (fields === undefined) throw new Error(`The task list of job ${spec.jobId} is missing`);
        yield* readLocalChunk(files, fields, chunk);
      })();
  }
  const manifest = spec.request.Manifest as JobManifest;
  const profile = deps.profileFor(spec.request.RoleArn);
  return (chunk, signal) =>
    readChunk({
      store: profile.objects,
      location: manifest.Location,
      etag: spec.etag,
      fields: manifest.Spec.Fields ?? [],
      chunk,
      signal,
    });
}

/** The job's tasks: its operation on its storage profile, under the retry policy and its limits. */
export function jobTaskExecutor(
  deps: ChunkWorkDeps,
  spec: JobSpec,
  limits: TaskLimits,
  onDone: (stats: TaskOutcomeStats) => void,
): TaskExecutor {
  const profile = deps.profileFor(spec.request.RoleArn);
  const { handler, config } = deps.operationFor(spec.request);
  return createTaskExecutor({
    handler,
    config,
    ctx: { ...profile.operations, jobId: spec.jobId },
    policy: deps.retry,
    sleep: deps.sleep,
    limits,
    onDone,
  });
}
