/**
 * Where notifications keep their state (docs/notifications.md): each account's webhooks and
 * signing secret, the outbox (pending deliveries) and each job's delivery log, which are the
 * same records (domain/notification.ts `Delivery`). The state is held in memory and every change
 * is written whole through a persistence port (coalesced: one write in flight, the next one after
 * it), so pending deliveries survive a restart: a file (`<data-dir>/notifications.json`, a
 * temporary file renamed over it) or, in the scale-out mode, one Redis key
 * (storage/redis/redis-notifications.ts). Without a port (tests), in memory only.
 *
 * Bounds: a job keeps its last MAX_DELIVERIES_PER_JOB deliveries (settled ones go first), the logs
 * of at most MAX_JOBS_LOGGED jobs are kept (the oldest settled one goes first), and the outbox holds
 * at most MAX_PENDING deliveries (past it a new one is failed at once, logged as such).
 * A job's log goes when the job's record goes (`removeJob`, at retention).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { S3BatchError } from '../domain/errors.ts';
import { settle, type Delivery, type Webhook } from '../domain/notification.ts';

export const MAX_DELIVERIES_PER_JOB = 100;
/** Jobs whose logs are kept: past it the oldest log without a pending delivery goes (the state is written whole). */
export const MAX_JOBS_LOGGED = 5_000;
export const MAX_PENDING = 10_000;

interface AccountSettings {
  secret?: string | undefined;
  webhooks: Webhook[];
}

interface StoredState {
  version: 1;
  accounts: Record<string, AccountSettings>;
  jobs: Record<string, Delivery[]>;
}

/** Where the state is kept between runs: the whole of it as one JSON text. */
export interface NotificationPersistence {
  /** What it is, for messages (a file path, a Redis key). */
  readonly name: string;
  /** The stored text; undefined when nothing is stored yet. */
  load(): Promise<string | undefined>;
  save(text: string): Promise<void>;
}

/** `file`, replaced whole on each save (a temporary file renamed over it), mode 0600: it holds secrets. */
export function fileNotificationPersistence(file: string): NotificationPersistence {
  return {
    name: file,
    load: async () => {
      try {
        return await readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    save: async (text) => {
      const tmp = `${file}.tmp`;
      await mkdir(dirname(file), { recursive: true });
      await writeFile(tmp, text, { mode: 0o600 });
      await rename(tmp, file);
    },
  };
}

export class NotificationStore {
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;
  /** The outbox: every pending delivery (the same objects as in the logs). */
  private readonly outbox = new Set<Delivery>();
  private jobCount = 0;

  private constructor(
    private readonly persistence: NotificationPersistence | undefined,
    private readonly state: StoredState,
    private readonly onWriteError: (err: unknown) => void,
  ) {
    for (const list of Object.values(state.jobs)) {
      this.jobCount++;
      for (const d of list) if (d.State === 'pending') this.outbox.add(d);
    }
  }

  /**
   * Reads the stored state (none stored: an empty store); `persistence` undefined: in memory only.
   * A state it cannot read is InvalidConfiguration.
   */
  static async open(
    persistence: NotificationPersistence | undefined,
    onWriteError: (err: unknown) => void = () => undefined,
  ): Promise<NotificationStore> {
    let state: StoredState = { version: 1, accounts: {}, jobs: {} };
    if (persistence !== undefined) {
      try {
        const text = await persistence.load();
        if (text !== undefined) {
          const parsed = JSON.parse(text) as StoredState;
          if (parsed.version !== 1 || typeof parsed.accounts !== 'object' || typeof parsed.jobs !== 'object')
            throw new Error('not a notifications state of this version');
          state = parsed;
        }
      } catch (err) {
        throw new S3BatchError('InvalidConfiguration', `Cannot read ${persistence.name}: ${(err as Error).message}`);
      }
    }
    return new NotificationStore(persistence, state, onWriteError);
  }

  webhooks(accountId: string): readonly Webhook[] {
    return this.state.accounts[accountId]?.webhooks ?? [];
  }

  setWebhooks(accountId: string, webhooks: Webhook[]): void {
    this.account(accountId).webhooks = webhooks;
    this.save();
  }

  /** The account's secret; `create`: made now when it has none. */
  secret(accountId: string, create: true): string;
  secret(accountId: string, create: boolean): string | undefined;
  secret(accountId: string, create: boolean): string | undefined {
    const existing = this.state.accounts[accountId]?.secret;
    if (existing !== undefined || !create) return existing;
    return this.rotateSecret(accountId);
  }

  rotateSecret(accountId: string): string {
    const secret = `whsec_${randomBytes(32).toString('hex')}`;
    this.account(accountId).secret = secret;
    this.save();
    return secret;
  }

  /** Adds a new delivery to its job's log (and, pending, to the outbox). */
  add(d: Delivery): void {
    if (d.State === 'pending') {
      if (this.outbox.size >= MAX_PENDING)
        settle(d, 'failed', `the outbox is full (${MAX_PENDING} pending deliveries)`);
      else this.outbox.add(d);
    }
    if (this.state.jobs[d.JobId] === undefined) {
      if (this.jobCount >= MAX_JOBS_LOGGED) this.dropOldestLogs(MAX_JOBS_LOGGED - 1);
      this.jobCount++;
    }
    const list = (this.state.jobs[d.JobId] ??= []);
    list.push(d);
    while (list.length > MAX_DELIVERIES_PER_JOB) {
      const i = list.findIndex((x) => x.State !== 'pending');
      if (i < 0) break;
      list.splice(i, 1);
    }
    this.save();
  }

  /** A delivery changed (an attempt recorded, or it settled). */
  updated(d: Delivery): void {
    if (d.State !== 'pending') this.outbox.delete(d);
    this.save();
  }

  /** Every pending delivery (the outbox), O(pending). */
  pending(): Delivery[] {
    return [...this.outbox];
  }

  get pendingSize(): number {
    return this.outbox.size;
  }

  deliveries(jobId: string): readonly Delivery[] {
    return this.state.jobs[jobId] ?? [];
  }

  removeJob(jobId: string): void {
    const list = this.state.jobs[jobId];
    if (list === undefined) return;
    for (const d of list) this.outbox.delete(d);
    delete this.state.jobs[jobId];
    this.jobCount--;
    this.save();
  }

  /** Waits until every change so far is written. */
  async flush(): Promise<void> {
    if (this.dirty) await this.write();
    await this.writing;
  }

  close(): Promise<void> {
    return this.flush();
  }

  /** Drops the oldest job logs without a pending delivery until at most `keep` remain (insertion order: oldest first). */
  private dropOldestLogs(keep: number): void {
    for (const jobId in this.state.jobs) {
      if (this.jobCount <= keep) return;
      if (this.state.jobs[jobId]?.some((x) => x.State === 'pending')) continue;
      delete this.state.jobs[jobId];
      this.jobCount--;
    }
  }

  private account(accountId: string): AccountSettings {
    return (this.state.accounts[accountId] ??= { webhooks: [] });
  }

  private save(): void {
    if (this.persistence === undefined) return;
    if (this.dirty) return; // a write is queued already and will carry this change
    this.dirty = true;
    void this.write();
  }

  /** One write at a time; each writes the state as it is when it starts. */
  private write(): Promise<void> {
    const persistence = this.persistence;
    if (persistence === undefined) return Promise.resolve();
    this.writing = this.writing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      try {
        await persistence.save(JSON.stringify(this.state));
      } catch (err) {
        this.dirty = true; // retried at the next change or flush
        this.onWriteError(err);
      }
    });
    return this.writing;
  }
}
