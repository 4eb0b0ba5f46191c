/**
 * The engine on in-memory parts for unit tests: a MemoryJobStore, a memory spool and chunk index,
 * an in-memory (or fake) object store for every role, and a fake operation handler that needs no
 * S3. Builds the Engine and the BatchService in front of it, stops every engine it built
 * (stopTestEngines, from afterEach), and waits for job states. HeldListingStore stands in for a
 * slow bucket listing (generator jobs).
 */
import type { JobStatus } from '../../src/domain/job-status.ts';
import { Engine, type EngineConfig, type EngineDeps } from '../../src/engine/engine.ts';
import { NO_LOG } from '../../src/engine/job-log.ts';
import { createMemoryChunkIndex, type ChunkIndexFile } from '../../src/storage/chunk-index-file.ts';
import type { OperationHandler } from '../../src/operations/operation.ts';
import { BatchService } from '../../src/service/batch-service.ts';
import type { MemoryJobStore } from '../../src/storage/memory-job-store.ts';
import { MemoryObjectStore } from '../../src/storage/memory-object-store.ts';
import { createMemorySpool } from '../../src/storage/memory-spool.ts';
import type { ListOptions, ObjectStore } from '../../src/storage/object-store.ts';
import type { ResultSpool } from '../../src/storage/result-spool.ts';

export const TEST_ACCOUNT = '111122223333';

export interface TestEngineParts {
  readonly store: MemoryJobStore;
  /** The object store every role (manifest, report, operation) reaches. */
  readonly objects: ObjectStore;
  /** Runs every task, as an S3PutObjectTagging job. */
  readonly handler: OperationHandler<object>;
  /** Engine settings over small test defaults (8 tasks at once, chunks of 10, one attempt). */
  readonly config?: Partial<EngineConfig>;
  /** Default: a fresh memory spool. */
  readonly spool?: ResultSpool;
  /** The jobs' chunk indices, for tests that look at them (default: a private map). */
  readonly indices?: Map<string, ChunkIndexFile>;
  /** The clock of the engine and the service (default: the real one). */
  readonly now?: () => Date;
  /** Further engine ports (local manifests and the like). */
  readonly deps?: Partial<EngineDeps>;
}

const engines: Engine[] = [];

/** Builds an engine (not started) and its BatchService; stopTestEngines stops it. */
export function newTestEngine(parts: TestEngineParts): { engine: Engine; service: BatchService } {
  const indices = parts.indices ?? new Map<string, ChunkIndexFile>();
  const now = parts.now ?? ((): Date => new Date());
  const engine = new Engine(
    {
      maxConcurrentTasks: 8,
      jobConcurrency: 8,
      chunkSize: 10,
      maxTasksPerJob: 1_000_000,
      prepareConcurrency: 2,
      retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      progressIntervalMs: 0,
      ...parts.config,
    },
    {
      store: parts.store,
      spool: parts.spool ?? createMemorySpool(),
      chunkIndex: (id) => {
        let idx = indices.get(id);
        if (!idx) indices.set(id, (idx = createMemoryChunkIndex()));
        return idx;
      },
      removeChunkIndex: async (id) => {
        indices.delete(id);
      },
      profileFor: () => ({
        objects: parts.objects,
        operations: {
          s3: undefined as never,
          multipartCopyThresholdBytes: 5 * 1024 ** 3,
          multipartCopyPartBytes: 64 * 1024 ** 2,
        },
      }),
      now,
      sleep: async () => {},
      log: NO_LOG,
      operations: () => ({ name: 'S3PutObjectTagging', handler: parts.handler, config: {} }),
      ...parts.deps,
    },
  );
  engines.push(engine);
  const service = new BatchService(engine, {
    region: 'us-east-1',
    partition: 'aws',
    confirmationRequiredByDefault: true,
    now,
  });
  return { engine, service };
}

/** Stops every engine newTestEngine built (call from afterEach). */
export async function stopTestEngines(): Promise<void> {
  for (const e of engines.splice(0)) await e.stop();
}

/** A CreateJob request for an S3PutObjectTagging job with an AllTasks report to reports/r; `source` adds Manifest or ManifestGenerator. */
export function taggingJobRequest(source: Record<string, unknown>): Record<string, unknown> {
  return {
    ConfirmationRequired: false,
    Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'k', Value: 'v' }] } },
    Report: { Enabled: true, Bucket: 'arn:aws:s3:::reports', Prefix: 'r', ReportScope: 'AllTasks' },
    Priority: 10,
    RoleArn: `arn:aws:iam::${TEST_ACCOUNT}:role/batch`,
    ...source,
  };
}

/** The Manifest member for a Bucket,Key CSV manifest at src/<key>. */
export function csvManifest(key: string, etag: string): Record<string, unknown> {
  return {
    Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
    Location: { ObjectArn: `arn:aws:s3:::src/${key}`, ETag: etag },
  };
}

/** Resolves when the job is in `status` (now or by a later job:status event); fails after 10 s. */
export function waitForStatus(engine: Engine, store: MemoryJobStore, jobId: string, status: JobStatus): Promise<void> {
  if (store.get(jobId)?.status === status) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`job ${jobId} did not reach ${status} (is ${store.get(jobId)?.status})`)),
      10_000,
    );
    const listener = (e: { jobId: string; to: JobStatus }): void => {
      if (e.jobId === jobId && e.to === status) {
        clearTimeout(timer);
        engine.events.off('job:status', listener);
        resolve();
      }
    };
    engine.events.on('job:status', listener);
  });
}

/** A store whose listing pauses after `pauseAfterPages` pages of 10 until `release()` (how a slow listing looks). */
export class HeldListingStore extends MemoryObjectStore {
  private released!: () => void;
  private readonly gate = new Promise<void>((r) => (this.released = r));
  pagesServed = 0;
  constructor(private readonly pauseAfterPages: number) {
    super();
  }
  release(): void {
    this.released();
  }
  override async *list(bucket: string, options: ListOptions = {}) {
    for await (const page of super.list(bucket, { ...options, pageSize: 10 })) {
      if (this.pagesServed === this.pauseAfterPages) {
        await new Promise<void>((resolve, reject) => {
          void this.gate.then(resolve);
          options.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true });
        });
      }
      this.pagesServed++;
      yield page;
    }
  }
}
