// A small client of the JSON API (/api/v1) for end-to-end tests, with waits on job states. It
// authenticates with HTTP Basic and TEST_API_KEY (the key every startServerProcess() server has).
import { TEST_API_KEY, type TestApiKey } from './server-process.ts';

export interface JobView {
  Job: {
    JobId: string;
    Status: string;
    Priority: number;
    ConfirmationRequired: boolean;
    ProgressSummary: {
      TotalNumberOfTasks: number;
      NumberOfTasksSucceeded: number;
      NumberOfTasksFailed: number;
      Timers: { ElapsedTimeInActiveSeconds: number };
    };
    FailureReasons: { FailureCode: string; FailureReason: string }[];
    StatusUpdateReason?: string;
    SuspendedDate?: string;
    TerminationDate?: string;
  };
  StatusHistory: { status: string; at: string }[];
  Report: {
    bucket: string;
    manifestKey: string;
    files: { key: string; taskStatus: string; md5: string; rows: number }[];
  } | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface JsonApiOptions {
  /** The key sent with Basic auth; null sends no credentials. Default TEST_API_KEY. */
  readonly key?: TestApiKey | null;
}

/** `Authorization: Basic …` for a key. */
export function basicAuth(key: Pick<TestApiKey, 'accessKeyId' | 'secretAccessKey'>): string {
  return `Basic ${Buffer.from(`${key.accessKeyId}:${key.secretAccessKey}`).toString('base64')}`;
}

export class JsonApi {
  readonly key: TestApiKey | null;

  constructor(
    readonly baseUrl: string,
    readonly accountId = '111122223333',
    opts: JsonApiOptions = {},
  ) {
    this.key = opts.key === undefined ? TEST_API_KEY : opts.key;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}/api/v1${path}`, {
      method,
      headers: {
        'x-amz-account-id': this.accountId,
        ...(this.key ? { authorization: basicAuth(this.key) } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    const json = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ApiError(
        res.status,
        err?.code ?? 'Unknown',
        `${method} ${path} → ${res.status} ${err?.code}: ${err?.message ?? text}`,
      );
    }
    return json as T;
  }

  createJob(request: unknown): Promise<{ JobId: string }> {
    return this.call('POST', '/jobs', request);
  }

  describe(jobId: string): Promise<JobView> {
    return this.call('GET', `/jobs/${jobId}`);
  }

  updateStatus(
    jobId: string,
    RequestedJobStatus: string,
    StatusUpdateReason?: string,
  ): Promise<{ JobId: string; Status: string }> {
    return this.call('POST', `/jobs/${jobId}/status`, {
      RequestedJobStatus,
      ...(StatusUpdateReason ? { StatusUpdateReason } : {}),
    });
  }

  updatePriority(jobId: string, Priority: number): Promise<{ JobId: string; Priority: number }> {
    return this.call('POST', `/jobs/${jobId}/priority`, { Priority });
  }

  /** Polls until the job is in one of `statuses`; fails with the job's last view on timeout. */
  async waitFor(jobId: string, statuses: string | string[], timeoutMs = 60_000, pollMs = 25): Promise<JobView> {
    const wanted = Array.isArray(statuses) ? statuses : [statuses];
    const deadline = Date.now() + timeoutMs;
    let last: JobView | undefined;
    while (Date.now() < deadline) {
      last = await this.describe(jobId);
      if (wanted.includes(last.Job.Status)) return last;
      await new Promise((r) => setTimeout(r, pollMs));
    }
    throw new Error(
      `job ${jobId} did not reach ${wanted.join('|')} in ${timeoutMs} ms; last: ${JSON.stringify(last?.Job)}`,
    );
  }

  /** Polls until `predicate(view)` holds. */
  async waitUntil(
    jobId: string,
    what: string,
    predicate: (v: JobView) => boolean,
    timeoutMs = 60_000,
  ): Promise<JobView> {
    const deadline = Date.now() + timeoutMs;
    let last: JobView | undefined;
    while (Date.now() < deadline) {
      last = await this.describe(jobId);
      if (predicate(last)) return last;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`job ${jobId}: ${what} did not happen in ${timeoutMs} ms; last: ${JSON.stringify(last?.Job)}`);
  }
}
