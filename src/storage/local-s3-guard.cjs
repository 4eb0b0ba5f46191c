// The embedded S3's entry: s3rver's own command line, with its filesystem store confined to its folder.
// s3rver stores a key as <folder>/<bucket>/<key>._S3rver_object (and ._S3rver_metadata.json, ._S3rver_tagging.xml,
// ...) by path.join, so a key such as `../../x` (sent as `..%2F..%2Fx`, `%2e%2e/`, in a copy source, in a manifest
// row or a report prefix) would read and write files outside it. Every path the store builds goes through
// getBucketPath, getResourcePath or an upload id; each is checked here, and a path that would leave its bucket's
// folder is refused with an S3 error (400 InvalidArgument) before any file is touched. Real S3 servers treat `..`
// as a plain name: only the embedded S3 refuses it.
// Usage: node local-s3-guard.cjs -d <dir> [s3rver options...]
'use strict';

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

require(path.join(s3rverDir, 'bin', 's3rver.js'));
