/**
 * Fans the engine's job events out to the server-sent-event streams (event-routes.ts): `status`
 * at once, `progress` coalesced per job — at most one every `intervalMs` while the counters move,
 * built from the job's live state when sent (never one event per task), with TasksPerSecond and
 * EtaSeconds from one RateEstimator per job. `removed` when the engine deletes a job's record (the
 * retention sweep ended it), to the subscribers that take it (the account streams).
 *
 * The hub listens on the engine only while it has subscribers: the last unsubscribe removes its
 * listeners and timers, so streams that come and go leave nothing behind.
 */
import { isTerminal, type JobStatus } from '../../domain/job-status.ts';
import { RateEstimator } from '../../domain/progress-rate.ts';
import type { EngineEvents, JobProgressEvent, JobRemovedEvent, JobStatusEvent } from '../../engine/events.ts';
import type { FailureGroupView } from './failures-view.ts';
import type { DiscoveryView } from './job-view.ts';
import type { ProgressExtras } from './progress-view.ts';

export interface StatusPayload {
  JobId: string;
  From: JobStatus;
  To: JobStatus;
  At: string;
}

/** The job no longer exists (its record was deleted at the end of its retention period). */
export interface RemovedPayload {
  JobId: string;
}

/** A job's counters now, without the rate (the hub adds it). */
export interface ProgressCounters {
  JobId: string;
  Status: JobStatus;
  TotalNumberOfTasks: number;
  NumberOfTasksSucceeded: number;
  NumberOfTasksFailed: number;
  ElapsedTimeInActiveSeconds: number;
  Discovery: DiscoveryView | null;
  /** Failed tasks grouped by error code (s3batch extension; docs/job-lifecycle.md#failures-by-code). */
  FailuresByCode: FailureGroupView[];
}

/** The s3batch extension members (progress-view.ts) are part of every snapshot. */
export type ProgressSnapshot = ProgressCounters & ProgressExtras;

export interface ProgressPayload extends ProgressSnapshot {
  TasksPerSecond: number;
  EtaSeconds: number | null;
  /** Bytes processed per second over the last seconds; null for operations that move no bytes. */
  BytesPerSecond: number | null;
}

export interface HubSubscriber {
  readonly accountId: string;
  /** One job's events; absent: every job of the account. */
  readonly jobId?: string;
  status(event: StatusPayload): void;
  progress(event: ProgressPayload): void;
  /** Absent: the subscriber does not take `removed` events. */
  removed?(event: RemovedPayload): void;
}

export interface HubDeps {
  readonly events: EngineEvents;
  /** The job's counters now; undefined when the job is gone. */
  snapshot(accountId: string, jobId: string): ProgressSnapshot | undefined;
  /** Minimum time between two `progress` events of one job (250 ms). */
  readonly intervalMs: number;
  /** Milliseconds clock (default Date.now). */
  readonly now?: () => number;
  /** A subscriber threw (its stream is broken): the hub goes on with the others. */
  readonly onError?: (err: unknown) => void;
}

interface JobState {
  readonly accountId: string;
  readonly rate: RateEstimator;
  /** Bytes processed over time (jobs whose operation moves bytes). */
  readonly byteRate: RateEstimator;
  /** What the last event carried (without the elapsed time), to send only changes. */
  lastKey: string | undefined;
  lastSentAt: number;
  timer: NodeJS.Timeout | undefined;
}

export class JobEventHub {
  private readonly subscribers = new Set<HubSubscriber>();
  private readonly jobs = new Map<string, JobState>();
  private readonly now: () => number;
  private readonly onStatus = (e: JobStatusEvent): void => this.statusChanged(e);
  private readonly onProgress = (e: JobProgressEvent): void => this.progressMoved(e.accountId, e.jobId);
  private readonly onRemoved = (e: JobRemovedEvent): void => this.jobRemoved(e);

  constructor(private readonly deps: HubDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Open subscriptions (one per open stream). */
  get size(): number {
    return this.subscribers.size;
  }

  /** Starts delivering events to `sub`; returns its unsubscribe (idempotent). */
  subscribe(sub: HubSubscriber): () => void {
    if (this.subscribers.size === 0) {
      this.deps.events.on('job:status', this.onStatus);
      this.deps.events.on('job:progress', this.onProgress);
      this.deps.events.on('job:removed', this.onRemoved);
    }
    this.subscribers.add(sub);
    return () => this.unsubscribe(sub);
  }

  /** Drops every subscriber (server shutdown). */
  close(): void {
    for (const sub of [...this.subscribers]) this.unsubscribe(sub);
  }

  private unsubscribe(sub: HubSubscriber): void {
    if (!this.subscribers.delete(sub)) return;
    if (this.subscribers.size > 0) {
      // Forget jobs nobody follows any more (their timers with them).
      for (const [jobId, state] of this.jobs) if (!this.followed(state.accountId, jobId)) this.forget(jobId);
      return;
    }
    this.deps.events.off('job:status', this.onStatus);
    this.deps.events.off('job:progress', this.onProgress);
    this.deps.events.off('job:removed', this.onRemoved);
    for (const jobId of [...this.jobs.keys()]) this.forget(jobId);
  }

  private followed(accountId: string, jobId: string): boolean {
    for (const s of this.subscribers) if (matches(s, accountId, jobId)) return true;
    return false;
  }

  private forget(jobId: string): void {
    const state = this.jobs.get(jobId);
    if (state?.timer) clearTimeout(state.timer);
    this.jobs.delete(jobId);
  }

  /** The counters moved (engine event): one progress event soon, coalesced with what follows. */
  private progressMoved(accountId: string, jobId: string): void {
    if (!this.followed(accountId, jobId)) return;
    let state = this.jobs.get(jobId);
    if (!state) {
      state = {
        accountId,
        rate: new RateEstimator(),
        byteRate: new RateEstimator(),
        lastKey: undefined,
        lastSentAt: Number.NEGATIVE_INFINITY,
        timer: undefined,
      };
      this.jobs.set(jobId, state);
    }
    if (state.timer) return; // an event is due already: it will carry these counters
    const wait = Math.max(0, state.lastSentAt + this.deps.intervalMs - this.now());
    state.timer = setTimeout(() => this.flush(jobId, true), wait);
    state.timer.unref();
  }

  /**
   * Sends the job's progress when it changed since the last event. After a send it looks again
   * one interval later (`again`), so the last counters of a burst go out even when the engine
   * says nothing more; it stops once nothing changes.
   */
  private flush(jobId: string, again: boolean): void {
    const state = this.jobs.get(jobId);
    if (!state) return;
    if (state.timer) clearTimeout(state.timer);
    state.timer = undefined;
    let snap: ProgressSnapshot | undefined;
    try {
      snap = this.deps.snapshot(state.accountId, jobId);
    } catch (err) {
      this.deps.onError?.(err);
    }
    if (!snap) {
      this.forget(jobId);
      return;
    }
    const now = this.now();
    const done = snap.NumberOfTasksSucceeded + snap.NumberOfTasksFailed;
    state.rate.sample(now, done);
    if (snap.BytesProcessed !== null) state.byteRate.sample(now, snap.BytesProcessed);
    const key = JSON.stringify([
      snap.Status,
      snap.TotalNumberOfTasks,
      snap.NumberOfTasksSucceeded,
      snap.NumberOfTasksFailed,
      snap.Discovery,
      snap.BytesProcessed,
      snap.PercentComplete,
    ]);
    if (key === state.lastKey) return;
    state.lastKey = key;
    state.lastSentAt = now;
    const perSecond = state.rate.perSecond();
    const payload: ProgressPayload = {
      ...snap,
      TasksPerSecond: perSecond === null ? 0 : Math.round(perSecond * 10) / 10,
      EtaSeconds: state.rate.etaSeconds(snap.TotalNumberOfTasks),
      BytesPerSecond: snap.BytesProcessed === null ? null : Math.round(state.byteRate.perSecond() ?? 0),
    };
    this.deliver(state.accountId, jobId, (s) => s.progress(payload));
    if (again) {
      state.timer = setTimeout(() => this.flush(jobId, true), this.deps.intervalMs);
      state.timer.unref();
    }
  }

  private statusChanged(e: JobStatusEvent): void {
    // Who follows the job now: a stream opened after this change already shows it in its `job` event.
    const targets = [...this.subscribers].filter((s) => matches(s, e.accountId, e.jobId));
    if (targets.length === 0) return;
    const payload: StatusPayload = { JobId: e.jobId, From: e.from, To: e.to, At: e.at };
    // Delivered after the engine's own work for this change (not inside its call stack).
    queueMicrotask(() => {
      // The final counters go out before the job's last status.
      if (isTerminal(e.to) && this.jobs.has(e.jobId)) {
        this.flush(e.jobId, false);
        this.forget(e.jobId);
      }
      for (const s of targets) if (this.subscribers.has(s)) this.call(() => s.status(payload));
    });
  }

  private jobRemoved(e: JobRemovedEvent): void {
    this.forget(e.jobId);
    const targets = [...this.subscribers].filter((s) => s.removed !== undefined && matches(s, e.accountId, e.jobId));
    if (targets.length === 0) return;
    const payload: RemovedPayload = { JobId: e.jobId };
    // As status: after the engine's own work (the sweep), not inside its call stack.
    queueMicrotask(() => {
      for (const s of targets) if (this.subscribers.has(s)) this.call(() => s.removed?.(payload));
    });
  }

  private deliver(accountId: string, jobId: string, send: (s: HubSubscriber) => void): void {
    for (const s of [...this.subscribers]) if (matches(s, accountId, jobId)) this.call(() => send(s));
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.deps.onError?.(err);
    }
  }
}

function matches(s: HubSubscriber, accountId: string, jobId: string): boolean {
  return s.accountId === accountId && (s.jobId === undefined || s.jobId === jobId);
}
