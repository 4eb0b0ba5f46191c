// An event-stream client for the observers scenario: reads one SSE stream of the JSON API
// (`/api/v1/jobs/:id/events` or `/api/v1/events`) with fetch, as a browser tab would, and counts what
// it receives: bytes, events by name, and when each `progress` event arrived (for the rate limit of
// one progress event per 250 ms per job).
import { SseParser } from '../test/helpers/sse.ts';

export interface SseObservation {
  readonly url: string;
  readonly status: number;
  /** Body bytes received (what the server wrote after the headers). */
  readonly bytes: number;
  /** Events by `event:` name. */
  readonly counts: Readonly<Record<string, number>>;
  /** Arrival times (performance.now()) of the progress events. */
  readonly progressAt: readonly number[];
  readonly openedAt: number;
  /** When the first event arrived (undefined: none did). */
  readonly firstEventAt: number | undefined;
  /** When the stream ended (server closed it, or close() was called). */
  readonly endedAt: number;
  /** The server ended the stream (after `end`), rather than this client. */
  readonly endedByServer: boolean;
}

export interface SseObserver {
  /** Resolves when the stream ends, by the server or by close(). */
  readonly done: Promise<SseObservation>;
  close(): void;
}

export function observeSse(url: string, headers: Record<string, string>): SseObserver {
  const abort = new AbortController();
  const counts: Record<string, number> = {};
  const progressAt: number[] = [];
  const openedAt = performance.now();
  let bytes = 0;
  let status = 0;
  let closedByUs = false;
  let firstEventAt: number | undefined;
  const done = (async (): Promise<SseObservation> => {
    let endedByServer = false;
    try {
      const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
      status = res.status;
      if (res.ok && res.body) {
        const parser = new SseParser();
        const decoder = new TextDecoder();
        const reader = res.body.getReader();
        for (;;) {
          const { value, done: end } = await reader.read();
          if (end) break;
          bytes += value.byteLength;
          const now = performance.now();
          for (const m of parser.push(decoder.decode(value, { stream: true }))) {
            if (m.kind !== 'event') continue;
            firstEventAt ??= now;
            counts[m.event] = (counts[m.event] ?? 0) + 1;
            if (m.event === 'progress') progressAt.push(now);
          }
        }
        endedByServer = !closedByUs;
      }
    } catch (err) {
      if (!closedByUs) throw err;
    }
    return {
      url,
      status,
      bytes,
      counts,
      progressAt,
      openedAt,
      firstEventAt,
      endedAt: performance.now(),
      endedByServer,
    };
  })();
  return {
    done,
    close: () => {
      closedByUs = true;
      abort.abort();
    },
  };
}

/** The most progress events that arrived within any 1 s window (half-open: t ≤ x < t + 1000 ms). */
export function maxPerSecond(times: readonly number[]): number {
  let best = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= 1000) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}
