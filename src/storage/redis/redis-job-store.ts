/**
 * The job store of the scale-out mode (issue 14) in Redis, so that no machine's disk holds the only
 * copy of a job. Keys, under the deployment's prefix P (`s3batch:` by default):
 *
 *   P job:<id>                   string: the JobRecord as JSON
 *   P jobs                       set: every job id (what opening loads)
 *   P token:<account>:<token>    string: the IdempotencyEntry as JSON
 *   P tokens                     set: every `<account>:<token>` with a token key
 *   P page-token-key             string: the 32-byte key that signs ListJobs page tokens
 *                                (loadOrCreateRedisSecret)
 *
 * The store is a MemoryJobStore (the records and the job-index.ts indexes in memory, so every read
 * is synchronous and no request reads Redis), loaded from Redis at `open`, with the writes behind
 * it: `save`, `remove` and `saveToken` mark a job or a token dirty, and `batchMs` (50 ms) later one
 * Lua script writes the current state of everything dirty, atomically (a batch of more than 1,000
 * keys, which only a rewrite after a Redis restart or a mass removal makes, in parts of 1,000). The script first checks the
 * fence: the leader key (leader-lock.ts) still holds this instance's token; if not, it writes
 * nothing, the store keeps the batch, stops writing and calls `onFenced` (the leader lost its role;
 * a successor owns the state now). A write that fails otherwise (an error reply, e.g. OOM) keeps
 * its batch and is tried again after `retryMs`, reported once per failure streak by `onWriteError`.
 * While Redis is unreachable the script waits in the client's queue (maxRetriesPerRequest: null)
 * and runs once Redis is back. Every write puts the whole current value of each key it touches, so
 * one run twice (a reply lost with a connection) changes nothing.
 *
 * Durability: what `flush()` resolved for is in Redis; Redis' AOF (`appendonly yes`, fsync every
 * second) makes it survive a Redis crash except for its last second. To close that window, the store
 * watches Redis' run_id: after a Redis restart it writes its whole state again (and deletes what
 * Redis still holds that the store removed), fenced like any write.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { S3BatchError } from '../../domain/errors.ts';
import type { JobRecord } from '../../domain/job.ts';
import type { IdempotencyEntry } from '../job-store.ts';
import { emptyStoreData, MemoryJobStore, tokenKey, type JobStoreData } from '../memory-job-store.ts';
import type { Fence } from './leader-lock.ts';

export interface RedisJobStoreOptions {
  /** Key prefix, e.g. `s3batch:`. */
  readonly prefix: string;
  /** The leader's fencing token (leader-lock.ts `fence`); undefined: unfenced (tools, tests). */
  readonly fence: Fence | undefined;
  readonly batchMs?: number;
  /** How long after a failed write the store tries again (default 1,000 ms). */
  readonly retryMs?: number;
  readonly onWriteError?: (err: unknown) => void;
  /** The fence refused a write: this instance is no longer leader; the store writes no more. */
  readonly onFenced?: () => void;
  /**
   * Redis restarted (its run_id changed); the store is writing its whole state again. Other keys
   * (task lists, chunk indexes, BullMQ's) may have lost their last second: the caller may restart
   * its engine from Redis.
   */
  readonly onRedisRestart?: () => void;
}

/** Ids and MGET values per round trip when opening. */
const LOAD_PAGE = 1000;
/** Keys per write script at most (a bigger batch is written in parts: writeBatch). */
const SCRIPT_KEYS = 1000;

/** The value written for a record or token ('' deletes its key). */
const json = (value: object | undefined): string => (value === undefined ? '' : JSON.stringify(value));

/**
 * KEYS: fence key, P jobs, P tokens, then one key per entry; ARGV: fence value ('' = no fence), then
 * per entry its kind ('j' job, 't' token), its set member, its value ('' = delete). 1 = written, 0 = fenced.
 */
const WRITE = `if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 4, #KEYS do
  local a = (i - 4) * 3 + 2
  local set = KEYS[2]
  if ARGV[a] == 't' then set = KEYS[3] end
  if ARGV[a + 2] == '' then
    redis.call('DEL', KEYS[i])
    redis.call('SREM', set, ARGV[a + 1])
  else
    redis.call('SET', KEYS[i], ARGV[a + 2])
    redis.call('SADD', set, ARGV[a + 1])
  end
end
return 1`;

/** The store's keys under `prefix`. */
export function redisStoreKeys(prefix: string) {
  return {
    job: (id: string) => `${prefix}job:${id}`,
    jobs: `${prefix}jobs`,
    token: (member: string) => `${prefix}token:${member}`,
    tokens: `${prefix}tokens`,
    pageTokenKey: `${prefix}page-token-key`,
  };
}

/** The `P tokens` member of a token: `<account>:<token>`. */
const tokenMember = (accountId: string, token: string): string => `${accountId}:${token}`;

export class RedisJobStore extends MemoryJobStore {
  /** Batches written (or tried) so far (observable by tests: batching keeps it small). */
  writes = 0;
  private readonly keys: ReturnType<typeof redisStoreKeys>;
  private readonly dirtyJobs = new Set<string>();
  /** Dirty tokens by their `P tokens` member. */
  private readonly dirtyTokens = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private writeError: unknown = undefined;
  private fenced = false;
  private closed = false;
  private runId: string | undefined;
  private readonly onReady = (): void => void this.checkRestart();

  private constructor(
    private readonly redis: Redis,
    data: JobStoreData,
    private readonly options: RedisJobStoreOptions,
  ) {
    super(data);
    this.keys = redisStoreKeys(options.prefix);
  }

  /** Loads every job and token from Redis (InvalidConfiguration when a value is not what s3batch wrote). */
  static async open(redis: Redis, options: RedisJobStoreOptions): Promise<RedisJobStore> {
    const keys = redisStoreKeys(options.prefix);
    const data = emptyStoreData();
    const runId = await serverRunId(redis);
    for (const job of await loadAll<JobRecord>(redis, keys.jobs, keys.job)) {
      if (typeof job.id !== 'string' || typeof job.accountId !== 'string' || typeof job.creationTime !== 'string')
        throw new S3BatchError('InvalidConfiguration', `The Redis key ${keys.job(String(job.id))} is no job record`);
      data.jobs[job.id] = job;
    }
    for (const entry of await loadAll<IdempotencyEntry>(redis, keys.tokens, keys.token))
      data.tokens[tokenKey(entry.accountId, entry.token)] = entry;
    const store = new RedisJobStore(redis, data, options);
    store.runId = runId;
    redis.on('ready', store.onReady);
    return store;
  }

  override save(job: JobRecord): void {
    this.dirtyJobs.add(job.id);
    super.save(job);
  }

  override remove(id: string): void {
    const job = this.get(id);
    if (!job) return;
    this.dirtyJobs.add(id);
    this.dirtyTokens.set(
      tokenMember(job.accountId, job.clientRequestToken),
      tokenKey(job.accountId, job.clientRequestToken),
    );
    super.remove(id);
  }

  override saveToken(entry: IdempotencyEntry): void {
    this.dirtyTokens.set(tokenMember(entry.accountId, entry.token), tokenKey(entry.accountId, entry.token));
    super.saveToken(entry);
  }

  protected override changed(): void {
    this.schedule(this.options.batchMs ?? 50);
  }

  private schedule(ms: number): void {
    if (this.closed || this.fenced || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.writeNow();
    }, ms);
  }

  /** Writes are serialised; the chain never rejects (the error is kept for flush()). */
  private writeNow(): Promise<void> {
    this.writing = this.writing.then(async () => {
      if (this.fenced || (this.dirtyJobs.size === 0 && this.dirtyTokens.size === 0)) return;
      this.writes++;
      const jobs = [...this.dirtyJobs];
      const tokens = [...this.dirtyTokens];
      this.dirtyJobs.clear();
      this.dirtyTokens.clear();
      let written: unknown;
      try {
        written = await this.writeBatch(jobs, tokens);
      } catch (err) {
        this.keep(jobs, tokens);
        if (this.writeError === undefined) this.options.onWriteError?.(err);
        this.writeError = err;
        this.schedule(this.options.retryMs ?? 1_000);
        return;
      }
      if (written !== 1) {
        this.keep(jobs, tokens);
        this.fenced = true;
        this.options.onFenced?.();
        return;
      }
      this.writeError = undefined;
    });
    return this.writing;
  }

  /** A batch not written: dirty again (with whatever was changed since). */
  private keep(jobs: readonly string[], tokens: readonly [string, string][]): void {
    for (const id of jobs) this.dirtyJobs.add(id);
    for (const [member, key] of tokens) if (!this.dirtyTokens.has(member)) this.dirtyTokens.set(member, key);
  }

  /**
   * Writes the batch: one script, or for a batch of more than SCRIPT_KEYS keys (a rewrite after a
   * Redis restart, a mass removal) one script per SCRIPT_KEYS keys, each fenced, so that no script
   * holds Redis for long (~25 µs per key). 1 = written, 0 = fenced.
   */
  private async writeBatch(jobs: readonly string[], tokens: readonly [string, string][]): Promise<unknown> {
    const { fence } = this.options;
    const entries: readonly (readonly [kind: 'j' | 't', key: string, member: string, value: () => string])[] = [
      ...jobs.map((id) => ['j', this.keys.job(id), id, () => json(this.get(id))] as const),
      ...tokens.map(
        ([member, key]) => ['t', this.keys.token(member), member, () => json(this.data.tokens[key])] as const,
      ),
    ];
    for (let from = 0; from < entries.length; from += SCRIPT_KEYS) {
      const keys = [fence?.key ?? this.keys.jobs, this.keys.jobs, this.keys.tokens];
      const args = [fence?.value ?? ''];
      for (const [kind, key, member, value] of entries.slice(from, from + SCRIPT_KEYS)) {
        keys.push(key);
        args.push(kind, member, value());
      }
      if ((await this.redis.eval(WRITE, keys.length, ...keys, ...args)) !== 1) return 0;
    }
    return 1;
  }

  /** After a reconnection: a Redis that restarted may have lost its last second; write everything again. */
  private async checkRestart(): Promise<void> {
    let runId: string;
    let inRedis: [string[], string[]];
    try {
      runId = await serverRunId(this.redis);
      if (runId === this.runId || this.closed) return;
      inRedis = [await this.redis.smembers(this.keys.jobs), await this.redis.smembers(this.keys.tokens)];
    } catch (err) {
      this.options.onWriteError?.(err);
      return;
    }
    this.runId = runId;
    for (const id of [...Object.keys(this.data.jobs), ...inRedis[0]]) this.dirtyJobs.add(id);
    for (const entry of Object.values(this.data.tokens))
      this.dirtyTokens.set(tokenMember(entry.accountId, entry.token), tokenKey(entry.accountId, entry.token));
    for (const member of inRedis[1]) {
      if (this.dirtyTokens.has(member)) continue;
      // Removed here, still in Redis: deleted by the write (its mirror key is absent, so '' is written).
      this.dirtyTokens.set(member, `\u0000${member}`);
    }
    this.schedule(0);
    this.options.onRedisRestart?.();
  }

  /** True once a write was refused by the fence: this store writes no more. */
  get isFenced(): boolean {
    return this.fenced;
  }

  override async flush(): Promise<void> {
    if (this.timer || this.dirtyJobs.size > 0 || this.dirtyTokens.size > 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      await this.writeNow();
    }
    await this.writing;
    if (this.fenced)
      throw new S3BatchError(
        'InternalServiceException',
        'The job store lost the leader lock (another s3batch serve is leader): its changes were not written',
      );
    if (this.writeError !== undefined) throw this.writeError;
  }

  override async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.closed = true;
      clearTimeout(this.timer);
      this.timer = undefined;
      this.redis.off('ready', this.onReady);
    }
  }
}

async function serverRunId(redis: Redis): Promise<string> {
  const info = await redis.info('server');
  return /run_id:(\w+)/.exec(info)?.[1] ?? '';
}

/** The values of every member of `set` (JSON), MGET in pages; members whose key is gone are skipped. */
async function loadAll<T>(redis: Redis, set: string, keyOf: (member: string) => string): Promise<T[]> {
  const out: T[] = [];
  let cursor = '0';
  do {
    const [next, members] = await redis.sscan(set, cursor, 'COUNT', LOAD_PAGE);
    cursor = next;
    if (members.length === 0) continue;
    const values = await redis.mget(members.map(keyOf));
    values.forEach((raw, i) => {
      if (raw === null) return;
      try {
        out.push(JSON.parse(raw) as T);
      } catch {
        throw new S3BatchError('InvalidConfiguration', `The Redis key ${keyOf(members[i]!)} is not JSON`);
      }
    });
  } while (cursor !== '0');
  return out;
}

/**
 * The `bytes`-long secret at `key`, made on first use (SET NX of random bytes, so two instances
 * starting at once agree on one): like storage/secret-file.ts, in Redis.
 */
export async function loadOrCreateRedisSecret(redis: Redis, key: string, bytes = 32): Promise<Buffer> {
  await redis.set(key, randomBytes(bytes), 'NX');
  const stored = await redis.getBuffer(key);
  if (stored?.length === bytes) return stored;
  throw new S3BatchError(
    'InvalidConfiguration',
    `The Redis key ${key} must hold ${bytes} bytes (it holds ${stored?.length ?? 0}); delete it and s3batch makes a new one`,
  );
}
