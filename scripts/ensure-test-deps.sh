#!/bin/bash
# Makes sure the machine has what the test suite needs besides node_modules:
#   - Ceph RGW (radosgw, ceph-mon, ceph-osd, ceph-common -> python3-rados) and curl: the real S3 server
#     that test/setup/global-setup.ts starts through scripts/ceph/start-ceph.sh;
#   - awscli (Debian's, at /usr/bin/aws) and chromium: used by CLI-compatibility and browser tests;
#   - redis-server: the Redis of the scale-out mode (`--redis`), started per test file by test/helpers/redis-server.ts.
# Everything missing is installed in ONE apt-get call (after one apt-get update) when we are root.
# Not root and something missing: exit 1 under CI=true, otherwise only warn.
#   usage: bash scripts/ensure-test-deps.sh      env: CI
set -euo pipefail

# S3 Control clients (aws CLI, JS SDK) put the account id in front of the endpoint's host
# (docs/s3control-api.md#account-id): with --endpoint-url http://localhost:PORT they connect to 111122223333.localhost,
# which a stock container does not resolve. Tests use these two accounts; add them when root.
ensure_hosts() {
  local name missing_hosts=()
  for name in 111122223333.localhost 444455556666.localhost; do
    grep -Eq "^[[:space:]]*127\.0\.0\.1[[:space:]]+([^#]*[[:space:]])?${name//./\\.}([[:space:]]|$)" /etc/hosts || missing_hosts+=("$name")
  done
  [ ${#missing_hosts[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ]; then
    echo "127.0.0.1 ${missing_hosts[*]}" >>/etc/hosts
    echo "ensure-test-deps: added to /etc/hosts: 127.0.0.1 ${missing_hosts[*]}" >&2
  else
    echo "WARNING: /etc/hosts lacks '127.0.0.1 ${missing_hosts[*]}' (needed by the S3 Control API tests); add it as root" >&2
  fi
}
ensure_hosts

# each package is recognised by a file it installs (or, for python3-rados, by the system python importing it)
missing=()
need() { # need <package> <check command...>
  local pkg=$1; shift
  "$@" >/dev/null 2>&1 || missing+=("$pkg")
}
need radosgw       test -x /usr/bin/radosgw
need ceph-mon      test -x /usr/bin/ceph-mon
need ceph-osd      test -x /usr/bin/ceph-osd
need ceph-common   test -x /usr/bin/radosgw-admin
need python3-rados /usr/bin/python3 -c 'import rados'   # comes with ceph-common; listed in case it alone is gone
need curl          test -x /usr/bin/curl
# Debian's awscli at /usr/bin/aws (an `aws` from a version manager earlier on PATH does not count)
need awscli        test -x /usr/bin/aws
need chromium      test -x /usr/bin/chromium
need redis-server  test -x /usr/bin/redis-server   # the scale-out mode's Redis (test/helpers/redis-server.ts)

if [ ${#missing[@]} -eq 0 ]; then
  echo "ensure-test-deps: all present (ceph/radosgw, python3-rados, curl, awscli, chromium, redis-server)"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  msg="ensure-test-deps: missing Debian packages: ${missing[*]}
  install them as root with:
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "${CI:-}" = true ]; then
    echo "ERROR: $msg" >&2
    exit 1
  fi
  echo "WARNING: $msg" >&2
  echo "WARNING: integration tests that need Ceph RGW will FAIL until then." >&2
  exit 0
fi

echo "ensure-test-deps: installing ${missing[*]}" >&2
t0=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
apt-get "${apt_opts[@]}" update -qq </dev/null
apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}" </dev/null
echo "ensure-test-deps: installed in $(( $(date +%s) - t0 )) s" >&2

# verify what the tests rely on
for x in /usr/bin/radosgw /usr/bin/ceph-mon /usr/bin/ceph-osd /usr/bin/radosgw-admin /usr/bin/curl /usr/bin/aws /usr/bin/chromium; do
  [ -x "$x" ] || { echo "ERROR: $x still missing after apt-get install" >&2; exit 1; }
done
/usr/bin/python3 -c 'import rados' || { echo "ERROR: /usr/bin/python3 cannot import rados" >&2; exit 1; }
