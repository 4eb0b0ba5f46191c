/**
 * Preparing jobs whose tasks go through a local task list (manifest/local-manifest.ts): an
 * S3 Inventory report, or the manifest generator. Called by the Preparer.
 *
 * - Inventory: the whole report is read (every data file's MD5 checked) before the job leaves
 *   Preparing, so a bad file fails the job before any task ran.
 * - Generator: lists current objects (every version for S3ReplicateObject). The job leaves
 *   Preparing (Ready, or Suspended awaiting confirmation) as soon as the first chunk of matches
 *   is written; the listing goes on, TotalNumberOfTasks grows with each chunk and the runner follows the growing list (followLocalChunks). The list is marked complete
 *   only after the generated manifest, if asked for, is written, so the job cannot complete first.
 *   A listing interrupted by a restart resumes after the last written key (same chunks, so the
 *   chunk marks of tasks already run stay valid).
 *
 * Discovery metrics (objects scanned and matched, their bytes) go to the job record per chunk
 * and, while a listing pages through non-matching objects, at most every DISCOVERY_INTERVAL_MS.
 */
import type { Discovery, JobRecord } from '../domain/job.ts';
import type { ManifestField } from '../domain/job-spec.ts';
import { JobStatus } from '../domain/job-status.ts';
import { isS3BatchError } from '../domain/errors.ts';
import { generatorSettings } from '../manifest/generator-spec.ts';
import { prepareInventoryManifest } from '../manifest/inventory-manifest.ts';
import { LocalManifestWriter } from '../manifest/local-manifest.ts';
import type { LocalManifestFiles } from '../storage/local-manifest-files.ts';
import { generateManifest, writeGeneratedManifest } from '../manifest/manifest-generator.ts';
import type { JobRecords } from './job-records.ts';
import type { StorageProfile } from './storage-profile.ts';

const DISCOVERY_INTERVAL_MS = 500;

export interface LocalPreparation {
  readonly records: JobRecords;
  readonly jobId: string;
  readonly profile: StorageProfile;
  readonly files: LocalManifestFiles;
  readonly chunkSize: number;
  readonly maxTasks: number;
  /** All tasks must name one bucket (Copy). */
  readonly sameBucket: boolean;
  readonly signal: AbortSignal;
  readonly now: () => Date;
  /** The list grew or ended: wake the runner following it; the scheduler may have work. */
  onListChanged(): void;
  /** The job left Preparing while the listing goes on. */
  onStreaming(): void;
}

/** True for jobs whose tasks come from a local task list (inventory or generator). */
export function usesLocalManifest(job: JobRecord): boolean {
  return (
    job.request.ManifestGenerator !== undefined ||
    job.request.Manifest?.Spec.Format === 'S3InventoryReport_CSV_20161130'
  );
}

/** A job whose listing was interrupted after the job left Preparing: resume it. */
export function listingPending(job: JobRecord): boolean {
  const live: readonly string[] = [
    JobStatus.Suspended,
    JobStatus.Ready,
    JobStatus.Active,
    JobStatus.Pausing,
    JobStatus.Paused,
  ];
  return (
    usesLocalManifest(job) && job.discovery !== undefined && !job.discovery.listingComplete && live.includes(job.status)
  );
}

function discoveryOf(writer: LocalManifestWriter, complete: boolean): Discovery {
  const s = writer.state;
  return {
    objectsListed: s.listed,
    objectsFound: s.found,
    totalBytes: s.bytes,
    chunkCount: s.chunks,
    listingComplete: complete,
  };
}

export async function prepareLocalJob(prep: LocalPreparation): Promise<void> {
  const p = { ...prep, files: guarded(prep.files, prep.signal) };
  const job = p.records.mustGet(p.jobId);
  if (job.request.ManifestGenerator !== undefined) await prepareGenerated(p, job);
  else await prepareInventory(p, job);
}

/** Leaves Preparing for Ready or Suspended (ConfirmationRequired), with the tasks known so far. */
function leavePreparing(
  p: LocalPreparation,
  writer: LocalManifestWriter,
  complete: boolean,
  etag: string,
  bytes: number,
): void {
  const job = p.records.mustGet(p.jobId);
  const ready = job.request.ConfirmationRequired === false;
  const s = writer.state;
  p.records.setStatus(p.jobId, ready ? JobStatus.Ready : JobStatus.Suspended, (j) => ({
    ...j,
    prepared: { totalTasks: s.found, chunkCount: s.chunks, etag, bytes },
    progress: { ...j.progress, total: s.found },
    discovery: discoveryOf(writer, complete),
  }));
}

/**
 * No write starts after the preparation was aborted: a cancelled or failed job's files are
 * removed right after the abort, and a late append must not create them again.
 */
function guarded(files: LocalManifestFiles, signal: AbortSignal): LocalManifestFiles {
  const guard = (f: LocalManifestFiles['rows']): LocalManifestFiles['rows'] => ({
    ...f,
    size: () => f.size(),
    read: (start, end) => f.read(start, end),
    remove: () => f.remove(),
    append: async (data) => {
      signal.throwIfAborted();
      await f.append(data);
    },
    sync: async () => {
      signal.throwIfAborted();
      await f.sync();
    },
    truncate: async (size) => {
      signal.throwIfAborted();
      await f.truncate(size);
    },
  });
  return { rows: guard(files.rows), index: guard(files.index), offsets: guard(files.offsets) };
}

async function prepareInventory(p: LocalPreparation, job: JobRecord): Promise<void> {
  const manifest = job.request.Manifest!;
  const { etag, bytes, writer } = await prepareInventoryManifest({
    store: p.profile.objects,
    location: manifest.Location,
    openWriter: (fields) => LocalManifestWriter.open(p.files, { fields, chunkSize: p.chunkSize, resume: false }),
    maxTasks: p.maxTasks,
    sameBucket: p.sameBucket,
    signal: p.signal,
    onChunk: (w) => p.records.update(p.jobId, (j) => ({ ...j, discovery: discoveryOf(w, false) })),
  });
  p.signal.throwIfAborted();
  leavePreparing(p, writer, true, etag, bytes);
  p.onListChanged();
}

async function prepareGenerated(p: LocalPreparation, job: JobRecord): Promise<void> {
  const settings = generatorSettings(job.request.ManifestGenerator!, job.request.Tags ?? []);
  // Batch Replication replicates every version (docs/manifests.md#manifest-generator): list versions, tasks carry
  // version ids.
  const versions = job.request.Operation.S3ReplicateObject !== undefined;
  const fields: ManifestField[] = versions ? ['Bucket', 'Key', 'VersionId'] : ['Bucket', 'Key'];
  const writer = await LocalManifestWriter.open(p.files, { fields, chunkSize: p.chunkSize, resume: true });
  let lastUpdate = 0;
  const update = (complete: boolean): void => {
    lastUpdate = p.now().getTime();
    const found = writer.state.found;
    p.records.update(p.jobId, (j) => ({
      ...j,
      discovery: discoveryOf(writer, complete),
      progress: { ...j.progress, total: found },
      ...(j.prepared ? { prepared: { ...j.prepared, totalTasks: found, chunkCount: writer.state.chunks } } : {}),
    }));
  };
  const onChunk = (): void => {
    p.signal.throwIfAborted();
    if (p.records.mustGet(p.jobId).status === JobStatus.Preparing) {
      leavePreparing(p, writer, false, '', 0);
      p.onStreaming();
    } else {
      update(false);
    }
    p.onListChanged();
  };
  if (writer.state.chunks > 0 && p.records.mustGet(p.jobId).status === JobStatus.Preparing) onChunk(); // resumed list
  try {
    await generateManifest({
      store: p.profile.objects,
      settings,
      writer,
      maxTasks: p.maxTasks,
      signal: p.signal,
      versions,
      onChunk,
      onPage: () => {
        if (p.now().getTime() - lastUpdate >= DISCOVERY_INTERVAL_MS) update(false);
      },
    });
  } catch (err) {
    // The job fails, but its discovery metrics say how far the listing got (all of it when
    // nothing matched), not the last periodic update.
    if (!p.signal.aborted) update(isS3BatchError(err) && err.code === 'ManifestGenerationEmpty');
    throw err;
  }
  p.signal.throwIfAborted();
  // Written once; again only when a crash lost the record of it (the list may be complete already).
  if (settings.output !== undefined && p.records.mustGet(p.jobId).generatedManifest === undefined) {
    const descriptor = await writeGeneratedManifest({
      store: p.profile.objects,
      jobId: p.jobId,
      sourceBucket: settings.sourceBucket,
      output: settings.output,
      writer,
      now: p.now(),
      signal: p.signal,
    });
    p.records.update(p.jobId, (j) => ({ ...j, generatedManifest: descriptor }));
  }
  p.signal.throwIfAborted();
  if (!writer.state.complete) await writer.complete();
  update(true);
  p.onListChanged();
}
