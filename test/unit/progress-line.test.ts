import { describe, expect, it } from 'vitest';
import {
  CLEAR_LINE,
  formatCount,
  formatRate,
  percentDone,
  renderBar,
  renderLiveLine,
  renderPlainLine,
  renderStatusLine,
  type ProgressSnapshot,
} from '../../src/cli/progress-line.ts';

const snap = (over: Partial<ProgressSnapshot> = {}): ProgressSnapshot => ({
  status: 'Active',
  total: 10_000,
  succeeded: 5198,
  failed: 12,
  perSecond: 143,
  etaSeconds: 34,
  ...over,
});

/** Terminal cells (every character the renderer uses is one cell wide). */
const cells = (s: string): number => [...s].length;

describe('renderLiveLine', () => {
  it('draws status, unicode bar, percent, grouped counts, rate, ETA and failures', () => {
    const line = renderLiveLine(snap(), 120);
    expect(line).toBe(
      `Active      [${'█'.repeat(15)}${'░'.repeat(15)}]   52%  5,210 / 10,000  143/s  ETA 34s  failed 12`,
    );
    expect(cells(line)).toBeLessThan(120);
  });

  it.each([40, 50, 60, 72, 80, 100, 200])('never reaches the last column of a %i-column terminal', (columns) => {
    for (const s of [
      snap(),
      snap({ total: 0, succeeded: 0, failed: 0, perSecond: null, etaSeconds: null }),
      snap({ status: 'Cancelling', etaSeconds: 3725 }),
    ]) {
      const line = renderLiveLine(s, columns);
      expect(cells(line)).toBeLessThanOrEqual(columns - 1);
      expect(line).not.toContain('\n');
    }
  });

  it('shrinks the bar before dropping parts, then drops rate and ETA first, keeping a non-zero failed count', () => {
    const wide = renderLiveLine(snap(), 200);
    expect(wide).toContain(`[${'█'.repeat(15)}${'░'.repeat(15)}]`); // 30 cells at most
    const smallestWithAll = renderLiveLine(snap(), 72);
    expect(smallestWithAll).toContain('143/s');
    expect(smallestWithAll).toContain('[████░░░░]'); // shrunk to 8 cells
    expect(renderLiveLine(snap(), 71)).not.toContain('143/s');
    expect(renderLiveLine(snap(), 71)).toContain('ETA 34s');
    const narrow = renderLiveLine(snap(), 52);
    expect(narrow).not.toMatch(/\/s/);
    expect(narrow).toContain('failed 12');
    expect(narrow).toMatch(/\[█+░+\]/);
  });

  it('drops a zero failed count before the counts', () => {
    const line = renderLiveLine(snap({ failed: 0, succeeded: 5210 }), 48);
    expect(line).toContain('5,210 / 10,000');
    expect(line).not.toContain('failed');
  });

  it('on a very narrow terminal keeps status and percent, then only the status', () => {
    expect(renderLiveLine(snap(), 20)).toBe('Active  52%');
    expect(renderLiveLine(snap(), 6)).toBe('Activ');
  });

  it('a total of 0 (manifest not read yet) shows an empty bar and --%', () => {
    const line = renderLiveLine(
      snap({ status: 'Preparing', total: 0, succeeded: 0, failed: 0, perSecond: null, etaSeconds: null }),
      100,
    );
    expect(line).toMatch(/^Preparing {3}\[░+\] {3}--% {2}0 \/ 0 {2}--\/s {2}ETA -- {2}failed 0$/);
  });

  it('shows an unknown rate and ETA as --', () => {
    const line = renderLiveLine(snap({ perSecond: null, etaSeconds: null }), 120);
    expect(line).toContain('--/s');
    expect(line).toContain('ETA --');
  });

  it('an ended job shows no rate or ETA, and Complete is a full bar at 100%', () => {
    const line = renderLiveLine(
      snap({ status: 'Complete', succeeded: 9988, failed: 12, perSecond: 10, etaSeconds: 0 }),
      100,
    );
    expect(line).toMatch(/^Complete {4}\[█+\] {2}100% {2}10,000 \/ 10,000 {2}failed 12$/);
    expect(line).not.toContain('░');
    expect(line).not.toContain('ETA');
  });

  it('uses 80 columns when the width is unknown', () => {
    expect(renderLiveLine(snap(), Number.NaN)).toBe(renderLiveLine(snap(), 80));
    expect(renderLiveLine(snap())).toBe(renderLiveLine(snap(), 80));
  });
});

describe('pieces', () => {
  it('percentDone rounds down, caps at 100, is unknown for 0 tasks but 100 for a Complete job', () => {
    expect(percentDone(snap({ total: 3, succeeded: 2, failed: 0 }))).toBe(66);
    expect(percentDone(snap({ total: 1000, succeeded: 999, failed: 0 }))).toBe(99);
    expect(percentDone(snap({ total: 0, succeeded: 0, failed: 0 }))).toBeNull();
    expect(percentDone(snap({ status: 'Complete', total: 0, succeeded: 0, failed: 0 }))).toBe(100);
  });

  it('renderBar fills whole cells, an unknown fraction is empty', () => {
    expect(renderBar(0.5, 10)).toBe('[█████░░░░░]');
    expect(renderBar(0.99, 10)).toBe('[█████████░]');
    expect(renderBar(1, 4)).toBe('[████]');
    expect(renderBar(null, 3)).toBe('[░░░]');
    expect(renderBar(2, 3)).toBe('[███]');
  });

  it('formats counts and rates', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatRate(2.46)).toBe('2.5/s');
    expect(formatRate(0)).toBe('0/s');
    expect(formatRate(1204.4)).toBe('1,204/s');
    expect(formatRate(null)).toBe('--/s');
  });

  it('renderPlainLine: done of total (percent), failed, status', () => {
    expect(renderPlainLine(snap())).toBe('5210 of 10000 tasks (52%), 12 failed, Active');
    expect(renderPlainLine(snap({ status: 'Preparing', total: 0, succeeded: 0, failed: 0 }))).toBe(
      '0 of 0 tasks, 0 failed, Preparing',
    );
  });

  it('renderStatusLine: local time and the change', () => {
    const at = new Date(2026, 10, 28, 8, 31, 2);
    expect(renderStatusLine(at, 'Preparing', 'Active')).toBe('08:31:02 Preparing → Active');
    expect(renderStatusLine(at, undefined, 'Suspended')).toBe('08:31:02 Suspended');
  });

  it('CLEAR_LINE returns to column 0 and erases the line', () => {
    expect(CLEAR_LINE).toBe('\r\x1b[2K');
  });
});

describe('estimate and bytes processed', () => {
  it('the live line marks an estimated percent and shows bytes and their rate', () => {
    const line = renderLiveLine(
      snap({ estimated: true, bytesProcessed: 1.5 * 1024 ** 3, bytesPerSecond: 12 * 1024 ** 2 }),
      160,
    );
    expect(line).toContain(' ~52%  5,210 / 10,000+  1.5 GiB 12 MiB/s  143/s');
    expect(renderLiveLine(snap({ status: 'Complete', bytesProcessed: 2048 }), 160)).toContain('2 KiB  failed 12');
  });

  it('the plain line says estimated and the exact bytes', () => {
    expect(renderPlainLine(snap({ estimated: true }))).toBe(
      '5210 of 10000 tasks found so far (52% estimated), 12 failed, Active',
    );
    expect(renderPlainLine(snap({ bytesProcessed: 1536 }))).toBe(
      '5210 of 10000 tasks (52%), 12 failed, 1536 bytes processed (1.5 KiB), Active',
    );
  });
});
