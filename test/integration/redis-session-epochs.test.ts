/**
 * The web sessions' nonces in Redis (server/redis-session-epochs.ts), on a real redis-server: a
 * sign-out (bump) made by one leader holds for the next one, which reads the nonces at its start.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRedisSessionEpochs, sessionNoncesKey } from '../../src/server/redis-session-epochs.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';

describe('session nonces in Redis', () => {
  let server: TestRedis;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('draws a nonce once, keeps a bump for the next leader, and never shares nonces between keys', async () => {
    const first = await loadRedisSessionEpochs(redis, 'se1:');
    expect(first.get('AKID1')).toBeUndefined();
    const n1 = first.ensure('AKID1');
    expect(first.ensure('AKID1')).toBe(n1);
    expect(first.ensure('AKID2')).not.toBe(n1);
    await first.flush();
    // The next leader reads what the first one drew…
    const second = await loadRedisSessionEpochs(redis, 'se1:');
    expect(second.get('AKID1')).toBe(n1);
    // …and a sign-out there ends the sessions under the old nonce for every later leader.
    await second.bump('AKID1');
    const third = await loadRedisSessionEpochs(redis, 'se1:');
    expect(third.get('AKID1')).not.toBe(n1);
    expect(third.get('AKID1')).toBe(second.get('AKID1'));
    expect(await redis.hlen(sessionNoncesKey('se1:'))).toBe(2);
  });
});
