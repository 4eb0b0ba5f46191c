/**
 * Incremental CRCs S3 uses for additional checksums, as plain table implementations (Node's
 * zlib.crc32 covers only CRC-32): CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) and
 * CRC-64/NVME (reflected polynomial 0x9A6C9329AC4BC9B5, as S3's CRC64NVME). Both start at all
 * ones and end XOR all ones; the functions take and return the finished value, so a running CRC
 * continues with `crc = update(crc, chunk)` from `update(0, first)`, like zlib.crc32.
 */

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C of `data` continuing from `crc` (0 to start). */
export function crc32c(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  const t = CRC32C_TABLE;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

// CRC-64 on two 32-bit halves (BigInt per byte is ~50× slower).
const POLY64_HI = 0x9a6c9329;
const POLY64_LO = 0xac4bc9b5;
const CRC64_HI = new Uint32Array(256);
const CRC64_LO = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let hi = 0;
  let lo = n;
  for (let k = 0; k < 8; k++) {
    const lsb = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (lsb) {
      hi = (hi ^ POLY64_HI) >>> 0;
      lo = (lo ^ POLY64_LO) >>> 0;
    }
  }
  CRC64_HI[n] = hi;
  CRC64_LO[n] = lo;
}

/** CRC-64/NVME of `data` continuing from `crc` (0n to start). */
export function crc64nvme(data: Uint8Array, crc = 0n): bigint {
  let hi = ~Number((crc >> 32n) & 0xffffffffn) >>> 0;
  let lo = ~Number(crc & 0xffffffffn) >>> 0;
  for (let i = 0; i < data.length; i++) {
    const idx = (lo ^ data[i]!) & 0xff;
    lo = (((lo >>> 8) | (hi << 24)) ^ CRC64_LO[idx]!) >>> 0;
    hi = ((hi >>> 8) ^ CRC64_HI[idx]!) >>> 0;
  }
  return (BigInt(~hi >>> 0) << 32n) | BigInt(~lo >>> 0);
}
