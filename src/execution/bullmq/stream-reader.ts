/**
 * The engine's one blocking reader of the scale-out mode: XREAD BLOCK over two streams at once, the
 * workers' progress stream (protocol.ts ProgressEntry) and BullMQ's event stream of the chunk
 * queue (what BullMQ's QueueEvents reads: `active`, `completed` with `returnvalue`, `failed` with
 * `failedReason`, `stalled`…), on a connection of its own.
 *
 * Reading both in one command orders them: a worker adds its last progress entry of a chunk before
 * the chunk's job completes, so that entry is in the same reply as the `completed` event or an
 * earlier one; each reply's progress entries are handled before its events. Both streams are read
 * from their end at start(): what happened before is what the placement finds in the queue.
 */
import type { Redis } from 'ioredis';
import type { Log } from '../../engine/job-log.ts';
import { compareStreamIds } from './chunk-window.ts';
import type { ProgressEntry } from './protocol.ts';

/** One entry of BullMQ's event stream, its fields as strings. */
export interface QueueEvent {
  readonly event: string;
  readonly jobId?: string | undefined;
  readonly returnvalue?: string | undefined;
  readonly failedReason?: string | undefined;
}

export interface StreamReaderOptions {
  /** A connection for this reader alone (it blocks); closed by close(). */
  readonly redis: Redis;
  /** A connection for other commands (shared). */
  readonly commands: Redis;
  readonly progressKey: string;
  readonly eventsKey: string;
  readonly onProgress: (entry: ProgressEntry) => void;
  readonly onEvent: (event: QueueEvent) => void;
  readonly log: Log;
  /** How long one XREAD blocks (ms); default 1000. */
  readonly blockMs?: number;
}

type XReadReply = [string, [string, string[]][]][] | null;

function fields(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]!] = list[i + 1]!;
  return out;
}

export class StreamReader {
  private progressId = '0-0';
  private eventsId = '0-0';
  private closed = false;
  private loop: Promise<void> | undefined;
  private waiters: { id: string; resolve: () => void }[] = [];

  constructor(private readonly options: StreamReaderOptions) {}

  /** Reads from the streams' ends as they are now. */
  async start(): Promise<void> {
    const { commands, progressKey, eventsKey } = this.options;
    this.progressId = await lastId(commands, progressKey);
    this.eventsId = await lastId(commands, eventsKey);
    this.loop = this.run();
  }

  /** The newest id of BullMQ's event stream now ('0-0' when it is empty). */
  eventsEnd(): Promise<string> {
    return lastId(this.options.commands, this.options.eventsKey);
  }

  /** Resolves once every event up to `id` has been handled. */
  eventsPassed(id: string): Promise<void> {
    if (compareStreamIds(id, this.eventsId) <= 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ id, resolve }));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.options.redis.disconnect();
    await this.loop;
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  private async run(): Promise<void> {
    const { redis, progressKey, eventsKey, log } = this.options;
    const blockMs = this.options.blockMs ?? 1000;
    while (!this.closed) {
      let reply: XReadReply;
      try {
        reply = (await redis.xread(
          'BLOCK',
          blockMs,
          'STREAMS',
          progressKey,
          eventsKey,
          this.progressId,
          this.eventsId,
        )) as XReadReply;
      } catch (err) {
        if (this.closed) break;
        log.warn({ err: (err as Error).message }, 'scale-out: reading the progress and event streams failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (reply === null) continue;
      const progress = reply.find(([key]) => key === progressKey)?.[1] ?? [];
      const events = reply.find(([key]) => key === eventsKey)?.[1] ?? [];
      for (const [id, list] of progress) {
        this.progressId = id;
        const d = fields(list).d;
        if (d === undefined) continue;
        try {
          this.options.onProgress(JSON.parse(d) as ProgressEntry);
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'scale-out: a progress entry was not applied');
        }
      }
      for (const [id, list] of events) {
        this.eventsId = id;
        try {
          this.options.onEvent(fields(list) as unknown as QueueEvent);
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'scale-out: a queue event was not applied');
        }
      }
      const passed = this.waiters.filter((w) => compareStreamIds(w.id, this.eventsId) <= 0);
      this.waiters = this.waiters.filter((w) => !passed.includes(w));
      for (const w of passed) w.resolve();
    }
  }
}

async function lastId(redis: Redis, key: string): Promise<string> {
  const last = (await redis.xrevrange(key, '+', '-', 'COUNT', 1)) as [string, string[]][];
  return last[0]?.[0] ?? '0-0';
}
