/**
 * The window arithmetic of the BullMQ placement (placement.ts), as a pure function: a running job
 * has a few of its chunks in the queue or running, each with a number of loops (tasks at once);
 * the loops sum to at most the job's capacity (its slots, lowered by its effective concurrency).
 *
 * - Shrinking: chunks still waiting in the queue leave it first (newest first: they go back to be
 *   sent later), then running chunks get fewer loops (newest first, down to 0: such a chunk starts
 *   no task until it gets more).
 * - Growing: running chunks below `chunkLoops` get more (oldest first), then new chunks are sent,
 *   each with `chunkLoops` or what is left.
 * - A chunk being stopped keeps its loops until it comes back, and is never resized.
 */

export interface WindowEntry {
  readonly index: number;
  readonly loops: number;
  /** Taken by a worker: its loops change by a message. Else waiting in the queue. */
  readonly running: boolean;
  /** A stop reached it: it holds its loops until it comes back. */
  readonly stopping: boolean;
}

export interface WindowPlan {
  /** Waiting chunks to take out of the queue (sent again later). */
  readonly remove: readonly number[];
  /** Running chunks' new loops. */
  readonly loops: readonly { readonly index: number; readonly loops: number }[];
  /** The loops of each chunk to send now, in order. */
  readonly send: readonly number[];
}

/** The loops the window holds: its chunks' loops, summed. */
export function windowLoops(entries: readonly { readonly loops: number }[]): number {
  return entries.reduce((n, e) => n + e.loops, 0);
}

/**
 * What to change so that the window's loops come to `capacity`: `entries` in the order they were
 * sent, at most `available` new chunks to send (Infinity when the source has more).
 */
export function planWindow(
  capacity: number,
  chunkLoops: number,
  entries: readonly WindowEntry[],
  available: number,
): WindowPlan {
  let used = windowLoops(entries);
  const remove: number[] = [];
  const loops: { index: number; loops: number }[] = [];
  const send: number[] = [];
  const target = Math.max(0, capacity);
  if (used > target) {
    const newestFirst = [...entries].reverse().filter((e) => !e.stopping);
    for (const e of newestFirst) {
      if (used <= target) break;
      if (e.running) continue;
      remove.push(e.index);
      used -= e.loops;
    }
    for (const e of newestFirst) {
      if (used <= target) break;
      if (!e.running || e.loops === 0) continue;
      const cut = Math.min(e.loops, used - target);
      loops.push({ index: e.index, loops: e.loops - cut });
      used -= cut;
    }
    return { remove, loops, send };
  }
  for (const e of entries) {
    if (used >= target) break;
    if (!e.running || e.stopping || e.loops >= chunkLoops) continue;
    const more = Math.min(chunkLoops - e.loops, target - used);
    loops.push({ index: e.index, loops: e.loops + more });
    used += more;
  }
  while (used < target && send.length < available) {
    const l = Math.min(chunkLoops, target - used);
    send.push(l);
    used += l;
  }
  return { remove, loops, send };
}

/** Stream ids (`<ms>-<seq>`) in order: negative when a is before b. */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}
