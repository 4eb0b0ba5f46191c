/**
 * The notification state in the scale-out mode (docs/notifications.md#scale-out): the webhooks,
 * secrets, outbox and delivery logs as one Redis key (`<prefix>notifications`), so that the
 * instance that takes the lead next sends what is still pending and knows every account's
 * webhooks. Each write is fenced like the job store's (leader-lock.ts): it happens only while
 * this instance's token still holds the leader key; a fenced write is an error for the store's
 * onWriteError, and the instance ends anyway (the job store's fence).
 */
import type { Redis } from 'ioredis';
import type { NotificationPersistence } from '../notification-store.ts';
import type { Fence } from './leader-lock.ts';

/** KEYS: fence key, state key; ARGV: fence value ('' = no fence), the text. 1 = written, 0 = fenced. */
const WRITE = `
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
`;

export function notificationsKey(prefix: string): string {
  return `${prefix}notifications`;
}

export function redisNotificationPersistence(
  redis: Redis,
  prefix: string,
  fence: Fence | undefined,
): NotificationPersistence {
  const key = notificationsKey(prefix);
  return {
    name: `the Redis key ${key}`,
    load: async () => (await redis.get(key)) ?? undefined,
    save: async (text) => {
      const written = await redis.eval(WRITE, 2, fence?.key ?? key, key, fence?.value ?? '', text);
      if (written !== 1) throw new Error(`not written to ${key}: another instance leads`);
    },
  };
}
