// Start-up times of the s3batch command (issue 10: `serve` listening within 0.5 s, `--help` printed
// within 0.3 s), next to a baseline measured in the same run: `node -e 0`, the bare start of Node.
// Rounds alternate between the commands so a busy machine slows them all alike; the table gives the
// median and the fastest round, the median's ratio to the baseline's, and the CPU time the process
// used (user + system: what an idle machine's wall time would be, near enough, for a process that
// mostly computes).
//
//   npm run bench:startup [-- --rounds 15] [-- --endpoint http://127.0.0.1:17490] [-- --node /path/to/node]
//
// serve runs against an external S3 endpoint (`--endpoint`, default S3BATCH_TEST_CEPH's or
// http://127.0.0.1:9000): it makes no S3 request before it listens, so the figure leaves the S3
// server out (with --local the embedded s3rver's own start comes on top). Its data folder is kept
// between rounds: each round after the first is a restart. `--tsx` adds the way 0.1.0 started (the
// TypeScript sources through tsx's loader, no build), for comparison; `--local` adds `serve --local`,
// whose embedded s3rver starts (and answers) before the server listens.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMs } from './proc.ts';
import { table } from './table.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 's3batch.mjs');
const PROBE = path.join(ROOT, 'bench', 'startup-probe.cjs');

interface Options {
  rounds: number;
  endpoint: string;
  node: string;
  tsx: boolean;
  local: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = {
    rounds: 10,
    endpoint: process.env.S3BATCH_TEST_CEPH?.split(',')[0] || 'http://127.0.0.1:9000',
    node: process.execPath,
    tsx: false,
    local: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--rounds') o.rounds = Number(value());
    else if (a === '--endpoint') o.endpoint = value();
    else if (a === '--node') o.node = value();
    else if (a === '--tsx') o.tsx = true;
    else if (a === '--local') o.local = true;
    else if (a === '--help') {
      console.log(
        'usage: node --import tsx bench/startup.ts [--rounds N] [--endpoint URL] [--node PATH] [--tsx] [--local]',
      );
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  return o;
}

interface Sample {
  wallMs: number;
  cpuMs: number;
}

/** Runs a command to its exit; its CPU time comes from the probe preloaded into it. */
function timeToExit(node: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Sample> {
  const probeFile = path.join(os.tmpdir(), `s3batch-startup-probe-${process.pid}-${Math.random()}`);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(node, ['--require', PROBE, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...env, S3BATCH_STARTUP_PROBE: probeFile },
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const wallMs = performance.now() - started;
      if (code !== 0) return reject(new Error(`${args.join(' ')} exited with ${code}:\n${out}`));
      const probe = JSON.parse(readFileSync(probeFile, 'utf8')) as { cpuMs: number };
      rmSync(probeFile, { force: true });
      resolve({ wallMs, cpuMs: probe.cpuMs });
    });
  });
}

/** Starts `serve` and measures until it prints that it listens; then stops it (SIGTERM) and waits. */
function timeToListen(node: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(node, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let sample: Sample | undefined;
    // The banner ('s3batch listening on …') goes to stderr, the log to stdout: watch both.
    const onData = (b: Buffer): void => {
      out += b.toString();
      if (sample === undefined && /listening on http/.test(out)) {
        sample = { wallMs: performance.now() - started, cpuMs: cpuMs(child.pid!) };
        child.kill('SIGTERM');
      }
    };
    child.stderr.on('data', onData);
    child.stdout.on('data', onData);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (sample) resolve(sample);
      else reject(new Error(`serve ended (${code ?? signal}) before listening:\n${out}`));
    });
  });
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 's3batch-startup-'));
  const cwd = mkdtempSync(path.join(os.tmpdir(), 's3batch-startup-cwd-'));
  // As a user's shell runs it: no test settings (the AWS SDK's own environment defaults apply).
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: cwd };
  const serveArgs = (entry: readonly string[]): string[] => [
    ...entry,
    'serve',
    '--port',
    '0',
    '--data-dir',
    dataDir,
    '--endpoint',
    o.endpoint,
    '--access-key-id',
    'STARTUPBENCHKEY00001',
    '--secret-access-key',
    'startup-bench-secret-00000000000000000001',
    '--log-level',
    'warn',
  ];
  const tsxEntry = ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts')];
  const cases: { name: string; run: () => Promise<Sample> }[] = [
    { name: 'node -e 0 (baseline)', run: () => timeToExit(o.node, ['-e', '0'], env) },
    { name: 's3batch --help', run: () => timeToExit(o.node, [BIN, '--help'], env) },
    { name: 's3batch serve (to listening)', run: () => timeToListen(o.node, serveArgs([BIN]), env) },
  ];
  if (o.local) {
    const localArgs = [BIN, 'serve', '--local', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'];
    cases.push({ name: 's3batch serve --local (with s3rver)', run: () => timeToListen(o.node, localArgs, env) });
  }
  if (o.tsx) {
    cases.push(
      { name: 'tsx src: --help', run: () => timeToExit(o.node, [...tsxEntry, '--help'], env) },
      { name: 'tsx src: serve (to listening)', run: () => timeToListen(o.node, serveArgs(tsxEntry), env) },
    );
  }
  const version = await new Promise<string>((resolve) => {
    const c = spawn(o.node, ['--version']);
    let v = '';
    c.stdout.on('data', (b: Buffer) => (v += b.toString()));
    c.once('close', () => resolve(v.trim()));
  });
  console.log(
    `s3batch start-up, ${o.rounds} rounds, Node ${version}, ${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; serve against ${o.endpoint}`,
  );
  // One warm-up round (file cache, the data folder's first start), not counted.
  for (const c of cases) await c.run();
  const samples = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
  for (let r = 0; r < o.rounds; r++) {
    const order = r % 2 === 0 ? cases : [...cases].reverse();
    for (const c of order) samples.get(c.name)!.push(await c.run());
  }
  const base = median(samples.get(cases[0]!.name)!.map((s) => s.wallMs));
  const rows = cases.map((c) => {
    const s = samples.get(c.name)!;
    const med = median(s.map((x) => x.wallMs));
    return [
      c.name,
      `${med.toFixed(0)} ms`,
      `${Math.min(...s.map((x) => x.wallMs)).toFixed(0)} ms`,
      `${(med / base).toFixed(1)}×`,
      `${median(s.map((x) => x.cpuMs)).toFixed(0)} ms`,
    ];
  });
  console.log(table(['command', 'median', 'fastest', '÷ baseline', 'CPU (median)'], rows));
  console.log(
    `load average at the end: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(cwd, { recursive: true, force: true });
}

await main();
