// The client CPU of one streamed GetObject (the checksum operation's read), apart from any S3
// server: N GetObject of --kib KiB at concurrency C against a node:http server in this process that
// answers each with the same preallocated body, through the AWS SDK (createS3Client's S3Client) and
// through the lean client (taskS3Of, what the engine uses), the body read chunk by chunk as the
// operation reads it (no hash: the hash costs the same on either side). CPU is process.cpuUsage:
// client + the trivial server, the same server for both; rounds alternate the order.
//
//   node --import tsx bench/get-cost.ts [--kib 64,8192] [--requests 4000,100] [--concurrency 64] [--rounds 3]
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { sdkTaskS3, type TaskS3, taskS3Of } from '../src/storage/lean-s3/task-s3.ts';
import { createS3Client } from '../src/storage/s3-clients.ts';

const { values: opt } = parseArgs({
  options: {
    kib: { type: 'string', default: '64,8192' },
    requests: { type: 'string', default: '4000,100' },
    concurrency: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '3' },
  },
});
const SIZES = opt.kib.split(',').map(Number);
const COUNTS = opt.requests.split(',').map(Number);
const C = Number(opt.concurrency);
const ROUNDS = Number(opt.rounds);

const bodies = new Map(SIZES.map((kib) => [kib, Buffer.alloc(kib * 1024, 'g')]));
const server = createServer((req, res) => {
  const kib = Number(/size-(\d+)/.exec(req.url ?? '')?.[1]);
  const body = bodies.get(kib) ?? Buffer.alloc(0);
  res.writeHead(200, { 'content-length': String(body.length), 'x-amz-request-id': 'R' });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const s3 = createS3Client({
  endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  region: 'us-east-1',
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  forcePathStyle: true,
});
const clients: [string, TaskS3][] = [
  ['AWS SDK S3Client', sdkTaskS3(s3)],
  ['lean client', taskS3Of(s3)],
];
const never = new AbortController().signal;

async function run(t: TaskS3, kib: number, n: number): Promise<{ cpuMs: number; wallMs: number }> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const out = await t.getObject({ Bucket: 'bench', Key: `size-${kib}/obj-${i % 100}` }, never);
      let size = 0;
      for await (const chunk of out.Body as AsyncIterable<Uint8Array>) size += chunk.length;
      if (size !== kib * 1024) throw new Error(`read ${size} bytes`);
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(C, n) }, worker));
  const cpu = process.cpuUsage(cpu0);
  return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - t0 };
}

const loadavg = (await import('node:os')).loadavg();
console.log(
  `GetObject client cost, c=${C}, ${ROUNDS} rounds, load average ${loadavg.map((l) => l.toFixed(1)).join(' ')}`,
);
for (const [i, kib] of SIZES.entries()) {
  const n = COUNTS[i] ?? COUNTS[0] ?? 1000;
  for (const [, t] of clients) await run(t, kib, Math.ceil(n / 4)); // warm-up
  const per: Record<string, number[]> = {};
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? clients : [...clients].reverse();
    for (const [name, t] of order) {
      const m = await run(t, kib, n);
      (per[name] ??= []).push(m.cpuMs / n);
      console.log(
        `  ${kib} KiB r${r + 1} ${name.padEnd(17)} ${(m.cpuMs / n).toFixed(3)} ms CPU/request, ${((n * 1000) / m.wallMs).toFixed(0)} req/s`,
      );
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sdkMs = mean(per['AWS SDK S3Client'] ?? []);
  const leanMs = mean(per['lean client'] ?? []);
  console.log(
    `${kib} KiB × ${n}: SDK ${sdkMs.toFixed(3)} ms, lean ${leanMs.toFixed(3)} ms CPU/request; lean ÷ SDK ${(leanMs / sdkMs).toFixed(2)}`,
  );
}
console.log(
  `load average after: ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
s3.destroy();
server.closeAllConnections();
server.close();
