// The checksum algorithms of S3ComputeObjectChecksum against published check values and S3's
// own base64 form, and incremental feeding (chunk boundaries must not change the value).
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32c, crc64nvme } from '../../src/operations/checksums/crc.ts';
import {
  CHECKSUM_ALGORITHMS,
  checksumOf,
  compositeOf,
  createDigester,
} from '../../src/operations/checksums/digester.ts';

const CHECK = Buffer.from('123456789');

describe('CRC check values ("123456789")', () => {
  it('CRC-32C = 0xE3069283, CRC-64/NVME = 0xAE8B14860A799888, CRC-32 = 0xCBF43926', () => {
    expect(crc32c(CHECK)).toBe(0xe3069283);
    expect(crc64nvme(CHECK)).toBe(0xae8b14860a799888n);
    expect(crc32(CHECK)).toBe(0xcbf43926);
  });

  it('CRC-32C of 32 zero bytes = 0x8A9136AA and of 32 0xFF bytes = 0x62A8AB43 (RFC 3720 B.4)', () => {
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
  });

  it('the empty input is 0 for every CRC', () => {
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    expect(crc64nvme(Buffer.alloc(0))).toBe(0n);
  });
});

describe('S3 checksum values (base64 of the big-endian digest)', () => {
  it.each([
    ['CRC32', 'y/Q5Jg=='],
    ['CRC32C', '4waSgw=='],
    ['CRC64NVME', 'rosUhgp5mIg='],
    ['MD5', Buffer.from('25f9e794323b453885f5181f1b624d0b', 'hex').toString('base64')],
    ['SHA1', Buffer.from('f7c3bc1d808e04732adf679965ccc34ca7ae3441', 'hex').toString('base64')],
    [
      'SHA256',
      Buffer.from('15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225', 'hex').toString('base64'),
    ],
    ['SHA512', createHash('sha512').update(CHECK).digest('base64')],
  ] as const)('%s of "123456789" = %s', (algorithm, expected) => {
    expect(checksumOf(algorithm, CHECK)).toBe(expected);
  });

  it('empty object: CRC32 AAAAAA==, CRC64NVME AAAAAAAAAAA=, SHA256 of nothing', () => {
    expect(checksumOf('CRC32', Buffer.alloc(0))).toBe('AAAAAA==');
    expect(checksumOf('CRC64NVME', Buffer.alloc(0))).toBe('AAAAAAAAAAA=');
    expect(checksumOf('SHA256', Buffer.alloc(0))).toBe(
      Buffer.from('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'hex').toString('base64'),
    );
  });

  it.each(CHECKSUM_ALGORITHMS)('%s: any chunking gives the value of the whole', (algorithm) => {
    const data = randomBytes(100_003);
    const whole = checksumOf(algorithm, data);
    const d = createDigester(algorithm);
    for (let at = 0, size = 1; at < data.length; at += size, size = (size * 7 + 3) % 9_973)
      d.update(data.subarray(at, at + size));
    expect(d.digest().toString('base64')).toBe(whole);
  });

  it('composite = checksum of the raw part checksums, with the part count', () => {
    const parts = [Buffer.from('part one'), Buffer.from('part two'), Buffer.from('3')];
    const raw = parts.map((p) => createHash('sha256').update(p).digest());
    const expected = `${createHash('sha256').update(Buffer.concat(raw)).digest('base64')}-3`;
    expect(compositeOf('SHA256', raw)).toBe(expected);
    const crcParts = parts.map((p) => {
      const d = createDigester('CRC32C');
      d.update(p);
      return d.digest();
    });
    const combined = Buffer.alloc(4);
    combined.writeUInt32BE(crc32c(Buffer.concat(crcParts)));
    expect(compositeOf('CRC32C', crcParts)).toBe(`${combined.toString('base64')}-3`);
  });
});
