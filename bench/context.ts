// What bench/run.ts hands to the scenarios that live in files of their own (observers.ts,
// report-download.ts): the running servers, the buckets, and the same measuring functions the
// scenarios in run.ts use, so every ratio is against a baseline measured in the same run.
import type { JsonApi } from '../test/helpers/json-api.ts';
import type { BareDone, BareRun } from './bare-worker.ts';
import type { EngineServer } from './engine-server.ts';

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

export interface BenchContext {
  readonly api: JsonApi;
  /** The real `s3batch serve` subprocess (its pid for /proc readings). */
  readonly server: EngineServer;
  /** --objects: the keys in the source bucket, all in manifests/all.csv. */
  readonly objects: number;
  readonly rounds: number;
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
  /** Runs the job to Complete; `onCreated` is called as soon as the job exists. */
  measureEngine(
    label: string,
    request: Record<string, unknown>,
    tasks: number,
    onCreated?: (jobId: string) => void,
  ): Promise<EngineMeasured>;
  /** Runs the steps in order on odd rounds, reversed on even ones (ABBA: drift cancels out). */
  alternate(round: number, steps: ReadonlyArray<() => Promise<unknown>>): Promise<void>;
}
