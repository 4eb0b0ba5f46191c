/**
 * The local task list in Redis (storage/redis/redis-local-manifest.ts) on a real redis-server: each
 * append-only file behaves as the in-memory one does over random appends, truncations and reads,
 * across segment boundaries (segments of a few bytes here); a task list written, followed, read and
 * resumed through manifest/local-manifest.ts gives what it gives on the in-memory files; removing
 * leaves no key. Each test has its own key prefix.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Chunk } from '../../src/domain/chunk.ts';
import { followLocalChunks, LocalManifestWriter, readLocalChunk } from '../../src/manifest/local-manifest.ts';
import {
  type AppendOnlyFile,
  createMemoryLocalManifestFiles,
  type LocalManifestFiles,
} from '../../src/storage/local-manifest-files.ts';
import { openRedis } from '../../src/storage/redis/connection.ts';
import {
  createRedisLocalManifestFiles,
  removeRedisLocalManifestFiles,
} from '../../src/storage/redis/redis-local-manifest.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';

let server: TestRedis;
let redis: Redis;
beforeAll(async () => {
  server = await startRedis();
  redis = await openRedis(server.url, { name: 'local-manifest-test' });
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

async function bytesOf(file: AppendOnlyFile, start: number, end: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const b of file.read(start, end)) parts.push(b);
  return Buffer.concat(parts);
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('a Redis append-only file', () => {
  it.each([7, 64, 1 << 20])('matches the in-memory file over random operations (segments of %i bytes)', async (seg) => {
    const prefix = `t-${randomUUID()}:`;
    const file = createRedisLocalManifestFiles(redis, prefix, 'job-1', { segmentBytes: seg }).rows;
    const model = createMemoryLocalManifestFiles().rows;
    const random = prng(seg);
    const int = (n: number): number => Math.floor(random() * n);
    for (let step = 0; step < 300; step++) {
      const r = random();
      if (r < 0.55) {
        const data = Buffer.from(Array.from({ length: int(40) }, () => int(256)));
        await file.append(data);
        await model.append(data);
      } else if (r < 0.7) {
        const to = int((await model.size()) + 20); // shorter, or longer (zero bytes)
        await file.truncate(to);
        await model.truncate(to);
        if (to > (await model.size())) await model.append(new Uint8Array(to - (await model.size())));
      } else if (r < 0.72) {
        await file.remove();
        await model.remove();
      } else {
        const size = await model.size();
        const start = int(size + 5);
        const end = start + int(size + 10);
        expect(await bytesOf(file, start, end)).toEqual(await bytesOf(model, start, end));
      }
      expect(await file.size()).toBe(await model.size());
    }
    const size = await model.size();
    expect(await bytesOf(file, 0, size)).toEqual(await bytesOf(model, 0, size));
    // Every segment is at most `seg` bytes.
    for (const key of await redis.keys(`${prefix}tasks:job-1:rows:*`)) {
      if (!key.endsWith(':len')) expect(await redis.strlen(key)).toBeLessThanOrEqual(seg);
    }
  });

  it('reads a big file in pages, never a whole segment at once', async () => {
    const prefix = `t-${randomUUID()}:`;
    const file = createRedisLocalManifestFiles(redis, prefix, 'job-1').rows;
    const data = Buffer.alloc(300_000, 'x');
    await file.append(data);
    const pages: number[] = [];
    for await (const b of file.read(1000, 300_000)) pages.push(b.length);
    expect(pages.reduce((a, b) => a + b, 0)).toBe(299_000);
    expect(Math.max(...pages)).toBeLessThanOrEqual(64 * 1024);
  });
});

describe('a local task list in Redis', () => {
  const FIELDS = ['Bucket', 'Key'] as const;
  const noWait = { ticket: () => 0, waitForChange: async () => {} };

  async function writeList(files: LocalManifestFiles, from: number, to: number, resume: boolean, complete = true) {
    const w = await LocalManifestWriter.open(files, { fields: [...FIELDS], chunkSize: 2, resume });
    for (let i = from; i < to; i++) {
      const key = `k${String(i).padStart(4, '0')}`;
      await w.add({ bucket: 'src', rawKey: key }, 10, key);
    }
    if (complete) await w.complete();
    return w;
  }

  async function follow(files: LocalManifestFiles, from?: number): Promise<Chunk[]> {
    const out: Chunk[] = [];
    const signal = new AbortController().signal;
    for await (const c of followLocalChunks(files, { signal, ...noWait, from })) out.push(c);
    return out;
  }

  async function keys(files: LocalManifestFiles, chunks: readonly Chunk[]): Promise<string[]> {
    const out: string[] = [];
    for (const chunk of chunks) for await (const e of readLocalChunk(files, [...FIELDS], chunk)) out.push(e.key);
    return out;
  }

  it('is written, followed, read and resumed as on the in-memory files; removing leaves no key', async () => {
    const prefix = `t-${randomUUID()}:`;
    const inRedis = createRedisLocalManifestFiles(redis, prefix, 'job-1', { segmentBytes: 1000 });
    const inMemory = createMemoryLocalManifestFiles();
    for (const files of [inRedis, inMemory]) {
      await writeList(files, 0, 150, false, false); // interrupted…
      await writeList(files, 150, 301, true); // …and resumed
    }
    const chunks = await follow(inRedis);
    expect(chunks).toEqual(await follow(inMemory));
    expect(chunks).toHaveLength(151);
    expect(await follow(inRedis, 120)).toEqual(chunks.slice(120));
    const all = await keys(inRedis, chunks);
    expect(all).toEqual([...Array(301).keys()].map((i) => `k${String(i).padStart(4, '0')}`));
    for (const f of ['rows', 'index', 'offsets'] as const)
      expect(await inRedis[f].size()).toBe(await inMemory[f].size());

    await removeRedisLocalManifestFiles(redis, prefix, 'job-1', { segmentBytes: 1000 });
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
  });
});
