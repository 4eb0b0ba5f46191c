// Latency samples of the request scenarios (load.ts, describe-latency.ts): nearest-rank percentiles
// and their formatting; the server's event-loop delay from its /metrics.
import { basicAuth } from '../test/helpers/json-api.ts';
import { TEST_API_KEY } from '../test/helpers/server-process.ts';

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

/**
 * The server's event-loop delay since the previous scrape (prom-client resets its histogram at each
 * scrape of GET /metrics): p99 and max in ms; undefined when /metrics does not tell.
 */
export async function eventLoopDelay(serverUrl: string): Promise<{ p99: number; max: number } | undefined> {
  try {
    const res = await fetch(`${serverUrl}/metrics`, { headers: { authorization: basicAuth(TEST_API_KEY) } });
    const text = await res.text();
    const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1]) * 1000;
    const p99 = value('nodejs_eventloop_lag_p99_seconds');
    const max = value('nodejs_eventloop_lag_max_seconds');
    return Number.isFinite(p99) && Number.isFinite(max) ? { p99, max } : undefined;
  } catch {
    return undefined;
  }
}
