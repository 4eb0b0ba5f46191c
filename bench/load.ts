// Benchmark scenario `load` (issue 11, part 6): how the JSON API answers while a job runs.
// --load-requests JSON-API requests (40 % DescribeJob, 40 % ListJobs, 20 % CreateJob of a small
// tagging job), sent in bursts of --load-burst (all of a burst at once, the next burst when the last
// answer of the previous one arrived), (a) while a --load-tasks tagging job runs and (b) with the
// server idle: the baseline, in the same run. Idle and loaded phases alternate over the rounds
// (idle→loaded, loaded→idle, …). Per request kind: p50 / p95 / p99 and errors, and loaded ÷ idle.
//
// Exactness: every job the phase created (and the background job) must end Complete with every
// task succeeded; the scenario waits for them after each phase, so the next phase starts on a server
// with no job running.
//
// DescribeJob targets the phase's reference job: the running background job under load, a finished
// small job (created before the first phase) when idle. ListJobs is the plain `GET /api/v1/jobs`
// (the default page: up to 1,000 jobs), so its answer grows with the jobs the bench created; the
// alternating order shares that growth between the two sides.
import { ApiError, type JobView } from '../test/helpers/json-api.ts';
import type { BenchContext } from './context.ts';
import { eventLoopDelay, fmtMs, percentile, ratio } from './latency.ts';
import { table } from './table.ts';
import { tagging } from './tagging-copy.ts';

export interface LoadOptions {
  /** Requests per phase. */
  readonly requests: number;
  /** Requests sent at once. */
  readonly burst: number;
  /** Tasks of the background tagging job (the --objects keys repeated). */
  readonly backgroundTasks: number;
  /** Tasks of each small job CreateJob makes. */
  readonly smallTasks: number;
}

type Kind = 'DescribeJob' | 'ListJobs' | 'CreateJob';
const KINDS: readonly Kind[] = ['DescribeJob', 'ListJobs', 'CreateJob'];

interface Sample {
  readonly kind: Kind;
  /** Wall-clock start (ms since the epoch), to tell whether the background job was still Active. */
  readonly startedAt: number;
  readonly ms: number;
  /** Error code or message; undefined when the request succeeded. */
  readonly error?: string;
}

interface Phase {
  readonly loaded: boolean;
  readonly round: number;
  readonly samples: Sample[];
  /** Jobs in the store when the phase began (ListJobs answers grow with them). */
  readonly jobsBefore: number;
  /** Loaded phases: requests started while the background job was Active. */
  readonly duringActive?: number;
  /** Loaded phases: the background job's tasks/s (Active → Completing). */
  readonly backgroundTps?: number;
  readonly wallMs: number;
}

const TERMINAL = ['Complete', 'Failed', 'Cancelled'];

/** The request kinds of one phase: 40 / 40 / 20 %, in a fixed shuffled order (the same every phase). */
function plan(requests: number): Kind[] {
  const creates = Math.round(requests * 0.2);
  const describes = Math.round(requests * 0.4);
  const kinds: Kind[] = [
    ...Array<Kind>(describes).fill('DescribeJob'),
    ...Array<Kind>(requests - describes - creates).fill('ListJobs'),
    ...Array<Kind>(creates).fill('CreateJob'),
  ];
  // mulberry32: a seeded shuffle, so every phase (and every run) sends the same sequence.
  let seed = 0x5eed;
  const random = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  return kinds;
}

export async function loadScenario(ctx: BenchContext, opts: LoadOptions): Promise<string[]> {
  const { api, rounds } = ctx;
  await ctx.manifest('load-small', opts.smallTasks);
  await ctx.manifest('load-background', opts.backgroundTasks);
  const kinds = plan(opts.requests);
  ctx.log(
    `load: ${opts.requests} JSON-API requests per phase (${kinds.filter((k) => k === 'DescribeJob').length} DescribeJob, ${kinds.filter((k) => k === 'ListJobs').length} ListJobs, ${kinds.filter((k) => k === 'CreateJob').length} CreateJob of ${opts.smallTasks} tasks) in bursts of ${opts.burst}; loaded: while a ${opts.backgroundTasks}-task tagging job runs; ${rounds} round(s), idle and loaded alternating`,
  );

  let created = 0;
  const smallJob = (): Record<string, unknown> =>
    ctx.request('load-small', tagging(`load-${++created}`), `load-small-${created}`);
  const jobsInStore = async (): Promise<number> => {
    let n = 0;
    let token: string | undefined;
    do {
      const page = await api.call<{ Jobs: unknown[]; NextToken?: string }>(
        'GET',
        `/jobs${token ? `?nextToken=${encodeURIComponent(token)}` : ''}`,
      );
      n += page.Jobs.length;
      token = page.NextToken;
    } while (token !== undefined);
    return n;
  };
  /** Waits for the jobs to end and checks each one: Complete, every task succeeded. Returns the problems. */
  const checkExact = async (jobIds: readonly string[], tasks: (id: string) => number): Promise<string[]> => {
    const problems: string[] = [];
    for (const id of jobIds) {
      const v = await api.waitFor(id, TERMINAL, 600_000, 100);
      const p = v.Job.ProgressSummary;
      const want = tasks(id);
      if (
        v.Job.Status !== 'Complete' ||
        p.TotalNumberOfTasks !== want ||
        p.NumberOfTasksSucceeded !== want ||
        p.NumberOfTasksFailed !== 0
      ) {
        problems.push(`${id}: ${v.Job.Status} ${JSON.stringify(p)} (want ${want} tasks succeeded)`);
      }
    }
    return problems;
  };

  // The idle phases' DescribeJob target: a finished small job.
  const reference = (await api.createJob(smallJob())).JobId;
  const referenceProblems = await checkExact([reference], () => opts.smallTasks);
  if (referenceProblems.length > 0) throw new Error(`load: reference job not exact: ${referenceProblems.join('; ')}`);

  const phases: Phase[] = [];
  const problems: string[] = [];
  let jobsChecked = 0;

  const runPhase = async (round: number, loaded: boolean): Promise<void> => {
    const jobsBefore = await jobsInStore();
    let target = reference;
    let background: string | undefined;
    if (loaded) {
      background = (await api.createJob(ctx.request('load-background', tagging('load-bg'), 'load-background'))).JobId;
      await api.waitFor(background, ['Active', ...TERMINAL], 120_000, 50);
      target = background;
    }
    const createdIds: string[] = [];
    const samples: Sample[] = [];
    await eventLoopDelay(ctx.server.url); // resets the server's histogram: the next scrape covers the bursts
    const t0 = performance.now();
    const burstMs: number[] = [];
    for (let b = 0; b < kinds.length; b += opts.burst) {
      const tb = performance.now();
      await Promise.all(
        kinds.slice(b, b + opts.burst).map(async (kind) => {
          const startedAt = Date.now();
          const s = performance.now();
          let error: string | undefined;
          try {
            if (kind === 'DescribeJob') await api.describe(target);
            else if (kind === 'ListJobs') await api.call('GET', '/jobs');
            else createdIds.push((await api.createJob(smallJob())).JobId);
          } catch (err) {
            error = err instanceof ApiError ? `${err.status} ${err.code}` : (err as Error).message;
          }
          samples.push({ kind, startedAt, ms: performance.now() - s, ...(error !== undefined ? { error } : {}) });
        }),
      );
      burstMs.push(performance.now() - tb);
    }
    const wallMs = performance.now() - t0;
    const loop = await eventLoopDelay(ctx.server.url);
    let duringActive: number | undefined;
    let backgroundTps: number | undefined;
    if (background !== undefined) {
      problems.push(...(await checkExact([background], () => opts.backgroundTasks)));
      jobsChecked++;
      const v: JobView = await api.describe(background);
      const at = (status: string): number => Date.parse(v.StatusHistory.find((e) => e.status === status)?.at ?? '');
      const activeEnd = at('Completing');
      duringActive = samples.filter((s) => s.startedAt < activeEnd).length;
      backgroundTps = opts.backgroundTasks / ((activeEnd - at('Active')) / 1000);
    }
    problems.push(...(await checkExact(createdIds, () => opts.smallTasks)));
    jobsChecked += createdIds.length;
    const phase: Phase = {
      loaded,
      round,
      samples,
      jobsBefore,
      wallMs,
      ...(duringActive !== undefined ? { duringActive } : {}),
      ...(backgroundTps !== undefined ? { backgroundTps } : {}),
    };
    phases.push(phase);
    const all = samples.map((s) => s.ms);
    const errors = samples.filter((s) => s.error !== undefined).length;
    ctx.log(
      `  r${round} ${loaded ? 'loaded' : 'idle  '}  ${samples.length} requests in ${(wallMs / 1000).toFixed(2)} s, p50 ${fmtMs(percentile(all, 50))} ms, p99 ${fmtMs(percentile(all, 99))} ms, max ${fmtMs(Math.max(...all))} ms, ${errors} errors, bursts ${burstMs.map((ms) => (ms / 1000).toFixed(1)).join('/')} s, server event-loop delay p99 ${fmtMs(loop?.p99 ?? Number.NaN)} ms max ${fmtMs(loop?.max ?? Number.NaN)} ms, ${jobsBefore} jobs in the store${duringActive !== undefined ? `; ${duringActive} requests started while the background job was Active (${backgroundTps!.toFixed(0)} tasks/s)` : ''}`,
    );
  };

  for (let r = 1; r <= rounds; r++) {
    await ctx.alternate(r, [() => runPhase(r, false), () => runPhase(r, true)]);
  }

  // Tables: all rounds pooled per side.
  const pooled = (loaded: boolean, kind?: Kind): Sample[] =>
    phases.filter((p) => p.loaded === loaded).flatMap((p) => p.samples.filter((s) => !kind || s.kind === kind));
  const rows = [...KINDS, undefined].map((kind) => {
    const idle = pooled(false, kind);
    const load = pooled(true, kind);
    const p = (xs: Sample[], q: number): number =>
      percentile(
        xs.map((s) => s.ms),
        q,
      );
    const errs = (xs: Sample[]): string => String(xs.filter((s) => s.error !== undefined).length);
    return [
      kind ?? 'all',
      String(idle.length),
      `${fmtMs(p(idle, 50))} / ${fmtMs(p(idle, 95))} / ${fmtMs(p(idle, 99))}`,
      errs(idle),
      String(load.length),
      `${fmtMs(p(load, 50))} / ${fmtMs(p(load, 95))} / ${fmtMs(p(load, 99))}`,
      errs(load),
      ratio(p(load, 50), p(idle, 50)),
      ratio(p(load, 99), p(idle, 99)),
    ];
  });
  const firstErrors = new Map<string, number>();
  for (const s of phases.flatMap((p) => p.samples))
    if (s.error) firstErrors.set(`${s.kind}: ${s.error}`, (firstErrors.get(`${s.kind}: ${s.error}`) ?? 0) + 1);
  const loadedPhases = phases.filter((p) => p.loaded);
  const out: string[] = [
    '',
    `JSON API under load: ${opts.requests} requests per phase (40 % DescribeJob, 40 % ListJobs, 20 % CreateJob of ${opts.smallTasks} tasks), bursts of ${opts.burst}; loaded = while a ${opts.backgroundTasks}-task tagging job runs; ${rounds} round(s) per side, pooled; latencies in ms (client: request sent → answer parsed)`,
    table(
      [
        'request',
        'idle n',
        'idle p50 / p95 / p99',
        'idle errors',
        'loaded n',
        'loaded p50 / p95 / p99',
        'loaded errors',
        'p50 loaded÷idle',
        'p99 loaded÷idle',
      ],
      rows,
    ),
    `phases: ${phases
      .map(
        (p) =>
          `r${p.round} ${p.loaded ? 'loaded' : 'idle'} ${(p.wallMs / 1000).toFixed(1)} s (${p.jobsBefore} jobs in the store${p.loaded ? `, ${p.duringActive}/${p.samples.length} requests while the background job was Active at ${p.backgroundTps?.toFixed(0)} tasks/s` : ''})`,
      )
      .join('; ')}`,
    `jobs exact: ${jobsChecked - problems.length} of ${jobsChecked} (every created job and the background job${loadedPhases.length === 1 ? '' : 's'} Complete, every task succeeded)${problems.length > 0 ? `; NOT EXACT: ${problems.slice(0, 5).join('; ')}` : ''}`,
  ];
  if (firstErrors.size > 0)
    out.push(
      `errors: ${[...firstErrors]
        .slice(0, 8)
        .map(([e, n]) => `${n} × ${e}`)
        .join('; ')}`,
    );
  return out;
}
