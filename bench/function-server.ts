// The HTTP function of the benchmark's LambdaInvoke runs: a node:http server in the bench process
// answering every invocation with Succeeded for its task (schema 1.0's result JSON). The lambda
// scenario's engine and baseline call it alike; the report-download scenario gives it a long
// resultString so that the job's completion report is large while its tasks stay cheap.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FunctionServer {
  readonly url: string;
  calls(): number;
  close(): Promise<void>;
}

/** `delayMs`: how long each invocation takes before it answers (a latency-bound function). */
export async function startFunctionServer(resultString = 'ok', delayMs = 0): Promise<FunctionServer> {
  let calls = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      calls++;
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        invocationId: string;
        tasks: { taskId: string }[];
      };
      const body = JSON.stringify({
        invocationSchemaVersion: '1.0',
        treatMissingKeysAs: 'PermanentFailure',
        invocationId: event.invocationId,
        results: event.tasks.map((t) => ({ taskId: t.taskId, resultCode: 'Succeeded', resultString })),
      });
      const answer = (): void => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/function`,
    calls: () => calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
