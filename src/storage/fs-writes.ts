/**
 * File-writing rules shared by the fs adapters (fs-spool.ts, fs-chunk-index.ts) and the local
 * task list writer (manifest/local-manifest.ts): how much to buffer before a write, and how to
 * make new directory entries durable.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

/**
 * Buffered characters that trigger a write (UTF-16 units; bytes may be somewhat more): large
 * enough that a busy writer makes few system calls, small enough to bound its memory.
 */
export const FLUSH_CHARS = 64 * 1024;

/**
 * What fsyncDir does when the directory cannot be synced:
 *  - 'strict' skips only what a platform that cannot fsync a directory answers (EISDIR, EPERM,
 *    EACCES on open; EINVAL, EPERM, EBADF on sync) and throws anything else, so the caller learns
 *    that its new files may not survive a crash (the spool: the chunk is then redone);
 *  - 'best-effort' never throws: for a rename that has already happened (the chunk index), where
 *    a failed directory sync leaves the right file in place, only possibly less durable.
 */
export type DirSyncPolicy = 'strict' | 'best-effort';

/** Makes new directory entries (created or renamed files) in `dir` durable; see DirSyncPolicy. */
export async function fsyncDir(dir: string, policy: DirSyncPolicy): Promise<void> {
  const strict = policy === 'strict';
  let handle: FileHandle;
  try {
    handle = await open(dir, 'r');
  } catch (err) {
    if (!strict || isErrno(err, 'EISDIR') || isErrno(err, 'EPERM') || isErrno(err, 'EACCES')) return;
    throw err;
  }
  try {
    await handle.sync();
  } catch (err) {
    if (strict && !isErrno(err, 'EINVAL') && !isErrno(err, 'EPERM') && !isErrno(err, 'EBADF')) throw err;
  } finally {
    await handle.close();
  }
}

/** True when `err` is a Node system error with this `code` (ENOENT, EEXIST, …). */
export function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}
