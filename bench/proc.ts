// Linux /proc readers for the benchmark: CPU time and resident memory of other processes.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';

let clockTicks: number | undefined;

/** Clock ticks per second (`getconf CLK_TCK`, 100 on Linux nearly everywhere). */
export function clkTck(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime of a process (all its threads) in milliseconds; 0 when it is gone. */
export function cpuMs(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / clkTck();
}

/** utime + stime of each thread of a process, in milliseconds, by thread id (empty when it is gone). */
export function threadCpuMs(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), ((Number(fields[11]) + Number(fields[12])) * 1000) / clkTck());
    } catch {
      // the thread ended
    }
  }
  return out;
}

/**
 * The CPU each thread of `pid` used since `before` (threadCpuMs), the main thread first, then the
 * others from the busiest, those under 5 % of the total left out: e.g. `main 812, 2950, 240 ms`
 * (worker threads and V8's helper threads are not told apart; a chunk worker is one of the large ones).
 */
export function threadCpuSince(pid: number, before: Map<number, number>): string {
  const deltas = [...threadCpuMs(pid)].map(([tid, ms]) => ({ tid, ms: ms - (before.get(tid) ?? 0) }));
  const total = deltas.reduce((n, d) => n + d.ms, 0);
  const main = deltas.find((d) => d.tid === pid)?.ms ?? 0;
  const others = deltas
    .filter((d) => d.tid !== pid && d.ms >= total * 0.05)
    .map((d) => d.ms)
    .sort((a, b) => b - a);
  return `main ${Math.round(main)}${others.map((ms) => `, ${Math.round(ms)}`).join('')} ms`;
}

/** Sum of cpuMs over several processes. */
export function cpuMsOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
}

export interface Memory {
  /** Resident set now, KiB. */
  readonly rssKiB: number;
  /** Peak resident set (since start or the last resetPeak), KiB. */
  readonly hwmKiB: number;
}

export function memory(pid: number): Memory {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return { rssKiB: 0, hwmKiB: 0 };
  }
  const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM') };
}

/**
 * Resets the process's peak RSS (VmHWM) to its current RSS (`echo 5 > /proc/<pid>/clear_refs`,
 * Linux ≥ 4.0). Returns false where that is not allowed; peaks are then also sampled.
 */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Pids of processes whose command line contains `needle` (to find an S3 server's process). */
export function pidsWithCmdline(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export const mib = (kib: number): string => `${(kib / 1024).toFixed(0)} MiB`;

/** Whether process `pid` holds a TCP socket listening on `port` (/proc/net/tcp{,6} + its fds). */
export function listensOn(pid: number, port: number): boolean {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const p = line.trim().split(/\s+/);
      const local = p[1];
      if (local === undefined || p[3] !== '0A') continue; // 0A = LISTEN
      if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port && p[9] !== undefined) inodes.add(p[9]);
    }
  }
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (link.startsWith('socket:[') && inodes.has(link.slice(8, -1))) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

/**
 * RSS sampler of a process (the engine server during a job or a download): VmHWM is reset first when
 * the kernel allows it, and VmRSS is sampled every 20 ms as well.
 */
export class RssWatch {
  maxKiB = 0;
  private readonly timer: NodeJS.Timeout;
  readonly hwmReset: boolean;
  constructor(private readonly pid: number) {
    this.hwmReset = resetPeak(pid);
    this.sample();
    this.timer = setInterval(() => this.sample(), 20);
  }
  sample(): { rssKiB: number; peakKiB: number } {
    const m = memory(this.pid);
    this.maxKiB = Math.max(this.maxKiB, m.rssKiB);
    return { rssKiB: m.rssKiB, peakKiB: this.hwmReset ? Math.max(m.hwmKiB, this.maxKiB) : this.maxKiB };
  }
  stop(): { rssKiB: number; peakKiB: number } {
    clearInterval(this.timer);
    return this.sample();
  }
}
