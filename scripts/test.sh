#!/bin/bash
# The project's test command (`npm test`, and CI through .ci/run): system packages for the real S3
# servers, typecheck, lint (Biome), the build when src/ changed (dist/, which the CLI that e2e tests spawn
# runs), then all vitest projects (unit, and integration against Ceph RGW + s3rver that
# test/setup/global-setup.ts starts once).
#   usage: bash scripts/test.sh [vitest args...]     e.g. bash scripts/test.sh --project unit
# Ends with a plain "vitest: N passed, N failed, N skipped" line (from vitest's JSON report).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-test-deps.sh
npx tsc --noEmit
# formatting and lint (Biome, biome.json): a lint error or an unformatted file fails the run
npx biome check --error-on-warnings .
bash scripts/check-commit-subjects.sh
node scripts/build.mjs --if-stale
mkdir -p tmp
report=tmp/vitest-report.json
rm -f "$report"
rc=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || rc=$?
node scripts/vitest-summary.mjs vitest "$report" || true
exit $rc
