// What bench/run.ts hands to the scenarios, one file each (tagging-copy.ts, large-job.ts,
// delete.ts, checksum.ts, lambda-invoke.ts, generator.ts, observers.ts, report-download.ts): the
// running servers, the buckets, and the measuring functions (measure.ts) bound to them, so every
// ratio is against a baseline measured in the same run.
import type { S3Client } from '@aws-sdk/client-s3';
import type { JobView, JsonApi } from '../test/helpers/json-api.ts';
import type { BareDone, BareRun } from './bare-worker.ts';
import type { EngineServer } from './engine-server.ts';
import type { RssWatch } from './proc.ts';

export interface Measured {
  readonly label: string;
  readonly tasks: number;
  readonly failed: number;
  /** Tasks per second: the loop's wall time (bare) or the Active phase (engine). */
  readonly tps: number;
  readonly cpuMsPerTask: number;
  readonly s3CpuMsPerTask: number;
}

export interface EngineMeasured extends Measured {
  /** New → Complete from StatusHistory: prepare + active + report. */
  readonly wallMs: number;
  readonly prepareMs: number;
  readonly activeMs: number;
  readonly reportMs: number;
  /** New → Completing: everything before the report (for a generator job the listing is in it). */
  readonly toCompletingMs: number;
  /** createJob call → Complete seen by polling (includes up to one poll interval). */
  readonly clientMs: number;
  readonly peakRssKiB: number;
  readonly endRssKiB: number;
}

/** An engine side of a comparison: rated by `Comparison.rate`, with the server's peak RSS. */
export type EngineRun = Measured & { readonly peakRssKiB: number };

/** One operation kind or manifest: the engine against one or more baselines, same run, same server. */
export interface Comparison {
  readonly name: string;
  readonly objects: number;
  readonly engine: EngineRun[];
  readonly baselines: ReadonlyArray<{ readonly name: string; readonly runs: Measured[] }>;
  /** What the engine's rate is measured over (default Active → Completing). */
  readonly rate?: string;
}

export interface BenchContext {
  readonly api: JsonApi;
  /** The real `s3batch serve` subprocess (its pid for /proc readings). */
  readonly server: EngineServer;
  /** The bench's own S3 client (uploads, manifests). */
  readonly s3: S3Client;
  readonly buckets: { readonly src: string; readonly dst: string; readonly reports: string };
  /** --objects: the keys in the source bucket, all in manifests/all.csv. */
  readonly objects: number;
  readonly rounds: number;
  /** --concurrency: engine job concurrency = task budget = bare workers; also the upload concurrency. */
  readonly concurrency: number;
  /** --warmup: tasks of a warm-up job and loop (0: none). */
  readonly warmup: number;
  /** The body of every small object (1 KiB). */
  readonly body: Buffer;
  /** True when the S3 server's processes were found, so S3 CPU figures exist. */
  readonly s3Cpu: boolean;
  /** The forked bare AWS SDK worker (bench/bare-worker.ts). */
  readonly bare: { readonly pid: number; request(msg: BareRun): Promise<BareDone> };
  log(msg: string): void;
  /** Registers a stop for the end of the bench (also on error / Ctrl-C). */
  onCleanup(fn: () => Promise<void> | void): void;
  /** Puts manifests/<name>.csv with n rows (the keys repeated) into the source bucket. */
  manifest(name: string, n: number, of?: readonly string[]): Promise<void>;
  /** A job request over manifests/<manifestName>.csv with an AllTasks report under reportPrefix. */
  request(manifestName: string, operation: Record<string, unknown>, reportPrefix: string): Record<string, unknown>;
  measureBare(label: string, run: Omit<BareRun, 'type' | 'concurrency'>): Promise<Measured>;
  /**
   * Runs the job to Complete; `onCreated` is called as soon as the job exists, `onPoll` with every
   * description of it while it runs.
   */
  measureEngine(
    label: string,
    request: Record<string, unknown>,
    tasks: number,
    onCreated?: (jobId: string) => void,
    onPoll?: (view: JobView, rss: RssWatch) => void,
  ): Promise<EngineMeasured>;
  /** A generator job whose filter matches nothing: its listing alone (measure.ts measureListing). */
  measureListing(label: string, request: Record<string, unknown>, objects: number): Promise<EngineRun>;
  /** Runs the steps in order on odd rounds, reversed on even ones (ABBA: drift cancels out). */
  alternate(round: number, steps: ReadonlyArray<() => Promise<unknown>>): Promise<void>;
}
