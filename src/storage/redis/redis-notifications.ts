/**
 * The notification state in the scale-out mode (docs/notifications.md#scale-out): one Redis hash,
 * `<prefix>notifications`, with the field `accounts` (webhooks and secrets) and a field
 * `job:<id>` per job's delivery log (its outbox entries included), so that the instance that takes
 * the lead next sends what is still pending and knows every account's webhooks. A write sets only
 * the fields that changed, in one script, fenced like the job store's (leader-lock.ts): only while
 * this instance's token still holds the leader key. A fenced write is an error for the store's
 * onWriteError; the instance ends anyway (the job store's fence).
 */
import type { Redis } from 'ioredis';
import type { NotificationPersistence } from '../notification-store.ts';
import type { Fence } from './leader-lock.ts';

/**
 * KEYS: fence key, the hash; ARGV: fence value ('' = no fence), then field, value pairs (value ''
 * deletes the field). 1 = written, 0 = fenced.
 */
const WRITE = `
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[2], ARGV[i]) else redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
end
return 1
`;

const JOB_FIELD = 'job:';

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
    name: `the Redis hash ${key}`,
    load: async () => {
      const all = await redis.hgetall(key);
      const jobs: [string, string][] = [];
      for (const [field, value] of Object.entries(all)) {
        if (field.startsWith(JOB_FIELD)) jobs.push([field.slice(JOB_FIELD.length), value]);
      }
      return { accounts: all.accounts, jobs };
    },
    save: async (batch) => {
      const args: string[] = [];
      if (batch.accounts !== undefined) args.push('accounts', batch.accounts);
      for (const [jobId, json] of batch.jobs) args.push(`${JOB_FIELD}${jobId}`, json ?? '');
      if (args.length === 0) return;
      const written = await redis.eval(WRITE, 2, fence?.key ?? key, key, fence?.value ?? '', ...args);
      if (written !== 1) throw new Error(`not written to ${key}: another instance leads`);
    },
  };
}
