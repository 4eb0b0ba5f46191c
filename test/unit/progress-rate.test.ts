import { describe, expect, it } from 'vitest';
import { formatDuration, RateEstimator } from '../../src/domain/progress-rate.ts';

describe('RateEstimator', () => {
  it('has no rate before two samples half a second apart', () => {
    const r = new RateEstimator();
    expect(r.perSecond()).toBeNull();
    r.sample(0, 0);
    r.sample(400, 40);
    expect(r.perSecond()).toBeNull();
    expect(r.etaSeconds(100)).toBeNull();
  });

  it('gives the slope and the time left', () => {
    const r = new RateEstimator();
    r.sample(0, 0);
    r.sample(1000, 100);
    r.sample(2000, 200);
    expect(r.perSecond()).toBe(100);
    expect(r.etaSeconds(1000)).toBe(8);
  });

  it('follows a change of speed within the window and falls to 0 when paused', () => {
    const r = new RateEstimator(2000);
    for (let t = 0; t <= 10_000; t += 500) r.sample(t, t / 10); // 100/s
    for (let t = 10_500; t <= 14_000; t += 500) r.sample(t, 1000 + (t - 10_000) / 2); // 500/s
    expect(r.perSecond()).toBeCloseTo(500, 0);
    for (let t = 14_500; t <= 18_000; t += 500) r.sample(t, 3000);
    expect(r.perSecond()).toBe(0);
    expect(r.etaSeconds(5000)).toBeNull();
  });

  it('starts over when the count goes back, and ignores a sample from the past', () => {
    const r = new RateEstimator();
    r.sample(0, 500);
    r.sample(1000, 600);
    r.sample(2000, 10);
    expect(r.perSecond()).toBeNull();
    r.sample(1500, 9999);
    r.sample(3000, 110);
    expect(r.perSecond()).toBe(100);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [12.4, '12s'],
    [245, '4m 05s'],
    [3720, '1h 02m'],
  ])('%s s → %s', (s, text) => expect(formatDuration(s)).toBe(text));
});
