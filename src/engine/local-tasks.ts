/**
 * The runner's view of a local task list (inventory and generator jobs, manifest/local-manifest.ts):
 * its chunks in order — following the list while a listing still appends to it — and the
 * entries of one chunk. `ListingSignals` wakes a runner waiting for more chunks when the
 * preparer appends some (no polling); a ticket taken before each read makes sure a change
 * between the read and the wait is not missed.
 */
import type { Chunk } from '../domain/chunk.ts';
import type { ManifestField } from '../domain/job-spec.ts';
import type { TaskEntry } from '../domain/task.ts';
import { followLocalChunks, readLocalChunk, readLocalFields } from '../manifest/local-manifest.ts';
import { createMemoryLocalManifestFiles, type LocalManifestFiles } from '../storage/local-manifest-files.ts';

export class ListingSignals {
  private readonly versions = new Map<string, number>();
  private readonly waiters = new Map<string, Set<() => void>>();

  ticket(jobId: string): number {
    return this.versions.get(jobId) ?? 0;
  }

  notify(jobId: string): void {
    this.versions.set(jobId, this.ticket(jobId) + 1);
    const ws = this.waiters.get(jobId);
    this.waiters.delete(jobId);
    for (const w of ws ?? []) w();
  }

  /** Resolves once the list changed after `ticket` was taken, or the signal aborted. */
  waitForChange(jobId: string, ticket: number, signal: AbortSignal): Promise<void> {
    if (this.ticket(jobId) !== ticket || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        this.waiters.get(jobId)?.delete(done);
        resolve();
      };
      signal.addEventListener('abort', done, { once: true });
      let ws = this.waiters.get(jobId);
      if (!ws) this.waiters.set(jobId, (ws = new Set()));
      ws.add(done);
    });
  }

  /** Wakes any waiter one last time and drops the job's state. */
  forget(jobId: string): void {
    this.notify(jobId);
    this.versions.delete(jobId);
  }
}

/** The runner's chunk source and chunk reader over a job's local task list. */
export function localTaskSource(
  files: LocalManifestFiles,
  signals: ListingSignals,
  jobId: string,
): {
  /** From chunk `from` on (the ones before are done; the index is read from there). */
  chunks(signal: AbortSignal, waiting?: (on: boolean) => void, from?: number): AsyncIterable<Chunk>;
  readChunk(chunk: Chunk): AsyncIterable<TaskEntry>;
} {
  let fields: ManifestField[] | undefined;
  return {
    async *chunks(signal, waiting, from) {
      fields = await readLocalFields(files);
      if (fields === undefined) throw new Error(`The task list of job ${jobId} is missing`);
      yield* followLocalChunks(files, {
        signal,
        from,
        ticket: () => signals.ticket(jobId),
        // The runner hears of the wait: while it lasts the job needs no task slots.
        waitForChange: async (ticket, s) => {
          if (signals.ticket(jobId) !== ticket || s.aborted) return; // changed already: no wait
          waiting?.(true);
          try {
            await signals.waitForChange(jobId, ticket, s);
          } finally {
            waiting?.(false);
          }
        },
      });
    },
    readChunk(chunk) {
      return readLocalChunk(files, fields!, chunk);
    },
  };
}

/** Local task lists kept in memory (engines without a data directory: unit tests). */
export function memoryLocalManifests(): {
  get(jobId: string): LocalManifestFiles;
  remove(jobId: string): Promise<void>;
} {
  const lists = new Map<string, LocalManifestFiles>();
  return {
    get(jobId) {
      let files = lists.get(jobId);
      if (!files) lists.set(jobId, (files = createMemoryLocalManifestFiles()));
      return files;
    },
    async remove(jobId) {
      lists.delete(jobId);
    },
  };
}
