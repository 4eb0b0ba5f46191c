/**
 * ChunkIndexFile (chunk-index-file.ts) in one Redis string per job, `<prefix>chunks:<jobId>`, in the
 * version-2 format of fs-chunk-index.ts (its header, then a 40-byte record per chunk, encoded and
 * decoded by its functions), so the index of a job of millions of chunks is never held whole:
 *
 * - write() builds the new index in a temporary key (`<key>:tmp:<uuid>`, which expires after a day
 *   should the writer die) by APPENDs of up to ~64 KiB, then RENAMEs it over the key and drops the
 *   expiry in one MULTI: readers see the old index or the whole new one. A chunk stream that throws
 *   deletes the temporary key; the old index is untouched.
 * - read(k) reads from record k with GETRANGE in pages of 1,024 records: a seek, not a scan.
 *
 * A Redis string holds at most 512 MiB: 13.4 million chunks (13 billion rows at the default
 * 1,000 rows per chunk); a longer index is refused when written. The index is written once per
 * job, while it is prepared, before any read.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Chunk } from '../../domain/chunk.ts';
import type { ChunkIndexFile } from '../chunk-index-file.ts';
import { CHUNK_INDEX_HEADER, CHUNK_RECORD_BYTES, decodeChunkRecord, encodeChunkRecord } from '../fs-chunk-index.ts';

/** Records per APPEND and per GETRANGE. */
const PAGE_RECORDS = 1024;
/** Redis' limit on a string. */
const MAX_STRING_BYTES = 512 * 1024 * 1024;
const MAX_CHUNKS = Math.floor((MAX_STRING_BYTES - CHUNK_INDEX_HEADER.length) / CHUNK_RECORD_BYTES);
const TEMP_TTL_MS = 24 * 60 * 60 * 1000;

export function redisChunkIndexKey(prefix: string, jobId: string): string {
  return `${prefix}chunks:${jobId}`;
}

export function createRedisChunkIndex(redis: Redis, prefix: string, jobId: string): ChunkIndexFile {
  const key = redisChunkIndexKey(prefix, jobId);
  return {
    async write(chunks) {
      const tmp = `${key}:tmp:${randomUUID()}`;
      let count = 0;
      try {
        await redis.set(tmp, CHUNK_INDEX_HEADER, 'PX', TEMP_TTL_MS);
        const buffer = Buffer.alloc(PAGE_RECORDS * CHUNK_RECORD_BYTES);
        let used = 0;
        for await (const chunk of chunks) {
          if (chunk.index !== count) throw new Error(`Chunk index out of order: got ${chunk.index}, expected ${count}`);
          if (count >= MAX_CHUNKS)
            throw new Error(`A chunk index in Redis holds at most ${MAX_CHUNKS} chunks (512 MiB): use larger chunks`);
          if (used === buffer.length) {
            await redis.append(tmp, Buffer.from(buffer));
            used = 0;
          }
          encodeChunkRecord(chunk, buffer, used);
          used += CHUNK_RECORD_BYTES;
          count++;
        }
        if (used > 0) await redis.append(tmp, buffer.subarray(0, used));
        const replies = await redis.multi().rename(tmp, key).persist(key).exec();
        const failed = replies?.find(([err]) => err !== null)?.[0];
        if (!replies || failed) throw failed ?? new Error(`the chunk index ${key} was not replaced`);
      } catch (err) {
        await redis.del(tmp);
        throw err;
      }
      return { count };
    },

    async *read(fromIndex = 0): AsyncGenerator<Chunk> {
      const size = await redis.strlen(key);
      if (size === 0) {
        throw Object.assign(new Error(`the chunk index ${key} does not exist in Redis`), { code: 'ENOENT' });
      }
      const head = await redis.getrangeBuffer(key, 0, CHUNK_INDEX_HEADER.length - 1);
      if (!head.equals(CHUNK_INDEX_HEADER)) throw new Error(`Corrupt chunk index ${key}: not a version-2 index`);
      const body = size - CHUNK_INDEX_HEADER.length;
      if (body % CHUNK_RECORD_BYTES !== 0)
        throw new Error(`Corrupt chunk index ${key}: ${size} bytes is no whole record`);
      const count = body / CHUNK_RECORD_BYTES;
      for (let next = Math.max(0, fromIndex); next < count; ) {
        const n = Math.min(PAGE_RECORDS, count - next);
        const at = CHUNK_INDEX_HEADER.length + next * CHUNK_RECORD_BYTES;
        const page = await redis.getrangeBuffer(key, at, at + n * CHUNK_RECORD_BYTES - 1);
        if (page.length !== n * CHUNK_RECORD_BYTES)
          throw new Error(
            `Corrupt chunk index ${key}: it ends inside record ${next + Math.floor(page.length / CHUNK_RECORD_BYTES)}`,
          );
        for (let i = 0; i < n; i++, next++) {
          let chunk: Chunk;
          try {
            chunk = decodeChunkRecord(page, i * CHUNK_RECORD_BYTES);
          } catch (err) {
            throw new Error(`Corrupt chunk index ${key}: ${(err as Error).message}`);
          }
          if (chunk.index !== next)
            throw new Error(`Corrupt chunk index ${key}: chunk ${chunk.index} where ${next} was expected`);
          yield chunk;
        }
      }
    },
  };
}

/** Deletes a job's chunk index (absent: nothing happens). */
export async function removeRedisChunkIndex(redis: Redis, prefix: string, jobId: string): Promise<void> {
  await redis.del(redisChunkIndexKey(prefix, jobId));
}
