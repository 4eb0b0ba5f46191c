// Latency samples of the request scenarios (load.ts, describe-latency.ts): nearest-rank percentiles
// and their formatting.

/** The p-th percentile (0 < p ≤ 100) by nearest rank; NaN when there is no sample. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** A latency in ms for a table: 3 significant digits below 10 ms, whole ms above. */
export function fmtMs(ms: number): string {
  if (Number.isNaN(ms)) return '–';
  return ms < 10 ? ms.toFixed(1) : ms.toFixed(0);
}

/** `a ÷ b` with two decimals (– when either is missing). */
export function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  return (a / b).toFixed(a / b < 10 ? 2 : 0);
}
