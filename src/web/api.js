/**
 * The Jobs page's client of the JSON API (/api/v1). Every request carries
 * `x-requested-with: s3batch-web`, so a 401 never brings up the browser's Basic sign-in dialog,
 * and every state-changing request is JSON (the server's CSRF rule for cookie sessions).
 * A 401 outside the session routes calls the handler set with onUnauthorized (back to sign-in).
 */

export const API = '/api/v1';
export const WEB_HEADER = { 'x-requested-with': 's3batch-web' };

export class ApiError extends Error {
  /** @param {number} status 0 when the server could not be reached */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let unauthorized = () => {};

/** What to do when the session has ended (the server answered 401). */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

/** Reports a 401 seen outside call() (the event streams). */
export function onUnauthorizedError(err) {
  unauthorized(err);
}

/** Calls the API and returns its JSON; throws ApiError with the server's code and message. */
export async function call(method, path, body) {
  const headers = { ...WEB_HEADER, accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (method !== 'GET') {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body ?? {});
  }
  let res;
  try {
    res = await fetch(API + path, init);
  } catch {
    throw new ApiError(0, 'NetworkError', 'The server could not be reached. Check your connection and try again.');
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = json?.error;
    const err = new ApiError(
      res.status,
      e?.code ?? `HTTP${res.status}`,
      e?.message ?? `${res.status} ${res.statusText}`,
    );
    if (res.status === 401 && !path.startsWith('/session')) unauthorized(err);
    throw err;
  }
  return json;
}

const job = (id) => `/jobs/${encodeURIComponent(id)}`;

export const session = {
  /** Who is signed in, or null. */
  async current() {
    try {
      return await call('GET', '/session');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return null;
      throw err;
    }
  },
  signIn: (accessKeyId, secretAccessKey) => call('POST', '/session', { accessKeyId, secretAccessKey }),
  signOut: () => call('DELETE', '/session'),
};

export const jobs = {
  /**
   * One page of the list: `maxResults` jobs (1 to 1000) from `nextToken` (the NextToken of the
   * previous page of the same query), or from the first.
   * @param {{status?: string, search?: string, sort: string, order: string}} q
   * @param {{maxResults: number, nextToken?: string}} page
   */
  list(q, page) {
    const p = new URLSearchParams({ sort: q.sort, order: q.order, maxResults: String(page.maxResults) });
    if (q.status) p.set('status', q.status);
    if (q.search) p.set('search', q.search);
    if (page.nextToken) p.set('nextToken', page.nextToken);
    return call('GET', `/jobs?${p}`);
  },
  get: (id) => call('GET', job(id)),
  setStatus: (id, RequestedJobStatus, StatusUpdateReason) =>
    call('POST', `${job(id)}/status`, { RequestedJobStatus, ...(StatusUpdateReason ? { StatusUpdateReason } : {}) }),
  /** A user's pause and resume (s3batch extension). */
  pause: (id, Reason) => call('POST', `${job(id)}/pause`, Reason ? { Reason } : {}),
  resume: (id) => call('POST', `${job(id)}/resume`, {}),
  setPriority: (id, Priority) => call('POST', `${job(id)}/priority`, { Priority }),
  report: (id) => call('GET', `${job(id)}/report`),
  /** The job's tasks/s over its life (the chart's points). */
  history: (id) => call('GET', `${job(id)}/history`),
  /** Retry failed: a new job over the failed tasks (of `Codes`, or all); answers the new job's view. */
  retry: (id, Codes) => call('POST', `${job(id)}/retry`, Codes ? { Codes } : {}),
  /** The job's webhook deliveries (s3batch extension). */
  notifications: (id) => call('GET', `${job(id)}/notifications`),
  eventsPath: (id) => `${job(id)}/events`,
};
