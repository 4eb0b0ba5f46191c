/**
 * Small pieces the list and the details views share: a status badge, a progress bar with its
 * "n / total" label, a local time with its relative age (kept fresh by refreshTimes()).
 */
import { h } from './dom.js';
import { localTime, num, percent, relative } from './format.js';
import { estimateBasisText } from './progress-extras.js';

export const TERMINAL = ['Complete', 'Cancelled', 'Failed'];

/** Every job status, for the list's filter (the order a job goes through them). */
export const STATUSES = [
  'New',
  'Preparing',
  'Suspended',
  'Ready',
  'Active',
  'Pausing',
  'Paused',
  'Completing',
  'Complete',
  'Cancelling',
  'Cancelled',
  'Failing',
  'Failed',
];

export function isTerminal(status) {
  return TERMINAL.includes(status);
}

/** A status as a coloured badge (the colour is a hint; the word is always there). */
export function statusBadge(status) {
  return h('span', { class: `badge status-${String(status).toLowerCase()}`, 'data-status': status }, status);
}

/** Tasks finished (succeeded + failed) of a ProgressSummary or a progress event. */
export function doneOf(p) {
  return (p?.NumberOfTasksSucceeded ?? 0) + (p?.NumberOfTasksFailed ?? 0);
}

/**
 * A `<progress>` and "n / total (p%)" for a ProgressSummary-like object. With a PercentComplete
 * that is an estimate (a listing goes on): "n / total+ (~p%, estimated)".
 */
export function progressBar(p, label) {
  const total = p?.TotalNumberOfTasks ?? 0;
  const done = doneOf(p);
  const failed = p?.NumberOfTasksFailed ?? 0;
  const est = p?.PercentComplete?.Estimated === true;
  const basis = estimateBasisText(p?.PercentComplete);
  return h(
    'div',
    { class: 'progress', 'data-estimated': est ? 'true' : 'false' },
    h('progress', {
      max: Math.max(total, 1),
      value: total > 0 ? done : 0,
      'aria-label': label,
      'data-done': done,
      'data-total': total,
    }),
    h(
      'span',
      { class: 'progress-text' },
      total > 0 ? `${num(done)} / ${num(total)}${est ? '+' : ''}` : '—',
      total > 0 && !est ? h('span', { class: 'muted' }, ` ${percent(done, total)}`) : null,
      total > 0 && est
        ? h('span', { class: 'muted estimate', title: `Estimate: ${basis}` }, ` ~${percent(done, total)} (estimated)`)
        : null,
      failed > 0 ? h('span', { class: 'failed-count' }, ` · ${num(failed)} failed`) : null,
    ),
  );
}

/** A `<time>` with the local time and, beside it, how long ago ("3 min. ago"). */
export function timeEl(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  return h(
    'time',
    { datetime: iso, class: 'when' },
    h('span', { class: 'local' }, localTime(iso)),
    ' ',
    h('span', { class: 'rel', 'data-rel': iso }, relative(iso)),
  );
}

/** Rewrites every relative age on the page (called every 15 s). */
export function refreshTimes(root = document) {
  const now = Date.now();
  for (const el of root.querySelectorAll('[data-rel]')) el.textContent = relative(el.getAttribute('data-rel'), now);
}
