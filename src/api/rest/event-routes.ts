/**
 * Server-sent events of the JSON API (`/api/v1`), for the web page and `curl -N`:
 *
 *   GET /jobs/:id/events  one job: `job` (the job view, as GET /jobs/:id), then `status` and
 *                         `progress` as it runs, then `end` (the final job view) and the server
 *                         closes the stream. An ended job gets `job` and `end` at once.
 *   GET /events           every job of the caller's account: `status` and `progress`, and
 *                         `removed` {JobId} when a job's retention period ended and it was deleted.
 *
 * A `: ping` comment keeps idle streams open through proxies. Streams end when the client goes
 * away or the server closes (preClose), so shutdown never waits for them.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { elapsedActiveSeconds, isTerminal } from '../../domain/job-status.ts';
import type { BatchService } from '../../service/batch-service.ts';
import type { AccountOf } from '../auth/api-auth.ts';
import type { JobEventHub, ProgressSnapshot } from './event-hub.ts';
import { failureGroupsView } from './failures-view.ts';
import { discoveryView, jobView } from './job-view.ts';
import { progressExtras } from './progress-view.ts';

export interface EventRoutesOptions {
  readonly service: BatchService;
  readonly accountOf: AccountOf;
  readonly hub: JobEventHub;
  /** Interval of the `: ping` comment (default 15 s). */
  readonly heartbeatMs?: number;
}

/** A slow client that lets this much pile up unread is dropped (it can reconnect). */
const MAX_BUFFERED_BYTES = 1024 * 1024;

type IdParams = { Params: { id: string } };

/** One `event:` block of the text/event-stream format (data is JSON, so it holds no newline). */
export function sseEvent(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The job's counters now, for the hub's `progress` events (undefined when the job is gone). */
export function progressSnapshot(
  service: BatchService,
  accountId: string,
  jobId: string,
  now: Date,
): ProgressSnapshot | undefined {
  let job: ReturnType<BatchService['getJob']>;
  try {
    job = service.getJob(accountId, jobId);
  } catch {
    return undefined; // removed (retention) while followed
  }
  const p = service.jobProgress(accountId, jobId);
  const active = elapsedActiveSeconds(job, now);
  return {
    JobId: jobId,
    Status: job.status,
    TotalNumberOfTasks: p.total,
    NumberOfTasksSucceeded: p.succeeded,
    NumberOfTasksFailed: p.failed,
    ElapsedTimeInActiveSeconds: active,
    Discovery: discoveryView(job),
    FailuresByCode: failureGroupsView(p.failures),
    ...progressExtras(job, p, active),
  };
}

interface Stream {
  send(name: string, data: unknown): void;
  end(): void;
  /** False once the stream ended (or its client had gone before it started): follow nothing then. */
  isOpen(): boolean;
}

export async function eventRoutes(app: FastifyInstance, opts: EventRoutesOptions): Promise<void> {
  const { service, hub } = opts;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const open = new Set<Stream>();

  // fastify's close waits for every open connection: end the streams first.
  app.addHook('preClose', (done) => {
    for (const s of [...open]) s.end();
    hub.close();
    done();
  });

  /** Takes the response over from fastify and starts the event stream; `onEnd` runs once when it ends. */
  const startStream = (req: FastifyRequest, reply: FastifyReply, onEnd: () => void): Stream => {
    reply.hijack();
    const res: ServerResponse = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // nginx and its kind: pass every event on at once.
      'x-accel-buffering': 'no',
      'x-amz-request-id': req.id,
      'x-request-id': req.id,
    });
    res.flushHeaders();
    req.raw.socket.setNoDelay(true);
    let ended = false;
    const write = (text: string): void => {
      if (ended || res.destroyed) return;
      res.write(text);
      if (res.writableLength > MAX_BUFFERED_BYTES) res.destroy();
    };
    const heartbeat = setInterval(() => write(': ping\n\n'), heartbeatMs);
    heartbeat.unref();
    const stream: Stream = {
      send: (name, data) => write(sseEvent(name, data)),
      end: () => {
        if (!ended) res.end();
        finish();
      },
      isOpen: () => !ended,
    };
    const finish = (): void => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      open.delete(stream);
      onEnd();
    };
    // The client went away (or the response ended): stop following.
    res.on('close', finish);
    open.add(stream);
    // A client that left while the request was being authenticated: its close event is already past.
    if (res.destroyed) finish();
    return stream;
  };

  app.get<IdParams>('/jobs/:id/events', async (req, reply) => {
    const accountId = await opts.accountOf(req);
    const jobId = req.params.id;
    // Unknown or another account's job: a JSON 404 (NotFoundException) before any stream starts.
    const first = jobView(service, accountId, jobId);
    let unsubscribe = (): void => {};
    const stream = startStream(req, reply, () => unsubscribe());
    stream.send('job', first);
    if (isTerminal(first.Job.Status)) {
      stream.send('end', first);
      stream.end();
      return reply;
    }
    if (!stream.isOpen()) return reply;
    unsubscribe = hub.subscribe({
      accountId,
      jobId,
      progress: (e) => stream.send('progress', e),
      status: (e) => {
        stream.send('status', e);
        if (!isTerminal(e.To)) return;
        let last: unknown;
        try {
          last = jobView(service, accountId, jobId);
        } catch {
          last = first; // removed in the meantime: nothing newer to show
        }
        stream.send('end', last);
        stream.end();
      },
    });
    return reply;
  });

  app.get('/events', async (req, reply) => {
    const accountId = await opts.accountOf(req);
    let unsubscribe = (): void => {};
    const stream = startStream(req, reply, () => unsubscribe());
    if (!stream.isOpen()) return reply;
    unsubscribe = hub.subscribe({
      accountId,
      progress: (e) => stream.send('progress', e),
      status: (e) => stream.send('status', e),
      removed: (e) => stream.send('removed', e),
    });
    return reply;
  });
}
