/**
 * The engine's side of the control channel (protocol.ts ControlMessage): what it tells every
 * worker about a job's running chunks. A stop is also kept in the job's stop key, so that a worker
 * that missed the message (it took the chunk just then, or was reconnecting) still sees it.
 */
import type { Redis } from 'ioredis';
import { type ControlMessage, PROTOCOL_VERSION, type RedisNames } from './protocol.ts';

/** Stop keys outlive a job by this long (a worker checks them when it takes one of its chunks). */
export const STOP_KEY_TTL_S = 7 * 24 * 3600;

export class Control {
  constructor(
    private readonly redis: Redis,
    private readonly names: RedisNames,
  ) {}

  /** The job's newest stop generation (0: never stopped). */
  async stopGen(jobId: string): Promise<number> {
    const v = await this.redis.get(this.names.stopKey(jobId));
    const n = v === null ? 0 : Number(v);
    return Number.isFinite(n) ? n : 0;
  }

  /** Ends the job's chunks sent with a lower generation: the key first, then the message. */
  async stop(jobId: string, gen: number): Promise<void> {
    await this.redis.set(this.names.stopKey(jobId), String(gen), 'EX', STOP_KEY_TTL_S);
    await this.publish({ v: PROTOCOL_VERSION, t: 'stop', jobId, gen });
  }

  loops(jobId: string, chunk: number, loops: number): Promise<void> {
    return this.publish({ v: PROTOCOL_VERSION, t: 'loops', jobId, chunk, loops });
  }

  rate(jobId: string, rate: number | undefined): Promise<void> {
    return this.publish({ v: PROTOCOL_VERSION, t: 'rate', jobId, rate });
  }

  private async publish(msg: ControlMessage): Promise<void> {
    await this.redis.publish(this.names.control, JSON.stringify(msg));
  }
}
