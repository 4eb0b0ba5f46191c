/**
 * A job's throughput over its whole life at bounded size: samples of its finished-task counters
 * (cumulative) over time, kept with the job record, from which the web page draws tasks/s. Pure
 * (times are given).
 *
 * At most MAX_THROUGHPUT_SAMPLES samples, at least `stepMs` apart (but the samples of a run's
 * start and end, which are always kept). When the
 * series is full, every other sample is dropped (the first and the last stay) and the step
 * doubles: the resolution halves and the series still covers the job from its first sample to its
 * latest. Since the counters are cumulative, dropping a sample merges the two intervals around it
 * into one whose rate is their average: no task is lost from the picture.
 */

/** Counters at one moment: t in ms since the epoch, tasks succeeded and failed so far. */
export interface ThroughputSample {
  readonly t: number;
  readonly s: number;
  readonly f: number;
}

export interface ThroughputHistory {
  /** Minimum spacing of the samples now (doubles at each halving). */
  readonly stepMs: number;
  /** Oldest first. */
  readonly samples: readonly ThroughputSample[];
}

export const MAX_THROUGHPUT_SAMPLES = 240;
export const INITIAL_THROUGHPUT_STEP_MS = 1000;

/** One point of the tasks/s series: the rate over the interval that ends at `t`. */
export interface ThroughputPoint {
  readonly t: number;
  readonly tasksPerSecond: number;
  readonly tasksSucceeded: number;
  readonly tasksFailed: number;
}

/**
 * The history with `sample` recorded, or the same object when it is not kept: older than the last
 * sample, or less than a step after it (the caller shows such live counters without storing
 * them). `force` (a run starting or ending) keeps it even within a step, so the edges of a run are
 * kept and a pause shows as an interval at 0 tasks/s; at the last sample's time it replaces it.
 */
export function recordThroughput(
  history: ThroughputHistory | undefined,
  sample: ThroughputSample,
  opts: { force?: boolean; max?: number } = {},
): ThroughputHistory {
  const max = Math.max(4, opts.max ?? MAX_THROUGHPUT_SAMPLES);
  const h = history ?? { stepMs: INITIAL_THROUGHPUT_STEP_MS, samples: [] };
  const last = h.samples[h.samples.length - 1];
  if (last) {
    if (sample.t < last.t) return h;
    if (sample.t === last.t) {
      if (!opts.force || (sample.s === last.s && sample.f === last.f)) return h;
      return { stepMs: h.stepMs, samples: [...h.samples.slice(0, -1), sample] };
    }
    if (!opts.force && sample.t - last.t < h.stepMs) return h;
  }
  const next = { stepMs: h.stepMs, samples: [...h.samples, sample] };
  return next.samples.length > max ? halve(next) : next;
}

/** Every other sample dropped (the first and the last kept), the step doubled. */
export function halve(h: ThroughputHistory): ThroughputHistory {
  const n = h.samples.length;
  return {
    stepMs: h.stepMs * 2,
    samples: h.samples.filter((_, i) => i === 0 || i === n - 1 || i % 2 === 0),
  };
}

/**
 * The tasks/s series of a history, with `now` (the live counters of a running job) as its last
 * point when given: the first sample at 0 tasks/s, then each sample with the rate since the one
 * before. A counter that went back (a chunk redone after a crash) counts as 0, never negative.
 *
 * No interval shorter than the history's step gets a rate of its own: a run's end (or a pause, or
 * the live point) a few milliseconds after the last sample would otherwise show the handful of
 * tasks that finished together in those milliseconds as a spike of hundreds of tasks/s. Such an
 * interval is merged with the one before it (a short first interval, with the one after it unless
 * that one is a pause, which stays at 0 tasks/s), and every point of the merged span shows the
 * span's average rate, so the area under the chart is still every task.
 */
export function throughputPoints(history: ThroughputHistory | undefined, now?: ThroughputSample): ThroughputPoint[] {
  const samples: ThroughputSample[] = [];
  for (const x of [...(history?.samples ?? []), ...(now ? [now] : [])]) {
    const prev = samples[samples.length - 1];
    if (!prev || x.t > prev.t) samples.push(x);
  }
  const minMs = history?.stepMs ?? INITIAL_THROUGHPUT_STEP_MS;
  // Spans of consecutive intervals: interval i runs from sample i-1 to sample i.
  const spans: { first: number; last: number; ms: number; tasks: number }[] = [];
  for (let i = 1; i < samples.length; i++) {
    const ms = samples[i]!.t - samples[i - 1]!.t;
    const tasks = Math.max(0, finished(samples[i]!) - finished(samples[i - 1]!));
    const span = spans[spans.length - 1];
    if (span && (ms < minMs || (span.ms < minMs && tasks > 0))) {
      span.last = i;
      span.ms += ms;
      span.tasks += tasks;
    } else spans.push({ first: i, last: i, ms, tasks });
  }
  const rates = [0];
  for (const span of spans) {
    const rate = Math.round(((span.tasks * 1000) / span.ms) * 100) / 100;
    for (let i = span.first; i <= span.last; i++) rates.push(rate);
  }
  return samples.map((x, i) => ({ t: x.t, tasksPerSecond: rates[i]!, tasksSucceeded: x.s, tasksFailed: x.f }));
}

function finished(x: ThroughputSample): number {
  return x.s + x.f;
}
