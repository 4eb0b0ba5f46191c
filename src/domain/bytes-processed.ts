/**
 * Bytes processed (docs/job-lifecycle.md#bytes-processed): the operations that move or read object
 * bytes count them per succeeded task, and the job sums them (Progress.bytes). Pure: which
 * operations count, the average rate, and how people read sizes and rates ("1.5 GiB", "12 MiB/s").
 */

/** Copy (the source size), replicate (the size once per destination written), checksum (bytes read). */
export const BYTE_OPERATIONS: readonly string[] = ['S3PutObjectCopy', 'S3ReplicateObject', 'S3ComputeObjectChecksum'];

/**
 * True when a job's bytes are bytes processed: an operation that moves or reads bytes, not in a
 * dry run (whose byte count is what it would act on: DryRun.Bytes), and not a copy job tagged
 * `s3batch:count-copy-bytes=false`.
 */
export function countsBytesProcessed(
  operation: string,
  tags: { readonly dryRun: boolean; readonly countCopyBytes?: boolean | undefined },
): boolean {
  if (tags.dryRun || (operation === 'S3PutObjectCopy' && tags.countCopyBytes === false)) return false;
  return BYTE_OPERATIONS.includes(operation);
}

/** Bytes per second over the job's active time; null before it was active for a second. */
export function averageBytesPerSecond(bytes: number, activeSeconds: number): number | null {
  if (!(activeSeconds >= 1) || !Number.isFinite(bytes)) return null;
  return Math.round(bytes / activeSeconds);
}

const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** 1536 → "1.5 KiB", 12 → "12 bytes": binary units, one decimal (rounded) below 10 of a unit. */
export function formatBytes(n: number): string {
  let v = Math.max(0, n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${Math.round(v)} bytes`;
  // As the web page writes them (format.js): one decimal at most, rounded.
  const text = v < 10 ? String(Math.round(v * 10) / 10) : String(Math.round(v));
  return `${text} ${UNITS[u]}`;
}

/** "12 MiB/s", "512 bytes/s"; "--/s" while unknown. */
export function formatByteRate(perSecond: number | null): string {
  if (perSecond === null || !Number.isFinite(perSecond)) return '--/s';
  return `${formatBytes(perSecond)}/s`;
}
