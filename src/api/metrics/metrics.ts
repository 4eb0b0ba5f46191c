/**
 * `GET /metrics` in the Prometheus text format (prom-client): jobs by status (counted from the
 * job store at each scrape), tasks by operation and outcome, task latency, retries and throttled
 * attempts and bytes processed (from the engine's `task:done` events), open event streams, and prom-client's default
 * process metrics. The server's own metrics live in a Registry of its own (tests run several
 * servers in one process); the process metrics are collected once per process and merged in. No auth;
 * labels never carry job ids, keys or accounts.
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ALL_STATUSES, type JobStatus } from '../../domain/job-status.ts';
import type { EngineEvents, TaskDoneEvent } from '../../engine/events.ts';

export interface MetricsSources {
  readonly events: EngineEvents;
  /** Number of jobs per status now (the job store's index: no walk over every job per scrape). */
  jobStatusCounts(): ReadonlyMap<JobStatus, number>;
  /** Open server-sent-event streams. */
  sseStreams?(): number;
  /** Worker threads running tasks (started on first use); absent when tasks run in the main thread. */
  readonly workerThreads?: (() => number) | undefined;
  /** Scale-out mode: tasks finished by each `s3batch worker` (by name), since this server leads. */
  readonly workerTasks?:
    | (() => ReadonlyMap<string, { readonly succeeded: number; readonly failed: number }>)
    | undefined;
}

/** Task latency buckets (seconds): a fast PUT on a LAN to a slow copy with retries. */
const TASK_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export interface Metrics {
  readonly registry: Registry;
  /** Stops listening to the engine. */
  close(): void;
}

/**
 * prom-client's default process metrics, one set per process: collecting them starts an
 * event-loop-delay monitor and a GC observer that can never be stopped, so a registry of their
 * own per server would leave one more of each behind for every server built (tests build many).
 */
let processMetrics: Registry | undefined;

function processRegistry(): Registry {
  if (processMetrics === undefined) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

export function createMetrics(sources: MetricsSources): Metrics {
  const own = new Registry();
  new Gauge({
    name: 's3batch_jobs',
    help: 'Jobs by status (every job the server keeps, ended ones until their retention expires)',
    labelNames: ['status'],
    registers: [own],
    collect() {
      const counts = new Map<JobStatus, number>(ALL_STATUSES.map((s) => [s, 0]));
      for (const [s, n] of sources.jobStatusCounts()) counts.set(s, n);
      for (const [status, n] of counts) this.set({ status }, n);
    },
  });
  // task:done fires thousands of times a second: each event adds to plain numbers per operation
  // (and one histogram observation); the counters take what was added since at scrape time.
  interface Tally {
    succeeded: number;
    failed: number;
    retries: number;
    throttled: number;
    bytes: number;
    readonly duration: ReturnType<Histogram['labels']>;
  }
  const tallies = new Map<string, Tally>();
  const reported = new Map<string, Omit<Tally, 'duration'>>();
  /** Adds to `counter` what `field` of each operation's tally gained since the last scrape. */
  const catchUp = (
    counter: Counter,
    field: 'succeeded' | 'failed' | 'retries' | 'throttled' | 'bytes',
    labels: (operation: string) => Record<string, string>,
  ): void => {
    for (const [operation, t] of tallies) {
      let r = reported.get(operation);
      if (!r) reported.set(operation, (r = { succeeded: 0, failed: 0, retries: 0, throttled: 0, bytes: 0 }));
      counter.inc(labels(operation), t[field] - r[field]);
      r[field] = t[field];
    }
  };
  new Counter({
    name: 's3batch_tasks_total',
    help: 'Tasks finished, by operation and result (succeeded or failed, after retries)',
    labelNames: ['operation', 'result'],
    registers: [own],
    collect() {
      catchUp(this, 'succeeded', (operation) => ({ operation, result: 'succeeded' }));
      catchUp(this, 'failed', (operation) => ({ operation, result: 'failed' }));
    },
  });
  const duration = new Histogram({
    name: 's3batch_task_duration_seconds',
    help: "Time from a task's first attempt to its final outcome, retries and backoff included",
    labelNames: ['operation'],
    buckets: TASK_DURATION_BUCKETS,
    registers: [own],
  });
  new Counter({
    name: 's3batch_task_retries_total',
    help: 'Attempts beyond the first one of each task, by operation',
    labelNames: ['operation'],
    registers: [own],
    collect() {
      catchUp(this, 'retries', (operation) => ({ operation }));
    },
  });
  new Counter({
    name: 's3batch_throttled_attempts_total',
    help: 'Task attempts the storage answered with throttling (SlowDown, 429, 503), by operation',
    labelNames: ['operation'],
    registers: [own],
    collect() {
      catchUp(this, 'throttled', (operation) => ({ operation }));
    },
  });
  new Counter({
    name: 's3batch_bytes_processed_total',
    help: 'Bytes that succeeded tasks copied, replicated or read for a checksum, by operation (not dry runs)',
    labelNames: ['operation'],
    registers: [own],
    collect() {
      catchUp(this, 'bytes', (operation) => ({ operation }));
    },
  });
  if (sources.sseStreams) {
    const streams = sources.sseStreams;
    new Gauge({
      name: 's3batch_event_streams',
      help: 'Open server-sent-event streams (/api/v1/events, /api/v1/jobs/:id/events)',
      registers: [own],
      collect() {
        this.set(streams());
      },
    });
  }
  if (sources.workerThreads) {
    const threads = sources.workerThreads;
    new Gauge({
      name: 's3batch_worker_threads',
      help: 'Worker threads running tasks (started on first use, up to --workers; docs/execution.md#spreading)',
      registers: [own],
      collect() {
        this.set(threads());
      },
    });
  }
  if (sources.workerTasks) {
    const byWorker = sources.workerTasks;
    new Gauge({
      name: 's3batch_worker_tasks',
      help: 'Tasks finished by each s3batch worker process since this server took the lead, by outcome (docs/deployment.md#metrics)',
      labelNames: ['worker', 'outcome'],
      registers: [own],
      collect() {
        this.reset();
        for (const [worker, t] of byWorker()) {
          this.set({ worker, outcome: 'succeeded' }, t.succeeded);
          this.set({ worker, outcome: 'failed' }, t.failed);
        }
      },
    });
  }

  const onTask = (e: TaskDoneEvent): void => {
    let t = tallies.get(e.operation);
    if (!t)
      tallies.set(
        e.operation,
        (t = {
          succeeded: 0,
          failed: 0,
          retries: 0,
          throttled: 0,
          bytes: 0,
          duration: duration.labels({ operation: e.operation }),
        }),
      );
    if (e.succeeded) t.succeeded++;
    else t.failed++;
    if (e.attempts > 1) t.retries += e.attempts - 1;
    t.throttled += e.throttledAttempts;
    if (e.bytes !== undefined) t.bytes += e.bytes;
    t.duration.observe(e.durationMs / 1000);
  };
  sources.events.on('task:done', onTask);
  // The server's metrics and the shared process metrics, scraped as one.
  const registry = Registry.merge([processRegistry(), own]);
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
