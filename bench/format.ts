// Number formatting shared by the benchmark's scenarios and its tables.

/** Tasks per second, right-aligned in 6 characters (the progress log's column). */
export function fmtTps(n: number): string {
  return n.toFixed(0).padStart(6);
}

export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
