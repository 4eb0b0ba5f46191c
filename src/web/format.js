/**
 * How the Jobs page writes numbers, sizes, times and durations, in the browser's locale: numbers
 * with thousands separators, times in local time with a relative "3 min ago", durations as the
 * CLI writes them (a port of formatDuration in src/domain/progress-rate.ts).
 */

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' });

/** 1234567 → "1,234,567"; null/undefined → "—". */
export function num(n) {
  return typeof n === 'number' && Number.isFinite(n) ? integer.format(n) : '—';
}

/** A rate: one decimal below 100, whole above. */
export function rate(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  return n < 100 ? decimal.format(n) : integer.format(n);
}

const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB"; bytes below 1 KiB as a whole number. */
export function bytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? integer.format(v) : decimal.format(v)} ${UNITS[u]}`;
}

/** Percent done, whole, or "" when the total is unknown. */
export function percent(done, total) {
  return total > 0 ? `${Math.floor((done * 100) / total)}%` : '';
}

/** An ISO time in local time, e.g. "Nov 28, 2026, 9:14:03 AM". */
export function localTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso ?? '—') : dateTime.format(d);
}

const STEPS = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 30],
  ['month', 12],
  ['year', Infinity],
];

/** "3 min. ago", "in 2 hr.", "now". */
export function relative(iso, nowMs = Date.now()) {
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return '';
  let v = (t - nowMs) / 1000;
  if (Math.abs(v) < 10) return relativeFormat.format(0, 'second');
  for (const [unit, size] of STEPS) {
    if (Math.abs(v) < size)
      return relativeFormat.format(Math.round(v), /** @type {Intl.RelativeTimeFormatUnit} */ (unit));
    v /= size;
  }
  return '';
}

/** "1h 02m", "4m 05s", "12s" (as the CLI's watch). */
export function duration(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  if (hh > 0) return `${hh}h ${String(mm).padStart(2, '0')}m`;
  if (mm > 0) return `${mm}m ${String(ss).padStart(2, '0')}s`;
  return `${ss}s`;
}
