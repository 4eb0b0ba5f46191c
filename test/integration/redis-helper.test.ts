import { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';

// The test helper itself: a real redis-server keeps what it was told across a crash (AOF).
describe('test/helpers/redis-server.ts', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('keeps a write across a SIGKILL and a restart (appendonly yes)', async () => {
    const a = new IORedis(redis.url, { maxRetriesPerRequest: null });
    await a.set('k', 'v1');
    await new Promise((r) => setTimeout(r, 1200)); // appendfsync everysec
    a.disconnect();
    await redis.restart();
    const b = new IORedis(redis.url, { maxRetriesPerRequest: null });
    expect(await b.get('k')).toBe('v1');
    expect(await b.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    b.disconnect();
  });
});
