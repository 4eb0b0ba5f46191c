/**
 * The web sessions' nonces (api/auth/session.ts SessionEpochs) in the scale-out mode: in a Redis
 * hash, `<prefix>session-nonces` (access key id → nonce), so that a sign-out made on one leader
 * still holds after a takeover (a nonce kept on one machine's disk would be lost with it). Read
 * whole when the leader starts (one entry per access key that ever signed in), written through.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { SessionEpochs } from '../api/auth/session.ts';

const newNonce = (): string => randomBytes(16).toString('base64url');

export function sessionNoncesKey(prefix: string): string {
  return `${prefix}session-nonces`;
}

export async function loadRedisSessionEpochs(redis: Redis, prefix: string): Promise<SessionEpochs> {
  const key = sessionNoncesKey(prefix);
  const nonces = new Map(Object.entries(await redis.hgetall(key)));
  /** Writes in the order they were made; flush() waits for the last. */
  let pending: Promise<unknown> = Promise.resolve();
  const write = (call: () => Promise<unknown>): Promise<unknown> => {
    pending = pending.then(call, call);
    return pending;
  };
  return {
    get: (id) => nonces.get(id),
    ensure(id) {
      let n = nonces.get(id);
      if (n === undefined) {
        nonces.set(id, (n = newNonce()));
        // Another instance that took the lead meanwhile may have drawn one: HSETNX keeps the first.
        void write(() => redis.hsetnx(key, id, n as string)).catch(() => undefined);
      }
      return n;
    },
    async bump(id) {
      const n = newNonce();
      nonces.set(id, n);
      await write(() => redis.hset(key, id, n));
    },
    async flush() {
      await pending;
    },
  };
}
