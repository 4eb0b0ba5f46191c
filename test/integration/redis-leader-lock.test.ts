/**
 * The scheduler role's lock (storage/redis/leader-lock.ts) on a real redis-server: one of two locks
 * leads, the other stands by; a leader that stops renewing as if SIGKILLed (no release) is replaced
 * within the 10 s; a clean release hands over at the next poll; a leader whose key was
 * taken is told so (onLost) and fenced; Redis going away makes the leader give the role up.
 * Each test has its own key prefix.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openRedis } from '../../src/storage/redis/connection.ts';
import { currentLeader, type Fence, LeaderLock } from '../../src/storage/redis/leader-lock.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';

let server: TestRedis;
const clients: Redis[] = [];
const locks: LeaderLock[] = [];
beforeAll(async () => {
  server = await startRedis();
});
afterEach(async () => {
  for (const lock of locks.splice(0)) lock.abandon();
  for (const c of clients.splice(0)) c.disconnect();
});
afterAll(async () => {
  await server.stop();
});

async function client(): Promise<Redis> {
  const redis = await openRedis(server.url, { name: 'lock-test' });
  clients.push(redis);
  return redis;
}

/** Polls `cond` until it holds; fails after `timeoutMs` naming what it waited for. */
async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Probe {
  lock: LeaderLock;
  fences: Fence[];
  lost: string[];
}

async function newLock(prefix: string, id: string, extra: { leaseMs?: number; renewMs?: number } = {}) {
  const probe: Probe = { lock: undefined as unknown as LeaderLock, fences: [], lost: [] };
  probe.lock = new LeaderLock(await client(), {
    prefix,
    id,
    url: `http://${id}.internal:8080`,
    onLeader: (fence) => void probe.fences.push(fence),
    onLost: (reason) => void probe.lost.push(reason),
    ...extra,
  });
  locks.push(probe.lock);
  return probe;
}

describe('LeaderLock', () => {
  it('one leads, the other stands by; a SIGKILLed leader is replaced within 10 s', async () => {
    const prefix = `t-${randomUUID()}:`;
    const a = await newLock(prefix, 'a');
    a.lock.start();
    await waitFor('a to lead', () => a.lock.isLeader);
    const b = await newLock(prefix, 'b');
    b.lock.start();
    expect(await b.lock.leader()).toMatchObject({ id: 'a', url: 'http://a.internal:8080' });
    expect(a.fences).toEqual([{ key: `${prefix}leader`, value: a.lock.fence!.value }]);
    // Standing by through several renewals of a's lease (longer than a lease): b never leads.
    const renewedUntil = Date.now() + 6_000;
    await waitFor('a lease and more to pass', () => Date.now() > renewedUntil || b.lock.isLeader, 10_000);
    expect(b.lock.isLeader).toBe(false);
    expect(a.lock.isLeader).toBe(true);

    // a dies without releasing (its timers stop, its key stays until it expires).
    a.lock.abandon();
    // The bound on the failover, as a deadline.
    await waitFor('b to take over', () => b.lock.isLeader, 10_000);
    expect(await currentLeader(clients[0]!, prefix)).toMatchObject({ id: 'b', url: 'http://b.internal:8080' });
    expect(b.fences).toHaveLength(1);
    expect(b.fences[0]!.value).not.toBe(a.fences[0]!.value);
  });

  it('a clean release hands the role over at the next poll', async () => {
    const prefix = `t-${randomUUID()}:`;
    const a = await newLock(prefix, 'a');
    a.lock.start();
    await waitFor('a to lead', () => a.lock.isLeader);
    const b = await newLock(prefix, 'b');
    b.lock.start();
    await a.lock.release();
    expect(a.lock.isLeader).toBe(false);
    await waitFor('b to take over', () => b.lock.isLeader, 5_000);
    expect(a.lost).toEqual([]); // a release is no loss
    expect(await b.lock.leader()).toMatchObject({ id: 'b' });
    // a's release deletes only its own key: releasing again leaves b's alone.
    await a.lock.release();
    expect(await b.lock.leader()).toMatchObject({ id: 'b' });
  });

  it('a leader whose key another holds is told (onLost) and stands by again', async () => {
    const prefix = `t-${randomUUID()}:`;
    const a = await newLock(prefix, 'a');
    a.lock.start();
    await waitFor('a to lead', () => a.lock.isLeader);
    const other = JSON.stringify({ id: 'x', url: 'http://x', since: new Date().toISOString() });
    await clients[0]!.set(`${prefix}leader`, other, 'PX', 60_000);
    await waitFor('a to notice', () => a.lost.length === 1);
    expect(a.lost[0]).toMatch(/another instance holds it/);
    expect(a.lock.isLeader).toBe(false);
    expect(await a.lock.leader()).toMatchObject({ id: 'x' });
    // Standing by again: once the other's key is gone, a leads anew with a new fencing token.
    await clients[0]!.del(`${prefix}leader`);
    await waitFor('a to lead again', () => a.lock.isLeader);
    expect(a.fences).toHaveLength(2);
    expect(a.fences[1]!.value).not.toBe(a.fences[0]!.value);
  });

  it('gives the role up when Redis is gone for longer than the lease allows, and leads again after', async () => {
    const prefix = `t-${randomUUID()}:`;
    const a = await newLock(prefix, 'a', { leaseMs: 3_000, renewMs: 500 });
    a.lock.start();
    await waitFor('a to lead', () => a.lock.isLeader);
    await server.kill();
    try {
      await waitFor('a to give up', () => a.lost.length === 1, 10_000);
      expect(a.lost[0]).toMatch(/no lease renewal succeeded/);
      expect(a.lock.isLeader).toBe(false);
    } finally {
      await server.restart();
    }
    await waitFor('a to lead again', () => a.lock.isLeader, 15_000);
  });
});
