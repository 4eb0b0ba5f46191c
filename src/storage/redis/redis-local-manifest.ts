/**
 * LocalManifestFiles (local-manifest-files.ts) in Redis: the local task list of an inventory or
 * generator job, so that no machine's disk holds it. Each of its three append-only files (rows,
 * index, offsets) is a run of Redis strings, because one string holds at most 512 MiB and a job's
 * rows may exceed it:
 *
 *   <prefix>tasks:<jobId>:<file>:len    the file's length in bytes (absent: 0)
 *   <prefix>tasks:<jobId>:<file>:<n>    bytes [n·S, (n+1)·S) of the file, S = segmentBytes (64 MiB)
 *
 * with <file> one of rows, lidx, loff. An append and a truncation are each one Lua script (the
 * length and the segments change together, atomically); a read takes GETRANGE pages of at most
 * 64 KiB, never a whole segment. The scripts build the segment keys from the base key, so they
 * assume one Redis, not a cluster.
 *
 * sync() does nothing: the durability is Redis' own, its AOF (`appendonly yes`, fsync every second,
 * docs/deployment.md). The AOF is a log of the writes in order, so a Redis crash loses at most its
 * last second and comes back with a prefix of the writes: never an index line without its rows.
 */
import type { Redis } from 'ioredis';
import type { AppendOnlyFile, LocalManifestFiles } from '../local-manifest-files.ts';

/** Bytes per segment string (a file's bytes [n·S, (n+1)·S) are in segment n). */
export const SEGMENT_BYTES = 64 * 1024 * 1024;
/** Bytes per GETRANGE when reading. */
const READ_PAGE = 64 * 1024;

/** KEYS[1]: base; ARGV: data, segment bytes. Appends across segments; returns the new length. */
const APPEND = `local len = tonumber(redis.call('GET', KEYS[1] .. ':len') or '0')
local data, seg = ARGV[1], tonumber(ARGV[2])
local pos, n = 0, #data
while pos < n do
  local at = len + pos
  local take = math.min(seg - at % seg, n - pos)
  redis.call('APPEND', KEYS[1] .. ':' .. math.floor(at / seg), string.sub(data, pos + 1, pos + take))
  pos = pos + take
end
redis.call('SET', KEYS[1] .. ':len', len + n)
return len + n`;

/** KEYS[1]: base; ARGV: new size, segment bytes. Cuts (or pads with zero bytes) the file to the size. */
const TRUNCATE = `local len = tonumber(redis.call('GET', KEYS[1] .. ':len') or '0')
local size, seg = tonumber(ARGV[1]), tonumber(ARGV[2])
if size < len then
  local keep = math.floor(size / seg)
  for s = keep + 1, math.floor((len - 1) / seg) do redis.call('DEL', KEYS[1] .. ':' .. s) end
  local cut = size % seg
  local last = KEYS[1] .. ':' .. keep
  if cut == 0 then redis.call('DEL', last) else redis.call('SET', last, redis.call('GETRANGE', last, 0, cut - 1)) end
else
  local pos = len
  while pos < size do
    local take = math.min(seg - pos % seg, size - pos)
    redis.call('APPEND', KEYS[1] .. ':' .. math.floor(pos / seg), string.rep('\\0', take))
    pos = pos + take
  end
end
redis.call('SET', KEYS[1] .. ':len', size)
return size`;

/** KEYS[1]: base; ARGV: segment bytes. Deletes the file. */
const REMOVE = `local len = tonumber(redis.call('GET', KEYS[1] .. ':len') or '0')
local seg = tonumber(ARGV[1])
for s = 0, math.floor((len - 1) / seg) do redis.call('DEL', KEYS[1] .. ':' .. s) end
redis.call('DEL', KEYS[1] .. ':len')
return 0`;

const FILES = ['rows', 'lidx', 'loff'] as const;

export function redisLocalManifestBase(prefix: string, jobId: string, file: (typeof FILES)[number]): string {
  return `${prefix}tasks:${jobId}:${file}`;
}

export function createRedisLocalManifestFiles(
  redis: Redis,
  prefix: string,
  jobId: string,
  { segmentBytes = SEGMENT_BYTES }: { segmentBytes?: number } = {},
): LocalManifestFiles {
  const file = (name: (typeof FILES)[number]) =>
    redisAppendOnlyFile(redis, redisLocalManifestBase(prefix, jobId, name), segmentBytes);
  return { rows: file('rows'), index: file('lidx'), offsets: file('loff') };
}

export async function removeRedisLocalManifestFiles(
  redis: Redis,
  prefix: string,
  jobId: string,
  { segmentBytes = SEGMENT_BYTES }: { segmentBytes?: number } = {},
): Promise<void> {
  for (const name of FILES)
    await redisAppendOnlyFile(redis, redisLocalManifestBase(prefix, jobId, name), segmentBytes).remove();
}

function redisAppendOnlyFile(redis: Redis, base: string, segmentBytes: number): AppendOnlyFile {
  const size = async (): Promise<number> => Number((await redis.get(`${base}:len`)) ?? 0);
  return {
    size,
    async append(data) {
      if (data.length === 0) return;
      await redis.eval(APPEND, 1, base, Buffer.from(data.buffer, data.byteOffset, data.length), segmentBytes);
    },
    // Redis' AOF is the durability (header).
    async sync() {},
    async truncate(to) {
      await redis.eval(TRUNCATE, 1, base, to, segmentBytes);
    },
    async *read(start, end) {
      const stop = Math.min(end, await size());
      for (let pos = Math.max(0, start); pos < stop; ) {
        const offset = pos % segmentBytes;
        const take = Math.min(READ_PAGE, segmentBytes - offset, stop - pos);
        const bytes = await redis.getrangeBuffer(
          `${base}:${Math.floor(pos / segmentBytes)}`,
          offset,
          offset + take - 1,
        );
        if (bytes.length === 0) return; // cut meanwhile
        yield bytes;
        pos += bytes.length;
        if (bytes.length < take) return;
      }
    },
    async remove() {
      // Segments are found from the length: a segment size other than the writer's would miss some.
      await redis.eval(REMOVE, 1, base, segmentBytes);
    },
  };
}
