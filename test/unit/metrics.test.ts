// /metrics' registry (api/metrics/metrics.ts) fed by a real EngineEvents: task:done events become
// the task counters, the latency histogram, retries and throttled attempts by operation; the
// jobs-by-status gauge is counted from the store at scrape time; each server has its own registry
// (two in one process do not mix); close() stops listening. Read back through the text format.
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/api/metrics/metrics.ts';
import type { JobStatus } from '../../src/domain/job-status.ts';
import { EngineEvents, type TaskDoneEvent } from '../../src/engine/events.ts';
import { parsePrometheusText } from '../helpers/prometheus.ts';

/** The store's count per status, as JobRecords.statusCounts() answers it. */
function countOf(statuses: readonly JobStatus[]): Map<JobStatus, number> {
  const counts = new Map<JobStatus, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  return counts;
}

const task = (over: Partial<TaskDoneEvent> = {}): TaskDoneEvent => ({
  operation: 'S3PutObjectTagging',
  succeeded: true,
  durationMs: 20,
  attempts: 1,
  throttledAttempts: 0,
  ...over,
});

describe('metrics registry', () => {
  it('counts task outcomes, latency, retries and throttled attempts by operation', async () => {
    const events = new EngineEvents();
    const m = createMetrics({ events, jobStatusCounts: () => new Map() });
    events.emit('task:done', task());
    events.emit('task:done', task({ durationMs: 700, attempts: 3, throttledAttempts: 2 }));
    events.emit('task:done', task({ succeeded: false, durationMs: 4 }));
    events.emit('task:done', task({ operation: 'S3PutObjectCopy', succeeded: false, durationMs: 0, attempts: 0 }));
    const s = parsePrometheusText(await m.registry.metrics());
    expect(s.value('s3batch_tasks_total', { operation: 'S3PutObjectTagging', result: 'succeeded' })).toBe(2);
    expect(s.value('s3batch_tasks_total', { operation: 'S3PutObjectTagging', result: 'failed' })).toBe(1);
    expect(s.value('s3batch_tasks_total', { operation: 'S3PutObjectCopy', result: 'failed' })).toBe(1);
    expect(s.value('s3batch_tasks_total', { operation: 'S3PutObjectCopy', result: 'succeeded' })).toBe(0);
    expect(s.value('s3batch_task_retries_total', { operation: 'S3PutObjectTagging' })).toBe(2);
    expect(s.value('s3batch_throttled_attempts_total', { operation: 'S3PutObjectTagging' })).toBe(2);
    expect(s.value('s3batch_task_retries_total', { operation: 'S3PutObjectCopy' })).toBe(0);
    expect(s.value('s3batch_task_duration_seconds_count', { operation: 'S3PutObjectTagging' })).toBe(3);
    expect(s.value('s3batch_task_duration_seconds_sum', { operation: 'S3PutObjectTagging' })).toBeCloseTo(0.724, 6);
    expect(s.value('s3batch_task_duration_seconds_bucket', { operation: 'S3PutObjectTagging', le: '0.005' })).toBe(1);
    expect(s.value('s3batch_task_duration_seconds_bucket', { operation: 'S3PutObjectTagging', le: '0.025' })).toBe(2);
    expect(s.value('s3batch_task_duration_seconds_bucket', { operation: 'S3PutObjectTagging', le: '0.5' })).toBe(2);
    expect(s.value('s3batch_task_duration_seconds_bucket', { operation: 'S3PutObjectTagging', le: '1' })).toBe(3);
    expect(s.value('s3batch_task_duration_seconds_bucket', { operation: 'S3PutObjectTagging', le: '+Inf' })).toBe(3);
    expect(s.type.get('s3batch_tasks_total')).toBe('counter');
    expect(s.type.get('s3batch_task_duration_seconds')).toBe('histogram');
    expect(s.type.get('s3batch_task_retries_total')).toBe('counter');
    expect(s.type.get('s3batch_throttled_attempts_total')).toBe('counter');
    m.close();
  });

  it('bytes processed: summed by operation from the task:done events that carry bytes', async () => {
    const events = new EngineEvents();
    const m = createMetrics({ events, jobStatusCounts: () => new Map() });
    events.emit('task:done', task({ operation: 'S3PutObjectCopy', bytes: 1000 }));
    events.emit('task:done', task({ operation: 'S3PutObjectCopy', bytes: 24 }));
    events.emit('task:done', task({ operation: 'S3ComputeObjectChecksum', bytes: 5 }));
    events.emit('task:done', task());
    let s = parsePrometheusText(await m.registry.metrics());
    expect(s.type.get('s3batch_bytes_processed_total')).toBe('counter');
    expect(s.value('s3batch_bytes_processed_total', { operation: 'S3PutObjectCopy' })).toBe(1024);
    expect(s.value('s3batch_bytes_processed_total', { operation: 'S3ComputeObjectChecksum' })).toBe(5);
    expect(s.value('s3batch_bytes_processed_total', { operation: 'S3PutObjectTagging' })).toBe(0);
    events.emit('task:done', task({ operation: 'S3PutObjectCopy', bytes: 1 }));
    s = parsePrometheusText(await m.registry.metrics());
    expect(s.value('s3batch_bytes_processed_total', { operation: 'S3PutObjectCopy' })).toBe(1025);
    m.close();
  });

  it('jobs by status: every status, counted from the store at each scrape', async () => {
    const statuses: JobStatus[] = ['Active', 'Complete', 'Complete'];
    const m = createMetrics({ events: new EngineEvents(), jobStatusCounts: () => countOf(statuses) });
    let s = parsePrometheusText(await m.registry.metrics());
    expect(s.type.get('s3batch_jobs')).toBe('gauge');
    expect(s.value('s3batch_jobs', { status: 'Active' })).toBe(1);
    expect(s.value('s3batch_jobs', { status: 'Complete' })).toBe(2);
    expect(s.value('s3batch_jobs', { status: 'Suspended' })).toBe(0);
    expect(s.samples.filter((x) => x.name === 's3batch_jobs')).toHaveLength(13);
    statuses.splice(0, 1, 'Cancelled');
    s = parsePrometheusText(await m.registry.metrics());
    expect(s.value('s3batch_jobs', { status: 'Active' })).toBe(0);
    expect(s.value('s3batch_jobs', { status: 'Cancelled' })).toBe(1);
  });

  it('each server has its own registry, with the process metrics; close() stops counting', async () => {
    const e1 = new EngineEvents();
    const e2 = new EngineEvents();
    const m1 = createMetrics({ events: e1, jobStatusCounts: () => new Map(), sseStreams: () => 3 });
    const m2 = createMetrics({ events: e2, jobStatusCounts: () => new Map() });
    e1.emit('task:done', task());
    const s1 = parsePrometheusText(await m1.registry.metrics());
    const s2 = parsePrometheusText(await m2.registry.metrics());
    expect(s1.value('s3batch_tasks_total', { operation: 'S3PutObjectTagging', result: 'succeeded' })).toBe(1);
    expect(s2.value('s3batch_tasks_total', { operation: 'S3PutObjectTagging', result: 'succeeded' })).toBeUndefined();
    expect(s1.value('s3batch_event_streams')).toBe(3);
    for (const s of [s1, s2]) {
      expect(s.type.get('process_cpu_user_seconds_total')).toBe('counter');
      expect(s.type.get('nodejs_heap_size_used_bytes')).toBe('gauge');
    }
    m1.close();
    expect(e1.listenerCount('task:done')).toBe(0);
    e1.emit('task:done', task());
    expect(
      parsePrometheusText(await m1.registry.metrics()).value('s3batch_tasks_total', {
        operation: 'S3PutObjectTagging',
        result: 'succeeded',
      }),
    ).toBe(1);
    m2.close();
  });

  it("the process metrics are collected once per process, not once more per server (prom-client's event-loop monitor cannot be stopped)", () => {
    const m1 = createMetrics({ events: new EngineEvents(), jobStatusCounts: () => new Map() });
    const m2 = createMetrics({ events: new EngineEvents(), jobStatusCounts: () => new Map() });
    const lag1 = m1.registry.getSingleMetric('nodejs_eventloop_lag_seconds');
    expect(lag1).toBeDefined();
    expect(m2.registry.getSingleMetric('nodejs_eventloop_lag_seconds')).toBe(lag1);
    expect(m2.registry.getSingleMetric('s3batch_tasks_total')).not.toBe(
      m1.registry.getSingleMetric('s3batch_tasks_total'),
    );
    m1.close();
    m2.close();
  });
});
