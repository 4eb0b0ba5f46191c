/**
 * The manifest generator's filter predicate (docs/manifests.md#manifest-generator): each filter alone, combined, and
 * the key-regex safety guard; plus the listing plan for prefixes (resume after a cursor).
 */
import { describe, expect, it } from 'vitest';
import {
  checkRegexSafety,
  compileKeyRegex,
  matchesFilter,
  type GeneratorFilter,
  type ListedObject,
} from '../../src/manifest/generator-filter.ts';
import { compareKeys, listingRanges } from '../../src/manifest/manifest-generator.ts';

const T0 = new Date('2024-06-01T00:00:00Z');
const obj = (key: string, over: Partial<ListedObject> = {}): ListedObject => ({
  key,
  size: 100,
  lastModified: T0,
  storageClass: 'STANDARD',
  ...over,
});

const OBJECTS: ListedObject[] = [
  obj('raw/a.jpg', { size: 10, lastModified: new Date('2024-01-01T00:00:00Z') }),
  obj('raw/b.png', { size: 2000, storageClass: 'GLACIER' }),
  obj('cooked/c.jpg', { size: 500, lastModified: new Date('2025-01-01T00:00:00Z'), storageClass: 'STANDARD_IA' }),
  obj('cooked/thumbs/d.jpg', { size: 0 }),
  obj('logs/2024-06-01.log', { size: 1_000_000 }),
];
const matching = (f: GeneratorFilter): string[] => OBJECTS.filter((o) => matchesFilter(f, o)).map((o) => o.key);

describe('matchesFilter, each filter alone', () => {
  it('an empty filter matches everything', () => {
    expect(matching({})).toHaveLength(OBJECTS.length);
  });

  it('MatchAnyPrefix: the key starts with one of the prefixes', () => {
    expect(matching({ prefixes: ['raw/'] })).toEqual(['raw/a.jpg', 'raw/b.png']);
    expect(matching({ prefixes: ['raw/', 'logs/'] })).toEqual(['raw/a.jpg', 'raw/b.png', 'logs/2024-06-01.log']);
  });

  it('MatchAnySuffix: the key ends with one of the suffixes', () => {
    expect(matching({ suffixes: ['.jpg'] })).toEqual(['raw/a.jpg', 'cooked/c.jpg', 'cooked/thumbs/d.jpg']);
    expect(matching({ suffixes: ['.png', '.log'] })).toEqual(['raw/b.png', 'logs/2024-06-01.log']);
  });

  it('MatchAnySubstring: the key contains one of the strings', () => {
    expect(matching({ substrings: ['thumbs'] })).toEqual(['cooked/thumbs/d.jpg']);
    expect(matching({ substrings: ['/b', '2024'] })).toEqual(['raw/b.png', 'logs/2024-06-01.log']);
  });

  it('CreatedAfter / CreatedBefore are exclusive bounds on LastModified', () => {
    expect(matching({ createdAfter: T0 })).toEqual(['cooked/c.jpg']);
    expect(matching({ createdBefore: T0 })).toEqual(['raw/a.jpg']);
    expect(
      matching({ createdAfter: new Date('2023-12-31T23:59:59Z'), createdBefore: new Date('2024-12-31T00:00:00Z') }),
    ).toEqual(['raw/a.jpg', 'raw/b.png', 'cooked/thumbs/d.jpg', 'logs/2024-06-01.log']);
  });

  it('ObjectSizeGreaterThanBytes / LessThanBytes are exclusive bounds', () => {
    expect(matching({ sizeGreaterThan: 500 })).toEqual(['raw/b.png', 'logs/2024-06-01.log']);
    expect(matching({ sizeLessThan: 10 })).toEqual(['cooked/thumbs/d.jpg']);
    expect(matching({ sizeGreaterThan: 0, sizeLessThan: 2000 })).toEqual(['raw/a.jpg', 'cooked/c.jpg']);
  });

  it('MatchAnyStorageClass: the object storage class is in the list (missing means STANDARD)', () => {
    expect(matching({ storageClasses: ['GLACIER', 'STANDARD_IA'] })).toEqual(['raw/b.png', 'cooked/c.jpg']);
    expect(matchesFilter({ storageClasses: ['STANDARD'] }, obj('x', { storageClass: '' }))).toBe(true);
  });

  it('a key regex (extension)', () => {
    expect(matching({ keyRegex: compileKeyRegex('^cooked/[^/]+\\.jpg$', 'r') })).toEqual(['cooked/c.jpg']);
    expect(matching({ keyRegex: compileKeyRegex('\\d{4}-\\d{2}', 'r') })).toEqual(['logs/2024-06-01.log']);
  });
});

describe('matchesFilter, combined', () => {
  it('ANDs the members and the KeyNameConstraint lists, ORs inside each list', () => {
    expect(matching({ prefixes: ['raw/', 'cooked/'], suffixes: ['.jpg'] })).toEqual([
      'raw/a.jpg',
      'cooked/c.jpg',
      'cooked/thumbs/d.jpg',
    ]);
    expect(matching({ prefixes: ['raw/', 'cooked/'], suffixes: ['.jpg'], sizeGreaterThan: 0 })).toEqual([
      'raw/a.jpg',
      'cooked/c.jpg',
    ]);
    expect(
      matching({
        suffixes: ['.jpg'],
        storageClasses: ['STANDARD'],
        createdBefore: new Date('2024-12-01T00:00:00Z'),
        sizeGreaterThan: 0,
      }),
    ).toEqual(['raw/a.jpg']);
    expect(matching({ prefixes: ['cooked/'], substrings: ['thumbs'], keyRegex: /d\.jpg$/ })).toEqual([
      'cooked/thumbs/d.jpg',
    ]);
    expect(matching({ prefixes: ['raw/'], storageClasses: ['STANDARD_IA'] })).toEqual([]);
  });
});

describe('key regex guard', () => {
  it.each([
    ['(a+)+$', 'nested quantifier'],
    ['(a*)*b', 'nested star'],
    ['(a|aa)*', 'repeated alternation'],
    ['((ab)+c)+', 'nested groups'],
    ['(x+){2,}', 'counted repeat of a quantified group'],
    ['(a)\\1', 'backreference'],
  ])('refuses %s (%s)', (pattern) => {
    expect(checkRegexSafety(pattern)).toBeDefined();
    expect(() => compileKeyRegex(pattern, 'KeyNameRegex')).toThrow(expect.objectContaining({ code: 'InvalidRequest' }));
  });

  it.each(['^photos/.*\\.jpe?g$', '(\\.jpg|\\.png)$', '[a-z]+/\\d+', '(abc)+', 'a{2,5}b', '[(+*)]+'])(
    'accepts %s',
    (pattern) => {
      expect(checkRegexSafety(pattern)).toBeUndefined();
      expect(compileKeyRegex(pattern, 'KeyNameRegex')).toBeInstanceOf(RegExp);
    },
  );

  it('refuses a pattern that does not compile, or one too long', () => {
    expect(() => compileKeyRegex('([a-z', 'KeyNameRegex')).toThrow(/not a valid regular expression/);
    expect(() => compileKeyRegex('a'.repeat(257), 'KeyNameRegex')).toThrow(/1 to 256 characters/);
  });
});

describe('listingRanges', () => {
  it('lists the whole bucket without prefixes, after the cursor when resuming', () => {
    expect(listingRanges(undefined, undefined)).toEqual([{}]);
    expect(listingRanges([], 'k/9')).toEqual([{ startAfter: 'k/9' }]);
  });

  it('lists each prefix once, in key order, dropping prefixes covered by a shorter one', () => {
    expect(listingRanges(['b/', 'a/', 'a/x/', 'b/'], undefined)).toEqual([{ prefix: 'a/' }, { prefix: 'b/' }]);
  });

  it('resumes inside the prefix holding the cursor and skips the prefixes before it', () => {
    expect(listingRanges(['a/', 'b/', 'c/'], 'b/17')).toEqual([{ prefix: 'b/', startAfter: 'b/17' }, { prefix: 'c/' }]);
    expect(listingRanges(['a/', 'c/'], 'b/17')).toEqual([{ prefix: 'c/' }]);
  });

  it('orders keys by UTF-8 bytes as S3 does', () => {
    // U+FF61 is EF BD A1 in UTF-8, U+1F600 is F0 9F 98 80: FF61 first. JavaScript compares UTF-16
    // code units, where U+1F600's high surrogate 0xD83D comes first.
    expect(compareKeys('\uff61', '\u{1f600}')).toBeLessThan(0);
    expect('\uff61' < '\u{1f600}').toBe(false);
  });
});
