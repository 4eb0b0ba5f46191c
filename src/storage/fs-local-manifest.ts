/**
 * LocalManifestFiles (local-manifest-files.ts) on the local file system: `<dir>/<jobId>.rows`,
 * `<dir>/<jobId>.lidx` and `<dir>/<jobId>.loff` (the index's line offsets), append-only, fsynced
 * on sync(). Appends come one chunk at a time,
 * so opening the file per append costs little next to the fsync that follows it.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AppendOnlyFile, LocalManifestFiles } from './local-manifest-files.ts';

export function createFsLocalManifestFiles(dir: string, jobId: string): LocalManifestFiles {
  return {
    rows: fsAppendOnlyFile(join(dir, `${jobId}.rows`)),
    index: fsAppendOnlyFile(join(dir, `${jobId}.lidx`)),
    offsets: fsAppendOnlyFile(join(dir, `${jobId}.loff`)),
  };
}

export async function removeFsLocalManifestFiles(dir: string, jobId: string): Promise<void> {
  await rm(join(dir, `${jobId}.rows`), { force: true });
  await rm(join(dir, `${jobId}.lidx`), { force: true });
  await rm(join(dir, `${jobId}.loff`), { force: true });
}

function fsAppendOnlyFile(path: string): AppendOnlyFile {
  let dirty = false;
  return {
    async size() {
      try {
        return (await stat(path)).size;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
        throw err;
      }
    },
    async append(data) {
      await mkdir(dirname(path), { recursive: true });
      const handle = await open(path, 'a');
      try {
        await handle.write(data);
      } finally {
        await handle.close();
      }
      dirty = true;
    },
    async sync() {
      if (!dirty) return;
      const handle = await open(path, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      dirty = false;
    },
    async truncate(size) {
      await mkdir(dirname(path), { recursive: true });
      const handle = await open(path, 'a+');
      try {
        await handle.truncate(size);
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
    async *read(start, end) {
      if (end <= start) return;
      const stream = createReadStream(path, { start, end: end - 1 });
      try {
        for await (const bytes of stream) yield bytes as Buffer;
      } finally {
        stream.destroy();
      }
    },
    async remove() {
      await rm(path, { force: true });
    },
  };
}
