/**
 * Tasks per second and time left, from samples of a job's finished-task count over time: the
 * one estimate the SSE stream, the CLI's `watch` and the web page show. Pure (times are given).
 *
 * The rate is the slope over a sliding window (default 10 s) of samples, so it follows a job that
 * speeds up or is throttled without jumping at every sample; a pause (no change) makes it fall to 0.
 */

export interface RateSample {
  /** Milliseconds (any clock, but one clock per estimator). */
  readonly atMs: number;
  /** Tasks finished (succeeded + failed) so far. */
  readonly done: number;
}

export class RateEstimator {
  private readonly samples: RateSample[] = [];

  constructor(private readonly windowMs = 10_000) {}

  /** Records the count at a time; a sample older than the last one is ignored. */
  sample(atMs: number, done: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last && atMs < last.atMs) return;
    if (last && done < last.done) this.samples.length = 0; // a counter that went back (restart): start over
    this.samples.push({ atMs, done });
    // Keep one sample at or before the window's start so the slope spans the whole window.
    while (this.samples.length > 2 && this.samples[1]!.atMs <= atMs - this.windowMs) this.samples.shift();
  }

  /** Tasks per second over the window; null until two samples at least 0.5 s apart. */
  perSecond(): number | null {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.atMs - first.atMs < 500) return null;
    return ((last.done - first.done) * 1000) / (last.atMs - first.atMs);
  }

  /** Seconds until `total` tasks are done at the current rate; null when unknown (no rate, or 0). */
  etaSeconds(total: number): number | null {
    const rate = this.perSecond();
    const last = this.samples[this.samples.length - 1];
    if (rate === null || rate <= 0 || !last) return null;
    return Math.max(0, Math.ceil((total - last.done) / rate));
  }
}

/** "1h 02m", "4m 05s", "12s": a duration for people. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}
