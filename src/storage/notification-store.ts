/**
 * Where notifications keep their state (docs/notifications.md): each account's webhooks and
 * signing secret, the outbox (pending deliveries) and each job's delivery log, which are the
 * same records (domain/notification.ts `Delivery`). The state is held in memory; a change marks
 * what it touched (the accounts, or one job's log) and a write of the marked parts follows
 * (coalesced: one write in flight, the changes made meanwhile in the next one), so a save costs
 * the job it touched, not every job, and pending deliveries survive a restart. The parts go
 * through a persistence port: files under `<data-dir>/notifications/` (fileNotificationPersistence)
 * or, in the scale-out mode, one Redis hash (storage/redis/redis-notifications.ts). Without a port
 * (tests), in memory only.
 *
 * Bounds: a job keeps its last MAX_DELIVERIES_PER_JOB deliveries (settled ones go first), the logs
 * of at most MAX_JOBS_LOGGED jobs are kept (the oldest settled one goes first), and the outbox holds
 * at most MAX_PENDING deliveries (past it a new one is failed at once, logged as such).
 * A job's log goes when the job's record goes (`removeJob`, at retention).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { S3BatchError } from '../domain/errors.ts';
import { settle, type Delivery, type Webhook } from '../domain/notification.ts';
import { isErrno } from './fs-writes.ts';

export const MAX_DELIVERIES_PER_JOB = 100;
/** Jobs whose logs are kept: past it the oldest log without a pending delivery goes. */
export const MAX_JOBS_LOGGED = 5_000;
export const MAX_PENDING = 10_000;

interface AccountSettings {
  secret?: string | undefined;
  webhooks: Webhook[];
}

/** What changed since the last write. */
export interface NotificationBatch {
  /** Every account's webhooks and secret, as JSON, when they changed. */
  readonly accounts?: string | undefined;
  /** Each changed job's log as JSON; null: the log is gone. */
  readonly jobs: ReadonlyMap<string, string | null>;
}

/** What was stored: the accounts' JSON and each job's log's JSON. */
export interface StoredNotifications {
  readonly accounts?: string | undefined;
  readonly jobs: readonly (readonly [jobId: string, json: string])[];
}

/** Where the state is kept between runs. */
export interface NotificationPersistence {
  /** What it is, for messages (a folder, a Redis key). */
  readonly name: string;
  load(): Promise<StoredNotifications>;
  save(batch: NotificationBatch): Promise<void>;
}

/** A job id as a file name: ids are UUIDs; anything else is encoded so it stays one name in `dir`. */
const fileOf = (jobId: string): string =>
  /^[A-Za-z0-9-]{1,100}$/.test(jobId) ? `${jobId}.json` : `${encodeURIComponent(jobId).replaceAll('.', '%2E')}.json`;

/**
 * Files under `dir`: `accounts.json` and `jobs/<job id>.json`, each replaced whole (a temporary file
 * renamed over it), mode 0600: the accounts' file holds the secrets.
 */
export function fileNotificationPersistence(dir: string): NotificationPersistence {
  const jobsDir = join(dir, 'jobs');
  const replace = async (file: string, text: string): Promise<void> => {
    const tmp = `${file}.tmp`;
    await writeFile(tmp, text, { mode: 0o600 });
    await rename(tmp, file);
  };
  return {
    name: dir,
    load: async () => {
      let accounts: string | undefined;
      try {
        accounts = await readFile(join(dir, 'accounts.json'), 'utf8');
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
      let names: string[] = [];
      try {
        names = (await readdir(jobsDir)).filter((n) => n.endsWith('.json'));
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
      const jobs: [string, string][] = [];
      for (const name of names) {
        jobs.push([decodeURIComponent(name.slice(0, -'.json'.length)), await readFile(join(jobsDir, name), 'utf8')]);
      }
      return { accounts, jobs };
    },
    save: async (batch) => {
      await mkdir(jobsDir, { recursive: true });
      if (batch.accounts !== undefined) await replace(join(dir, 'accounts.json'), batch.accounts);
      for (const [jobId, json] of batch.jobs) {
        const file = join(jobsDir, fileOf(jobId));
        if (json === null) await rm(file, { force: true });
        else await replace(file, json);
      }
    },
  };
}

export class NotificationStore {
  private writing: Promise<void> = Promise.resolve();
  /** A write is queued and has not started: it will carry any change made until it starts. */
  private queued = false;
  private accountsDirty = false;
  private readonly dirtyJobs = new Set<string>();
  /** The outbox: every pending delivery (the same objects as in the logs). */
  private readonly outbox = new Set<Delivery>();

  private constructor(
    private readonly persistence: NotificationPersistence | undefined,
    private readonly accounts: Record<string, AccountSettings>,
    /** Each job's log; a Map keeps insertion order, oldest job first. */
    private readonly jobs: Map<string, Delivery[]>,
    private readonly onWriteError: (err: unknown) => void,
  ) {
    for (const list of jobs.values()) for (const d of list) if (d.State === 'pending') this.outbox.add(d);
  }

  /**
   * Reads the stored state (none stored: an empty store); `persistence` undefined: in memory only.
   * A state it cannot read is InvalidConfiguration.
   */
  static async open(
    persistence: NotificationPersistence | undefined,
    onWriteError: (err: unknown) => void = () => undefined,
  ): Promise<NotificationStore> {
    let accounts: Record<string, AccountSettings> = {};
    const jobs = new Map<string, Delivery[]>();
    if (persistence !== undefined) {
      try {
        const stored = await persistence.load();
        if (stored.accounts !== undefined) {
          const parsed = JSON.parse(stored.accounts) as unknown;
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
            throw new Error('the accounts are not a JSON object');
          accounts = parsed as Record<string, AccountSettings>;
        }
        const loaded = stored.jobs.map(([jobId, json]) => {
          const list = JSON.parse(json) as unknown;
          if (!Array.isArray(list)) throw new Error(`the log of job ${jobId} is not a JSON list`);
          return [jobId, list as Delivery[]] as const;
        });
        // Oldest job first (by its first delivery), as they were added.
        loaded.sort(([, a], [, b]) => (a[0]?.CreatedAt ?? '').localeCompare(b[0]?.CreatedAt ?? ''));
        for (const [jobId, list] of loaded) jobs.set(jobId, list);
      } catch (err) {
        throw new S3BatchError('InvalidConfiguration', `Cannot read ${persistence.name}: ${(err as Error).message}`);
      }
    }
    return new NotificationStore(persistence, accounts, jobs, onWriteError);
  }

  webhooks(accountId: string): readonly Webhook[] {
    return this.accounts[accountId]?.webhooks ?? [];
  }

  setWebhooks(accountId: string, webhooks: Webhook[]): void {
    this.account(accountId).webhooks = webhooks;
    this.save(undefined);
  }

  /** The account's secret; `create`: made now when it has none. */
  secret(accountId: string, create: true): string;
  secret(accountId: string, create: boolean): string | undefined;
  secret(accountId: string, create: boolean): string | undefined {
    const existing = this.accounts[accountId]?.secret;
    if (existing !== undefined || !create) return existing;
    return this.rotateSecret(accountId);
  }

  rotateSecret(accountId: string): string {
    const secret = `whsec_${randomBytes(32).toString('hex')}`;
    this.account(accountId).secret = secret;
    this.save(undefined);
    return secret;
  }

  /** Adds a new delivery to its job's log (and, pending, to the outbox). */
  add(d: Delivery): void {
    if (d.State === 'pending') {
      if (this.outbox.size >= MAX_PENDING)
        settle(d, 'failed', `the outbox is full (${MAX_PENDING} pending deliveries)`);
      else this.outbox.add(d);
    }
    let list = this.jobs.get(d.JobId);
    if (list === undefined) {
      if (this.jobs.size >= MAX_JOBS_LOGGED) this.dropOldestLogs(MAX_JOBS_LOGGED - 1);
      list = [];
      this.jobs.set(d.JobId, list);
    }
    list.push(d);
    while (list.length > MAX_DELIVERIES_PER_JOB) {
      const i = list.findIndex((x) => x.State !== 'pending');
      if (i < 0) break;
      list.splice(i, 1);
    }
    this.save(d.JobId);
  }

  /** A delivery changed (an attempt recorded, or it settled). */
  updated(d: Delivery): void {
    if (d.State !== 'pending') this.outbox.delete(d);
    if (this.jobs.has(d.JobId)) this.save(d.JobId);
  }

  /** Every pending delivery (the outbox), O(pending). */
  pending(): Delivery[] {
    return [...this.outbox];
  }

  get pendingSize(): number {
    return this.outbox.size;
  }

  deliveries(jobId: string): readonly Delivery[] {
    return this.jobs.get(jobId) ?? [];
  }

  removeJob(jobId: string): void {
    const list = this.jobs.get(jobId);
    if (list === undefined) return;
    for (const d of list) this.outbox.delete(d);
    this.jobs.delete(jobId);
    this.save(jobId);
  }

  /** Waits until every change so far is written. */
  async flush(): Promise<void> {
    if (!this.queued && (this.accountsDirty || this.dirtyJobs.size > 0)) this.queue();
    await this.writing;
  }

  close(): Promise<void> {
    return this.flush();
  }

  /** Drops the oldest job logs without a pending delivery until at most `keep` remain. */
  private dropOldestLogs(keep: number): void {
    for (const [jobId, list] of this.jobs) {
      if (this.jobs.size <= keep) return;
      if (list.some((x) => x.State === 'pending')) continue;
      this.jobs.delete(jobId);
      this.save(jobId);
    }
  }

  private account(accountId: string): AccountSettings {
    return (this.accounts[accountId] ??= { webhooks: [] });
  }

  /** Marks the accounts (`jobId` undefined) or a job's log as changed; a write follows. */
  private save(jobId: string | undefined): void {
    if (this.persistence === undefined) return;
    if (jobId === undefined) this.accountsDirty = true;
    else this.dirtyJobs.add(jobId);
    if (!this.queued) this.queue();
  }

  /** Queues one write after the one in flight; it writes what is marked when it starts. */
  private queue(): void {
    const persistence = this.persistence;
    if (persistence === undefined) return;
    this.queued = true;
    this.writing = this.writing.then(async () => {
      this.queued = false;
      const accounts = this.accountsDirty ? JSON.stringify(this.accounts) : undefined;
      const jobs = new Map<string, string | null>();
      for (const jobId of this.dirtyJobs) {
        const list = this.jobs.get(jobId);
        jobs.set(jobId, list === undefined ? null : JSON.stringify(list));
      }
      this.accountsDirty = false;
      this.dirtyJobs.clear();
      if (accounts === undefined && jobs.size === 0) return;
      try {
        await persistence.save({ accounts, jobs });
      } catch (err) {
        // Marked again: written with the next change, or by flush().
        if (accounts !== undefined) this.accountsDirty = true;
        for (const jobId of jobs.keys()) this.dirtyJobs.add(jobId);
        this.onWriteError(err);
      }
    });
  }
}
