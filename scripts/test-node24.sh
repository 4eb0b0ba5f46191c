#!/bin/bash
# s3batch on Node.js 24 LTS (CI runs it after `npm test`, which runs everything on the machine's Node):
#   1. the unit tests, vitest itself running on Node 24;
#   2. the smoke e2e test (test/e2e/node-smoke.test.ts): `s3batch serve` and the CLI run by Node 24
#      (S3BATCH_TEST_NODE) on Ceph RGW: one job created, watched to Complete, its report downloaded.
# Node 24 comes from the npm registry (scripts/node24.sh). The build (dist/) is the one npm test made.
#   usage: bash scripts/test-node24.sh       env: as for npm test (CI, S3BATCH_TEST_CEPH)
set -euo pipefail
cd "$(dirname "$0")/.."
node24="$(bash scripts/node24.sh)"
echo "test-node24: Node $("$node24" --version) at $node24"
node scripts/build.mjs --if-stale
mkdir -p tmp
unit=tmp/vitest-node24-unit.json
smoke=tmp/vitest-node24-smoke.json
rm -f "$unit" "$smoke"
rc=0
"$node24" node_modules/vitest/vitest.mjs run --project unit --reporter=default --reporter=json \
  --outputFile.json="$unit" || rc=$?
S3BATCH_TEST_NODE="$node24" npx vitest run test/e2e/node-smoke.test.ts --reporter=default --reporter=json \
  --outputFile.json="$smoke" || rc=$?
# the closing line CI reads: both runs together
node scripts/vitest-summary.mjs node24 "$unit" "$smoke" || true
exit $rc
