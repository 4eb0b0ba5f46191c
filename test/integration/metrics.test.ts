/**
 * GET /metrics of the real `s3batch serve` process, scraped before and after a tagging job on the
 * s3rver of the global setup. A fault proxy in front of s3rver answers the first tagging request
 * of some keys with 503 SlowDown (a storage under load, which no server here does on demand), and
 * the manifest names keys that do not exist. The scrape is read with a parser of the text format
 * (HELP and TYPE lines, labels, histogram series): tasks by operation and result, the latency
 * histogram's count, retries, throttled attempts, jobs by status, process metrics; no auth; no
 * job id, key or bucket in it.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.ts';
import { jobRequest, putManifest } from '../helpers/jobs.ts';
import { JsonApi } from '../helpers/json-api.ts';
import { parsePrometheusText, type Scrape } from '../helpers/prometheus.ts';
import { requireS3rver } from '../helpers/provided.ts';
import { createTestBucket, makeS3Client, putObjects } from '../helpers/s3-servers.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

const OP = 'S3PutObjectTagging';
const EXISTING = 40;
const MISSING = 10;
/** Existing keys whose first tagging attempt the proxy answers with SlowDown (k/0, k/4, … k/36). */
const THROTTLED = 10;

let s3: S3Client;
let bucket: string;
let proxy: FaultProxy;
let server: ServerProcess;
let api: JsonApi;

async function scrape(): Promise<{ text: string; metrics: Scrape; contentType: string | null }> {
  // No credentials: /metrics is open (Prometheus scrapes it as is).
  const res = await fetch(`${server.url}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, metrics: parsePrometheusText(text), contentType: res.headers.get('content-type') };
}

beforeAll(async () => {
  const s3rver = requireS3rver();
  s3 = makeS3Client(s3rver);
  bucket = await createTestBucket(s3, 'metrics');
  const keys = Array.from({ length: EXISTING }, (_, i) => `k/${i}`);
  await putObjects(s3, bucket, keys);
  const tries = new Map<string, number>();
  proxy = await startFaultProxy(s3rver.endpoint, (req) => {
    if (req.method !== 'PUT' || !req.url?.includes('tagging')) return undefined;
    const path = req.url.split('?')[0]!;
    const n = (tries.get(path) ?? 0) + 1;
    tries.set(path, n);
    const m = /\/k\/(\d+)$/.exec(path);
    return m && Number(m[1]) % 4 === 0 && n === 1 ? 'slowdown' : undefined;
  });
  server = await startServerProcess({ s3: { ...s3rver, endpoint: proxy.endpoint }, args: ['--job-concurrency', '8'] });
  api = new JsonApi(server.url);
});

afterAll(async () => {
  await server?.kill('SIGTERM');
  await proxy?.close();
  s3?.destroy();
});

describe('GET /metrics', () => {
  it('Prometheus text: every s3batch metric with HELP and TYPE, the process metrics, no auth', async () => {
    const { metrics, contentType } = await scrape();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const families: Record<string, string> = {
      s3batch_jobs: 'gauge',
      s3batch_tasks_total: 'counter',
      s3batch_task_duration_seconds: 'histogram',
      s3batch_task_retries_total: 'counter',
      s3batch_throttled_attempts_total: 'counter',
      s3batch_event_streams: 'gauge',
      process_cpu_user_seconds_total: 'counter',
      process_resident_memory_bytes: 'gauge',
      nodejs_eventloop_lag_seconds: 'gauge',
    };
    for (const [name, type] of Object.entries(families)) {
      expect(metrics.type.get(name), name).toBe(type);
      expect(metrics.help.get(name)?.length, name).toBeGreaterThan(5);
    }
    // Every sample belongs to a family with a TYPE line (histogram series by their base name).
    for (const s of metrics.samples) {
      const base = s.name.replace(/_(bucket|sum|count)$/, '');
      expect(metrics.type.has(s.name) || metrics.type.get(base) === 'histogram', s.name).toBe(true);
    }
    expect(metrics.value('process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('after a job with throttled and failing tasks: tasks by result, latency count, retries, throttling, jobs by status', async () => {
    const before = (await scrape()).metrics;
    const counter = (m: Scrape, name: string, labels: Record<string, string>): number => m.value(name, labels) ?? 0;
    const rows = [
      ...Array.from({ length: EXISTING }, (_, i) => ({ bucket, key: `k/${i}` })),
      ...Array.from({ length: MISSING }, (_, i) => ({ bucket, key: `missing/${i}` })),
    ];
    const { etag } = await putManifest(s3, bucket, 'm.csv', rows);
    const request = (confirm: boolean): Record<string, unknown> =>
      jobRequest({
        manifestBucket: bucket,
        manifestKey: 'm.csv',
        etag,
        operation: { S3PutObjectTagging: { TagSet: [{ Key: 'm', Value: '1' }] } },
        reportBucket: bucket,
        reportPrefix: 'rep',
        confirmationRequired: confirm,
      });
    const { JobId } = await api.createJob(request(false));
    const done = await api.waitFor(JobId, ['Complete', 'Failed']);
    expect(done.Job.Status).toBe('Complete');
    expect(done.Job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: EXISTING, NumberOfTasksFailed: MISSING });
    // A second job waits for confirmation: the gauge shows it as Suspended.
    const { JobId: waiting } = await api.createJob(request(true));
    await api.waitFor(waiting, 'Suspended');

    const { metrics: after, text } = await scrape();
    const delta = (name: string, labels: Record<string, string>): number =>
      counter(after, name, labels) - counter(before, name, labels);
    expect(delta('s3batch_tasks_total', { operation: OP, result: 'succeeded' })).toBe(EXISTING);
    expect(delta('s3batch_tasks_total', { operation: OP, result: 'failed' })).toBe(MISSING);
    expect(delta('s3batch_task_duration_seconds_count', { operation: OP })).toBe(EXISTING + MISSING);
    expect(delta('s3batch_task_duration_seconds_bucket', { operation: OP, le: '+Inf' })).toBe(EXISTING + MISSING);
    expect(delta('s3batch_task_duration_seconds_sum', { operation: OP })).toBeGreaterThan(0);
    // Buckets are cumulative: never decreasing with `le`.
    const buckets = after.samples.filter(
      (s) => s.name === 's3batch_task_duration_seconds_bucket' && s.labels.operation === OP,
    );
    expect(buckets.length).toBeGreaterThan(5);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    // Each throttled key was retried once; the missing keys (404) were not retried at all.
    expect(proxy.injected.slowdown).toBe(THROTTLED);
    expect(delta('s3batch_task_retries_total', { operation: OP })).toBe(THROTTLED);
    expect(delta('s3batch_throttled_attempts_total', { operation: OP })).toBe(THROTTLED);
    expect(after.value('s3batch_jobs', { status: 'Complete' })).toBe(1);
    expect(after.value('s3batch_jobs', { status: 'Suspended' })).toBe(1);
    expect(after.value('s3batch_jobs', { status: 'Active' })).toBe(0);
    // Labels name operations, results and statuses only: no job id, key, bucket or account.
    for (const secret of [JobId, waiting, bucket, 'missing/', 'k/1', '111122223333'])
      expect(text).not.toContain(secret);
    const labelNames = new Set(
      after.samples.filter((s) => s.name.startsWith('s3batch_')).flatMap((s) => Object.keys(s.labels)),
    );
    expect([...labelNames].sort()).toEqual(['le', 'operation', 'result', 'status']);
    await api.updateStatus(waiting, 'Cancelled');
  });
});
