/**
 * start-ceph.sh's port check (scripts/ceph/ports.sh, sourced alone here; no Ceph is started): a port
 * is busy only when something listens on it. A port that only a client's TIME-WAIT socket holds is
 * not busy: with AUTO_PORTS=1 it moves at once, saying why; without, it is waited for (PORT_WAIT_S)
 * and, still held, refused as held, not as busy. Real sockets: a node listener, and a TIME-WAIT
 * that a client of this process leaves by closing first.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/s3-servers.ts';

const PORTS_SH = path.join(REPO_ROOT, 'scripts', 'ceph', 'ports.sh');
const run = promisify(execFile);

/** Runs `script` in bash after sourcing ports.sh (log and die print to stderr; die exits 1). */
async function withPorts(
  script: string,
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const prelude = `set -euo pipefail; PY=/usr/bin/python3; AUTO_PORTS=\${AUTO_PORTS:-0}
log() { echo "LOG: $*" >&2; }; die() { echo "DIE: $*" >&2; exit 1; }
. ${JSON.stringify(PORTS_SH)}
`;
  try {
    const { stdout, stderr } = await run('bash', ['-c', prelude + script], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A port on which only a TIME-WAIT socket remains: a client of this process connected from it and closed first. */
async function timeWaitPort(): Promise<number> {
  const server = net.createServer((s) => {
    s.on('data', () => {});
    s.on('end', () => s.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', r));
  const port = client.localPort!;
  client.end();
  await new Promise<void>((r) => client.once('close', r));
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

let listener: net.Server;
let listening: number;
let timeWait: number;

beforeAll(async () => {
  listener = net.createServer();
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  listening = (listener.address() as net.AddressInfo).port;
  timeWait = await timeWaitPort();
});

afterAll(async () => {
  await new Promise<void>((r) => listener?.close(() => r()));
});

describe('port_state', () => {
  it('TIME-WAIT only: held, not busy; a listener: busy; unused: free', async () => {
    const tw = await withPorts(`ss -Htan state time-wait "sport = :${timeWait}" | wc -l; port_state ${timeWait}`);
    // The precondition: at least one TIME-WAIT socket on that port (on a busy machine another
    // connection of this host may have used the same local port too, so not exactly one).
    const [timeWaits, state] = tw.stdout.trim().split('\n');
    expect(Number(timeWaits)).toBeGreaterThanOrEqual(1);
    expect(state).toBe('held TIME-WAIT');
    const busy = await withPorts(`port_state ${listening}`);
    expect(busy.stdout.trim()).toMatch(/^busy \d+\/\S+/);
    expect(busy.stdout).toContain(`${process.pid}/`);
    const free = await withPorts('p=$(free_port); port_state "$p"');
    expect(free.stdout.trim()).toBe('free');
  });
});

describe('check_port', () => {
  it('with AUTO_PORTS=1, moves off a TIME-WAIT port and says it had no listener', async () => {
    const r = await withPorts(`P=${timeWait}; check_port P; echo "$P"`, { AUTO_PORTS: '1' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`P ${timeWait} is not bindable yet (no listener; sockets TIME-WAIT): using`);
    expect(Number(r.stdout.trim())).not.toBe(timeWait);
  });

  it('without AUTO_PORTS, waits for a TIME-WAIT port and never calls it busy', async () => {
    const r = await withPorts(`P=${timeWait}; check_port P`, { PORT_WAIT_S: '1' });
    expect(r.stderr).toContain(`P ${timeWait}: no listener, but sockets TIME-WAIT still hold it: waiting up to 1 s`);
    expect(r.stderr).not.toContain('busy');
    // It cannot be bound for up to 60 s: after 1 s it is still held.
    expect({ code: r.code, die: /^DIE: .*$/m.exec(r.stderr)?.[0] }).toEqual({
      code: 1,
      die: `DIE: P ${timeWait} is still held after 1 s (no listener; sockets TIME-WAIT): set P / AUTO_PORTS=1`,
    });
  });

  it('refuses a port another process listens on as busy, and takes a free one as it is', async () => {
    const busy = await withPorts(`P=${listening}; check_port P`);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(new RegExp(`DIE: P ${listening} is busy \\(a listener: \\d+/`));
    const free = await withPorts('P=$(free_port); Q=$P; check_port P; [ "$P" = "$Q" ] && echo same');
    expect(free.code, free.stderr).toBe(0);
    expect(free.stdout.trim()).toBe('same');
  });
});
