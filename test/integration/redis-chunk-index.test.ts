/**
 * The chunk index in Redis (storage/redis/redis-chunk-index.ts) on a real redis-server: the same
 * bytes as the fs index's version 2, read back from any chunk by seeking, replaced atomically (a
 * failed write leaves the old index and no temporary key), and refusing what is not an index.
 * Each test has its own key prefix.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Chunk } from '../../src/domain/chunk.ts';
import { CHUNK_INDEX_HEADER, CHUNK_RECORD_BYTES, createFsChunkIndex } from '../../src/storage/fs-chunk-index.ts';
import { openRedis } from '../../src/storage/redis/connection.ts';
import {
  createRedisChunkIndex,
  redisChunkIndexKey,
  removeRedisChunkIndex,
} from '../../src/storage/redis/redis-chunk-index.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';

let server: TestRedis;
let redis: Redis;
beforeAll(async () => {
  server = await startRedis();
  redis = await openRedis(server.url, { name: 'chunk-index-test' });
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function* many(n: number): AsyncGenerator<Chunk> {
  for (let i = 0; i < n; i++) yield { index: i, start: i * 100, end: i * 100 + 100, firstLine: i * 10 + 1, count: 10 };
}

describe('createRedisChunkIndex', () => {
  it('holds the fs index bytes (version 2) and reads them back from any chunk', async () => {
    const prefix = `t-${randomUUID()}:`;
    const index = createRedisChunkIndex(redis, prefix, 'job-1');
    expect(await index.write(many(3000))).toEqual({ count: 3000 });
    const dir = await mkdtemp(join(tmpdir(), 's3batch-redis-chunks-'));
    try {
      await createFsChunkIndex(join(dir, 'chunks.idx')).write(many(3000));
      expect(await redis.getBuffer(redisChunkIndexKey(prefix, 'job-1'))).toEqual(
        await readFile(join(dir, 'chunks.idx')),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const all = await collect(many(3000));
    expect(await collect(index.read())).toEqual(all);
    for (const k of [1, 1023, 1024, 2999]) expect(await collect(index.read(k))).toEqual(all.slice(k));
    expect(await collect(index.read(3000))).toEqual([]);
    expect(await redis.keys(`${prefix}*`)).toEqual([redisChunkIndexKey(prefix, 'job-1')]);
    expect(await redis.pttl(redisChunkIndexKey(prefix, 'job-1'))).toBe(-1); // the temp key's expiry dropped
  });

  it('seeks: reading from chunk k does not read the records before it', async () => {
    const prefix = `t-${randomUUID()}:`;
    const key = redisChunkIndexKey(prefix, 'job-1');
    const index = createRedisChunkIndex(redis, prefix, 'job-1');
    const n = 5000;
    await index.write(many(n));
    const k = 4321;
    await redis.setrange(key, CHUNK_INDEX_HEADER.length, Buffer.alloc(k * CHUNK_RECORD_BYTES, 0xff));
    const tail = await collect(index.read(k));
    expect(tail).toHaveLength(n - k);
    expect(tail[0]).toEqual({ index: k, start: k * 100, end: k * 100 + 100, firstLine: k * 10 + 1, count: 10 });
    await expect(collect(index.read(k - 1))).rejects.toThrow(/Corrupt chunk index/);
  });

  it('replaces the index atomically: a failed write leaves the old one and no temporary key', async () => {
    const prefix = `t-${randomUUID()}:`;
    const index = createRedisChunkIndex(redis, prefix, 'job-1');
    await index.write(many(7));
    async function* failing(): AsyncGenerator<Chunk> {
      yield* many(5000);
      throw new Error('manifest broke');
    }
    await expect(index.write(failing())).rejects.toThrow('manifest broke');
    expect(await collect(index.read())).toEqual(await collect(many(7)));
    expect(await redis.keys(`${prefix}*`)).toEqual([redisChunkIndexKey(prefix, 'job-1')]);
    // A later write replaces it whole.
    expect(await index.write(many(2))).toEqual({ count: 2 });
    expect(await collect(index.read())).toEqual(await collect(many(2)));
  });

  it('writes an empty index for no chunks; refuses chunks out of order', async () => {
    const prefix = `t-${randomUUID()}:`;
    const index = createRedisChunkIndex(redis, prefix, 'job-1');
    expect(await index.write(many(0))).toEqual({ count: 0 });
    expect(await collect(index.read())).toEqual([]);
    async function* outOfOrder(): AsyncGenerator<Chunk> {
      yield { index: 1, start: 0, end: 1, firstLine: 1, count: 1 };
    }
    await expect(index.write(outOfOrder())).rejects.toThrow(/out of order/);
    expect(await redis.keys(`${prefix}*`)).toEqual([redisChunkIndexKey(prefix, 'job-1')]);
  });

  it('detects a corrupt index, and one never written (ENOENT, like a missing file)', async () => {
    const prefix = `t-${randomUUID()}:`;
    const key = redisChunkIndexKey(prefix, 'job-1');
    const index = createRedisChunkIndex(redis, prefix, 'job-1');
    await expect(collect(index.read())).rejects.toMatchObject({ code: 'ENOENT' });
    await redis.set(key, '0 0 5 1 1\n');
    await expect(collect(index.read())).rejects.toThrow(/Corrupt chunk index/);
    await index.write(many(2));
    await redis.append(key, 'xyz');
    await expect(collect(index.read())).rejects.toThrow(/no whole record/);
    await index.write(many(2));
    await redis.setrange(key, CHUNK_INDEX_HEADER.length + CHUNK_RECORD_BYTES, Buffer.alloc(8)); // chunk 1 says 0
    await expect(collect(index.read())).rejects.toThrow(/chunk 0 where 1 was expected/);
    await removeRedisChunkIndex(redis, prefix, 'job-1');
    await removeRedisChunkIndex(redis, prefix, 'job-1'); // absent: nothing happens
    expect(await redis.exists(key)).toBe(0);
  });
});
