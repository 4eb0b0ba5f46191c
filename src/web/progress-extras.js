/**
 * The s3batch progress members of the job view and its SSE events (docs/job-lifecycle.md#percent-complete,
 * #bytes-processed) as the Jobs page shows them: what an estimated percent is based on, and the
 * details view's rows for the percent and the bytes processed with their rate.
 */
import { h } from './dom.js';
import { bytes, num } from './format.js';

/** What an estimated percent divides by (PercentComplete.EstimateBasis), for people. */
const ESTIMATE_BASIS_TEXT = {
  TasksFoundSoFar: 'percent of the tasks found so far; the listing goes on, so the total still grows',
};

/** The text of a PercentComplete's EstimateBasis (a generic one for a basis this page does not know). */
export function estimateBasisText(pc) {
  return ESTIMATE_BASIS_TEXT[pc?.EstimateBasis] ?? 'the total still grows';
}

/** The percent, and what it is based on while it is an estimate (a listing goes on). */
export function percentRows(p) {
  const pc = p.PercentComplete;
  if (!pc || pc.Percent == null) return [];
  const text = pc.Estimated ? `~${pc.Percent}% (estimate: ${estimateBasisText(pc)})` : `${pc.Percent}%`;
  return [['percent', 'Percent complete', text, pc.Estimated ? 'wide' : undefined]];
}

/** Bytes copied, replicated or read (null for operations that move none), and their rate. */
export function byteRows(p, running) {
  if (typeof p.BytesProcessed !== 'number') return [];
  const now = running && typeof p.BytesPerSecond === 'number' ? p.BytesPerSecond : null;
  const avg = typeof p.AverageBytesPerSecond === 'number' ? p.AverageBytesPerSecond : null;
  return [
    [
      'bytes-processed',
      'Bytes processed',
      h('span', { title: `${num(p.BytesProcessed)} bytes`, 'data-bytes': p.BytesProcessed }, bytes(p.BytesProcessed)),
    ],
    ['byte-rate', 'Byte rate', now !== null ? `${bytes(now)}/s` : avg !== null ? `${bytes(avg)}/s (average)` : '—'],
  ];
}
