/**
 * The one facade every interface calls (S3 Control XML API, JSON API, CLI through the API).
 * It validates, applies account isolation and idempotency, and hands work to the engine.
 * Views are in the S3 Control model's shape (JobDescriptor, JobListDescriptor).
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json.ts';
import { S3BatchError } from '../domain/errors.ts';
import { characterCount } from '../domain/field-checks.ts';
import { NO_CHUNKS_DONE, newestFirst, type JobRecord } from '../domain/job.ts';
import { DUPLICATE_WINDOW_MS, jobFingerprint } from '../storage/job-fingerprint.ts';
import { pageSize } from '../domain/list-page.ts';
import {
  checkCreationOnlyTagsKept,
  creationOnlyTags,
  NOTIFY_TAG,
  parseJobExtensions,
} from '../domain/job-extensions.ts';
import type {
  CreateJobRequest,
  FailureReason,
  JobManifest,
  JobOperation,
  JobReport,
  OperationName,
  S3Tag,
} from '../domain/job-spec.ts';
import {
  elapsedActiveSeconds,
  isJobStatus,
  isTerminal,
  JobStatus,
  requestedStatusTarget,
} from '../domain/job-status.ts';
import type { Engine } from '../engine/engine.ts';
import type { JobRecords } from '../engine/job-records.ts';
import type { FingerprintMatch, JobSummary } from '../storage/job-index.ts';
import { operationOf } from '../operations/index.ts';
import { isHttpFunction } from '../operations/lambda/invoker.ts';
import {
  checkPausable,
  checkPauseReason,
  checkResumable,
  DEFAULT_PAUSE_REASON,
  DEFAULT_RESUME_REASON,
} from '../domain/user-pause.ts';
import { type AccessProblem, type AccessTarget, accessTargets, describeProblem } from './access-targets.ts';
import { AccountRateLimit } from './account-rate-limit.ts';
import { validateCreateJobRequest, validateJobTags, validatePriority } from './validate-request.ts';

export interface ServiceOptions {
  readonly region: string;
  readonly partition: string;
  readonly confirmationRequiredByDefault: boolean;
  readonly now: () => Date;
  /** Key that signs ListJobs page tokens (main.ts keeps it in the data folder; random per process when absent). */
  readonly tokenKey?: Buffer;
  /** CreateJob rate per account (docs/s3control-api.md#rate-limit); absent ⇒ unlimited. */
  readonly createJobRate?: { readonly perSecond: number; readonly burst: number };
  /** Throws InvalidRequest when the server may not call this HTTP function (--function-urls). */
  readonly checkFunctionUrl?: (url: string) => void;
  /** Throws InvalidRequest when the server may not call this webhook (the s3batch:notify tag; --function-urls). */
  readonly checkNotifyUrl?: (url: string, where: string) => void;
  /** Throws InvalidRequest when the RoleArn selects no storage profile of this server. */
  readonly checkRoleArn?: (roleArn: string) => void;
  /**
   * CreateJob's access check (docs/job-lifecycle.md#access-check): HEADs the targets through the storage
   * profile the RoleArn selects; the problems found (empty: all reachable). Absent ⇒ no access check.
   */
  readonly checkAccess?: (roleArn: string, targets: readonly AccessTarget[]) => Promise<AccessProblem[]>;
}

/** What a new job links to: the job whose failed tasks it retries (docs/job-lifecycle.md#retry-failed). */
export interface JobLinks {
  readonly retryOf?: string;
}

/** Per-request choices of CreateJob's checks at submit (JSON members; the tags say the same for every API). */
export interface CreateJobChecks {
  /** Do not check that the manifest and buckets are reachable (`SkipAccessCheck`). */
  readonly skipAccessCheck?: boolean | undefined;
  /** Refuse a duplicate (DuplicateJob) instead of warning (`RejectDuplicates`). */
  readonly rejectDuplicates?: boolean | undefined;
}

/** The live or recent job a new one repeats (docs/job-lifecycle.md#duplicate-jobs). */
export interface DuplicateWarning {
  readonly JobId: string;
  readonly Status: JobStatus;
  readonly CreationTime: string;
  readonly Message: string;
}

export interface CreateJobOutcome {
  JobId: string;
  /** Set when the job was created although it repeats another (the warning). */
  Duplicate?: DuplicateWarning;
}

/** The answer of UpdateJobStatus, pause and resume: the job's status after the change. */
export interface StatusAnswer {
  JobId: string;
  Status: JobStatus;
  StatusUpdateReason?: string;
}

/** A validated CreateJob request, before the job exists. */
interface Admitted {
  readonly request: CreateJobRequest;
  readonly token: string;
  readonly requestHash: string;
  readonly fingerprint: string;
  readonly extensions: ReturnType<typeof parseJobExtensions>;
}

export interface ProgressSummary {
  TotalNumberOfTasks: number;
  NumberOfTasksSucceeded: number;
  NumberOfTasksFailed: number;
  Timers: { ElapsedTimeInActiveSeconds: number };
}

/** DescribeJob's JobDescriptor. */
export interface JobDescriptor {
  JobId: string;
  ConfirmationRequired: boolean;
  Description?: string;
  JobArn: string;
  Status: JobStatus;
  Manifest?: JobManifest;
  Operation: JobOperation;
  Priority: number;
  ProgressSummary: ProgressSummary;
  StatusUpdateReason?: string;
  FailureReasons: FailureReason[];
  Report: JobReport;
  CreationTime: string;
  TerminationDate?: string;
  RoleArn: string;
  SuspendedDate?: string;
  SuspendedCause?: string;
  /** Echo of the generator configuration (generator jobs). */
  ManifestGenerator?: Record<string, unknown>;
  /**
   * Where the generator wrote its manifest (EnableManifestOutput), once written (docs/manifests.md#generated-manifest).
   */
  GeneratedManifestDescriptor?: { Format: string; Location: { ObjectArn: string; ETag: string } };
}

/** ListJobs' JobListDescriptor. */
export interface JobListDescriptor {
  JobId: string;
  Description?: string;
  Operation: OperationName;
  Priority: number;
  Status: JobStatus;
  CreationTime: string;
  TerminationDate?: string;
  ProgressSummary: ProgressSummary;
}

export interface ListJobsInput {
  readonly jobStatuses?: readonly string[];
  readonly nextToken?: string;
  readonly maxResults?: number;
}

export class BatchService {
  private readonly tokens: PageTokens;
  private readonly createJobLimit: AccountRateLimit | undefined;

  /** The job records, read and written through the engine's JobRecords (its only writer). */
  private readonly records: JobRecords;

  constructor(
    private readonly engine: Engine,
    private readonly options: ServiceOptions,
  ) {
    this.records = engine.records;
    this.tokens = new PageTokens(options.tokenKey ?? randomBytes(32));
    const rate = options.createJobRate;
    this.createJobLimit = rate
      ? new AccountRateLimit(rate.perSecond, rate.burst, () => options.now().getTime())
      : undefined;
  }

  /**
   * CreateJob without the access check (in-process callers; the APIs call submitJob). Same
   * ClientRequestToken + same request → the same job; different request → IdempotencyException.
   * A duplicate of a live or recent job is created with a warning, or refused when asked.
   */
  createJob(accountId: string, input: unknown, checks: CreateJobChecks = {}, links: JobLinks = {}): CreateJobOutcome {
    const admitted = this.admit(accountId, input);
    return this.finish(accountId, admitted, checks, links);
  }

  /**
   * CreateJob as the APIs run it (docs/job-lifecycle.md#checks-at-submit): createJob, with the
   * access check first unless skipped. The check takes no extra rate-limit token.
   */
  async submitJob(accountId: string, input: unknown, checks: CreateJobChecks = {}): Promise<CreateJobOutcome> {
    const admitted = this.admit(accountId, input);
    const existing = this.records.findToken(accountId, admitted.token);
    if (existing) return this.finish(accountId, admitted, checks);
    // A refused duplicate needs no HEAD.
    this.duplicateOf(admitted, checks);
    const skip = checks.skipAccessCheck === true || admitted.extensions.skipAccessCheck === true;
    if (!skip && this.options.checkAccess) {
      const problems = await this.options.checkAccess(admitted.request.RoleArn, accessTargets(admitted.request));
      if (problems.length > 0) {
        throw new S3BatchError(
          'AccessCheckFailed',
          `The job was not created: ${problems.map(describeProblem).join('; ')}. Fix the request, or skip the check ` +
            '(SkipAccessCheck, tag s3batch:skip-access-check=true) to let Preparing read them',
        );
      }
    }
    // The HEADs took time: finish looks at the token and the duplicates again.
    const created = this.finish(accountId, admitted, checks);
    await this.durable();
    return created;
  }

  /**
   * Writes the job store's pending batch now (it batches saves up to 50 ms): an API answers a
   * CreateJob only once its job is on disk (or in Redis), so a crash right after the answer keeps it.
   */
  async durable(): Promise<void> {
    await this.records.flush();
  }

  /** Validation, rate limit and the checks that need no I/O. */
  private admit(accountId: string, input: unknown): Admitted {
    this.createJobLimit?.take(accountId);
    const request = validateCreateJobRequest(input, {
      confirmationRequiredByDefault: this.options.confirmationRequiredByDefault,
      now: this.options.now(),
    });
    this.options.checkRoleArn?.(request.RoleArn);
    const fn = request.Operation.LambdaInvoke?.FunctionArn;
    if (typeof fn === 'string' && isHttpFunction(fn)) this.options.checkFunctionUrl?.(fn);
    const extensions = parseJobExtensions(request.Tags);
    this.checkNotifyUrl(extensions.notifyUrl);
    return {
      request,
      token: request.ClientRequestToken ?? randomUUID(),
      requestHash: hashRequest(request),
      fingerprint: jobFingerprint(accountId, request),
      extensions,
    };
  }

  /**
   * The newest live job, or job ended within DUPLICATE_WINDOW_MS, with the request's fingerprint
   * (the store's index, no scan); throws DuplicateJob when duplicates are refused.
   */
  private duplicateOf(admitted: Admitted, checks: CreateJobChecks): DuplicateWarning | undefined {
    const since = this.options.now().getTime() - DUPLICATE_WINDOW_MS;
    let newest: FingerprintMatch | undefined;
    for (const m of this.records.withFingerprint(admitted.fingerprint)) {
      const recent = !isTerminal(m.status) || (m.endedMs !== undefined && m.endedMs >= since);
      if (!recent) continue;
      if (newest === undefined || newestFirst(m, newest) < 0) newest = m;
    }
    if (newest === undefined) return undefined;
    const what = `job ${newest.id} (${newest.status}, created ${newest.creationTime})`;
    if (checks.rejectDuplicates === true || admitted.extensions.noDuplicates === true) {
      throw new S3BatchError(
        'DuplicateJob',
        `The job was not created: it repeats ${what} of this account (same operation, manifest and target)`,
      );
    }
    return {
      JobId: newest.id,
      Status: newest.status,
      CreationTime: newest.creationTime,
      Message: `This job repeats ${what} of this account (same operation, manifest and target)`,
    };
  }

  /** Idempotency, duplicates, then the new job. */
  private finish(
    accountId: string,
    admitted: Admitted,
    checks: CreateJobChecks,
    links: JobLinks = {},
  ): CreateJobOutcome {
    const { request, token, requestHash, fingerprint } = admitted;
    const existing = this.records.findToken(accountId, token);
    if (existing) {
      if (existing.requestHash !== requestHash) {
        throw new S3BatchError('IdempotencyException', 'ClientRequestToken was already used with different parameters');
      }
      return { JobId: existing.jobId };
    }
    const duplicate = this.duplicateOf(admitted, checks);
    const id = randomUUID();
    const now = this.options.now().toISOString();
    const job: JobRecord = {
      id,
      accountId,
      creationTime: now,
      priority: request.Priority,
      request,
      clientRequestToken: token,
      requestHash,
      fingerprint,
      ...(duplicate !== undefined ? { duplicateOf: duplicate.JobId } : {}),
      tags: request.Tags ?? [],
      failureReasons: [],
      progress: { total: 0, succeeded: 0, failed: 0 },
      chunks: NO_CHUNKS_DONE,
      status: JobStatus.New,
      activeMs: 0,
      history: [{ status: JobStatus.New, at: now }],
      ...(links.retryOf === undefined ? {} : { retryOf: links.retryOf }),
    };
    this.records.create(job, { accountId, token, requestHash, jobId: id });
    const origin = links.retryOf === undefined ? undefined : this.records.get(links.retryOf);
    if (origin !== undefined) this.records.update(origin.id, (o) => ({ ...o, retries: [...(o.retries ?? []), id] }));
    this.engine.submit(id);
    return { JobId: id, ...(duplicate !== undefined ? { Duplicate: duplicate } : {}) };
  }

  /** The stored record of an account's job (NotFoundException for another account's job). */
  getJob(accountId: string, jobId: string): JobRecord {
    const job = this.records.get(jobId);
    if (!job || job.accountId !== accountId) {
      throw new S3BatchError('NotFoundException', `The specified job does not exist: ${jobId}`);
    }
    return job;
  }

  describeJob(accountId: string, jobId: string): JobDescriptor {
    const job = this.getJob(accountId, jobId);
    const r = job.request;
    return {
      JobId: job.id,
      ConfirmationRequired: r.ConfirmationRequired ?? true,
      ...(r.Description !== undefined ? { Description: r.Description } : {}),
      JobArn: `arn:${this.options.partition}:s3:${this.options.region}:${job.accountId}:job/${job.id}`,
      Status: job.status,
      ...(r.Manifest ? { Manifest: r.Manifest } : {}),
      Operation: r.Operation,
      Priority: job.priority,
      ProgressSummary: this.progressSummary(job),
      ...(job.statusUpdateReason !== undefined ? { StatusUpdateReason: job.statusUpdateReason } : {}),
      FailureReasons: [...job.failureReasons],
      Report: r.Report,
      CreationTime: job.creationTime,
      ...(job.terminationDate !== undefined ? { TerminationDate: job.terminationDate } : {}),
      RoleArn: r.RoleArn,
      ...(job.suspendedDate !== undefined ? { SuspendedDate: job.suspendedDate } : {}),
      ...(job.suspendedCause !== undefined ? { SuspendedCause: job.suspendedCause } : {}),
      ...(r.ManifestGenerator !== undefined ? { ManifestGenerator: r.ManifestGenerator } : {}),
      ...(job.generatedManifest !== undefined
        ? {
            GeneratedManifestDescriptor: {
              Format: job.generatedManifest.Format,
              Location: { ...job.generatedManifest.Location },
            },
          }
        : {}),
    };
  }

  listJobs(accountId: string, input: ListJobsInput = {}): { Jobs: JobListDescriptor[]; NextToken?: string } {
    const statuses = input.jobStatuses ?? [];
    for (const s of statuses) {
      if (!isJobStatus(s))
        throw new S3BatchError('InvalidRequestException', `jobStatuses: ${JSON.stringify(s)} is not a job status`);
    }
    const size = pageSize(input.maxResults);
    const after = input.nextToken === undefined ? undefined : this.tokens.decode(input.nextToken);
    // The account's index, newest first from the cursor on: one more match than the page tells
    // whether a next page exists. O(log n + the jobs walked), never the other accounts' jobs.
    const page: JobRecord[] = [];
    let more = false;
    const from = after === undefined ? undefined : { creationTime: after.c, id: after.i };
    // The status filter is the index's: jobs of other statuses are skipped without being read.
    const wanted = statuses.length > 0 ? statuses.filter(isJobStatus) : undefined;
    for (const j of this.records.accountJobs(accountId, from, wanted)) {
      if (page.length === size) {
        more = true;
        break;
      }
      page.push(j);
    }
    const last = page[page.length - 1];
    return {
      Jobs: page.map((j) => this.listDescriptor(j)),
      ...(more && last ? { NextToken: this.tokens.encode(last) } : {}),
    };
  }

  /**
   * The web query's view of an account's jobs (api/rest/job-list-query.ts): their summaries from
   * the store's index, newest first, in `jobStatuses` when given (validated as ListJobs does). No
   * record is read; read the ones shown with `listItem`.
   */
  jobSummaries(accountId: string, jobStatuses: readonly string[] = []): Iterable<JobSummary> {
    for (const s of jobStatuses) {
      if (!isJobStatus(s))
        throw new S3BatchError('InvalidRequestException', `jobStatuses: ${JSON.stringify(s)} is not a job status`);
    }
    return this.records.accountSummaries(
      accountId,
      jobStatuses.length > 0 ? jobStatuses.filter(isJobStatus) : undefined,
    );
  }

  /** An account's job as a ListJobs item with its Tags (the web query's item). */
  listItem(accountId: string, jobId: string): JobListDescriptor & { Tags: S3Tag[] } {
    const job = this.getJob(accountId, jobId);
    return { ...this.listDescriptor(job), Tags: [...job.tags] };
  }

  updateJobStatus(accountId: string, jobId: string, requested: unknown, reason?: string): StatusAnswer {
    if (requested !== 'Ready' && requested !== 'Cancelled' && requested !== 'Paused') {
      throw new S3BatchError(
        'BadRequestException',
        'requestedJobStatus must be Ready or Cancelled (or Paused, an s3batch extension)',
      );
    }
    if (reason !== undefined && (reason.length < 1 || characterCount(reason) > 256)) {
      throw new S3BatchError('BadRequestException', 'statusUpdateReason must be 1 to 256 characters long');
    }
    const job = this.getJob(accountId, jobId);
    // s3batch extension (docs/job-lifecycle.md#user-pause): Paused pauses; Ready on a job a user
    // paused resumes it (on a Suspended one it confirms, as in AWS, and the pause holds).
    if (requested === 'Paused') return this.pauseJob(accountId, jobId, reason);
    if (requested === 'Ready' && job.userPause !== undefined && job.status !== JobStatus.Suspended)
      return this.resumeJob(accountId, jobId, reason);
    const target = requestedStatusTarget(jobId, job.status, requested);
    if (reason !== undefined) this.records.setStatusUpdateReason(jobId, reason);
    if (requested === 'Ready') this.engine.confirm(jobId);
    else this.engine.cancel(jobId, target);
    return this.statusAnswer(accountId, jobId);
  }

  /**
   * A user pauses the job (domain/user-pause.ts); its StatusUpdateReason becomes the reason (or
   * DEFAULT_PAUSE_REASON). JobStatusException when it ends or has ended.
   */
  pauseJob(accountId: string, jobId: string, reason?: unknown): StatusAnswer {
    const why = checkPauseReason(reason);
    const job = this.getJob(accountId, jobId);
    checkPausable(jobId, job.status);
    this.records.setStatusUpdateReason(jobId, why ?? DEFAULT_PAUSE_REASON);
    this.engine.pause(jobId, why);
    return this.statusAnswer(accountId, jobId);
  }

  /** A user resumes a job they paused. JobStatusException when no user paused it. */
  resumeJob(accountId: string, jobId: string, reason?: unknown): StatusAnswer {
    const why = checkPauseReason(reason);
    const job = this.getJob(accountId, jobId);
    checkResumable(jobId, job);
    this.records.setStatusUpdateReason(jobId, why ?? DEFAULT_RESUME_REASON);
    this.engine.resume(jobId);
    return this.statusAnswer(accountId, jobId);
  }

  private statusAnswer(accountId: string, jobId: string): StatusAnswer {
    const after = this.getJob(accountId, jobId);
    return {
      JobId: jobId,
      Status: after.status,
      ...(after.statusUpdateReason !== undefined ? { StatusUpdateReason: after.statusUpdateReason } : {}),
    };
  }

  updateJobPriority(accountId: string, jobId: string, priority: unknown): { JobId: string; Priority: number } {
    const p = validatePriority(priority, 'priority');
    const job = this.getJob(accountId, jobId);
    if (isTerminal(job.status)) {
      throw new S3BatchError(
        'BadRequestException',
        `Job ${jobId} is ${job.status}; the priority of a finished job cannot change`,
      );
    }
    this.engine.setPriority(jobId, p);
    return { JobId: jobId, Priority: p };
  }

  /** The job's concurrency and rate limits, its effective concurrency while it runs, its throttled attempts. */
  jobLimits(accountId: string, jobId: string): ReturnType<Engine['limitsOf']> {
    return this.engine.limitsOf(this.getJob(accountId, jobId));
  }

  getJobTagging(accountId: string, jobId: string): { Tags: S3Tag[] } {
    return { Tags: [...this.getJob(accountId, jobId).tags] };
  }

  /** Replaces the job's tags; its `s3batch:` limit tags take effect at once, even while it runs. */
  putJobTagging(accountId: string, jobId: string, tags: unknown): void {
    const job = this.getJob(accountId, jobId);
    const valid = validateJobTags(tags);
    const { notifyUrl } = parseJobExtensions(valid); // a bad s3batch: tag is InvalidRequest here too
    this.checkNotifyUrl(notifyUrl);
    checkCreationOnlyTagsKept(job.request.Tags, valid);
    this.records.setTags(jobId, valid);
    this.engine.tagsChanged(jobId);
  }

  deleteJobTagging(accountId: string, jobId: string): void {
    const job = this.getJob(accountId, jobId);
    this.records.setTags(jobId, creationOnlyTags(job.request.Tags)); // what defines the job stays
    this.engine.tagsChanged(jobId);
  }

  /** The job's counters, live (with the tasks of chunks still running), bytes included when counted. */
  jobProgress(accountId: string, jobId: string): ReturnType<Engine['progressOf']> {
    return this.engine.progressOf(this.getJob(accountId, jobId));
  }

  /** The s3batch:notify webhook, when set, under the server's URL policy (docs/notifications.md). */
  private checkNotifyUrl(url: string | undefined): void {
    if (url !== undefined) this.options.checkNotifyUrl?.(url, `Tag ${NOTIFY_TAG}`);
  }

  private progressSummary(job: JobRecord): ProgressSummary {
    const p = this.engine.progressOf(job);
    return {
      TotalNumberOfTasks: p.total,
      NumberOfTasksSucceeded: p.succeeded,
      NumberOfTasksFailed: p.failed,
      Timers: { ElapsedTimeInActiveSeconds: elapsedActiveSeconds(job, this.options.now()) },
    };
  }

  private listDescriptor(job: JobRecord): JobListDescriptor {
    return {
      JobId: job.id,
      ...(job.request.Description !== undefined ? { Description: job.request.Description } : {}),
      Operation: operationOf(job.request.Operation).name,
      Priority: job.priority,
      Status: job.status,
      CreationTime: job.creationTime,
      ...(job.terminationDate !== undefined ? { TerminationDate: job.terminationDate } : {}),
      ProgressSummary: this.progressSummary(job),
    };
  }
}

/** ListJobs page tokens: opaque, signed cursors (creation time and id of the last job shown). */
class PageTokens {
  constructor(private readonly key: Buffer) {}

  encode(job: JobRecord): string {
    const payload = Buffer.from(JSON.stringify({ c: job.creationTime, i: job.id })).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  decode(token: string): { c: string; i: string } {
    const [payload, mac, ...rest] = token.split('.');
    if (token.length <= 1024 && payload && mac && rest.length === 0) {
      const expected = Buffer.from(this.sign(payload));
      const given = Buffer.from(mac);
      if (expected.length === given.length && timingSafeEqual(expected, given)) {
        try {
          const v = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { c?: unknown; i?: unknown };
          if (typeof v.c === 'string' && typeof v.i === 'string') return { c: v.c, i: v.i };
        } catch {
          // fall through
        }
      }
    }
    throw new S3BatchError(
      'InvalidNextTokenException',
      'The nextToken is not valid: pass the NextToken of a ListJobs answer unchanged',
    );
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url').slice(0, 22);
  }
}

/** Canonical JSON (keys sorted) of the request without its token, hashed. */
export function hashRequest(request: CreateJobRequest): string {
  const { ClientRequestToken: _token, ...rest } = request;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}
