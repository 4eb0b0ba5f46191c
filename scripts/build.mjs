#!/usr/bin/env node
// Compiles src/ to dist/ (tsc with tsconfig.build.json; incremental, its state in dist/.tsbuildinfo) and
// copies the web page's static files (src/web/) to dist/web/, where the compiled server reads them, and the
// embedded S3's entry (src/storage/local-s3-guard.cjs) next to the compiled local-s3.js.
//   node scripts/build.mjs             build (npm run build)
//   node scripts/build.mjs --clean     remove dist/ first (npm pack: no files of deleted sources)
//   node scripts/build.mjs --if-stale  build only when a file under src/ or a build input is newer than
//                                      dist/.build-stamp (npm start, npm test, the integration tests)
// Plain JavaScript on purpose: it runs before anything is compiled, and without tsx.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const DIST = path.join(ROOT, 'dist');
const STAMP = path.join(DIST, '.build-stamp');
const INPUTS = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'scripts/build.mjs'];

/** The newest modification time (ms) of a file or of any file below a folder. */
function newest(p) {
  const st = statSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs; // a deleted or renamed file changes its folder's time
  for (const entry of readdirSync(p)) max = Math.max(max, newest(path.join(p, entry)));
  return max;
}

function isStale() {
  const stamp = statSync(STAMP, { throwIfNoEntry: false });
  if (!stamp) return true;
  return INPUTS.some((input) => newest(path.join(ROOT, input)) > stamp.mtimeMs);
}

function build() {
  const started = new Date();
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`build: tsc failed (exit ${r.status ?? r.signal})\n`);
    process.exit(1);
  }
  rmSync(path.join(DIST, 'web'), { recursive: true, force: true });
  cpSync(path.join(ROOT, 'src', 'web'), path.join(DIST, 'web'), { recursive: true });
  // the embedded S3's entry (plain CommonJS, spawned as a child process: tsc does not compile it)
  cpSync(path.join(ROOT, 'src', 'storage', 'local-s3-guard.cjs'), path.join(DIST, 'storage', 'local-s3-guard.cjs'));
  mkdirSync(DIST, { recursive: true });
  // dated when the build started: a source saved while tsc ran makes the next --if-stale build again
  writeFileSync(STAMP, `${started.toISOString()}\n`);
  utimesSync(STAMP, started, started);
}

const args = new Set(process.argv.slice(2));
if (args.has('--clean')) rmSync(DIST, { recursive: true, force: true });
if (args.has('--if-stale') && existsSync(DIST) && !isStale()) process.exit(0);
const started = Date.now();
build();
process.stderr.write(`build: src/ compiled to dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
