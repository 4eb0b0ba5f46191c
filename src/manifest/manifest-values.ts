/**
 * Decoding of manifest values (docs/manifests.md#url-encoding): percent-decoding of the bucket, key and version-id
 * columns, and the UTF-8 helpers the row splitter and the row rules share.
 */
import { ManifestError } from '../domain/errors.ts';

/**
 * Strict UTF-8: invalid bytes throw (a manifest error for the caller to report). ignoreBOM: a BOM
 * inside a field or a decoded value is data (the manifest's own BOM is skipped by the splitter).
 */
export const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Percent-decodes a manifest value as UTF-8 (docs/manifests.md#url-encoding). In bucket and key values `+` is a space
 * (keys are encoded like Python's `quote_plus`; a literal `+` is `%2B`). In version ids `+` stays
 * `+`: S3 version ids may contain a literal `+` and never a space.
 */
export function decodeManifestValue(raw: string, column: 'bucket' | 'key' | 'versionId', line: number): string {
  const plusIsSpace = column !== 'versionId';
  if (!raw.includes('%') && !(plusIsSpace && raw.includes('+'))) return raw;
  // Works on the string: raw characters are whole (the row was valid UTF-8), so only runs of
  // %XX escapes need UTF-8 decoding; a multi-byte character split between an escape and a raw
  // character is invalid either way.
  let out = '';
  let last = 0;
  let i = 0;
  while (i < raw.length) {
    const c = raw.charCodeAt(i);
    if (c === 0x2b /* + */ && plusIsSpace) {
      out += `${raw.slice(last, i)} `;
      last = ++i;
    } else if (c === 0x25 /* % */) {
      out += raw.slice(last, i);
      const bytes: number[] = [];
      let ascii = true;
      while (i < raw.length && raw.charCodeAt(i) === 0x25) {
        const hi = hexValue(raw.charCodeAt(i + 1));
        const lo = hexValue(raw.charCodeAt(i + 2));
        if (hi < 0 || lo < 0) {
          throw new ManifestError(
            'InvalidManifestContent',
            `invalid percent-encoding in the ${column} at character ${i + 1}`,
            line,
          );
        }
        const byte = hi * 16 + lo;
        if (byte >= 0x80) ascii = false;
        bytes.push(byte);
        i += 3;
      }
      if (ascii) {
        out += String.fromCharCode(...bytes);
      } else {
        try {
          out += utf8.decode(Uint8Array.from(bytes));
        } catch {
          throw new ManifestError('InvalidManifestContent', `the ${column} does not decode to valid UTF-8`, line);
        }
      }
      last = i;
    } else {
      i++;
    }
  }
  return out + raw.slice(last);
}

/** Value of a hex digit's char code; -1 for anything else (including NaN past the end). */
function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  return -1;
}

/** Length in UTF-8 bytes of a well-formed string, without encoding it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4; // a surrogate pair (decoded input is well-formed)
      i++;
    } else n += 3;
  }
  return n;
}
