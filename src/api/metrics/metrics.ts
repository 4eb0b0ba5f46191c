/**
 * `GET /metrics` in the Prometheus text format (prom-client): jobs by status (counted from the
 * job store at each scrape), tasks by operation and outcome, task latency, retries and throttled
 * attempts (from the engine's `task:done` events), open event streams, and prom-client's default
 * process metrics. One private Registry per server (tests run several in one process). No auth;
 * labels never carry job ids, keys or accounts.
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ALL_STATUSES, type JobStatus } from '../../domain/job-status.ts';
import type { EngineEvents, TaskDoneEvent } from '../../engine/events.ts';

export interface MetricsSources {
  readonly events: EngineEvents;
  /** Every job's status now (the job store). */
  jobStatuses(): Iterable<JobStatus>;
  /** Open server-sent-event streams. */
  sseStreams?(): number;
}

/** Task latency buckets (seconds): a fast PUT on a LAN to a slow copy with retries. */
export const TASK_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export interface Metrics {
  readonly registry: Registry;
  /** Stops listening to the engine. */
  close(): void;
}

export function createMetrics(sources: MetricsSources): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 's3batch_jobs',
    help: 'Jobs by status (every job the server keeps, ended ones until their retention expires)',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      const counts = new Map<JobStatus, number>(ALL_STATUSES.map((s) => [s, 0]));
      for (const s of sources.jobStatuses()) counts.set(s, (counts.get(s) ?? 0) + 1);
      for (const [status, n] of counts) this.set({ status }, n);
    },
  });
  const tasks = new Counter({
    name: 's3batch_tasks_total',
    help: 'Tasks finished, by operation and result (succeeded or failed, after retries)',
    labelNames: ['operation', 'result'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 's3batch_task_duration_seconds',
    help: 'Time from a task\'s first attempt to its final outcome, retries and backoff included',
    labelNames: ['operation'],
    buckets: TASK_DURATION_BUCKETS,
    registers: [registry],
  });
  const retries = new Counter({
    name: 's3batch_task_retries_total',
    help: 'Attempts beyond the first one of each task, by operation',
    labelNames: ['operation'],
    registers: [registry],
  });
  const throttled = new Counter({
    name: 's3batch_throttled_attempts_total',
    help: 'Task attempts the storage answered with throttling (SlowDown, 429, 503), by operation',
    labelNames: ['operation'],
    registers: [registry],
  });
  if (sources.sseStreams) {
    const streams = sources.sseStreams;
    new Gauge({
      name: 's3batch_event_streams',
      help: 'Open server-sent-event streams (/api/v1/events, /api/v1/jobs/:id/events)',
      registers: [registry],
      collect() {
        this.set(streams());
      },
    });
  }

  // The labelled children, once per operation: task:done fires thousands of times a second.
  interface Children {
    readonly ok: ReturnType<Counter['labels']>;
    readonly failed: ReturnType<Counter['labels']>;
    readonly duration: ReturnType<Histogram['labels']>;
    readonly retries: ReturnType<Counter['labels']>;
    readonly throttled: ReturnType<Counter['labels']>;
  }
  const byOperation = new Map<string, Children>();
  const onTask = (e: TaskDoneEvent): void => {
    let c = byOperation.get(e.operation);
    if (!c) {
      const operation = e.operation;
      c = {
        ok: tasks.labels({ operation, result: 'succeeded' }),
        failed: tasks.labels({ operation, result: 'failed' }),
        duration: duration.labels({ operation }),
        retries: retries.labels({ operation }),
        throttled: throttled.labels({ operation }),
      };
      // Every series of the operation from its first task on (a failed counter at 0 is a fact too).
      c.ok.inc(0);
      c.failed.inc(0);
      c.retries.inc(0);
      c.throttled.inc(0);
      byOperation.set(operation, c);
    }
    (e.succeeded ? c.ok : c.failed).inc();
    c.duration.observe(e.durationMs / 1000);
    if (e.attempts > 1) c.retries.inc(e.attempts - 1);
    if (e.throttledAttempts > 0) c.throttled.inc(e.throttledAttempts);
  };
  sources.events.on('task:done', onTask);
  return {
    registry,
    close: () => void sources.events.off('task:done', onTask),
  };
}

/** The `/metrics` route (register without a prefix). */
export async function metricsRoutes(app: FastifyInstance, opts: { readonly metrics: Metrics }): Promise<void> {
  const { registry } = opts.metrics;
  app.get('/metrics', async (_req, reply) => {
    const text = await registry.metrics();
    return reply.header('content-type', registry.contentType).header('cache-control', 'no-store').send(text);
  });
  app.addHook('onClose', async () => opts.metrics.close());
}
