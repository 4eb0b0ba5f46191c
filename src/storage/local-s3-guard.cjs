// The embedded S3's entry: s3rver's own command line, with its filesystem store confined to its folder.
// s3rver stores a key as <folder>/<bucket>/<key>._S3rver_object (and ._S3rver_metadata.json, ._S3rver_tagging.xml,
// ...) by path.join, so a key such as `../../x` (sent as `..%2F..%2Fx`, `%2e%2e/`, in a copy source, in a manifest
// row or a report prefix) would read and write files outside it. Every path the store builds goes through
// getBucketPath, getResourcePath or an upload id; each is checked here, and a key with a `..` segment or any path
// that would leave its bucket's folder is refused with an S3 error (400 InvalidArgument) before any file is
// touched. Real S3 servers treat `..` as a plain name: only the embedded S3 refuses it.
//
// It also checks signatures, which s3rver 3 does not (it takes any SigV4 request whose access key id it knows,
// and unsigned requests as anonymous): with S3BATCH_LOCAL_S3_KEYS_FILE set (a JSON file with accessKeyId and
// secretAccessKey), every request must carry an Authorization header signed with AWS Signature Version 4 by that
// key, within 15 minutes of this clock; anything else is answered 403 before s3rver sees it. The payload hash
// (x-amz-content-sha256) is signed but not compared with the body, which s3rver streams to disk.
//
// Started by src/storage/local-s3.ts with an IPC channel, it reports the port it listens on (`-p 0`: one the OS
// picks) as {"listening": {"address", "port"}} and exits when that channel closes: the kernel closes it when
// the server dies, however it dies (SIGKILL included), so no embedded S3 outlives its server.
// Usage: node local-s3-guard.cjs -d <dir> [s3rver options...]
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const s3rverDir = path.dirname(require.resolve('s3rver/package.json'));
const FilesystemStore = require(path.join(s3rverDir, 'lib', 'stores', 'filesystem.js'));
const S3Error = require(path.join(s3rverDir, 'lib', 'models', 'error.js'));

/** True when `child` is `parent` itself or below it, both resolved. */
function inside(parent, child) {
  const rel = path.relative(path.resolve(parent), path.resolve(child));
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** True when `child` is strictly below `parent`. */
function below(parent, child) {
  return inside(parent, child) && path.resolve(parent) !== path.resolve(child);
}

function refuse(what, value) {
  const message =
    what === 'bucket names'
      ? 'The embedded S3 refuses bucket names that would leave its data folder'
      : "The embedded S3 refuses keys with a '..' segment (they could leave its data folder)";
  return new S3Error('InvalidArgument', message, {
    ArgumentName: what === 'bucket names' ? 'Bucket' : 'Key',
    ArgumentValue: String(value).slice(0, 1024),
  });
}

/** A key with a `..` segment never reaches the file system, even when it would stay inside its bucket. */
function hasDotDotSegment(key) {
  return String(key)
    .split(process.platform === 'win32' ? /[/\\]/ : '/')
    .includes('..');
}

const { getBucketPath, getResourcePath, initiateUpload, putPart, putObjectMultipart } = FilesystemStore.prototype;

FilesystemStore.prototype.getBucketPath = function guardedBucketPath(bucket) {
  const result = getBucketPath.call(this, bucket);
  const ok =
    typeof bucket === 'string' &&
    !/[/\\]/.test(bucket) &&
    bucket !== '.' &&
    bucket !== '..' &&
    path.dirname(path.resolve(result)) === path.resolve(this.rootDirectory);
  if (!ok) throw refuse('bucket names', bucket);
  return result;
};

FilesystemStore.prototype.getResourcePath = function guardedResourcePath(bucket, key = '', resource) {
  const bucketPath = this.getBucketPath(bucket);
  if (hasDotDotSegment(key)) throw refuse('keys', key);
  const result = getResourcePath.call(this, bucket, key, resource);
  if (!below(bucketPath, result)) throw refuse('keys', key);
  return result;
};

/** An upload id is one folder below the bucket's uploads folder. */
function checkUploadId(store, bucket, uploadId) {
  const uploads = store.getResourcePath(bucket, undefined, 'uploads');
  const id = String(uploadId);
  if (!id || /[/\\]/.test(id) || id === '.' || id === '..' || !below(uploads, path.join(uploads, id))) {
    throw new S3Error(
      'NoSuchUpload',
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or ' +
        'completed.',
      { UploadId: id.slice(0, 1024) },
    );
  }
}

FilesystemStore.prototype.initiateUpload = async function guardedInitiateUpload(bucket, key, uploadId, metadata) {
  checkUploadId(this, bucket, uploadId);
  if (hasDotDotSegment(key)) throw refuse('keys', key);
  this.getResourcePath(bucket, key, 'object');
  return initiateUpload.call(this, bucket, key, uploadId, metadata);
};

FilesystemStore.prototype.putPart = async function guardedPutPart(bucket, uploadId, partNumber, content) {
  checkUploadId(this, bucket, uploadId);
  if (!Number.isInteger(Number(partNumber))) throw refuse('keys', partNumber);
  return putPart.call(this, bucket, uploadId, partNumber, content);
};

FilesystemStore.prototype.putObjectMultipart = async function guardedPutObjectMultipart(bucket, uploadId, parts) {
  checkUploadId(this, bucket, uploadId);
  for (const part of parts) {
    if (!Number.isInteger(Number(part.number))) throw refuse('keys', part.number);
  }
  return putObjectMultipart.call(this, bucket, uploadId, parts);
};

/** The pair in S3BATCH_LOCAL_S3_KEYS_FILE, or undefined when the variable is unset. */
function readKeys() {
  const file = process.env.S3BATCH_LOCAL_S3_KEYS_FILE;
  if (!file) return undefined;
  const keys = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (typeof keys.accessKeyId !== 'string' || typeof keys.secretAccessKey !== 'string') {
    throw new Error(`${file} must hold {"accessKeyId": "...", "secretAccessKey": "..."}`);
  }
  return keys;
}

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/\s,]+)\/(\d{8})\/([a-z0-9-]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
const MAX_SKEW_MS = 15 * 60 * 1000;

function amzDate(text) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text ?? '');
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : undefined;
}

/** Decoded query parameters, repeated keys as arrays (as the signer takes them). */
function parseQuery(raw) {
  const query = Object.create(null);
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
    const seen = query[key];
    query[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return query;
}

/** Undefined when `req` is signed by `keys`, else the S3Error to answer. */
async function checkSignature(req, keys) {
  const { SignatureV4 } = require('@smithy/signature-v4');
  const { Hash } = require('@smithy/hash-node');
  const { HttpRequest } = require('@smithy/protocol-http');
  const denied = (code, message) => new S3Error(code, message);
  const auth = AUTH.exec(req.headers.authorization ?? '');
  if (!auth) {
    return denied(
      'AccessDenied',
      'The embedded S3 accepts only requests signed with AWS Signature Version 4 in an Authorization header, ' +
        "by the key pair in the data folder's local-s3-keys.json",
    );
  }
  const [, accessKeyId, day, region, signedList, signature] = auth;
  if (accessKeyId !== keys.accessKeyId) {
    return denied('InvalidAccessKeyId', "The access key id is not the one in the data folder's local-s3-keys.json");
  }
  const date = amzDate(req.headers['x-amz-date']);
  if (!date || req.headers['x-amz-date'].slice(0, 8) !== day) {
    return denied('AccessDenied', 'x-amz-date is missing, malformed or not the date of the credential scope');
  }
  if (Math.abs(Date.now() - date.getTime()) > MAX_SKEW_MS) {
    return denied('RequestTimeTooSkewed', 'The difference between the request time and the server time is too large');
  }
  const signedNames = signedList.split(';');
  const unsigned = Object.keys(req.headers).filter((n) => n.startsWith('x-amz-') && !signedNames.includes(n));
  if (!signedNames.includes('host') || unsigned.length > 0) {
    return denied('AccessDenied', `Headers that must be signed are not: ${['host', ...unsigned].join(', ')}`);
  }
  const headers = Object.create(null);
  for (const name of signedNames) {
    const v = req.headers[name];
    if (v === undefined) return denied('SignatureDoesNotMatch', `The signed header ${name} is missing`);
    headers[name] = Array.isArray(v) ? v.join(',') : v;
  }
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  let query;
  try {
    query = parseQuery(q < 0 ? '' : url.slice(q + 1));
  } catch {
    return denied('AccessDenied', 'The query string has malformed percent-encoding');
  }
  const signer = new SignatureV4({
    service: 's3',
    region,
    credentials: keys,
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: false,
    applyChecksum: true,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: req.method,
      protocol: 'http:',
      hostname: headers.host ?? '',
      path: (q < 0 ? url : url.slice(0, q)) || '/',
      query,
      headers,
    }),
    { signingDate: date, signingRegion: region, signingService: 's3', signableHeaders: new Set(signedNames) },
  );
  const expected = /Signature=([0-9a-f]{64})$/.exec(String(signed.headers.authorization ?? ''))?.[1] ?? '';
  const expectedNames = /SignedHeaders=([^,]*),/.exec(String(signed.headers.authorization ?? ''))?.[1];
  const ok =
    expected.length === 64 &&
    crypto.timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(signature, 'hex')) &&
    expectedNames === signedList;
  return ok
    ? undefined
    : denied(
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your key and ' +
          'signing method.',
      );
}

/** The most of a refused request's body read and dropped so that its client gets the whole answer. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * Resolves once `req`'s body has been read and dropped: at its end, at MAX_DRAIN_BYTES, or when the
 * connection fails (Node's request timeout bounds a stalled one). A body declared larger than the
 * bound is not read: that client may see a broken pipe instead of the answer (as in src/api/body-limit.ts).
 */
function drainBody(req) {
  return new Promise((resolve) => {
    if (req.complete || req.destroyed || Number(req.headers['content-length']) > MAX_DRAIN_BYTES) {
      resolve();
      return;
    }
    let received = 0;
    const done = () => {
      req.removeListener('data', onData);
      req.removeListener('end', done);
      req.removeListener('error', done);
      req.removeListener('close', done);
      resolve();
    };
    function onData(chunk) {
      received += chunk.length;
      if (received > MAX_DRAIN_BYTES) done();
    }
    req.on('data', onData);
    req.on('end', done);
    req.on('error', done);
    req.on('close', done);
    req.resume();
  });
}

const S3rver = require(path.join(s3rverDir, 'lib', 's3rver.js'));

/** How long in-flight requests may take to end after the server died before this process exits anyway. */
const ORPHAN_GRACE_MS = 2000;

if (typeof process.send === 'function') {
  // The channel to the server: an event, not a poll of the parent's pid. It closes the moment the server's
  // process is gone (the kernel closes its end of the socket pair, and no other process holds that end:
  // Node opens it close-on-exec), so this process learns of it at once, not up to a polling interval later,
  // and wakes for nothing while the server lives. It also carries the port back, so `-p 0` can be used.
  let instance;
  const run = S3rver.prototype.run;
  S3rver.prototype.run = async function reportedRun(...args) {
    const address = await run.apply(this, args);
    instance = this;
    if (process.connected) process.send({ listening: address }, () => {});
    return address;
  };
  process.once('disconnect', () => {
    // No new connections; the requests in flight (from the server that died: their sockets are closed)
    // end by themselves, and the process exits when they have, or after ORPHAN_GRACE_MS.
    setTimeout(() => process.exit(0), ORPHAN_GRACE_MS);
    if (instance) instance.close(() => process.exit(0));
    else process.exit(0);
  });
}

const keys = readKeys();
if (keys) {
  // s3rver knows only these keys (not its built-in S3RVER pair)...
  const AWSAccount = require(path.join(s3rverDir, 'lib', 'models', 'account.js'));
  AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
  AWSAccount.DUMMY_ACCOUNT.createKeyPair(keys.accessKeyId, keys.secretAccessKey);
  // ...and sees only requests signed by them: the check comes before s3rver's own request handler (Koa's).
  const callback = S3rver.prototype.callback;
  S3rver.prototype.callback = function guardedCallback() {
    const handle = callback.call(this);
    return (req, res) => {
      // .then().catch(), not .then(ok, fail): a throw inside the first handler must be answered too,
      // not become an unhandled rejection that ends the embedded S3.
      // A refusal is sent after the body has been read and dropped (drainBody): answering while the
      // client is still sending and closing the connection gives it a broken pipe (EPIPE), not the 403.
      checkSignature(req, keys)
        .then(async (err) => {
          if (!err) return handle(req, res);
          await drainBody(req);
          const body = err.toXML();
          res.writeHead(err.status, {
            'content-type': 'application/xml',
            'content-length': Buffer.byteLength(body),
            connection: 'close',
          });
          res.end(body);
        })
        .catch(async (err) => {
          await drainBody(req);
          if (!res.headersSent) res.writeHead(500, { connection: 'close' });
          res.end(String(err?.message));
        });
    };
  };
}

require(path.join(s3rverDir, 'bin', 's3rver.js'));
