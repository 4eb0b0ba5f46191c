/**
 * The job page's two pictures, as plain SVG built with DOM APIs: no charting library to ship or
 * keep up to date, nothing inline (the page's CSP forbids inline styles: geometry is in SVG
 * attributes, colours in app.css classes), and text set as text. Each chart is an `<svg
 * role="img">` with a `<title>` and an aria-label, next to a text summary that says the same for
 * screen readers and for a glance.
 *
 *   throughputChart(points)  tasks/s over the job's life (GET /api/v1/jobs/<id>/history)
 *   failureCodesChart(list)  failed tasks by error code (the job view's `FailuresByCode`)
 */
import { duration, num, rate } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes and children (text children become text nodes). */
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.setAttribute('class', String(v));
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** 1, 2, 5 × 10^n at or above `v` (the y axis' top). */
export function niceCeiling(v) {
  if (!(v > 0)) return 1;
  const exp = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * exp >= v) return m * exp;
  return 10 * exp;
}

/** A span of time: tenths of a second below 10 s ("0.6s"), else as durations are written ("1m 05s"). */
const spanText = (ms) => (ms < 10_000 ? `${Math.round(ms / 100) / 10}s` : duration(ms / 1000));

/** Two decimals at most, no trailing zeros: SVG path numbers. */
const f = (n) => String(Math.round(n * 100) / 100);

/**
 * Tasks/s over time: a line with the area under it, the y axis from 0 to a round maximum, the
 * time axis from the first point to the last. `points`: [{Time (ms), TasksPerSecond}], oldest first.
 * Returns {svg, summary} (summary: one sentence); with fewer than two points only the axes.
 * `width`: the space it gets on the page in CSS pixels (drawn 1:1, so its text stays legible).
 */
export function throughputChart(points, { width = 640, height = 200 } = {}) {
  const pad = { left: 48, right: 12, top: 22, bottom: 24 };
  const w = width - pad.left - pad.right;
  const hgt = height - pad.top - pad.bottom;
  const n = points.length;
  const first = points[0];
  const last = points[n - 1];
  const span = n >= 2 ? last.Time - first.Time : 0;
  const rates = points.slice(1).map((p) => p.TasksPerSecond);
  const peak = rates.length ? Math.max(...rates) : 0;
  const done = last ? last.TasksSucceeded + last.TasksFailed - (first.TasksSucceeded + first.TasksFailed) : 0;
  const average = span > 0 ? (done * 1000) / span : 0;
  const summary =
    n < 2
      ? 'No tasks/s yet: the chart starts when the job runs.'
      : `Over ${spanText(span)}: peak ${rate(peak)} tasks/s, average ${rate(average)} tasks/s, latest ${rate(last.TasksPerSecond)} tasks/s (${num(n)} points).`;
  const top = niceCeiling(peak);
  const x = (t) => pad.left + (span > 0 ? ((t - first.Time) / span) * w : 0);
  const y = (v) => pad.top + hgt - (v / top) * hgt;
  // A step line: each point's rate holds over the interval that ends at it.
  let line = '';
  if (n >= 2) {
    line = `M${f(x(first.Time))},${f(y(points[1].TasksPerSecond))}`;
    for (let i = 1; i < n; i++) {
      const p = points[i];
      line += ` H${f(x(p.Time))}`;
      if (i + 1 < n) line += ` V${f(y(points[i + 1].TasksPerSecond))}`;
    }
  }
  const base = f(y(0));
  const area = n >= 2 ? `${line} V${base} H${f(x(first.Time))} Z` : '';
  const label = `Tasks per second over the job's life. ${summary}`;
  const svg = s(
    'svg',
    {
      class: 'chart throughput-chart',
      id: 'throughput-chart',
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-label': label,
      'data-points': n,
      'data-peak': peak,
    },
    s('title', null, label),
    // Grid: 0, half and the top.
    [0, 0.5, 1].map((q) =>
      s('line', { class: 'chart-grid', x1: pad.left, x2: pad.left + w, y1: f(y(top * q)), y2: f(y(top * q)) }),
    ),
    [0, 0.5, 1].map((q) =>
      s('text', { class: 'chart-label', x: pad.left - 6, y: f(y(top * q) + 4), 'text-anchor': 'end' }, rate(top * q)),
    ),
    n >= 2 ? s('path', { class: 'chart-area', d: area }) : null,
    n >= 2 ? s('path', { class: 'chart-line', d: line, fill: 'none' }) : null,
    s('text', { class: 'chart-label', x: pad.left, y: height - 6 }, n >= 2 ? 'start' : ''),
    n >= 2 && w >= 240
      ? s(
          'text',
          { class: 'chart-label', x: f(pad.left + w / 2), y: height - 6, 'text-anchor': 'middle' },
          `+${spanText(span / 2)}`,
        )
      : null,
    s(
      'text',
      { class: 'chart-label', x: pad.left + w, y: height - 6, 'text-anchor': 'end' },
      n >= 2 ? `+${spanText(span)}` : '',
    ),
    s('text', { class: 'chart-label chart-unit', x: pad.left, y: 12 }, 'tasks/s'),
  );
  return { svg, summary };
}

/** At most this many codes get a bar; the rest are summed up in the text. */
const MAX_BARS = 12;

/**
 * Failed tasks by error code: one horizontal bar per code, longest first, with its count.
 * `list`: [{Code, HttpStatus, Count, SampleKeys}] sorted by count desc. Returns {svg, summary}.
 */
export function failureCodesChart(list, { width = 640 } = {}) {
  const shown = list.slice(0, MAX_BARS);
  const rest = list.slice(MAX_BARS).reduce((a, c) => a + c.Count, 0);
  const total = list.reduce((a, c) => a + c.Count, 0);
  const row = 26;
  const labelW = Math.round(Math.min(210, width * 0.4));
  const countW = 64;
  const height = shown.length * row + 8;
  const barMax = width - labelW - countW;
  const max = Math.max(1, ...shown.map((c) => c.Count));
  const codeText = (c) => (c.HttpStatus == null ? c.Code : `${c.Code} (${c.HttpStatus})`);
  const summary =
    `${num(total)} failed ${total === 1 ? 'task' : 'tasks'} in ${num(list.length)} ${list.length === 1 ? 'code' : 'codes'}: ` +
    shown.map((c) => `${codeText(c)} ${num(c.Count)}`).join(', ') +
    (rest > 0 ? `, and ${num(rest)} more in ${num(list.length - shown.length)} other codes` : '') +
    '.';
  const label = `Failed tasks by error code. ${summary}`;
  const svg = s(
    'svg',
    {
      class: 'chart failure-codes-chart',
      id: 'failure-codes-chart',
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-label': label,
      'data-bars': shown.length,
    },
    s('title', null, label),
    shown.map((c, i) => {
      const yTop = 4 + i * row;
      const w = Math.max(2, (c.Count / max) * barMax);
      return s(
        'g',
        { class: 'chart-bar', 'data-code': c.Code, 'data-count': c.Count },
        s('title', null, `${codeText(c)}: ${num(c.Count)}${c.SampleKeys?.length ? ` — e.g. ${c.SampleKeys[0]}` : ''}`),
        s(
          'text',
          { class: 'chart-label', x: labelW - 8, y: yTop + 17, 'text-anchor': 'end' },
          truncate(codeText(c), Math.floor(labelW / 7.5)),
        ),
        s('rect', { class: 'chart-bar-rect', x: labelW, y: yTop + 3, width: f(w), height: row - 8, rx: 3 }),
        s('text', { class: 'chart-label chart-count', x: f(labelW + w + 6), y: yTop + 17 }, num(c.Count)),
      );
    }),
  );
  return { svg, summary };
}

function truncate(text, max) {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
