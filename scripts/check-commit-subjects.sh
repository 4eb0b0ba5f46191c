#!/bin/bash
# Commit subjects stay <= 72 characters, the detail in the body (README, Contributing). Checked for every
# commit after the one that introduced the rule (history before it is left as it was written).
#   usage: bash scripts/check-commit-subjects.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RULE_SINCE=e01ed06 # "Lint with Biome in npm test; fix what it found"
if ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "check-commit-subjects: not a git checkout, nothing to check"
  exit 0
fi
if ! git cat-file -e "$RULE_SINCE^{commit}" 2>/dev/null; then
  echo "check-commit-subjects: $RULE_SINCE is not in this clone (shallow?), nothing to check"
  exit 0
fi
# counted in characters (not bytes), so an arrow or an accent counts once
long=$(git log --format='%h %s' "$RULE_SINCE..HEAD" | node -e '
  const lines = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean);
  for (const l of lines) if ([...l.slice(l.indexOf(" ") + 1)].length > 72) console.log(l);
')
if [ -n "$long" ]; then
  echo "ERROR: commit subjects longer than 72 characters (keep the subject short, the detail in the body):" >&2
  echo "$long" >&2
  exit 1
fi
echo "check-commit-subjects: every subject since $RULE_SINCE is <= 72 characters"
