/**
 * Failures by error code on the job details view (the job view's and the progress events'
 * `FailuresByCode`, docs/job-lifecycle.md#failures-by-code): a table of code, HTTP status, count
 * and sample keys, live while the job runs; and "Retry failed" (docs/job-lifecycle.md#retry-failed):
 * a dialog to pick the codes, then a new job over those failed tasks.
 */
import { jobs } from './api.js';
import { ask } from './dialogs.js';
import { h } from './dom.js';
import { num } from './format.js';
import { isTerminal } from './widgets.js';

/** The section's content: a table of the groups, or nothing (the section is hidden) while none failed. */
export function renderFailuresByCode(section, groups) {
  const list = Array.isArray(groups) ? groups : [];
  section.hidden = list.length === 0;
  section.replaceChildren(
    h('h2', { id: 'failures-by-code-title' }, 'Failures by code'),
    h(
      'table',
      { class: 'kv', id: 'failures-by-code-table' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { scope: 'col' }, 'Code'),
          h('th', { scope: 'col' }, 'HTTP'),
          h('th', { scope: 'col' }, 'Tasks'),
          h('th', { scope: 'col' }, 'Sample keys'),
        ),
      ),
      h(
        'tbody',
        null,
        list.map((g) =>
          h(
            'tr',
            { 'data-code': g.Code },
            h('td', null, h('code', null, g.Code)),
            h('td', null, g.HttpStatus === null ? '—' : String(g.HttpStatus)),
            h('td', { class: 'count' }, num(g.Count)),
            h(
              'td',
              { class: 'samples' },
              g.SampleKeys.map((k) => h('code', { class: 'sample' }, k)),
            ),
          ),
        ),
      ),
    ),
  );
}

/** An ended job with failed tasks and a report (both scopes, AllTasks and FailedTasksOnly, keep the failed rows) can be retried. */
export function canRetry(view) {
  const r = view.Job.Report;
  return isTerminal(view.Job.Status) && view.Job.ProgressSummary.NumberOfTasksFailed > 0 && r?.Enabled === true;
}

/**
 * Asks which codes to retry (all checked), then creates the retry job.
 * @returns {Promise<string | null>} the new job's id, or null when dismissed
 */
export async function retryFailed(jobId, groups) {
  const boxes = groups.map((g, i) => {
    const box = /** @type {HTMLInputElement} */ (
      h('input', { type: 'checkbox', id: `retry-code-${i}`, value: g.Code, checked: true })
    );
    return { box, row: h('div', { class: 'check' }, box, h('label', { for: box.id }, `${g.Code} (${num(g.Count)})`)) };
  });
  let created = null;
  const ok = await ask({
    title: 'Retry failed tasks?',
    body: [
      h(
        'p',
        null,
        "A new job runs the same operation on the failed tasks of the codes you keep checked, read from this job's report.",
      ),
      boxes.length > 0
        ? h(
            'fieldset',
            { id: 'retry-codes' },
            h('legend', null, 'Error codes'),
            boxes.map((b) => b.row),
          )
        : null,
    ],
    ok: 'Retry failed',
    action: async () => {
      const checked = boxes.filter((b) => b.box.checked).map((b) => b.box.value);
      if (boxes.length > 0 && checked.length === 0) throw new Error('Check at least one error code.');
      // Every box checked (or no groups known, for a job from before they were kept): every failed task.
      const out = await jobs.retry(jobId, checked.length === boxes.length ? undefined : checked);
      created = out.Job.JobId;
    },
  });
  return ok ? created : null;
}

/** "Retry of" and "Retries" facts: links to the related jobs. */
export function retryFacts(view) {
  const link = (id) => h('a', { href: `#/jobs/${encodeURIComponent(id)}` }, h('code', null, id.slice(0, 8)));
  return [
    view.RetryOf ? ['retry-of', 'Retry of', link(view.RetryOf)] : null,
    (view.Retries ?? []).length > 0
      ? ['retries', 'Retries', view.Retries.map((id, i) => [i > 0 ? ', ' : null, link(id)]), 'wide']
      : null,
  ];
}
