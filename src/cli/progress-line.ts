/**
 * The text `s3batch watch` prints, pure (no I/O, times and widths are given): the live line a
 * terminal redraws in place (`Active  [██████░░░░]  52%  5,210 / 10,000  143/s  ETA 34s  failed 12`),
 * the plain line for logs and pipes (`5210 of 10000 tasks (52%), 12 failed, Active`) and the
 * status-change line (`08:31:02 Preparing → Active`). While a listing goes on the percent is an
 * estimate (`~52%`, `10,000+` tasks); copy, replicate and checksum jobs add the bytes processed
 * and their rate (`1.5 GiB 12 MiB/s`).
 *
 * "Done" is succeeded + failed: a failed task is finished too, the `failed` count says how many.
 */
import { isJobStatus, isTerminal } from '../domain/job-status.ts';
import { formatByteRate, formatBytes } from '../domain/bytes-processed.ts';
import { formatDuration } from '../domain/progress-rate.ts';

export interface ProgressSnapshot {
  readonly status: string;
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Tasks per second (RateEstimator); null while unknown. */
  readonly perSecond: number | null;
  /** Seconds left (RateEstimator); null while unknown. */
  readonly etaSeconds: number | null;
  /** The total is the tasks found so far (a listing goes on): the percent is an estimate, shown `~52%`. */
  readonly estimated?: boolean | undefined;
  /** Bytes processed (copy, replicate, checksum); absent or null when the operation moves none. */
  readonly bytesProcessed?: number | null | undefined;
  /** Bytes processed per second (RateEstimator); null while unknown. */
  readonly bytesPerSecond?: number | null | undefined;
}

/** Carriage return + ANSI "erase entire line": the live line is redrawn from column 0. */
export const CLEAR_LINE = '\r\x1b[2K';

const FULL = '█';
const EMPTY = '░';
const SEP = '  ';
/** Widest status names (Cancelling, Completing): the bar starts at the same column for every status. */
const STATUS_WIDTH = 10;
const MAX_BAR = 30;
const MIN_BAR = 8;
/** Used when the terminal does not say how wide it is. */
const DEFAULT_COLUMNS = 80;

/** The job ended (Complete, Failed, Cancelled): the server's own rule, for a status read off the wire. */
export function isEnded(status: string): boolean {
  return isJobStatus(status) && isTerminal(status);
}

export function doneOf(s: ProgressSnapshot): number {
  return s.succeeded + s.failed;
}

/**
 * Whole percent done, rounded down so 100% means every task finished; null while the total is
 * unknown (0 tasks listed so far), except for a Complete job, which is 100% by definition.
 */
export function percentDone(s: ProgressSnapshot): number | null {
  if (s.status === 'Complete') return 100;
  if (s.total <= 0) return null;
  return Math.min(100, Math.floor((doneOf(s) * 100) / s.total));
}

/** 5210 → "5,210" (the same grouping on every machine, whatever its locale). */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** "143/s", "2.5/s" below 10, "1,204/s"; "--/s" while unknown. */
export function formatRate(perSecond: number | null): string {
  if (perSecond === null) return '--/s';
  if (perSecond > 0 && perSecond < 10) return `${perSecond.toFixed(1)}/s`;
  return `${formatCount(perSecond)}/s`;
}

/** `[███░░░]` with `width` cells inside the brackets; an unknown fraction is an empty bar. */
export function renderBar(fraction: number | null, width: number): string {
  const cells = Math.max(0, Math.floor(width));
  const full = fraction === null ? 0 : Math.min(cells, Math.max(0, Math.floor(fraction * cells)));
  return `[${FULL.repeat(full)}${EMPTY.repeat(cells - full)}]`;
}

/** Terminal cells of a string: one per code point (every character used here is one cell wide). */
function cellWidth(text: string): number {
  return [...text].length;
}

function truncate(text: string, cells: number): string {
  return [...text].slice(0, Math.max(0, cells)).join('');
}

interface Segment {
  readonly text: string;
  /** Lower is dropped first when the terminal is too narrow. */
  readonly keep: number;
}

/**
 * The live line for a terminal `columns` wide. It never fills the last column (some terminals
 * wrap there, which breaks the redraw in place). When space runs short the least useful parts go
 * first: rate, ETA, `failed 0`, the counts, a non-zero `failed`; then the bar shrinks to 8 cells,
 * then it goes, and finally the status is cut.
 */
export function renderLiveLine(s: ProgressSnapshot, columns: number = DEFAULT_COLUMNS): string {
  const room = Math.max(1, Math.floor(Number.isFinite(columns) && columns > 0 ? columns : DEFAULT_COLUMNS) - 1);
  const pct = percentDone(s);
  const percentText =
    `${s.estimated === true && pct !== null ? '~' : ''}${pct === null ? '--' : String(pct)}%`.padStart(4);
  const ended = isEnded(s.status);
  const bytes = s.bytesProcessed;
  const optional: Segment[] = [
    { text: `${formatCount(doneOf(s))} / ${formatCount(s.total)}${s.estimated === true ? '+' : ''}`, keep: 3 },
    ...(bytes === null || bytes === undefined
      ? []
      : [
          {
            text: ended ? formatBytes(bytes) : `${formatBytes(bytes)} ${formatByteRate(s.bytesPerSecond ?? null)}`,
            keep: 1,
          },
        ]),
    ...(ended ? [] : [{ text: formatRate(s.perSecond), keep: 0 }]),
    ...(ended ? [] : [{ text: `ETA ${s.etaSeconds === null ? '--' : formatDuration(s.etaSeconds)}`, keep: 1 }]),
    { text: `failed ${formatCount(s.failed)}`, keep: s.failed > 0 ? 4 : 2 },
  ];
  const status = s.status.padEnd(STATUS_WIDTH);
  const fraction = pct === null ? null : s.total > 0 && s.status !== 'Complete' ? doneOf(s) / s.total : 1;
  const widthOf = (parts: readonly Segment[]): number =>
    parts.reduce((n, p) => n + cellWidth(SEP) + cellWidth(p.text), 0);

  let kept = optional;
  for (;;) {
    // status + SEP + [bar] + SEP + percent + (SEP + part)…
    const fixed = cellWidth(status) + cellWidth(SEP) + 2 + cellWidth(SEP) + cellWidth(percentText) + widthOf(kept);
    const bar = Math.min(MAX_BAR, room - fixed);
    if (bar >= MIN_BAR) {
      return [status, renderBar(fraction, bar), percentText, ...kept.map((p) => p.text)].join(SEP);
    }
    if (kept.length === 0) break;
    const least = kept.reduce((a, b) => (b.keep < a.keep ? b : a));
    kept = kept.filter((p) => p !== least);
  }
  const noBar = `${s.status}${SEP}${percentText.trim()}`;
  if (cellWidth(noBar) <= room) return noBar;
  return truncate(s.status, room);
}

/**
 * `5210 of 10000 tasks (52%), 12 failed, Active` — no grouping, easy to grep and parse. While a
 * listing goes on: `of 10000 tasks found so far (52% estimated)`; with bytes processed:
 * `…, 12 failed, 1610612736 bytes processed (1.5 GiB), Active`.
 */
export function renderPlainLine(s: ProgressSnapshot): string {
  const pct = percentDone(s);
  const est = s.estimated === true;
  const percent = pct === null ? '' : ` (${pct}%${est ? ' estimated' : ''})`;
  const bytes =
    s.bytesProcessed === null || s.bytesProcessed === undefined
      ? ''
      : `, ${s.bytesProcessed} bytes processed (${formatBytes(s.bytesProcessed)})`;
  return `${doneOf(s)} of ${s.total} tasks${est ? ' found so far' : ''}${percent}, ${s.failed} failed${bytes}, ${s.status}`;
}

function twoDigits(n: number): string {
  return String(n).padStart(2, '0');
}

/** `08:31:02 Preparing → Active` in local time; `08:31:02 Active` for the first status seen. */
export function renderStatusLine(at: Date, from: string | undefined, to: string): string {
  const time = `${twoDigits(at.getHours())}:${twoDigits(at.getMinutes())}:${twoDigits(at.getSeconds())}`;
  return from === undefined ? `${time} ${to}` : `${time} ${from} → ${to}`;
}
