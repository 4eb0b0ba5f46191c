import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PROFILE,
  loadStorageProfiles,
  parseStorageProfiles,
  profileNameFor,
  replicationRulesFor,
} from '../../src/storage/storage-profiles.ts';

const fallback = {
  endpoint: 'http://127.0.0.1:9000',
  region: 'us-east-1',
  accessKeyId: 'a',
  secretAccessKey: 'b',
  forcePathStyle: true,
};
const FILE = JSON.stringify({
  profiles: {
    archive: { endpoint: 'http://127.0.0.1:9100', region: 'eu-west-1', accessKeyId: 'k', secretAccessKey: 's' },
    aws: { region: 'us-west-2' },
  },
  roles: { 'arn:aws:iam::111122223333:role/batch-dr': 'archive' },
});

describe('storage profiles', () => {
  it('single-endpoint mode: every role maps to the default profile', () => {
    const p = loadStorageProfiles(undefined, fallback);
    expect(p.strict).toBe(false);
    expect(profileNameFor(p, 'arn:aws:iam::111122223333:role/anything')).toBe(DEFAULT_PROFILE);
    expect(p.profiles.get(DEFAULT_PROFILE)).toBe(fallback);
  });

  it('parses profiles with defaults (region, path style follows the endpoint)', () => {
    const p = parseStorageProfiles(FILE, 'f.json', fallback);
    expect(p.profiles.get('archive')).toEqual({
      endpoint: 'http://127.0.0.1:9100',
      region: 'eu-west-1',
      accessKeyId: 'k',
      secretAccessKey: 's',
      forcePathStyle: true,
    });
    expect(p.profiles.get('aws')).toEqual({
      endpoint: undefined,
      region: 'us-west-2',
      accessKeyId: undefined,
      secretAccessKey: undefined,
      forcePathStyle: false,
    });
    expect(p.profiles.get(DEFAULT_PROFILE)).toBe(fallback);
  });

  it('resolves explicit role ARNs first, then role names, including role paths', () => {
    const p = parseStorageProfiles(FILE, 'f.json', fallback);
    expect(profileNameFor(p, 'arn:aws:iam::111122223333:role/batch-dr')).toBe('archive');
    expect(profileNameFor(p, 'arn:aws:iam::111122223333:role/archive')).toBe('archive');
    expect(profileNameFor(p, 'arn:aws:iam::111122223333:role/service/archive')).toBe('archive');
    expect(profileNameFor(p, 'arn:aws:iam::444455556666:role/default')).toBe(DEFAULT_PROFILE);
  });

  it('an unknown role is InvalidRequest naming the known profiles', () => {
    const p = parseStorageProfiles(FILE, 'f.json', fallback);
    let err: unknown;
    try {
      profileNameFor(p, 'arn:aws:iam::111122223333:role/nope');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'InvalidRequest' });
    expect((err as Error).message).toMatch(/role\/nope maps to no storage profile.*default, archive, aws/);
  });

  it.each([
    ['not json', /not valid JSON/],
    ['[]', /must be a JSON object/],
    ['{"profiles":{},"extra":1}', /unknown top-level field\(s\) extra/],
    ['{"profiles":{"default":{}}}', /"default" is reserved/],
    ['{"profiles":{"a b":{}}}', /profile name "a b"/],
    ['{"profiles":{"x":{"endpoint":"ftp://h"}}}', /profiles.x.endpoint must be an http/],
    ['{"profiles":{"x":{"accessKeyId":"k"}}}', /give both accessKeyId and secretAccessKey/],
    ['{"profiles":{"x":{"secret":"k"}}}', /unknown field\(s\) secret/],
    ['{"profiles":{"x":{"forcePathStyle":"yes"}}}', /forcePathStyle must be true or false/],
    ['{"profiles":{"x":{}},"roles":{"not-an-arn":"x"}}', /is not a role ARN/],
    ['{"profiles":{"x":{}},"roles":{"arn:aws:iam::111122223333:role/r":"y"}}', /unknown profile "y"/],
  ])('refuses %s', (text, message) => {
    expect(() => parseStorageProfiles(text, 'profiles.json', fallback)).toThrow(message);
    expect(() => parseStorageProfiles(text, 'profiles.json', fallback)).toThrow(/Storage profiles profiles.json/);
  });

  it('a missing file is a configuration error naming it', () => {
    expect(() => loadStorageProfiles('/nonexistent/profiles.json', fallback)).toThrow(
      /\/nonexistent\/profiles.json: cannot be read/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'profiles-'));
    const file = join(dir, 'p.json');
    writeFileSync(file, FILE);
    expect(loadStorageProfiles(file, fallback).profiles.size).toBe(3);
  });
});

describe('replication rules', () => {
  const withRules = (replication: unknown) =>
    JSON.stringify({
      profiles: { dr: { endpoint: 'http://127.0.0.1:9100', accessKeyId: 'k', secretAccessKey: 's' } },
      replication,
    });

  it('parses rules with their defaults and finds the ones that cover an object', () => {
    const p = parseStorageProfiles(
      withRules([
        {
          sourceBucket: 'photos',
          destinationProfile: 'dr',
          destinationBucket: 'photos-dr',
          storageClass: 'STANDARD_IA',
        },
        { sourceBucket: 'photos', prefix: 'raw/', destinationBucket: 'photos-raw' },
      ]),
      'f.json',
      fallback,
    );
    expect(p.replication).toEqual([
      {
        sourceProfile: 'default',
        sourceBucket: 'photos',
        prefix: '',
        destinationProfile: 'dr',
        destinationBucket: 'photos-dr',
        storageClass: 'STANDARD_IA',
      },
      {
        sourceProfile: 'default',
        sourceBucket: 'photos',
        prefix: 'raw/',
        destinationProfile: 'default',
        destinationBucket: 'photos-raw',
        storageClass: undefined,
      },
    ]);
    expect(replicationRulesFor(p, 'default', 'photos', 'raw/a.jpg').map((r) => r.destinationBucket)).toEqual([
      'photos-dr',
      'photos-raw',
    ]);
    expect(replicationRulesFor(p, 'default', 'photos', 'x.jpg').map((r) => r.destinationBucket)).toEqual(['photos-dr']);
    expect(replicationRulesFor(p, 'dr', 'photos', 'x.jpg')).toEqual([]);
    expect(replicationRulesFor(p, 'default', 'other', 'x.jpg')).toEqual([]);
  });

  it.each([
    [{}, /"replication" must be a list/],
    [[{ destinationBucket: 'b-dr' }], /replication\[0\].sourceBucket must be a bucket name/],
    [[{ sourceBucket: 'src', destinationBucket: 'Bad_Name' }], /destinationBucket must be a bucket name/],
    [
      [{ sourceBucket: 'src', destinationBucket: 'dst', destinationProfile: 'nope' }],
      /destinationProfile names the unknown profile "nope"/,
    ],
    [[{ sourceBucket: 'src', destinationBucket: 'src' }], /replicates src onto itself/],
    [
      [{ sourceBucket: 'src', destinationBucket: 'dst', storageClass: 'fast' }],
      /storageClass must be a storage class name/,
    ],
    [[{ sourceBucket: 'src', destinationBucket: 'dst', mode: 'x' }], /unknown field\(s\) mode/],
  ])('refuses %j', (rules, message) => {
    expect(() => parseStorageProfiles(withRules(rules), 'f.json', fallback)).toThrow(message);
  });
});
