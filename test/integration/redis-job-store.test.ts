/**
 * The Redis job store (storage/redis/redis-job-store.ts) on a real redis-server: the index contract
 * every store meets (test/helpers/job-store-index-contract.ts), batched fenced writes, reopening
 * from Redis, tokens, the page-token secret, a failed write retried, a leader that lost its lock
 * refused, and Redis itself killed: with what was flushed intact after a restart, with writes made
 * while it was down written once it is back, and with an emptied Redis written again whole.
 * Each test has its own key prefix.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isS3BatchError } from '../../src/domain/errors.ts';
import type { JobRecord } from '../../src/domain/job.ts';
import { JobStatus } from '../../src/domain/job-status.ts';
import { openRedis } from '../../src/storage/redis/connection.ts';
import {
  loadOrCreateRedisSecret,
  RedisJobStore,
  type RedisJobStoreOptions,
} from '../../src/storage/redis/redis-job-store.ts';
import { expectIndexesMatch, jobStoreIndexContract } from '../helpers/job-store-index-contract.ts';
import { storedJob } from '../helpers/job-records.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';

const ACCOUNT = '111122223333';

let server: TestRedis;
let redis: Redis;
const stores: RedisJobStore[] = [];
beforeAll(async () => {
  server = await startRedis();
  redis = await openRedis(server.url, { name: 'store-test' });
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => undefined);
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

const newPrefix = (): string => `t-${randomUUID()}:`;

async function openStore(prefix: string, options: Partial<RedisJobStoreOptions> = {}): Promise<RedisJobStore> {
  const store = await RedisJobStore.open(redis, { prefix, fence: undefined, ...options });
  stores.push(store);
  return store;
}

function job(n: number, patch: Partial<JobRecord> = {}): JobRecord {
  const creationTime = new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString();
  return storedJob(
    `job-${String(n).padStart(5, '0')}`,
    { accountId: ACCOUNT, creationTime, priority: n, ...patch },
    String(n),
  );
}

/** Polls `cond` until it holds; fails after `timeoutMs` naming what it waited for. */
async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** appendfsync everysec: what Redis acknowledged reaches its AOF within a second (no signal to wait for). */
const aofFsync = (): Promise<void> => new Promise((r) => setTimeout(r, 1_200));

describe('RedisJobStore: the index contract', () => {
  jobStoreIndexContract(() => openStore(newPrefix()));
});

describe('RedisJobStore', () => {
  it('batches a burst of 1,000 saves into a few writes, in the documented keys', async () => {
    const prefix = newPrefix();
    const store = await openStore(prefix);
    for (let i = 0; i < 1000; i++) store.save(job(i % 50, { priority: i }));
    await store.flush();
    expect(store.writes).toBeGreaterThanOrEqual(1);
    expect(store.writes).toBeLessThanOrEqual(3);
    expect(await redis.scard(`${prefix}jobs`)).toBe(50);
    expect(JSON.parse((await redis.get(`${prefix}job:job-00049`))!)).toEqual(job(49, { priority: 999 }));
  });

  it('writes a batch of more keys than one script takes in parts, whole', async () => {
    const prefix = newPrefix();
    const store = await openStore(prefix, { batchMs: 60_000 });
    for (let i = 0; i < 2500; i++) store.save(job(i));
    await store.flush();
    expect(store.writes).toBe(1);
    expect(await redis.scard(`${prefix}jobs`)).toBe(2500);
    const again = await openStore(prefix);
    expect(again.list()).toHaveLength(2500);
    expectIndexesMatch(again);
  });

  it('writes on its own after batchMs, without flush', async () => {
    const prefix = newPrefix();
    const store = await openStore(prefix, { batchMs: 10 });
    store.save(job(1));
    expect(store.writes).toBe(0);
    await waitFor('the batched write', async () => (await redis.exists(`${prefix}job:job-00001`)) === 1);
    expect(store.writes).toBe(1);
  });

  it('reopens from Redis: records, indexes and tokens; remove() drops a job and its token', async () => {
    const prefix = newPrefix();
    const store = await openStore(prefix, { batchMs: 60_000 });
    for (let i = 0; i < 20; i++) store.save(job(i, { status: i % 3 === 0 ? JobStatus.Complete : JobStatus.Active }));
    store.saveToken({ accountId: ACCOUNT, token: 'token-1', requestHash: 'hash-1', jobId: 'job-00001' });
    store.saveToken({ accountId: ACCOUNT, token: 'token-2', requestHash: 'hash-2', jobId: 'job-00002' });
    await store.flush();
    expect(store.writes).toBe(1);

    const again = await openStore(prefix);
    expect(again.list()).toHaveLength(20);
    expect(again.get('job-00003')).toEqual(store.get('job-00003'));
    expectIndexesMatch(again);
    expect(again.statusCounts()).toEqual(
      new Map([
        [JobStatus.Complete, 7],
        [JobStatus.Active, 13],
      ]),
    );
    expect(again.findToken(ACCOUNT, 'token-1')).toEqual({
      accountId: ACCOUNT,
      token: 'token-1',
      requestHash: 'hash-1',
      jobId: 'job-00001',
    });
    expect(again.findToken('999988887777', 'token-1')).toBeUndefined();

    again.remove('job-00001');
    again.remove('no-such-job'); // a no-op
    expect(again.findToken(ACCOUNT, 'token-1')).toBeUndefined();
    await again.flush();
    expect(await redis.exists(`${prefix}job:job-00001`, `${prefix}token:${ACCOUNT}:token-1`)).toBe(0);

    const third = await openStore(prefix);
    expect(third.get('job-00001')).toBeUndefined();
    expect(third.list()).toHaveLength(19);
    expect(third.findToken(ACCOUNT, 'token-1')).toBeUndefined();
    expect(third.findToken(ACCOUNT, 'token-2')?.jobId).toBe('job-00002');
  });

  it('refuses a key that does not hold what s3batch wrote', async () => {
    const prefix = newPrefix();
    await redis.sadd(`${prefix}jobs`, 'broken');
    await redis.set(`${prefix}job:broken`, '{"not json');
    await expect(RedisJobStore.open(redis, { prefix, fence: undefined })).rejects.toMatchObject({
      code: 'InvalidConfiguration',
    });
  });

  it('makes the page-token secret once: two instances starting together agree on it', async () => {
    const key = `${newPrefix()}page-token-key`;
    const [a, b] = await Promise.all([loadOrCreateRedisSecret(redis, key), loadOrCreateRedisSecret(redis, key)]);
    expect(a).toHaveLength(32);
    expect(b).toEqual(a);
    expect(await loadOrCreateRedisSecret(redis, key)).toEqual(a);
    await redis.set(key, 'short');
    await expect(loadOrCreateRedisSecret(redis, key)).rejects.toSatisfy(
      (err) => isS3BatchError(err) && err.code === 'InvalidConfiguration' && /must hold 32 bytes/.test(err.message),
    );
  });

  it('a leader that lost its lock is refused: nothing written, onFenced told, flush rejects', async () => {
    const prefix = newPrefix();
    const fence = { key: `${prefix}leader`, value: '{"id":"a"}' };
    await redis.set(fence.key, fence.value);
    let fenced = 0;
    const store = await openStore(prefix, { fence, batchMs: 5, onFenced: () => void fenced++ });
    store.save(job(1));
    await store.flush();
    expect(await redis.exists(`${prefix}job:job-00001`)).toBe(1);

    await redis.set(fence.key, '{"id":"b"}'); // another instance leads now
    store.save(job(1, { status: JobStatus.Cancelled }));
    store.save(job(2));
    await waitFor('the fence', () => fenced === 1);
    expect(store.isFenced).toBe(true);
    await expect(store.flush()).rejects.toMatchObject({ code: 'InternalServiceException' });
    expect(JSON.parse((await redis.get(`${prefix}job:job-00001`))!).status).toBe(JobStatus.New);
    expect(await redis.exists(`${prefix}job:job-00002`)).toBe(0);
    expect(fenced).toBe(1);
  });

  it('a failed write (Redis out of memory) is reported once, kept, and written once Redis takes it', async () => {
    const prefix = newPrefix();
    const errors: unknown[] = [];
    const store = await openStore(prefix, { batchMs: 5, retryMs: 50, onWriteError: (err) => errors.push(err) });
    await redis.config('SET', 'maxmemory', '1');
    try {
      store.save(job(1));
      await waitFor('a failed write', () => errors.length > 0);
      await expect(store.flush()).rejects.toThrow(/OOM/);
      await waitFor('more tries', () => store.writes >= 4);
      expect(errors).toHaveLength(1);
      store.save(job(2));
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
    // Retried on its own (no flush) once Redis accepts writes again.
    await waitFor('the retried write', async () => (await redis.exists(`${prefix}job:job-00002`)) === 1);
    await store.flush();
    expect(await redis.exists(`${prefix}job:job-00001`, `${prefix}job:job-00002`)).toBe(2);
  });
});

describe('RedisJobStore when Redis dies', () => {
  it('keeps what was flushed across a Redis SIGKILL and restart; the open store goes on writing', async () => {
    const prefix = newPrefix();
    const store = await openStore(prefix);
    for (let i = 0; i < 30; i++) store.save(job(i));
    store.saveToken({ accountId: ACCOUNT, token: 'token-7', requestHash: 'hash-7', jobId: 'job-00007' });
    await store.flush();
    await aofFsync();
    await server.kill();
    await server.restart();
    const reopened = await openStore(prefix);
    expect(reopened.list()).toHaveLength(30);
    expect(reopened.get('job-00029')).toEqual(job(29));
    expect(reopened.findToken(ACCOUNT, 'token-7')?.jobId).toBe('job-00007');
    store.save(job(30));
    await store.flush();
    expect(await redis.exists(`${prefix}job:job-00030`)).toBe(1);
  });

  it('a save made while Redis is down is written once it is back: flush waits for it, nothing lost', async () => {
    const prefix = newPrefix();
    const store = await openStore(prefix, { batchMs: 5 });
    store.save(job(1));
    await store.flush();
    await server.kill();
    let flushed = false;
    let pending: Promise<void>;
    try {
      for (let i = 2; i <= 10; i++) store.save(job(i));
      store.remove('job-00001');
      pending = store.flush().then(() => {
        flushed = true;
      });
      await waitFor('the write to be attempted', () => store.writes >= 2);
      expect(flushed).toBe(false);
    } finally {
      await server.restart();
    }
    await pending;
    const again = await openStore(prefix);
    expect(
      again
        .list()
        .map((j) => j.id)
        .sort(),
    ).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => job(n).id));
  });

  it('a Redis that comes back without its data gets the whole state written again', async () => {
    const prefix = newPrefix();
    let restarts = 0;
    const store = await openStore(prefix, { onRedisRestart: () => void restarts++ });
    for (let i = 0; i < 25; i++) store.save(job(i));
    store.saveToken({ accountId: ACCOUNT, token: 'token-3', requestHash: 'hash-3', jobId: 'job-00003' });
    await store.flush();
    await server.kill();
    // Its AOF lost, as if the crash took more than its last second.
    await rm(join(server.dir, 'appendonlydir'), { recursive: true, force: true });
    await server.restart();
    await waitFor('the store to see the restart', () => restarts === 1);
    await store.flush();
    const again = await openStore(prefix);
    expect(again.list()).toHaveLength(25);
    expect(again.findToken(ACCOUNT, 'token-3')?.jobId).toBe('job-00003');
  });
});
