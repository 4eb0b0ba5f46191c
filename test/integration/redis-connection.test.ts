/**
 * Connecting to Redis (storage/redis/connection.ts) on a real redis-server: a Redis that is not
 * there, a wrong password and a db out of range each give InvalidConfiguration naming the URL
 * (password hidden) instead of a hang; the settings s3batch relies on are warned about.
 */
import { Redis as IORedis } from 'ioredis';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isS3BatchError } from '../../src/domain/errors.ts';
import { openRedis, redisSettingsWarnings } from '../../src/storage/redis/connection.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';

let server: TestRedis;
let admin: IORedis;
beforeAll(async () => {
  server = await startRedis();
  admin = new IORedis(server.url, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  admin.disconnect();
  await server.stop();
});

async function openError(url: string, timeoutMs?: number): Promise<Error> {
  try {
    const redis = await openRedis(url, { name: 'test', ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
    redis.disconnect();
  } catch (err) {
    if (isS3BatchError(err) && err.code === 'InvalidConfiguration') return err;
    throw err;
  }
  throw new Error(`${url} opened`);
}

/** Polls `cond` until it holds; fails after `timeoutMs` naming what it waited for. */
async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A port nothing listens on (the OS gave it, then it was closed). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

describe('openRedis', () => {
  it('connects, names the connection, and reports no warning for the settings BullMQ needs', async () => {
    const redis = await openRedis(server.url, { name: 's3batch-serve-test' });
    try {
      expect(await redis.ping()).toBe('PONG');
      expect(await redis.client('GETNAME')).toBe('s3batch-serve-test');
      expect(redis.options.maxRetriesPerRequest).toBeNull();
      expect(await redisSettingsWarnings(redis, server.url)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });

  it('Redis down at start: InvalidConfiguration naming the URL and ECONNREFUSED, not a hang', async () => {
    const url = `redis://:hunter2@127.0.0.1:${await closedPort()}/0`;
    const err = await openError(url, 1_500);
    expect(err.message).toContain('Cannot reach Redis at redis://:***@127.0.0.1:');
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.message).not.toContain('hunter2');
  });

  it('a wrong password or a db out of range: InvalidConfiguration at once, the password hidden', async () => {
    await admin.config('SET', 'requirepass', 'right-one');
    try {
      const wrong = await openError(`redis://:wrong-one@127.0.0.1:${server.port}/0`);
      expect(wrong.message).toMatch(/WRONGPASS|invalid password/i);
      expect(wrong.message).not.toContain('wrong-one');
      const none = await openError(`redis://127.0.0.1:${server.port}/0`);
      expect(none.message).toMatch(/NOAUTH/);
      const right = await openRedis(`redis://:right-one@127.0.0.1:${server.port}/0`, { name: 'test' });
      expect(await right.ping()).toBe('PONG');
      right.disconnect();
    } finally {
      const again = new IORedis({ port: server.port, password: 'right-one', maxRetriesPerRequest: null });
      await again.config('SET', 'requirepass', '');
      again.disconnect();
    }
    const db = await openError(`redis://127.0.0.1:${server.port}/999`);
    expect(db.message).toMatch(/DB index is out of range/);
  });

  it('warns when maxmemory-policy is not noeviction or appendonly is not yes', async () => {
    const redis = await openRedis(server.url, { name: 'test' });
    try {
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      await admin.config('SET', 'appendonly', 'no');
      const warnings = await redisSettingsWarnings(redis, server.url);
      expect(warnings).toHaveLength(2);
      expect(warnings[0]).toMatch(/maxmemory-policy allkeys-lru: set it to noeviction/);
      expect(warnings[1]).toMatch(/appendonly no: set appendonly yes/);
    } finally {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'appendonly', 'yes');
      // Turning the AOF on rewrites it in the background; Redis refuses to shut down meanwhile.
      await waitFor('the AOF rewrite', async () =>
        /aof_enabled:1[\s\S]*aof_rewrite_in_progress:0[\s\S]*aof_rewrite_scheduled:0/.test(
          await admin.info('persistence'),
        ),
      );
      redis.disconnect();
    }
  });

  it('no warning when CONFIG is refused (managed Redis)', async () => {
    await admin.acl('SETUSER', 'limited', 'on', '>pw', '~*', '+@all', '-config');
    const redis = await openRedis(`redis://limited:pw@127.0.0.1:${server.port}/0`, { name: 'test' });
    try {
      await expect(redis.config('GET', 'appendonly')).rejects.toThrow(/NOPERM/);
      expect(await redisSettingsWarnings(redis, server.url)).toEqual([]);
    } finally {
      redis.disconnect();
      await admin.acl('DELUSER', 'limited');
    }
  });
});
