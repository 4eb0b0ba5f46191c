/**
 * The Redis URL of the scale-out mode (storage/redis/connection.ts), checked before any connection:
 * what it names, each way it can be wrong (InvalidConfiguration naming the URL and the fault), and
 * the password never shown.
 */
import { describe, expect, it } from 'vitest';
import { isS3BatchError } from '../../src/domain/errors.ts';
import { createRedis, parseRedisUrl, redactRedisUrl } from '../../src/storage/redis/connection.ts';

function refusal(url: string): string {
  try {
    parseRedisUrl(url);
  } catch (err) {
    if (isS3BatchError(err) && err.code === 'InvalidConfiguration') return err.message;
    throw err;
  }
  throw new Error(`${url} was accepted`);
}

describe('parseRedisUrl', () => {
  it('reads host, port, db, TLS and credentials, with the defaults', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6380/2')).toEqual({
      host: '127.0.0.1',
      port: 6380,
      db: 2,
      tls: false,
      username: undefined,
      password: undefined,
    });
    expect(parseRedisUrl('redis://redis.internal')).toMatchObject({ host: 'redis.internal', port: 6379, db: 0 });
    expect(parseRedisUrl('redis://h/')).toMatchObject({ db: 0 });
    expect(parseRedisUrl('rediss://app:p%40ss@h:7000/1')).toEqual({
      host: 'h',
      port: 7000,
      db: 1,
      tls: true,
      username: 'app',
      password: 'p@ss',
    });
    expect(parseRedisUrl('redis://:secret@[::1]:6379/0')).toMatchObject({ host: '::1', password: 'secret' });
  });

  it.each([
    ['not a URL', 'redis//h:6379', /not a URL/],
    ['host:port without a scheme', 'localhost:6379', /scheme must be redis:\/\/ or rediss:\/\//],
    ['another scheme', 'http://h:6379/0', /scheme must be redis:\/\/ or rediss:\/\//],
    ['no host', 'redis://:6379/0', /not a URL|no host/],
    ['a port out of range', 'redis://h:70000/0', /not a URL|out of range/],
    ['a port 0', 'redis://h:0/0', /out of range/],
    ['a db that is no number', 'redis://h:6379/jobs', /database number/],
    ['a negative db', 'redis://h:6379/-1', /database number/],
    ['a nested path', 'redis://h:6379/0/1', /database number/],
    ['a query', 'redis://h:6379/0?family=6', /no query/],
  ])('refuses %s, naming the URL', (_what, url, why) => {
    const message = refusal(url);
    expect(message).toMatch(why);
    expect(message).toContain('Invalid Redis URL');
  });

  it('never shows the password, in a refusal or a redacted URL', () => {
    expect(redactRedisUrl('redis://app:hunter2@h:6379/0')).toBe('redis://app:***@h:6379/0');
    expect(redactRedisUrl('redis://:hunter2@h/0')).toBe('redis://:***@h/0');
    expect(redactRedisUrl('redis://h:6379/0')).toBe('redis://h:6379/0');
    expect(refusal('redis://app:hunter2@h:6379/x')).not.toContain('hunter2');
    expect(refusal('http://app:hunter2@h:6379/0')).not.toContain('hunter2');
    // A password holding @, #, ? or / is hidden whole (the user part runs to the last @).
    expect(redactRedisUrl('redis://:p@ss@h/0')).toBe('redis://:***@h/0');
    expect(redactRedisUrl('redis://app:pa#ss?w/rd@h:6379')).toBe('redis://app:***@h:6379');
    expect(refusal('redis://:pa#ss@h:6379')).not.toContain('pa#ss');
    expect(refusal('redis://:pa#ss@h:6379')).not.toContain('ss@');
  });

  it('makes a client that does not connect until asked, with the settings BullMQ needs', () => {
    const redis = createRedis('redis://127.0.0.1:1/3', { name: 's3batch serve@host 1' });
    try {
      expect(redis.status).toBe('wait');
      expect(redis.options).toMatchObject({
        host: '127.0.0.1',
        port: 1,
        db: 3,
        maxRetriesPerRequest: null,
        connectionName: 's3batch-serve-host-1',
      });
    } finally {
      redis.disconnect();
    }
  });
});
