import { describe, expect, it } from 'vitest';
import {
  INITIAL_THROUGHPUT_STEP_MS,
  MAX_THROUGHPUT_SAMPLES,
  recordThroughput,
  throughputPoints,
  type ThroughputHistory,
} from '../../src/domain/throughput-history.ts';

const T0 = Date.UTC(2026, 0, 1);

/** A job finishing `perSecond` tasks every second for `seconds`, sampled every `everyMs`. */
function run(seconds: number, everyMs: number, perSecond = 10, max?: number): ThroughputHistory | undefined {
  let h: ThroughputHistory | undefined = recordThroughput(undefined, { t: T0, s: 0, f: 0 }, { force: true, max });
  for (let ms = everyMs; ms <= seconds * 1000; ms += everyMs) {
    const done = Math.floor((ms / 1000) * perSecond);
    h = recordThroughput(h, { t: T0 + ms, s: done - Math.floor(done / 10), f: Math.floor(done / 10) }, { max });
  }
  const end = seconds * perSecond;
  return recordThroughput(
    h,
    { t: T0 + seconds * 1000, s: end - Math.floor(end / 10), f: Math.floor(end / 10) },
    {
      force: true,
      max,
    },
  );
}

describe('throughput history', () => {
  it('keeps at most one sample per step, and the forced samples of a run’s edges', () => {
    let h = recordThroughput(undefined, { t: T0, s: 0, f: 0 }, { force: true });
    expect(h.samples).toHaveLength(1);
    const same = recordThroughput(h, { t: T0 + 300, s: 3, f: 0 });
    expect(same).toBe(h); // within a step: not kept (the route shows live counters itself)
    h = recordThroughput(h, { t: T0 + INITIAL_THROUGHPUT_STEP_MS, s: 10, f: 1 });
    expect(h.samples).toHaveLength(2);
    h = recordThroughput(h, { t: T0 + INITIAL_THROUGHPUT_STEP_MS + 10, s: 12, f: 1 }, { force: true });
    expect(h.samples.map((s) => s.s)).toEqual([0, 10, 12]);
    // Older than the last: ignored; at the last's time, a forced sample replaces it.
    expect(recordThroughput(h, { t: T0, s: 99, f: 0 }, { force: true })).toBe(h);
    const replaced = recordThroughput(h, { t: T0 + INITIAL_THROUGHPUT_STEP_MS + 10, s: 13, f: 1 }, { force: true });
    expect(replaced.samples.map((s) => s.s)).toEqual([0, 10, 13]);
  });

  it('stays within its bound over a long life and still covers it from start to end', () => {
    // Ten hours sampled every 250 ms: 144,000 samples offered.
    const h = run(10 * 3600, 250);
    expect(h).toBeDefined();
    const samples = h!.samples;
    expect(samples.length).toBeLessThanOrEqual(MAX_THROUGHPUT_SAMPLES);
    expect(samples.length).toBeGreaterThan(MAX_THROUGHPUT_SAMPLES / 2);
    expect(samples[0]!.t).toBe(T0);
    expect(samples[samples.length - 1]!.t).toBe(T0 + 10 * 3600 * 1000);
    expect(samples[samples.length - 1]!.s + samples[samples.length - 1]!.f).toBe(10 * 3600 * 10);
    // The resolution halved as it filled: the step grew from 1 s by powers of two.
    expect(h!.stepMs).toBeGreaterThan(INITIAL_THROUGHPUT_STEP_MS);
    expect(Math.log2(h!.stepMs / INITIAL_THROUGHPUT_STEP_MS) % 1).toBe(0);
    // Oldest first, strictly increasing times, and no gap wider than two steps (evenly covered).
    for (let i = 1; i < samples.length; i++) {
      expect(samples[i]!.t).toBeGreaterThan(samples[i - 1]!.t);
      expect(samples[i]!.t - samples[i - 1]!.t).toBeLessThanOrEqual(2 * h!.stepMs);
    }
  });

  it('halves to a small bound too, keeping the first and last samples', () => {
    const h = run(600, 100, 5, 8)!;
    expect(h.samples.length).toBeLessThanOrEqual(8);
    expect(h.samples[0]!.t).toBe(T0);
    expect(h.samples[h.samples.length - 1]!.t).toBe(T0 + 600_000);
  });

  it('turns samples into tasks/s per interval whose sum is every task, with a live last point', () => {
    const h = run(120, 250, 10)!;
    const points = throughputPoints(h);
    expect(points[0]!.tasksPerSecond).toBe(0);
    for (const p of points.slice(1)) expect(p.tasksPerSecond).toBeCloseTo(10, 0);
    let tasks = 0;
    for (let i = 1; i < points.length; i++)
      tasks += (points[i]!.tasksPerSecond * (points[i]!.t - points[i - 1]!.t)) / 1000;
    expect(Math.round(tasks)).toBe(1200);
    const last = points[points.length - 1]!;
    expect(last.tasksSucceeded + last.tasksFailed).toBe(1200);
    expect(last.tasksFailed).toBe(120);

    const live = throughputPoints(h, { t: T0 + 122_000, s: 1080, f: 140 });
    expect(live).toHaveLength(points.length + 1);
    expect(live[live.length - 1]).toEqual({
      t: T0 + 122_000,
      tasksPerSecond: 10,
      tasksSucceeded: 1080,
      tasksFailed: 140,
    });
    // A live point not after the last sample adds nothing.
    expect(throughputPoints(h, { t: T0, s: 0, f: 0 })).toHaveLength(points.length);
  });

  it("gives no interval shorter than a step a rate of its own: no spike at a run's end or live point", () => {
    // 30 tasks/s, sampled each second, then the run ends 20 ms after the last sample with 5 tasks
    // that finished together: on their own, 250 tasks/s.
    let h = recordThroughput(undefined, { t: T0, s: 0, f: 0 }, { force: true });
    for (let i = 1; i <= 4; i++) h = recordThroughput(h, { t: T0 + i * 1000, s: 30 * i, f: 0 });
    h = recordThroughput(h, { t: T0 + 4020, s: 125, f: 0 }, { force: true });
    expect(h.samples).toHaveLength(6);
    const points = throughputPoints(h);
    expect(points.map((p) => p.tasksPerSecond)).toEqual([0, 30, 30, 30, 34.31, 34.31]);
    // The merged span keeps the area under the chart: every task.
    let tasks = 0;
    for (let i = 1; i < points.length; i++)
      tasks += (points[i]!.tasksPerSecond * (points[i]!.t - points[i - 1]!.t)) / 1000;
    expect(tasks).toBeCloseTo(125, 1);
    // A live point 10 ms after the last sample: merged with the interval before it too.
    const live = throughputPoints(h, { t: T0 + 4030, s: 126, f: 0 });
    expect(live.at(-1)!.tasksPerSecond).toBeLessThan(40);
    // A run that ended within its first step: one short span, its own average.
    let short = recordThroughput(undefined, { t: T0, s: 0, f: 0 }, { force: true });
    short = recordThroughput(short, { t: T0 + 200, s: 4, f: 1 }, { force: true });
    expect(throughputPoints(short).map((p) => p.tasksPerSecond)).toEqual([0, 25]);
    // A short first interval (a run that started just before a sample) joins the one after it.
    let early = recordThroughput(undefined, { t: T0, s: 0, f: 0 }, { force: true });
    early = recordThroughput(early, { t: T0 + 100, s: 10, f: 0 }, { force: true });
    early = recordThroughput(early, { t: T0 + 2000, s: 40, f: 0 });
    expect(throughputPoints(early).map((p) => p.tasksPerSecond)).toEqual([0, 20, 20]);
    // ... but not a pause after it: that stays an interval at 0 tasks/s.
    let paused = recordThroughput(undefined, { t: T0, s: 0, f: 0 }, { force: true });
    paused = recordThroughput(paused, { t: T0 + 200, s: 1, f: 0 }, { force: true });
    paused = recordThroughput(paused, { t: T0 + 5000, s: 1, f: 0 }, { force: true });
    expect(throughputPoints(paused).map((p) => p.tasksPerSecond)).toEqual([0, 5, 0]);
  });

  it('shows a pause as 0 tasks/s and never a negative rate when a counter goes back', () => {
    let h = recordThroughput(undefined, { t: T0, s: 0, f: 0 }, { force: true });
    h = recordThroughput(h, { t: T0 + 2000, s: 20, f: 0 }, { force: true }); // paused
    h = recordThroughput(h, { t: T0 + 62_000, s: 20, f: 0 }, { force: true }); // resumed
    h = recordThroughput(h, { t: T0 + 64_000, s: 15, f: 0 }, { force: true }); // a chunk redone after a crash
    expect(throughputPoints(h).map((p) => p.tasksPerSecond)).toEqual([0, 10, 0, 0]);
    expect(throughputPoints(undefined)).toEqual([]);
  });
});
