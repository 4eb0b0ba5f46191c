/**
 * The S3 Control XML codec's conformance rules found in review: characters XML 1.0 cannot carry
 * (refused on input, U+FFFD on output, because botocore's expat rejects `&#1;` and the whole
 * document with it), elements outside the model refused instead of silently dropped, and length
 * limits counted in characters (code points) as the model counts them.
 */
import { describe, expect, it } from 'vitest';
import { isS3BatchError } from '../../src/domain/errors.ts';
import { characterCount } from '../../src/domain/field-checks.ts';
import { validateCreateJobRequest } from '../../src/service/validate-request.ts';
import { parseCreateJobRequest, parsePutJobTaggingRequest } from '../../src/api/s3control/xml-requests.ts';
import { errorResponse, escapeXml, getJobTaggingResult } from '../../src/api/s3control/xml-responses.ts';

const NS = 'http://awss3control.amazonaws.com/doc/2018-08-20/';
const create = (inner: string): string => `<CreateJobRequest xmlns="${NS}">${inner}</CreateJobRequest>`;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isS3BatchError(err) ? `${err.code}: ${err.message}` : String(err);
  }
  return undefined;
}

describe('characters XML 1.0 cannot carry', () => {
  it('are written as U+FFFD; TAB, LF and CR as references; paired surrogates (emoji) unchanged', () => {
    expect(escapeXml('a\u0001b\u0008c\u000bd\u001fe\ufffef\uffffg')).toBe(
      'a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf\ufffdg',
    );
    expect(escapeXml('t\tl\nc\r')).toBe('t&#9;l&#10;c&#13;');
    expect(escapeXml('lone \ud800 and \udc00, pair 😀')).toBe('lone \ufffd and \ufffd, pair 😀');
    expect(escapeXml('\u007f\u0085\u2028')).toBe('\u007f\u0085\u2028');
  });

  it('never appear as a reference in any response, error messages included', () => {
    const xml =
      errorResponse({ code: 'InvalidRequest', message: 'key "a\u0001b" failed', requestId: 'R' }) +
      getJobTaggingResult({ Tags: [{ Key: 'k', Value: 'v\u0002' }] });
    expect(xml).not.toMatch(/&#(?:[0-8]|1[124-9]|2\d|3[01]);/);
    expect(xml).toContain('a\ufffdb');
  });

  it.each([
    ['a raw U+0001', 'a\u0001b', 'U+0001'],
    ['&#1;', 'a&#1;b', 'U+0001'],
    ['&#x1F;', 'a&#x1F;b', 'U+001F'],
    ['&#xFFFE;', 'a&#xFFFE;b', 'U+FFFE'],
    ['a raw control character inside CDATA', '<![CDATA[a\u0002b]]>', 'U+0002'],
  ])('are refused in a request body: %s', (_name, text, cp) => {
    expect(codeOf(() => parseCreateJobRequest(create(`<Description>${text}</Description>`)))).toMatch(
      new RegExp(`^MalformedXML: .*<Description> contains the character ${cp.replace('+', '\\+')}`),
    );
  });

  it('TAB, LF and CR references are accepted, in values and map entries', () => {
    const parsed = parseCreateJobRequest(
      create(
        '<Description>a&#9;b&#10;c&#13;d</Description><Operation><LambdaInvoke><UserArguments><entry><key>k&#9;</key><value>v&#13;</value></entry></UserArguments></LambdaInvoke></Operation>',
      ),
    );
    expect(parsed).toEqual({
      Description: 'a\tb\nc\rd',
      Operation: { LambdaInvoke: { UserArguments: { 'k\t': 'v\r' } } },
    });
  });

  it('are refused in map keys and PutJobTagging values too', () => {
    expect(
      codeOf(() =>
        parseCreateJobRequest(
          create(
            '<Operation><LambdaInvoke><UserArguments><entry><key>k&#7;</key><value>v</value></entry></UserArguments></LambdaInvoke></Operation>',
          ),
        ),
      ),
    ).toMatch(/^MalformedXML: .*<key> contains the character U\+0007/);
    expect(
      codeOf(() =>
        parsePutJobTaggingRequest(
          `<PutJobTaggingRequest xmlns="${NS}"><Tags><member><Key>k</Key><Value>&#3;</Value></member></Tags></PutJobTaggingRequest>`,
        ),
      ),
    ).toMatch(/^MalformedXML: .*<Value> contains the character U\+0003/);
  });
});

describe('elements outside the model are refused, never dropped', () => {
  it.each([
    ['at the top level', '<Colour>blue</Colour>', 'CreateJobRequest has no member <Colour>'],
    [
      'in Report',
      '<Report><Enabled>false</Enabled><Colour/></Report>',
      'CreateJobRequest.Report has no member <Colour>',
    ],
    [
      'in Manifest.Location',
      '<Manifest><Location><ObjectArn>arn:aws:s3:::b/k</ObjectArn><ETag>e</ETag><Size>1</Size></Location></Manifest>',
      'CreateJobRequest.Manifest.Location has no member <Size>',
    ],
    [
      'in an operation',
      '<Operation><S3PutObjectTagging><TagSet/><Merge>true</Merge></S3PutObjectTagging></Operation>',
      'CreateJobRequest.Operation.S3PutObjectTagging has no member <Merge>',
    ],
    [
      'in an empty operation',
      '<Operation><S3ReplicateObject><Rule>r</Rule></S3ReplicateObject></Operation>',
      'CreateJobRequest.Operation.S3ReplicateObject has no member <Rule>',
    ],
    [
      'in a tag',
      '<Tags><member><Key>k</Key><Value>v</Value><Owner>o</Owner></member></Tags>',
      'CreateJobRequest.Tags[0] has no member <Owner>',
    ],
    [
      'in the generator',
      '<ManifestGenerator><S3JobManifestGenerator><SourceBucket>arn:aws:s3:::b</SourceBucket><Recursive>true</Recursive></S3JobManifestGenerator></ManifestGenerator>',
      'S3JobManifestGenerator has no member <Recursive>',
    ],
  ])('%s', (_name, inner, message) => {
    const result = codeOf(() => parseCreateJobRequest(create(inner)));
    expect(result).toMatch(/^InvalidRequest: /);
    expect(result).toContain(message);
  });

  it('PutJobTagging: an element beside <Tags> is refused', () => {
    expect(
      codeOf(() =>
        parsePutJobTaggingRequest(
          `<PutJobTaggingRequest xmlns="${NS}"><Tags/><Mode>merge</Mode></PutJobTaggingRequest>`,
        ),
      ),
    ).toMatch(/^InvalidRequest: PutJobTaggingRequest has no member <Mode>/);
  });

  it('kept where the service judges them: an unknown operation kind, the generator filter extension members', () => {
    expect(parseCreateJobRequest(create('<Operation><S3FutureKind><X>1</X></S3FutureKind></Operation>'))).toEqual({
      Operation: { S3FutureKind: { X: '1' } },
    });
    const parsed = parseCreateJobRequest(
      create(
        '<ManifestGenerator><S3JobManifestGenerator><Filter><KeyNameRegex>^a</KeyNameRegex><MaxObjects>5</MaxObjects><Future>x</Future></Filter></S3JobManifestGenerator></ManifestGenerator>',
      ),
    );
    // the extension members with their types (MaxObjects a number, as generator-spec.ts wants); others left to the service
    expect(parsed).toEqual({
      ManifestGenerator: { S3JobManifestGenerator: { Filter: { KeyNameRegex: '^a', MaxObjects: 5, Future: 'x' } } },
    });
  });
});

describe('length constraints count characters (code points), as the model does', () => {
  it('characterCount: an emoji is one character, a lone surrogate one too', () => {
    expect(characterCount('a😀b')).toBe(3);
    expect(characterCount('\ud800x')).toBe(2);
    expect(characterCount('')).toBe(0);
  });

  it('a Description of 256 emoji (512 UTF-16 units) is accepted, 257 refused; a tag value of 256 CJK+emoji too', () => {
    const base = {
      Operation: { S3DeleteObjectTagging: {} },
      Manifest: {
        Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
        Location: { ObjectArn: 'arn:aws:s3:::b/m.csv', ETag: 'e' },
      },
      Report: { Enabled: false },
      Priority: 1,
      RoleArn: 'arn:aws:iam::111122223333:role/r',
    };
    const options = { confirmationRequiredByDefault: true };
    expect(validateCreateJobRequest({ ...base, Description: '😀'.repeat(256) }, options).Description).toBe(
      '😀'.repeat(256),
    );
    expect(codeOf(() => validateCreateJobRequest({ ...base, Description: '😀'.repeat(257) }, options))).toMatch(
      /^InvalidRequest: Description must be 1 to 256/,
    );
    expect(
      validateCreateJobRequest({ ...base, Tags: [{ Key: '日'.repeat(128), Value: '𠀋'.repeat(256) }] }, options).Tags,
    ).toHaveLength(1);
  });
});
