/**
 * What `s3batch watch` prints for each DescribeJob answer, in one of three modes: `tty` (a live
 * line redrawn in place, status changes as their own lines above it), `plain` (a line per change,
 * at most one every `lineEveryMs`, for logs and pipes) and `json` (newline-delimited JSON
 * objects for scripts). No I/O of its own: it is given a `write` function and the times, so it
 * is unit-tested without a terminal. The rate and ETA come from the shared RateEstimator.
 */
import { RateEstimator } from '../domain/progress-rate.ts';
import {
  CLEAR_LINE,
  isEnded,
  renderLiveLine,
  renderPlainLine,
  renderStatusLine,
  type ProgressSnapshot,
} from './progress-line.ts';
import type { ProgressExtras } from './progress-extras.ts';

export type WatchMode = 'tty' | 'plain' | 'json';

/** The fields of a DescribeJob answer that watch shows. */
export interface JobObservation {
  readonly jobId: string;
  readonly status: string;
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly elapsedActiveSeconds: number;
  readonly failureReasons: readonly { readonly FailureCode?: string; readonly FailureReason?: string }[];
  readonly statusUpdateReason?: string;
  /** The JSON job view's s3batch members (estimate, bytes), when the server tells them. */
  readonly extras?: ProgressExtras | undefined;
}

export interface WatchPrinterOptions {
  readonly mode: WatchMode;
  readonly write: (text: string) => void;
  /** The terminal's width now (tty mode); undefined when unknown. */
  readonly columns?: () => number | undefined;
  /** Least time between two progress lines (plain) or objects (json). */
  readonly lineEveryMs: number;
}

/** The line that tells a Suspended job needs someone to confirm it (watch keeps watching). */
function suspendedHint(jobId: string): string {
  return `  job ${jobId} waits for confirmation: run \`s3batch confirm ${jobId}\` (or \`s3batch cancel ${jobId}\`); still watching, Ctrl-C to stop`;
}

export class WatchPrinter {
  private readonly rate = new RateEstimator();
  private readonly byteRate = new RateEstimator();
  private status: string | undefined;
  private last: JobObservation | undefined;
  /** The counts and status of the last progress line/object written (plain and json). */
  private printedKey: string | undefined;
  private printedAtMs = Number.NEGATIVE_INFINITY;
  /** A live line is on screen (tty): it must be cleared before any other line is written. */
  private liveShown = false;

  constructor(private readonly options: WatchPrinterOptions) {}

  /** One DescribeJob answer seen at `nowMs` (the estimator's clock) and `now` (for status lines). */
  observe(o: JobObservation, nowMs: number, now: Date): void {
    this.rate.sample(nowMs, o.succeeded + o.failed);
    const bytes = o.extras?.bytesProcessed;
    if (bytes !== undefined && bytes !== null) this.byteRate.sample(nowMs, bytes);
    this.last = o;
    if (o.status !== this.status) {
      this.statusChanged(this.status, o, now);
      this.status = o.status;
    }
    this.progress(o, nowMs, now, false);
  }

  /**
   * The job ended (the last observe() saw Complete, Failed or Cancelled): the final progress
   * line whatever the throttle, the failure reasons, and the end object in json mode.
   */
  finish(now: Date): void {
    const o = this.last;
    if (!o) return;
    const { mode, write } = this.options;
    // A terminal shows the last answer already; plain and json get it whatever the throttle.
    if (mode !== 'tty') this.progress(o, Number.POSITIVE_INFINITY, now, true);
    if (mode === 'tty' && this.liveShown) {
      write('\n');
      this.liveShown = false;
    }
    if (mode === 'json') {
      write(
        `${JSON.stringify({ Type: 'end', JobId: o.jobId, Status: o.status, FailureReasons: o.failureReasons, ...(o.statusUpdateReason ? { StatusUpdateReason: o.statusUpdateReason } : {}) })}\n`,
      );
      return;
    }
    if (o.status === 'Complete') {
      write(
        `Job ${o.jobId} is Complete: ${o.succeeded} succeeded, ${o.failed} failed. Report: s3batch report ${o.jobId}\n`,
      );
      return;
    }
    write(`Job ${o.jobId} ended ${o.status}.${o.statusUpdateReason ? ` Reason: ${o.statusUpdateReason}` : ''}\n`);
    for (const r of o.failureReasons) write(`  ${r.FailureCode ?? 'Failure'}: ${r.FailureReason ?? ''}\n`);
  }

  /** Ctrl-C: end the live line so the shell prompt starts on a line of its own. */
  interrupt(): void {
    if (this.options.mode === 'tty' && this.liveShown) {
      this.options.write('\n');
      this.liveShown = false;
    }
  }

  /** The snapshot the renderers draw; rate and ETA only while the job can still move. */
  snapshot(o: JobObservation): ProgressSnapshot {
    const moving = !isEnded(o.status);
    return {
      status: o.status,
      total: o.total,
      succeeded: o.succeeded,
      failed: o.failed,
      perSecond: moving ? this.rate.perSecond() : null,
      etaSeconds: moving ? this.rate.etaSeconds(o.total) : null,
      estimated: o.extras?.estimated === true,
      bytesProcessed: o.extras?.bytesProcessed ?? null,
      bytesPerSecond: moving ? this.byteRate.perSecond() : null,
    };
  }

  private statusChanged(from: string | undefined, o: JobObservation, now: Date): void {
    const { mode, write } = this.options;
    if (mode === 'json') {
      write(
        `${JSON.stringify({ Type: 'status', JobId: o.jobId, From: from ?? null, To: o.status, At: now.toISOString() })}\n`,
      );
      return;
    }
    const lines = [renderStatusLine(now, from, o.status)];
    if (o.status === 'Suspended') lines.push(suspendedHint(o.jobId));
    this.writeAboveLive(lines.map((l) => `${l}\n`).join(''));
  }

  private progress(o: JobObservation, nowMs: number, now: Date, final: boolean): void {
    const { mode, write } = this.options;
    if (mode === 'tty') {
      write(`${CLEAR_LINE}${renderLiveLine(this.snapshot(o), this.options.columns?.() ?? undefined)}`);
      this.liveShown = true;
      return;
    }
    const key = `${o.status}|${o.total}|${o.succeeded}|${o.failed}|${o.extras?.bytesProcessed}|${o.extras?.estimated}`;
    if (key === this.printedKey) return;
    if (!final && nowMs - this.printedAtMs < this.options.lineEveryMs) return;
    this.printedKey = key;
    this.printedAtMs = nowMs;
    if (mode === 'plain') {
      write(`${renderPlainLine(this.snapshot(o))}\n`);
      return;
    }
    const s = this.snapshot(o);
    write(
      `${JSON.stringify({
        Type: 'progress',
        JobId: o.jobId,
        Status: o.status,
        TotalNumberOfTasks: o.total,
        NumberOfTasksSucceeded: o.succeeded,
        NumberOfTasksFailed: o.failed,
        TasksPerSecond: s.perSecond === null ? null : Math.round(s.perSecond * 10) / 10,
        EtaSeconds: s.etaSeconds,
        ElapsedTimeInActiveSeconds: o.elapsedActiveSeconds,
        ...(o.extras === undefined
          ? {}
          : {
              PercentEstimated: o.extras.estimated,
              BytesProcessed: o.extras.bytesProcessed,
              BytesPerSecond:
                o.extras.bytesProcessed === null || s.bytesPerSecond === null || s.bytesPerSecond === undefined
                  ? null
                  : Math.round(s.bytesPerSecond),
            }),
        At: now.toISOString(),
      })}\n`,
    );
  }

  private writeAboveLive(text: string): void {
    if (this.liveShown) {
      this.options.write(CLEAR_LINE);
      this.liveShown = false;
    }
    this.options.write(text);
  }
}
