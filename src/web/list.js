/**
 * The Jobs list view (`#/`): status, priority, operation, progress and creation time of the
 * account's jobs; filter by status, search by id, description or tag, sort by creation date or
 * priority (GET /api/v1/jobs with status, search, sort, order). It refreshes without reloading:
 * progress events of the account's stream (/api/v1/events) update rows in place, status events
 * reload the list, a `removed` event (the job's retention period ended) takes its row out; when
 * the stream fails it polls every 3 s.
 *
 * The list comes in pages of 100 jobs (the API's maxResults; `?pageSize=<1..1000>` in the page's
 * URL, e.g. `/?pageSize=3#/`, changes it): "Load more" under the table appends the next page of
 * the same query (its NextToken) and disappears when there is none. A refresh reloads at least as
 * many jobs as are shown, so loaded pages stay loaded. List requests run one at a time (a refresh
 * never overwrites a page "Load more" appended, nor the reverse); the table is aria-busy="true"
 * while one is queued, under way or about to start (a search being typed, a refresh due).
 */
import { jobs } from './api.js';
import { h } from './dom.js';
import { live } from './live.js';
import { num } from './format.js';
import { STATUSES, progressBar, statusBadge, timeEl } from './widgets.js';

/** Kept across visits, so going back from a job shows the list as it was. */
const query = { status: '', search: '', sort: 'created', order: 'desc' };

/** Jobs asked for per page: `?pageSize=` of the page's URL (1 to 1000), else 100. */
export function pageSize() {
  const v = new URLSearchParams(location.search).get('pageSize');
  const n = v !== null && /^\d{1,4}$/.test(v) ? Number(v) : 0;
  return n >= 1 && n <= 1000 ? n : 100;
}

const SORTS = [
  ['created:desc', 'Newest first'],
  ['created:asc', 'Oldest first'],
  ['priority:desc', 'Highest priority first'],
  ['priority:asc', 'Lowest priority first'],
];

/** Mounts the view in `root`; returns the function that unmounts it. */
export function mountList(root) {
  const count = h('p', { id: 'jobs-count', class: 'muted', 'aria-live': 'polite' });
  const mode = h('span', { id: 'live-mode', class: 'live-mode muted' });
  const error = h('p', { id: 'list-error', class: 'error', role: 'alert', hidden: true });
  const body = h('tbody', { id: 'jobs-body' });
  const table = h(
    'table',
    { class: 'jobs', id: 'jobs-table' },
    h('caption', { class: 'visually-hidden' }, 'Jobs of this account'),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ['Job', 'Status', 'Priority', 'Operation', 'Progress', 'Created'].map((c) =>
          h('th', { scope: 'col', class: c === 'Priority' ? 'num' : null }, c),
        ),
      ),
    ),
    body,
  );

  const size = pageSize();
  /** The jobs in the table, in order, and the NextToken after them (undefined: none left). */
  let shown = [];
  let nextToken;
  const more = h('button', { id: 'jobs-more', type: 'button', class: 'secondary', hidden: true }, 'Load more');
  const showCount = () => {
    count.textContent = `${num(shown.length)} ${shown.length === 1 ? 'job' : 'jobs'}${nextToken ? ' shown, more below' : ''}`;
    more.hidden = !nextToken;
  };
  const failed = (err) => {
    error.textContent = `The jobs could not be loaded: ${err.message}`;
    error.hidden = false;
  };

  // One list request at a time, in the order asked for: a refresh (status event, poll) that comes
  // while "Load more" is loading waits for it and then reloads the longer list, and "Load more"
  // clicked during a refresh reads the refreshed NextToken; neither answer overwrites the other.
  // A new query (filter, search, sort) makes everything older stale (`seq`): stale work is dropped.
  // While anything is queued or loading, the table is aria-busy="true".
  let seq = 0;
  let queue = Promise.resolve();
  let pending = 0;
  const busy = (delta) => {
    pending += delta;
    table.setAttribute('aria-busy', String(pending > 0));
  };
  /** Runs `task` after every list request asked for before it; resolves or rejects with it. */
  const serial = (task) => {
    busy(1);
    const run = queue.then(task).finally(() => busy(-1));
    queue = run.catch(() => {});
    return run;
  };

  /** Reads the list from its first page, up to `want` jobs; null when `mine` went stale meanwhile. */
  const fetchFirst = async (mine, want) => {
    let list = [];
    let token;
    do {
      const out = await jobs.list(query, { maxResults: Math.min(1000, want - list.length), nextToken: token });
      if (mine !== seq) return null;
      list = appendNew(list, out.Jobs);
      token = out.NextToken;
    } while (token && list.length < want);
    return { list, token };
  };

  /** Loads the list from its first page; `keep` (a refresh) loads at least as many jobs as are shown. */
  const load = (keep = false) => {
    // A new query supersedes everything before it; a refresh belongs to the query it runs under.
    const asked = keep ? undefined : ++seq;
    return serial(async () => {
      const mine = asked ?? seq;
      if (mine !== seq) return; // a newer query is queued
      try {
        const got = await fetchFirst(mine, keep ? Math.max(size, shown.length) : size);
        if (got === null) return;
        error.hidden = true;
        shown = got.list;
        nextToken = got.token;
        render(body, shown);
        showCount();
      } catch (err) {
        if (mine !== seq) return;
        failed(err);
        throw err;
      }
    });
  };

  /** Appends the next page (jobs already shown, moved by a change between pages, are skipped). */
  const loadMore = () => {
    if (!nextToken || more.disabled) return Promise.resolve();
    const mine = seq; // for the query shown now; a new query drops it
    more.disabled = true;
    return serial(async () => {
      if (mine !== seq || !nextToken) return;
      try {
        const out = await jobs.list(query, { maxResults: size, nextToken });
        if (mine !== seq) return;
        const all = appendNew(shown, out.Jobs);
        body.append(...all.slice(shown.length).map(row));
        shown = all;
        nextToken = out.NextToken;
        error.hidden = true;
        showCount();
      } catch (err) {
        if (mine === seq) failed(err);
      }
    }).finally(() => {
      more.disabled = false;
    });
  };
  more.addEventListener('click', () => void loadMore());

  /** The job was deleted: its row goes at once, and a reload keeps the pages after it in step. */
  const removeJob = (jobId) => {
    if (shown.some((j) => j.JobId === jobId)) {
      shown = shown.filter((j) => j.JobId !== jobId);
      if (shown.length === 0) render(body, shown);
      else rowOf(body, jobId)?.remove();
      showCount();
    }
    reloadSoon();
  };

  /** Runs the last `fn` given `ms` after the last call; the list is busy while it waits. */
  const debounced = (ms) => {
    let timer;
    const cancel = () => {
      if (timer === undefined) return;
      clearTimeout(timer);
      timer = undefined;
      busy(-1);
    };
    const schedule = (fn) => {
      cancel();
      busy(1);
      timer = setTimeout(() => {
        timer = undefined;
        fn(); // queues its load first, so the list stays busy throughout
        busy(-1);
      }, ms);
    };
    return { schedule, cancel };
  };
  const reload = debounced(200);
  const reloadSoon = () => reload.schedule(() => void load(true).catch(() => {}));
  const search = debounced(250);
  const filters = h(
    'form',
    { class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault() },
    h('div', { class: 'field' }, h('label', { for: 'filter-status' }, 'Status'), statusSelect()),
    h(
      'div',
      { class: 'field grow' },
      h('label', { for: 'filter-search' }, 'Search'),
      h('input', {
        id: 'filter-search',
        type: 'search',
        value: query.search,
        placeholder: 'Job id, description or tag',
        autocomplete: 'off',
        spellcheck: 'false',
        maxlength: '256',
      }),
    ),
    h('div', { class: 'field' }, h('label', { for: 'filter-sort' }, 'Sort'), sortSelect()),
  );
  filters.addEventListener('change', (e) => {
    const t = /** @type {HTMLSelectElement} */ (e.target);
    if (t.id === 'filter-status') query.status = t.value;
    if (t.id === 'filter-sort') [query.sort, query.order] = t.value.split(':');
    if (t.id !== 'filter-search') void load().catch(() => {});
  });
  filters.addEventListener('input', (e) => {
    const t = /** @type {HTMLInputElement} */ (e.target);
    if (t.id !== 'filter-search') return;
    search.schedule(() => {
      query.search = t.value.trim();
      void load().catch(() => {});
    });
  });

  root.replaceChildren(
    h('div', { class: 'view-head' }, h('h1', { id: 'list-title', tabindex: '-1' }, 'Jobs'), mode),
    filters,
    error,
    count,
    h('div', { class: 'table-wrap' }, table),
    h('div', { class: 'more' }, more),
  );
  void load().catch(() => {});

  const stop = live({
    path: '/events',
    onEvent: (name, data) => {
      // A status change may move a job in or out of the filter, or be a new job: reload.
      if (name === 'status') reloadSoon();
      else if (name === 'progress') updateRow(body, data);
      else if (name === 'removed') removeJob(data.JobId);
    },
    poll: () => load(true),
    onMode: (m) => {
      mode.textContent = m === 'stream' ? 'Live' : 'Refreshing every 3 s';
      mode.dataset.mode = m;
    },
  });
  return () => {
    stop();
    seq++;
    reload.cancel();
    search.cancel();
  };
}

function statusSelect() {
  const select = h(
    'select',
    { id: 'filter-status' },
    h('option', { value: '' }, 'All statuses'),
    STATUSES.map((s) => h('option', { value: s }, s)),
  );
  /** @type {HTMLSelectElement} */ (select).value = query.status;
  return select;
}

function sortSelect() {
  const select = h(
    'select',
    { id: 'filter-sort' },
    SORTS.map(([v, label]) => h('option', { value: v }, label)),
  );
  /** @type {HTMLSelectElement} */ (select).value = `${query.sort}:${query.order}`;
  return select;
}

function render(body, list) {
  if (list.length === 0) {
    body.replaceChildren(
      h(
        'tr',
        { class: 'empty' },
        h(
          'td',
          { colspan: 6 },
          query.search || query.status
            ? 'No job matches these filters.'
            : h(
                'div',
                null,
                h('p', null, 'No jobs yet.'),
                h(
                  'p',
                  { class: 'muted' },
                  'Create one with ',
                  h('code', null, 's3batch create-job'),
                  ' (',
                  h('code', null, 's3batch create-job --help'),
                  ' has examples), POST /api/v1/jobs, or aws s3control create-job; it appears here by itself.',
                ),
              ),
        ),
      ),
    );
    return;
  }
  body.replaceChildren(...list.map(row));
}

/** `list` and then the jobs of `page` it does not hold yet. */
function appendNew(list, page) {
  const seen = new Set(list.map((j) => j.JobId));
  return [...list, ...page.filter((j) => !seen.has(j.JobId))];
}

function row(job) {
  const href = `#/jobs/${encodeURIComponent(job.JobId)}`;
  const tags = (job.Tags ?? []).filter((t) => !t.Key.startsWith('s3batch:')).slice(0, 4);
  const dryRun = (job.Tags ?? []).some((t) => t.Key === 's3batch:dry-run' && t.Value.toLowerCase() === 'true');
  return h(
    'tr',
    { 'data-job-id': job.JobId },
    h(
      'td',
      { 'data-label': 'Job', class: 'job-cell' },
      h(
        'div',
        null,
        h('a', { href, class: 'job-link' }, h('code', null, job.JobId)),
        job.Description || dryRun
          ? h(
              'div',
              { class: 'description' },
              dryRun ? h('span', { class: 'badge dry-run' }, 'dry run') : null,
              dryRun && job.Description ? ' ' : null,
              job.Description ?? null,
            )
          : null,
        tags.length
          ? h(
              'ul',
              { class: 'tags', 'aria-label': 'Tags' },
              tags.map((t) => h('li', null, `${t.Key}=${t.Value}`)),
            )
          : null,
      ),
    ),
    h('td', { 'data-label': 'Status', 'data-col': 'status' }, statusBadge(job.Status)),
    h('td', { 'data-label': 'Priority', 'data-col': 'priority', class: 'num' }, num(job.Priority)),
    h('td', { 'data-label': 'Operation' }, job.Operation),
    h(
      'td',
      { 'data-label': 'Progress', 'data-col': 'progress' },
      progressBar(job.ProgressSummary, `Progress of job ${job.JobId}`),
    ),
    h('td', { 'data-label': 'Created' }, timeEl(job.CreationTime)),
  );
}

/** The row of a job, if it is shown. */
function rowOf(body, jobId) {
  return [...body.querySelectorAll('tr[data-job-id]')].find((r) => r.getAttribute('data-job-id') === jobId);
}

/** Applies a progress event to its row, if the job is shown. */
function updateRow(body, p) {
  const tr = rowOf(body, p.JobId);
  if (!tr) return;
  tr.querySelector('[data-col="progress"]')?.replaceChildren(progressBar(p, `Progress of job ${p.JobId}`));
  if (p.Status) tr.querySelector('[data-col="status"]')?.replaceChildren(statusBadge(p.Status));
}
