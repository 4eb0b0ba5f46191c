import { describe, expect, it } from 'vitest';
import {
  checkCreationOnlyTagsKept,
  creationOnlyTags,
  EXTENSION_TAG_KEYS,
  parseJobExtensions,
} from '../../src/domain/job-extensions.ts';

const tag = (Key: string, Value: string) => ({ Key, Value });

describe('parseJobExtensions', () => {
  it('defaults: no dry run, no limits', () => {
    expect(parseJobExtensions(undefined)).toEqual({ dryRun: false });
    expect(parseJobExtensions([tag('team', 'data')])).toEqual({ dryRun: false });
  });

  it('reads every reserved key', () => {
    const ext = parseJobExtensions([
      tag('s3batch:dry-run', 'true'),
      tag('s3batch:max-concurrent-tasks', '8'),
      tag('s3batch:max-requests-per-second', '100'),
      tag('s3batch:generator-key-regex', '^logs/\\d{4}/'),
      tag('s3batch:generator-max-objects', '500'),
      tag('s3batch:count-copy-bytes', 'false'),
      tag('owner', 'me'),
    ]);
    expect(ext).toEqual({
      dryRun: true,
      countCopyBytes: false,
      maxConcurrentTasks: 8,
      maxRequestsPerSecond: 100,
      generatorKeyRegex: '^logs/\\d{4}/',
      generatorMaxObjects: 500,
    });
    expect(EXTENSION_TAG_KEYS).toContain('s3batch:dry-run');
  });

  it.each([
    [tag('s3batch:dry-run', 'yes'), /"true" or "false"/],
    [tag('s3batch:count-copy-bytes', 'no'), /"true" or "false"/],
    [tag('s3batch:max-concurrent-tasks', '0'), /whole number from 1/],
    [tag('s3batch:max-concurrent-tasks', '2.5'), /whole number/],
    [tag('s3batch:max-requests-per-second', '-1'), /whole number/],
    [tag('s3batch:generator-key-regex', '('), /not a valid regular expression/],
    [tag('s3batch:generator-key-regex', 'x'.repeat(257)), /1 to 256 characters/],
    [tag('s3batch:dryrun', 'true'), /Unknown s3batch extension tag s3batch:dryrun/],
  ])('refuses %o', (t, message) => {
    expect(() => parseJobExtensions([t])).toThrow(message);
    try {
      parseJobExtensions([t]);
    } catch (err) {
      expect((err as { code: string }).code).toBe('InvalidRequest');
    }
  });
});

describe('creation-only extension tags', () => {
  const atCreate = [tag('s3batch:dry-run', 'true'), tag('team', 'a'), tag('s3batch:max-concurrent-tasks', '4')];

  it('PutJobTagging may change other tags and the limits, keeping the creation-only ones', () => {
    expect(() =>
      checkCreationOnlyTagsKept(atCreate, [
        tag('s3batch:dry-run', 'true'),
        tag('team', 'b'),
        tag('s3batch:max-concurrent-tasks', '8'),
      ]),
    ).not.toThrow();
    expect(creationOnlyTags(atCreate)).toEqual([tag('s3batch:dry-run', 'true')]);
  });

  it.each([
    ['changed', [tag('s3batch:dry-run', 'false')], /s3batch:dry-run is fixed when the job is created \(it is "true"\)/],
    ['removed', [tag('team', 'a')], /s3batch:dry-run is fixed/],
    [
      'added',
      [tag('s3batch:dry-run', 'true'), tag('s3batch:generator-max-objects', '5')],
      /s3batch:generator-max-objects is fixed when the job is created \(it is not set\)/,
    ],
  ])('refuses a creation-only tag %s', (_what, next, message) => {
    expect(() => checkCreationOnlyTagsKept(atCreate, next)).toThrow(message);
  });
});
