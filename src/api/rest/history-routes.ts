/**
 * A job's throughput over its life for the web page's tasks/s chart (`GET /api/v1/jobs/:id/history`):
 * the samples the engine keeps with the job record (domain/throughput-history.ts, at most
 * MAX_THROUGHPUT_SAMPLES, the resolution halving as the job runs on), as tasks/s per interval,
 * with the live counters as the last point while the job has not ended. An s3batch extension.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isTerminal, type JobStatus } from '../../domain/job-status.ts';
import { MAX_THROUGHPUT_SAMPLES, throughputPoints, type ThroughputPoint } from '../../domain/throughput-history.ts';
import type { BatchService } from '../../service/batch-service.ts';

export interface HistoryRoutesOptions {
  readonly service: BatchService;
  /** The caller's account (resolved by the JSON API's authentication). */
  readonly accountOf: (req: FastifyRequest) => Promise<string>;
  /** Milliseconds clock (default Date.now). */
  readonly now?: () => number;
}

/** One point of the chart on the wire: the rate over the interval that ends at `Time` (epoch ms). */
export interface HistoryPointView {
  Time: number;
  TasksPerSecond: number;
  TasksSucceeded: number;
  TasksFailed: number;
}

/** The JSON answer of GET /jobs/:id/history. */
export interface HistoryView {
  JobId: string;
  Status: JobStatus;
  /** Minimum spacing of the stored samples now (it doubles each time the series is halved). */
  ResolutionMs: number;
  /** The most points the stored series holds (the live point of a running job comes on top). */
  MaxPoints: number;
  /** Oldest first; each point's rate is over the interval since the point before (the first: 0). */
  Points: HistoryPointView[];
}

/** A domain point (domain/throughput-history.ts) in the API's PascalCase. */
function pointView(p: ThroughputPoint): HistoryPointView {
  return { Time: p.t, TasksPerSecond: p.tasksPerSecond, TasksSucceeded: p.tasksSucceeded, TasksFailed: p.tasksFailed };
}

type IdParams = { Params: { id: string } };

/** The history view of an account's job (NotFoundException for another account's or an unknown job). */
export function historyView(service: BatchService, accountId: string, jobId: string, nowMs: number): HistoryView {
  const job = service.getJob(accountId, jobId);
  const h = job.throughput;
  // A job that ran and has not ended: its counters now, as the chart's live end.
  let live: { t: number; s: number; f: number } | undefined;
  if (h && h.samples.length > 0 && !isTerminal(job.status)) {
    const p = service.jobProgress(accountId, jobId);
    live = { t: nowMs, s: p.succeeded, f: p.failed };
  }
  return {
    JobId: job.id,
    Status: job.status,
    ResolutionMs: h?.stepMs ?? 0,
    MaxPoints: MAX_THROUGHPUT_SAMPLES,
    Points: throughputPoints(h, live).map(pointView),
  };
}

export async function historyRoutes(app: FastifyInstance, opts: HistoryRoutesOptions): Promise<void> {
  const now = opts.now ?? Date.now;
  app.get<IdParams>('/jobs/:id/history', async (req) =>
    historyView(opts.service, await opts.accountOf(req), req.params.id, now()),
  );
}
