/**
 * Percent-encoding as the AWS SDK does it for S3 (smithy's extendedEncodeURIComponent): RFC 3986,
 * i.e. encodeURIComponent plus `! ' ( ) *`. Keys keep their `/`s (the SDK's greedy `{Key+}` label)
 * and are never normalized: `a/../b`, `//x` and `dir/` are sent as they are.
 */

const EXTRA = /[!'()*]/g;

export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(EXTRA, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `a b/c+d` → `a%20b/c%2Bd` */
export function encodeKey(key: string): string {
  let out = '';
  let start = 0;
  for (let i = key.indexOf('/'); i !== -1; i = key.indexOf('/', start)) {
    out += `${encodeRfc3986(key.slice(start, i))}/`;
    start = i + 1;
  }
  return out + encodeRfc3986(key.slice(start));
}
