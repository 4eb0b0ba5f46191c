// A small server-sent-events client for tests: SseParser turns text/event-stream text into
// events and comments (the format of the HTML standard, §9.2.6: `field: value` lines, a blank line
// ends an event, `:` starts a comment); openSse() reads a stream with fetch and lets a test wait
// for events, see comments (`: ping`) and see the server close the stream.

export interface SseEvent {
  readonly kind: 'event';
  /** The `event:` field ('message' when absent). */
  readonly event: string;
  readonly data: string;
  /** When it was read (Date.now()). */
  readonly at: number;
}

export interface SseComment {
  readonly kind: 'comment';
  readonly text: string;
  readonly at: number;
}

export type SseMessage = SseEvent | SseComment;

/** Incremental parser: push text as it arrives, get the complete messages. */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];

  push(chunk: string, at = Date.now()): SseMessage[] {
    this.buffer += chunk;
    const out: SseMessage[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (m[0] === '\r' && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      if (line === '') {
        if (this.data.length > 0)
          out.push({ kind: 'event', event: this.event || 'message', data: this.data.join('\n'), at });
        this.event = '';
        this.data = [];
        continue;
      }
      if (line.startsWith(':')) {
        out.push({ kind: 'comment', text: line.slice(1).replace(/^ /, ''), at });
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') this.event = value;
      else if (field === 'data') this.data.push(value);
      // id / retry / unknown fields: not used by s3batch
    }
    return out;
  }
}

export interface SseStream {
  readonly response: Response;
  /** Every message read so far, in order. */
  readonly messages: SseMessage[];
  /** Events only. */
  events(): SseEvent[];
  /** Resolves with the first event (from the start of the stream) that `match` accepts; rejects after `timeoutMs`. */
  waitFor(match: (e: SseEvent) => boolean, what: string, timeoutMs?: number): Promise<SseEvent>;
  /** Resolves when a comment with this text was read. */
  waitForComment(text: string, timeoutMs?: number): Promise<SseComment>;
  /** Resolves when the server ended the stream (true) or after `timeoutMs` (false). */
  ended(timeoutMs?: number): Promise<boolean>;
  /** Closes the stream from the client's side (a disconnect). */
  close(): void;
}

/** Opens `url` as an event stream; a non-2xx answer is returned with no messages (read `response`). */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const messages: SseMessage[] = [];
  const waiters = new Set<() => void>();
  let done = false;
  const notify = (): void => {
    for (const w of [...waiters]) w();
  };
  const pump = (async () => {
    if (!response.ok || !response.body) return;
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) break;
        messages.push(...parser.push(decoder.decode(value, { stream: true })));
        notify();
      }
    } catch {
      // aborted by close(), or the connection died
    }
  })().finally(() => {
    done = true;
    notify();
  });

  const until = <T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const tryNow = (): boolean => {
        const v = check();
        if (v === undefined) return false;
        cleanup();
        resolve(v);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `${what}: not seen in ${timeoutMs} ms; read so far: ${JSON.stringify(messages.map((m) => (m.kind === 'event' ? `${m.event} ${m.data.slice(0, 120)}` : `:${m.text}`)))}`,
          ),
        );
      }, timeoutMs);
      const waiter = (): void => {
        if (!tryNow() && done) {
          cleanup();
          reject(new Error(`${what}: the stream ended first`));
        }
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(waiter);
      };
      waiters.add(waiter);
      waiter();
    });

  return {
    response,
    messages,
    events: () => messages.filter((m): m is SseEvent => m.kind === 'event'),
    waitFor: (match, what, timeoutMs = 60_000) =>
      until(() => messages.find((m): m is SseEvent => m.kind === 'event' && match(m)), what, timeoutMs),
    waitForComment: (text, timeoutMs = 10_000) =>
      until(
        () => messages.find((m): m is SseComment => m.kind === 'comment' && m.text === text),
        `comment ${text}`,
        timeoutMs,
      ),
    ended: async (timeoutMs = 10_000) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
      const result = await Promise.race([pump.then(() => true), timeout]);
      clearTimeout(timer);
      return result;
    },
    close: () => abort.abort(),
  };
}
