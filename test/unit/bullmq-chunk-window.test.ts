import { describe, expect, it } from 'vitest';
import { compareStreamIds, planWindow, type WindowEntry } from '../../src/execution/bullmq/chunk-window.ts';

const e = (index: number, loops: number, running = true, stopping = false): WindowEntry => ({
  index,
  loops,
  running,
  stopping,
});

describe('planWindow (the BullMQ placement window)', () => {
  it('fills an empty window with chunks of chunkLoops, the last with what is left', () => {
    expect(planWindow(40, 16, [], Number.POSITIVE_INFINITY)).toEqual({ remove: [], loops: [], send: [16, 16, 8] });
    expect(planWindow(3, 16, [], Number.POSITIVE_INFINITY).send).toEqual([3]);
    expect(planWindow(40, 16, [], 1).send).toEqual([16]);
    expect(planWindow(0, 16, [], Number.POSITIVE_INFINITY).send).toEqual([]);
  });

  it('grows running chunks below chunkLoops first, oldest first, then sends new ones', () => {
    const plan = planWindow(40, 16, [e(0, 8), e(1, 4, false)], Number.POSITIVE_INFINITY);
    expect(plan.loops).toEqual([{ index: 0, loops: 16 }]);
    expect(plan.send).toEqual([16, 4]);
  });

  it('shrinks: waiting chunks leave the queue first (newest first), then running ones get fewer loops', () => {
    const entries = [e(0, 16), e(1, 16), e(2, 8, false)];
    expect(planWindow(30, 16, entries, 5)).toEqual({ remove: [2], loops: [{ index: 1, loops: 14 }], send: [] });
    expect(planWindow(2, 16, entries, 5)).toEqual({
      remove: [2],
      loops: [
        { index: 1, loops: 0 },
        { index: 0, loops: 2 },
      ],
      send: [],
    });
  });

  it('never resizes a chunk being stopped, and counts its loops until it is back', () => {
    const entries = [e(0, 16, true, true), e(1, 4)];
    expect(planWindow(20, 16, entries, 5)).toEqual({ remove: [], loops: [], send: [] });
    expect(planWindow(24, 16, entries, 5)).toEqual({ remove: [], loops: [{ index: 1, loops: 8 }], send: [] });
    expect(planWindow(10, 16, entries, 5)).toEqual({ remove: [], loops: [{ index: 1, loops: 0 }], send: [] });
  });
});

describe('compareStreamIds', () => {
  it('orders Redis stream ids by time, then sequence', () => {
    expect(compareStreamIds('1-0', '1-1')).toBeLessThan(0);
    expect(compareStreamIds('10-0', '9-5')).toBeGreaterThan(0);
    expect(compareStreamIds('1700000000000-3', '1700000000000-3')).toBe(0);
  });
});
