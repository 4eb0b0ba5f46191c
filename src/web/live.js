/**
 * Live updates for the Jobs page: a server-sent-events stream read with fetch (not EventSource,
 * so it carries `x-requested-with` and a 401 is seen as one), and polling every few seconds when
 * the stream cannot be opened or breaks. `live()` returns `stop()` and tells which mode it is in
 * through `onMode('stream' | 'polling')`.
 */
import { API, ApiError, WEB_HEADER, onUnauthorizedError } from './api.js';

/**
 * Reads an SSE stream. Calls onEvent(name, data) per event (data parsed as JSON), onEnd() when the
 * server closes the stream after an `end` event, onFail(err) when it cannot open or breaks.
 * Returns a function that closes it (then nothing more is called).
 */
export function openStream(path, { onOpen, onEvent, onEnd, onFail }) {
  const ctrl = new AbortController();
  const run = async () => {
    const res = await fetch(API + path, {
      headers: { ...WEB_HEADER, accept: 'text/event-stream' },
      cache: 'no-store',
      signal: ctrl.signal,
    });
    if (!res.ok || !res.body || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      await res.body?.cancel();
      throw new ApiError(res.status, `HTTP${res.status}`, `The event stream answered ${res.status}`);
    }
    onOpen?.();
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let ended = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, '\n');
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = parseBlock(block);
        if (!event) continue;
        if (event.name === 'end') ended = true;
        onEvent(event.name, event.data);
      }
    }
    if (ended) onEnd?.();
    else throw new Error('The event stream closed');
  };
  run().catch((err) => {
    if (ctrl.signal.aborted) return;
    if (err instanceof ApiError && err.status === 401) onUnauthorizedError(err);
    onFail(err);
  });
  return () => ctrl.abort();
}

/** One SSE block → {name, data}; comments (`: ping`) and blocks without data → null. */
function parseBlock(block) {
  let name = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') name = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  try {
    return { name, data: JSON.parse(data.join('\n')) };
  } catch {
    return null;
  }
}

/**
 * The stream at `path`, or `poll()` every `intervalMs` once the stream fails (polling starts with
 * one immediate poll, to catch up on what the broken stream missed).
 */
export function live({ path, onEvent, onEnd, poll, onMode, intervalMs = 3000 }) {
  let stopped = false;
  let timer;
  const tick = async () => {
    if (stopped) return;
    try {
      await poll();
    } catch {
      // the view shows its own load errors; keep polling
    }
    if (!stopped) timer = setTimeout(tick, intervalMs);
  };
  const close = openStream(path, {
    onOpen: () => onMode?.('stream'),
    onEvent,
    onEnd: () => onEnd?.(),
    onFail: () => {
      if (stopped) return;
      onMode?.('polling');
      void tick();
    },
  });
  return () => {
    stopped = true;
    close();
    clearTimeout(timer);
  };
}
