/**
 * The port behind the local task list of inventory and generator jobs (manifest/local-manifest.ts
 * writes and reads it): three append-only files per job, the rows, their index and the index's
 * line offsets (a hint for seeking to a chunk; a job written before it has an empty one). The fs
 * implementation is fs-local-manifest.ts; the in-memory one below serves tests and engines
 * without a data directory.
 */

/** An append-only file. */
export interface AppendOnlyFile {
  /** Current size in bytes (0 when the file does not exist). */
  size(): Promise<number>;
  append(data: Uint8Array): Promise<void>;
  /** After it resolves, everything appended survives a crash. */
  sync(): Promise<void>;
  /** Cuts the file to `size` bytes (creating it empty when absent). */
  truncate(size: number): Promise<void>;
  /** Bytes [start, end). */
  read(start: number, end: number): AsyncIterable<Uint8Array>;
  remove(): Promise<void>;
}

/** One job's local task list: the rows file, its index file and the index's chunk-line offsets. */
export interface LocalManifestFiles {
  readonly rows: AppendOnlyFile;
  readonly index: AppendOnlyFile;
  /** 8 bytes per chunk: where chunk k's line starts in the index (local-manifest.ts). */
  readonly offsets: AppendOnlyFile;
}

/** LocalManifestFiles in memory, for unit tests and engines without a data directory. */
export function createMemoryLocalManifestFiles(): LocalManifestFiles {
  const file = (): AppendOnlyFile => {
    let data = new Uint8Array(0);
    return {
      async size() {
        return data.length;
      },
      async append(bytes) {
        const next = new Uint8Array(data.length + bytes.length);
        next.set(data);
        next.set(bytes, data.length);
        data = next;
      },
      async sync() {},
      async truncate(size) {
        data = data.slice(0, size);
      },
      async *read(start, end) {
        const slice = data.slice(start, Math.min(end, data.length));
        for (let i = 0; i < slice.length; i += 4096) yield slice.slice(i, i + 4096);
      },
      async remove() {
        data = new Uint8Array(0);
      },
    };
  };
  return { rows: file(), index: file(), offsets: file() };
}
