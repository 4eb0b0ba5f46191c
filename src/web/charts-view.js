/**
 * The job page's charts section (charts.js draws them): tasks/s over the job's life from
 * GET /api/v1/jobs/<id>/history — loaded with the view, again at most every 2 s while the job's
 * progress events come (the server keeps the history; the page only draws it), and once more when
 * the job ends — and failed tasks by error code from the job view's `FailuresByCode` (also in
 * progress events when the server sends it there); that card is hidden while there is none.
 */
import { jobs } from './api.js';
import { failureCodesChart, throughputChart } from './charts.js';
import { h } from './dom.js';
import { isTerminal } from './widgets.js';

/** Least time between two history loads while the job runs. */
const REFRESH_MS = 2000;

export function mountCharts(root, jobId) {
  const throughput = h('section', {
    id: 'job-throughput',
    class: 'card chart-card',
    'aria-labelledby': 'throughput-title',
  });
  const codes = h('section', {
    id: 'job-failure-codes',
    class: 'card chart-card',
    'aria-labelledby': 'failure-codes-title',
    hidden: true,
  });
  root.replaceChildren(throughput, codes);
  throughput.append(h('h2', { id: 'throughput-title' }, 'Tasks per second'), h('p', { class: 'muted' }, 'Loading…'));

  let stopped = false;
  let ended = false;
  let loading = false;
  let again = false;
  let lastLoad = Number.NEGATIVE_INFINITY;
  let timer;
  /** What was drawn last, drawn again when the page's width changes (the charts are drawn 1:1). */
  let lastHistory;
  let lastCodes;
  const widthOf = (card) => Math.max(240, Math.floor(card.clientWidth) - 34);
  let drawnWidth = 0;
  let codesWidth = 0;
  const resize = new ResizeObserver(() => {
    if (lastHistory && Math.abs(widthOf(throughput) - drawnWidth) >= 8) renderThroughput(lastHistory);
    if (lastCodes && !codes.hidden && Math.abs(widthOf(codes) - codesWidth) >= 8) renderCodes(lastCodes);
  });
  resize.observe(throughput);
  resize.observe(codes);

  const load = async () => {
    if (stopped) return;
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    lastLoad = Date.now();
    try {
      renderThroughput(await jobs.history(jobId));
    } catch (err) {
      renderThroughputError(err);
    } finally {
      loading = false;
    }
    if (again) {
      again = false;
      void load();
    }
  };

  /** A load now, or when REFRESH_MS have passed since the last one (one pending at most). */
  const refresh = () => {
    if (stopped || timer) return;
    const wait = Math.max(0, lastLoad + REFRESH_MS - Date.now());
    timer = setTimeout(() => {
      timer = undefined;
      void load();
    }, wait);
  };

  const renderThroughput = (history) => {
    if (stopped) return;
    lastHistory = history;
    drawnWidth = widthOf(throughput);
    const { svg, summary } = throughputChart(history.Points ?? [], { width: drawnWidth });
    throughput.replaceChildren(
      h('h2', { id: 'throughput-title' }, 'Tasks per second'),
      svg,
      h('p', { id: 'throughput-summary', class: 'chart-summary muted' }, summary),
    );
  };

  const renderThroughputError = (err) => {
    if (stopped) return;
    throughput.replaceChildren(
      h('h2', { id: 'throughput-title' }, 'Tasks per second'),
      h('p', { class: 'error' }, `The chart could not be loaded: ${err.message}`),
    );
  };

  const renderCodes = (list) => {
    if (stopped || !Array.isArray(list)) return;
    lastCodes = list;
    codes.hidden = list.length === 0;
    if (list.length === 0) {
      codes.replaceChildren();
      return;
    }
    codesWidth = widthOf(codes);
    const { svg, summary } = failureCodesChart(list, { width: codesWidth });
    codes.replaceChildren(
      h('h2', { id: 'failure-codes-title' }, 'Failed tasks by error code'),
      svg,
      h('p', { id: 'failure-codes-summary', class: 'chart-summary muted' }, summary),
    );
  };

  return {
    /** A new job view (the first, after an action, the stream's `job` and `end`, or a poll). */
    view(v) {
      renderCodes(v.FailuresByCode);
      if (isTerminal(v.Job.Status)) {
        if (ended) return;
        ended = true; // the history of an ended job no longer changes: one last load
        clearTimeout(timer);
        timer = undefined;
        void load();
        return;
      }
      refresh();
    },
    /** A progress event: the counters moved. */
    progress(data) {
      if (data.FailuresByCode !== undefined) renderCodes(data.FailuresByCode);
      if (!ended) refresh();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      resize.disconnect();
    },
  };
}
