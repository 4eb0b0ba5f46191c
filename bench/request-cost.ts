// The client CPU of one small S3 request, apart from any S3 server: N PutObjectTagging at
// concurrency C against a node:http server in the same process that answers 200 at once, for each
// client below, measured with process.cpuUsage (client + the trivial server, same for all).
//
//   node --import tsx bench/request-cost.ts [--requests 20000] [--concurrency 64] [--rounds 2]
//
// Clients: the AWS SDK v3 S3Client as createS3Client makes it (the baseline); undici Pool +
// @smithy/signature-v4; undici + aws4 (only when `aws4` is installed); undici + the lean client's
// own SigV4 (src/s3/, what the engine uses); node:http keep-alive Agent + the same SigV4.
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Pool } from 'undici';
import { encodeKey } from '../src/storage/lean-s3/encoding.ts';
import { LeanS3Client } from '../src/storage/lean-s3/lean-client.ts';
import { putObjectTaggingRequest } from '../src/storage/lean-s3/requests.ts';
import { SigV4Signer, sha256Hex } from '../src/storage/lean-s3/sigv4.ts';
import { createS3Client } from '../src/storage/s3-clients.ts';

const { values: opt } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '2' },
  },
});
const N = Number(opt.requests);
const C = Number(opt.concurrency);
const ROUNDS = Number(opt.rounds);
const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const REGION = 'us-east-1';
const TAGS = [{ Key: 'bench', Value: 'v1' }];
const XML = `<?xml version="1.0" encoding="UTF-8"?><Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>bench</Key><Value>v1</Value></Tag></TagSet></Tagging>`;

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-length': '0' });
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const port = (server.address() as AddressInfo).port;
const endpoint = `http://127.0.0.1:${port}`;
const host = `127.0.0.1:${port}`;
const keyOf = (i: number) => `bench/obj-${i % 1000}.bin`;

type Send = (i: number) => Promise<void>;
interface Client {
  name: string;
  send: Send;
  close: () => void;
}

function sdk(): Client {
  const s3 = createS3Client({ endpoint, region: REGION, ...creds, forcePathStyle: true });
  return {
    name: 'AWS SDK v3 S3Client',
    send: async (i) => {
      await s3.send(new PutObjectTaggingCommand({ Bucket: 'bkt', Key: keyOf(i), Tagging: { TagSet: TAGS } }));
    },
    close: () => s3.destroy(),
  };
}

function undiciSmithy(): Client {
  const pool = new Pool(endpoint, { connections: 128 });
  const signer = new SignatureV4({
    credentials: creds,
    region: REGION,
    service: 's3',
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: false,
  });
  return {
    name: 'undici Pool + @smithy/signature-v4',
    send: async (i) => {
      const req = new HttpRequest({
        method: 'PUT',
        hostname: '127.0.0.1',
        port,
        path: `/bkt/${encodeKey(keyOf(i))}`,
        query: { tagging: '' },
        headers: { host, 'content-type': 'application/xml', 'x-amz-content-sha256': sha256Hex(XML) },
        body: XML,
      });
      const signed = await signer.sign(req);
      const res = await pool.request({
        method: 'PUT',
        path: `${signed.path}?tagging=`,
        headers: signed.headers,
        body: XML,
      });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
    },
    close: () => void pool.close(),
  };
}

async function undiciAws4(): Promise<Client | undefined> {
  let aws4: { sign: (r: object, c: object) => { headers: Record<string, string>; path: string } };
  try {
    aws4 = ((await import('aws4' as string)) as { default: typeof aws4 }).default;
  } catch {
    return undefined;
  }
  const pool = new Pool(endpoint, { connections: 128 });
  return {
    name: 'undici Pool + aws4',
    send: async (i) => {
      const signed = aws4.sign(
        {
          host,
          method: 'PUT',
          path: `/bkt/${encodeKey(keyOf(i))}?tagging=`,
          service: 's3',
          region: REGION,
          headers: { 'content-type': 'application/xml' },
          body: XML,
        },
        creds,
      );
      const res = await pool.request({ method: 'PUT', path: signed.path, headers: signed.headers, body: XML });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
    },
    close: () => void pool.close(),
  };
}

function lean(): Client {
  const client = new LeanS3Client({
    region: REGION,
    endpointFor: (bucket) => new URL(`${endpoint}/${bucket}`),
    credentials: () => creds,
    maxSockets: 128,
    connectionTimeoutMs: 10_000,
    requestTimeoutMs: 300_000,
  });
  return {
    name: 'undici Pool + own SigV4 (lean client)',
    send: async (i) => {
      await client.send(putObjectTaggingRequest({ Bucket: 'bkt', Key: keyOf(i), Tagging: { TagSet: TAGS } }));
    },
    close: () => client.close(),
  };
}

function nodeHttp(): Client {
  const agent = new Agent({ keepAlive: true, maxSockets: 128 });
  const signer = new SigV4Signer(REGION);
  return {
    name: 'node:http Agent + own SigV4',
    send: (i) =>
      new Promise<void>((resolve, reject) => {
        const path = `/bkt/${encodeKey(keyOf(i))}`;
        const headers: Record<string, string> = {
          host,
          'content-type': 'application/xml',
          'content-length': String(Buffer.byteLength(XML)),
        };
        signer.sign({ method: 'PUT', path, query: [['tagging', '']], headers, payloadHash: sha256Hex(XML) }, creds);
        const req = httpRequest({ agent, host: '127.0.0.1', port, method: 'PUT', path: `${path}?tagging=`, headers });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(XML);
      }),
    close: () => agent.destroy(),
  };
}

async function run(client: Client, n: number): Promise<{ cpuMs: number; wallMs: number }> {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < n) await client.send(next++);
    }),
  );
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs };
}

const makers: (() => Client | Promise<Client | undefined>)[] = [sdk, undiciSmithy, undiciAws4, lean, nodeHttp];
const clients = (await Promise.all(makers.map((m) => m()))).filter((c): c is Client => c !== undefined);
for (const c of clients) await run(c, 2000); // warm-up: JIT, sockets
console.log(
  `${N} PutObjectTagging at c=${C}, client and server in one process; load ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
for (let round = 1; round <= ROUNDS; round++) {
  const results = [];
  for (const c of clients) results.push({ name: c.name, ...(await run(c, N)) });
  const base = results[0]!;
  console.log(`round ${round}`);
  console.log(
    `  ${'client'.padEnd(40)} ${'CPU/req'.padStart(9)} ${'÷ SDK'.padStart(6)} ${'req/s'.padStart(8)} ${'× SDK'.padStart(6)}`,
  );
  for (const r of results) {
    const cpu = r.cpuMs / N;
    console.log(
      `  ${r.name.padEnd(40)} ${`${cpu.toFixed(3)} ms`.padStart(9)} ${(cpu / (base.cpuMs / N)).toFixed(2).padStart(6)} ${((N / r.wallMs) * 1000).toFixed(0).padStart(8)} ${(base.wallMs / r.wallMs).toFixed(2).padStart(6)}`,
    );
  }
}
for (const c of clients) c.close();
server.close();
