/**
 * Seeking into the local task list's index (src/manifest/local-manifest.ts, the offsets file): the runner reaches
 * chunk k without reading chunks 0..k-1, a resumed listing reads only the tail, and every damaged offsets file a crash
 * can leave (none, torn, short, long, wrong) falls back to reading the index from its start with the same result.
 * Real files in a temporary directory (fs-local-manifest.ts); the index is wrapped only to count the bytes read.
 */
import { appendFile, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Chunk } from '../../src/domain/chunk.ts';
import {
  followLocalChunks,
  LocalManifestWriter,
  readLocalChunk,
  readLocalTotals,
} from '../../src/manifest/local-manifest.ts';
import { createFsLocalManifestFiles } from '../../src/storage/fs-local-manifest.ts';
import type { AppendOnlyFile, LocalManifestFiles } from '../../src/storage/local-manifest-files.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3batch-lidx-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const JOB = 'job1';
const idx = (): string => join(dir, `${JOB}.lidx`);
const off = (): string => join(dir, `${JOB}.loff`);

/** The job's files, with the bytes of the index its reader took counted. */
function counted(): { files: LocalManifestFiles; indexBytesRead: () => number } {
  const files = createFsLocalManifestFiles(dir, JOB);
  let read = 0;
  const index: AppendOnlyFile = {
    ...files.index,
    async *read(start, end) {
      // In small pieces, counted as the reader takes them (a read stream reads ahead 64 KiB at a time).
      for await (const bytes of files.index.read(start, end)) {
        for (let i = 0; i < bytes.length; i += 256) {
          const piece = bytes.subarray(i, i + 256);
          read += piece.length;
          yield piece;
        }
      }
    },
  };
  return { files: { ...files, index }, indexBytesRead: () => read };
}

/** Writes `chunks` chunks of two rows (keys k0000, k0001, …); completes the list unless told not to. */
async function writeList(chunks: number, complete = true): Promise<LocalManifestWriter> {
  const w = await LocalManifestWriter.open(createFsLocalManifestFiles(dir, JOB), {
    fields: ['Bucket', 'Key'],
    chunkSize: 2,
    resume: false,
  });
  for (let i = 0; i < chunks * 2; i++) {
    const key = `k${String(i).padStart(4, '0')}`;
    await w.add({ bucket: 'src', rawKey: key }, 10, key);
  }
  if (complete) await w.complete();
  return w;
}

const noWait = { ticket: () => 0, waitForChange: async () => {} };

async function follow(files: LocalManifestFiles, from?: number): Promise<Chunk[]> {
  const out: Chunk[] = [];
  const signal = new AbortController().signal;
  for await (const c of followLocalChunks(files, { signal, ...noWait, from })) out.push(c);
  return out;
}

async function keysOf(files: LocalManifestFiles, chunk: Chunk): Promise<string[]> {
  const keys: string[] = [];
  for await (const e of readLocalChunk(files, ['Bucket', 'Key'], chunk)) keys.push(e.key);
  return keys;
}

async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}

describe('seeking to chunk k', () => {
  it('reads from the line of chunk k, not from the start, and gives the same chunks as the scan', async () => {
    await writeList(200);
    const all = await follow(createFsLocalManifestFiles(dir, JOB));
    expect(all.map((c) => c.index)).toEqual([...Array(200).keys()]);
    expect(await fileSize(off())).toBe(200 * 8);

    const { files, indexBytesRead } = counted();
    const from = await follow(files, 190);
    expect(from).toEqual(all.slice(190));
    expect(await keysOf(files, from[0]!)).toEqual(['k0380', 'k0381']);
    // Ten lines and the end mark (plus the one byte before the line): a small part of the index.
    expect(indexBytesRead()).toBeLessThan((await fileSize(idx())) / 10);
  });

  it('reads an old list (no offsets file) from its start, with the same chunks', async () => {
    await writeList(50);
    const all = await follow(createFsLocalManifestFiles(dir, JOB));
    await rm(off());
    const { files, indexBytesRead } = counted();
    expect(await follow(files, 40)).toEqual(all.slice(40));
    expect(indexBytesRead()).toBe(await fileSize(idx()));
    expect(await readLocalTotals(files)).toMatchObject({ chunks: 50, found: 100, cursor: 'k0099', complete: true });
  });

  it('with a short or torn offsets file, seeks to its last whole entry and reads on from there', async () => {
    await writeList(100);
    const all = await follow(createFsLocalManifestFiles(dir, JOB));
    await truncate(off(), 80 * 8 + 5); // 80 whole entries and a torn one
    const { files, indexBytesRead } = counted();
    expect(await follow(files, 90)).toEqual(all.slice(90));
    expect(indexBytesRead()).toBeLessThan((await fileSize(idx())) / 2);
    expect(await follow(files, 30)).toEqual(all.slice(30));
  });

  it('with an offsets file longer than the index or pointing at the wrong lines, falls back to the scan', async () => {
    await writeList(30);
    const all = await follow(createFsLocalManifestFiles(dir, JOB));
    const good = await readFile(off());
    const cases: Buffer[] = [
      Buffer.concat([good, Buffer.alloc(8 * 5)]), // zeros past the end (a crash after the size grew)
      Buffer.concat([good, good.subarray(0, 8 * 3)]), // entries pointing at the lines of other chunks
      Buffer.from(good.map((b, i) => (i % 8 === 0 ? b ^ 1 : b))), // every offset one off
      Buffer.alloc(good.length, 0xff), // NaN
    ];
    for (const bytes of cases) {
      await writeFile(off(), bytes);
      for (const from of [0, 1, 17, 29, 40]) {
        expect(await follow(createFsLocalManifestFiles(dir, JOB), from)).toEqual(all.slice(from));
      }
      expect(await readLocalTotals(createFsLocalManifestFiles(dir, JOB))).toMatchObject({
        chunks: 30,
        found: 60,
        cursor: 'k0059',
        complete: true,
      });
    }
  });

  it('ignores the entries of an earlier list after the list was started afresh', async () => {
    await writeList(40);
    const stale = await readFile(off());
    // A new list with other keys, longer lines: the old entries point into the middle of lines.
    const w = await LocalManifestWriter.open(createFsLocalManifestFiles(dir, JOB), {
      fields: ['Bucket', 'Key'],
      chunkSize: 3,
      resume: false,
    });
    for (let i = 0; i < 60; i++) await w.add({ bucket: 'src', rawKey: `longer-key-${i}` }, 1, `longer-key-${i}`);
    await w.complete();
    const all = await follow(createFsLocalManifestFiles(dir, JOB));
    expect(all).toHaveLength(20);
    await writeFile(off(), stale);
    for (const from of [5, 19, 25]) {
      expect(await follow(createFsLocalManifestFiles(dir, JOB), from)).toEqual(all.slice(from));
    }
  });

  it('follows a growing list from chunk k, waiting for chunks not yet written', async () => {
    const w = await writeList(3, false);
    const files = createFsLocalManifestFiles(dir, JOB);
    let version = 0;
    let wake: (() => void) | undefined;
    const seen: number[] = [];
    const follower = (async () => {
      const signal = new AbortController().signal;
      const opts = {
        signal,
        from: 5,
        ticket: () => version,
        waitForChange: (t: number) => (t !== version ? Promise.resolve() : new Promise<void>((r) => (wake = r))),
      };
      for await (const c of followLocalChunks(files, opts)) seen.push(c.index);
    })();
    for (let i = 6; i < 20; i++) {
      const key = `k${String(i).padStart(4, '0')}`;
      await w.add({ bucket: 'src', rawKey: key }, 10, key);
      version++;
      wake?.();
    }
    await w.complete();
    version++;
    wake?.();
    await follower;
    expect(seen).toEqual([5, 6, 7, 8, 9]);
  });
});

describe('resuming an interrupted listing', () => {
  const resume = (files: LocalManifestFiles): Promise<LocalManifestWriter> =>
    LocalManifestWriter.open(files, { fields: ['Bucket', 'Key'], chunkSize: 2, resume: true });

  /** Adds rows k<from>..k<to-1> and completes the list. */
  async function finish(w: LocalManifestWriter, from: number, to: number): Promise<void> {
    for (let i = from; i < to; i++) {
      const key = `k${String(i).padStart(4, '0')}`;
      await w.add({ bucket: 'src', rawKey: key }, 10, key);
    }
    await w.complete();
  }

  async function expectWhole(rows: number): Promise<void> {
    const files = createFsLocalManifestFiles(dir, JOB);
    const chunks = await follow(files);
    expect(chunks.map((c) => c.index)).toEqual([...Array(rows / 2).keys()]);
    const keys: string[] = [];
    for (const c of chunks) keys.push(...(await keysOf(files, c)));
    expect(keys).toEqual([...Array(rows).keys()].map((i) => `k${String(i).padStart(4, '0')}`));
    expect(await fileSize(off())).toBe((rows / 2) * 8);
    // Every entry checks out: a seek to any chunk gives what the scan gives.
    for (const from of [1, Math.floor(rows / 4), rows / 2 - 1])
      expect(await follow(files, from)).toEqual(chunks.slice(from));
  }

  it('reads only the tail of the index, cuts a torn line and rows past the last chunk, and goes on', async () => {
    await writeList(300, false);
    // A crash while writing chunk 300: its rows appended, its index line torn.
    await appendFile(join(dir, `${JOB}.rows`), 'src,k0600\nsrc,k06');
    await appendFile(idx(), 'c 300 123');
    const { files, indexBytesRead } = counted();
    const w = await resume(files);
    expect(w.state).toMatchObject({ chunks: 300, found: 600, listed: 600, bytes: 6000, cursor: 'k0599' });
    expect(indexBytesRead()).toBeLessThan((await fileSize(idx())) / 10);
    await finish(w, 600, 620);
    await expectWhole(620);
  });

  it('appends the entries an offsets file lacks (short, torn, none) and drops those past the index', async () => {
    const damage: Array<(good: Buffer) => Buffer | undefined> = [
      (good) => good.subarray(0, 8 * 41), // written but not synced before the crash
      (good) => good.subarray(0, 8 * 41 + 3),
      () => undefined, // a list written before the offsets file
      (good) => Buffer.concat([good, good.subarray(8, 16)]), // longer than the index
      (good) => Buffer.concat([good.subarray(0, 8 * 49), Buffer.alloc(8)]), // last entry zeroed
    ];
    for (const d of damage) {
      await rm(dir, { recursive: true, force: true });
      await writeList(50, false);
      const bytes = d(await readFile(off()));
      if (bytes === undefined) await rm(off());
      else await writeFile(off(), bytes);
      const w = await resume(createFsLocalManifestFiles(dir, JOB));
      expect(w.state).toMatchObject({ chunks: 50, found: 100, cursor: 'k0099', complete: false });
      expect(await fileSize(off())).toBe(50 * 8);
      await finish(w, 100, 130);
      await expectWhole(130);
    }
  });

  it('when the index lost its last lines (entries past its end), resumes after the last whole line', async () => {
    await writeList(20, false);
    const files = createFsLocalManifestFiles(dir, JOB);
    // Cut the index inside the line of chunk 18: chunks 18 and 19 are lost, their offsets point past the end.
    const text = await readFile(idx(), 'latin1');
    await truncate(idx(), text.lastIndexOf('\nc 18 ') + 6);
    const w = await resume(files);
    expect(w.state).toMatchObject({ chunks: 18, found: 36, cursor: 'k0035' });
    expect(await fileSize(off())).toBe(18 * 8);
    await finish(w, 36, 60);
    await expectWhole(60);
  });
});
