/**
 * Child process for test/integration/server-cleanup.test.ts: runs startServer once with the config
 * flags given as JSON in argv[2] (no environment variables), closes the server if it started,
 * and prints one JSON line: { started } or { code, message } of the failure. Then it waits until
 * no socket, server or child process is left, prints { left } with what is (none when all was
 * released), and returns without process.exit: the process ends only when nothing keeps it alive.
 */
import { loadConfig, type ConfigFlags } from '../../src/config.ts';
import { startServer } from '../../src/main.ts';

/** Resources a released server must not leave: sockets, listening servers, child processes. */
const LEAKS = new Set(['TCPSocketWrap', 'TCPServerWrap', 'TCPWRAP', 'ProcessWrap']);
const leftOpen = (): string[] => process.getActiveResourcesInfo().filter((r) => LEAKS.has(r));

const print = (v: unknown): void => void process.stdout.write(`${JSON.stringify(v)}\n`);

const flags = JSON.parse(process.argv[2] ?? '{}') as ConfigFlags;
try {
  // The server's own log would share stdout with this protocol: keep it silent.
  const server = await startServer(loadConfig({ ...flags, logLevel: 'silent' }, {}));
  print({ started: server.url });
  await server.close();
} catch (err) {
  const e = err as { code?: unknown; message?: unknown };
  print({ code: e.code, message: e.message });
}
// Closed handles leave the list when their close callbacks have run: wait for that (5 s at most).
const deadline = Date.now() + 5000;
while (leftOpen().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
print({ left: leftOpen() });
