/**
 * Runs the s3batch CLI for a bench scenario the way a user's shell would: the server's key in the
 * S3BATCH_* variables, no profiles file, and the process's CPU time sampled while it runs.
 */
import { spawn } from 'node:child_process';
import { CLI_BIN, serverEnv, shellEnv } from '../test/helpers/cli-process.ts';
import type { BenchContext } from './context.ts';
import { cpuMs } from './proc.ts';

export interface CliRun {
  readonly code: number | null;
  /** Wall time from spawn to exit. */
  readonly ms: number;
  /** CPU time, as last sampled before the process exited. */
  readonly cpuMs: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `s3batch <args>` in `home`; resolves when it exits (whatever its exit code). */
export function runCli(
  ctx: BenchContext,
  args: readonly string[],
  home: string,
  sampleEveryMs: number,
): Promise<CliRun> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    cwd: home,
    env: { ...shellEnv(home), XDG_CONFIG_HOME: home, ...serverEnv(ctx.server.url, ctx.api.key!) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let cpu = 0;
  const sampler = setInterval(() => {
    const c = cpuMs(child.pid!);
    if (c > 0) cpu = c;
  }, sampleEveryMs);
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearInterval(sampler);
      resolve({ code, ms: performance.now() - t0, cpuMs: cpu, stdout, stderr });
    });
  });
}
