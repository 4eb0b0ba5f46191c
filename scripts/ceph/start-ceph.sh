#!/bin/bash
# Throw-away single-node Ceph cluster (1 mon, 1 memstore OSD, optional mgr, radosgw/beast) bound to 127.0.0.1,
# the real S3 server of the integration tests (started once per run by test/setup/global-setup.ts).
# Everything (conf, mon store, osd dir, logs, pids, sockets) lives under $CEPH_DIR (wiped on every start).
#   usage: scripts/ceph/start-ceph.sh
#   env:   CEPH_DIR (default <repo>/tmp/ceph)  RGW_PORT (17480)  MON_PORT (13300)  PORT_MIN (16800)
#          AUTO_PORTS=1 (a busy RGW/MON port that is not ours -> pick a free one instead of failing)
#          PORT_WAIT_S (65: how long to wait for a port that only non-listening sockets hold, e.g. TIME-WAIT)
#          OWNER_PID (the process the cluster belongs to; a live owner other than this one -> exit 3)
#          WITH_MGR=0|1 OSD_STORE=memstore|bluestore S3_ACCESS_KEY S3_SECRET_KEY STORAGE_CLASSES SKIP_RGW=1
# Needs: ceph-mon ceph-osd radosgw ceph-common (+ceph-mgr for WITH_MGR=1), curl, /usr/bin/python3 with
# python3-rados (scripts/ensure-test-deps.sh installs them).
# Prints "READY <seconds>" and a line "S3_ENDPOINT=... S3_ACCESS_KEY=... S3_SECRET_KEY=... CEPH_CONF=..."
# on stdout; progress goes to stderr; exits non-zero if anything does not come up (and stops what it started).
set -euo pipefail
T0=$(date +%s.%N)
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
D=${CEPH_DIR:-$REPO/tmp/ceph}
RGW_PORT=${RGW_PORT:-17480}
MON_PORT=${MON_PORT:-13300}          # msgr2 only
PORT_MIN=${PORT_MIN:-16800}          # OSD/mgr messenger ports (ceph takes the first free one in the range)
AUTO_PORTS=${AUTO_PORTS:-0}
WITH_MGR=${WITH_MGR:-0}
OSD_STORE=${OSD_STORE:-memstore}
# storage classes accepted besides STANDARD (all stored in the same pool); set to "" to skip (saves ~0.5 s)
STORAGE_CLASSES=${STORAGE_CLASSES-STANDARD_IA ONEZONE_IA INTELLIGENT_TIERING GLACIER GLACIER_IR DEEP_ARCHIVE REDUCED_REDUNDANCY}
AK=${S3_ACCESS_KEY:-TESTACCESSKEY0000001}
SK=${S3_SECRET_KEY:-testsecretkey0000000000000000000000000001}
PY=/usr/bin/python3                  # the system python: only it has python3-rados (not a pyenv/asdf one)
C="$D/ceph.conf"

el() { echo "$(date +%s.%N) $T0" | awk '{printf "%.2f", $1-$2}'; }
log() { echo "[$(el)s] $*" >&2; }
die() {
  echo "FAILED: $*" >&2
  for f in "$D"/log/*.log "$D"/log/*.out "$D"/log/*.err; do [ -s "$f" ] || continue; echo "--- tail $f" >&2; tail -n 15 "$f" >&2 || true; done
  CEPH_DIR="$D" "$HERE/stop-ceph.sh" --kill >/dev/null 2>&1 || true
  exit 1
}

for b in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool curl; do
  command -v "$b" >/dev/null || { echo "FAILED: $b not installed (run: bash scripts/ensure-test-deps.sh)" >&2; exit 2; }
done
[ -x "$PY" ] && "$PY" -c 'import rados' 2>/dev/null \
  || { echo "FAILED: $PY cannot import rados (python3-rados; run: bash scripts/ensure-test-deps.sh)" >&2; exit 2; }

# --- a cluster still running in this dir: refuse if it belongs to another live test run -------------
if [ -f "$D/owner" ] && [ -z "${FORCE:-}" ]; then
  o=$(cat "$D/owner" 2>/dev/null || true)
  if [ -n "$o" ] && [ "$o" != "${OWNER_PID:-}" ] && [ -d "/proc/$o" ] && [ -f "$D/run/rgw.a.fgpid" ] \
     && [ -d "/proc/$(cat "$D/run/rgw.a.fgpid")" ]; then
    echo "FAILED: $D is in use by a running test run (pid $o); set CEPH_DIR to another dir, or FORCE=1" >&2
    exit 3
  fi
fi

# --- stop a previous instance (a run that was killed leaves its daemons behind) and start empty ------
# (also when the dir is gone: stop-ceph.sh then finds the daemons by their command line)
CEPH_DIR="$D" "$HERE/stop-ceph.sh" --kill >&2 || true
rm -rf "$D"
mkdir -p "$D"/{run,log,mon.a,osd.0,mgr.x,rgw,crash}
[ -n "${OWNER_PID:-}" ] && echo "$OWNER_PID" > "$D/owner"

# --- ports: a port another server listens on fails clearly (or, with AUTO_PORTS=1, moves); one that only
# non-listening sockets hold (a client's TIME-WAIT) is waited for (or moves): scripts/ceph/ports.sh
# shellcheck source=ports.sh
. "$HERE/ports.sh"
check_port RGW_PORT
check_port MON_PORT

FSID=$(cat /proc/sys/kernel/random/uuid)
cat > "$C" <<EOF2
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON_PORT]
mon initial members = a
public addr = 127.0.0.1
# without it the OSD listens on every address
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind msgr1 = false
ms bind port min = $PORT_MIN
ms bind port max = $((PORT_MIN + 100))
auth cluster required = none
auth service required = none
auth client required = none
keyring = $D/keyring
run dir = $D/run
admin socket = $D/run/\$name.asok
pid file = $D/run/\$name.pid
log file = $D/log/\$name.log
crash dir = $D/crash
log to stderr = false
err to stderr = false
mon cluster log file = $D/log/cluster.log
mon data = $D/mon.\$id
osd data = $D/osd.\$id
mgr data = $D/mgr.\$id
rgw data = $D/rgw
# single OSD, size-1 pools, few PGs, no autoscaler
mon allow pool size one = true
mon warn on pool no redundancy = false
mon allow pool delete = true
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon max pg per osd = 1000
mon warn on insecure global id reclaim = false
mon warn on insecure global id reclaim allowed = false
# commit map changes (pool create, osd boot) at once instead of batching them for 1 s (else start-up takes ~13 s)
paxos propose interval = 0.01
paxos min wait = 0.01
mon data avail warn = 1
mon data avail crit = 0
osd objectstore = $OSD_STORE
memstore device bytes = 8589934592
# default 64 KiB pages make every small object cost >= 64 KiB of OSD RAM
memstore page size = 4096
memstore page set = false
bluestore block path = $D/osd.0/block.file
bluestore block size = 4294967296
bluestore block create = true
bluestore fsck on mkfs = false
bluestore fsck on mount = false
osd memory target = 536870912
# short PG logs: nothing to recover from on a single OSD, and they cost OSD RAM per write
osd min pg log entries = 100
osd max pg log entries = 100
osd pg log trim min = 10
osd class load list = *
osd class default list = *
osd max object name len = 460
osd max object namespace len = 64
mgr initial modules =
[client.rgw.a]
# radosgw's built-in defaults force ms_mon_client_mode=secure, which cannot work without cephx
ms mon client mode = crc secure
# tcp_nodelay + no copy progress: CopyObject in a few ms instead of ~47 ms
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw dns name = localhost
rgw thread pool size = 128
rgw enable usage log = false
rgw copy obj progress = false
rgw enable ops log = false
rgw gc obj min wait = 10
EOF2

# --- mon ---------------------------------------------------------------------------------------
ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$D/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$D/monmap" >/dev/null
ceph-mon -c "$C" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring" >"$D/log/mon.a.mkfs.out" 2>&1 || die "ceph-mon --mkfs"
# daemons: stdin from /dev/null, output to files, so they hold no pipe of whoever started this script
ceph-mon -c "$C" -i a -f </dev/null > "$D/log/mon.a.out" 2>&1 &
echo $! > "$D/run/mon.a.fgpid"
log "mon started (pid $!)"
CEPH="ceph -c $C --connect-timeout 20"
$CEPH mon stat >/dev/null 2>&1 || { sleep 0.5; $CEPH mon stat >/dev/null || die "mon not answering"; }
log "mon answering"

# --- osd ---------------------------------------------------------------------------------------
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
OSD_ID=$($CEPH osd new "$OSD_UUID") || die "osd new"
[ "$OSD_ID" = 0 ] || die "unexpected osd id $OSD_ID"
ceph-osd -c "$C" -i 0 --mkfs --osd-uuid "$OSD_UUID" </dev/null > "$D/log/osd.0.mkfs.out" 2>&1 || die "ceph-osd --mkfs (see $D/log/osd.0.mkfs.out)"
ceph-osd -c "$C" -i 0 -f </dev/null > "$D/log/osd.0.out" 2>&1 &
echo $! > "$D/run/osd.0.fgpid"
log "osd started (pid $!)"

# --- mgr (optional: RGW does not need it; it only gives 'ceph -s' PG stats) ------------------
if [ "$WITH_MGR" = 1 ]; then
  ceph-mgr -c "$C" -i x -f </dev/null > "$D/log/mgr.x.out" 2>&1 &
  echo $! > "$D/run/mgr.x.fgpid"
  log "mgr started (pid $!)"
fi

for i in $(seq 1 100); do
  $CEPH osd dump -f json 2>/dev/null | grep -q '"up":1' && break
  kill -0 "$(cat "$D/run/osd.0.fgpid")" 2>/dev/null || die "ceph-osd exited"
  sleep 0.3
  [ "$i" = 100 ] && die "osd.0 not up"
done
log "osd.0 up"

# --- rgw: the test user with fixed keys, and extra storage classes on the default placement (so that
#     StorageClass=STANDARD_IA etc. is accepted, not 400 InvalidArgument); done before radosgw starts so it reads them at boot.
RGWA="radosgw-admin -c $C -n client.rgw.a"
# (user create also creates the default realm-less zonegroup/zone and the .rgw.root/meta/log/control pools)
$RGWA user create --uid=test --display-name="Test User" --access-key="$AK" --secret="$SK" >/dev/null 2>"$D/log/rgwadmin.err" || die "user create"
log "user created"
for sc in $STORAGE_CLASSES; do
  $RGWA zonegroup placement add --rgw-zonegroup default --placement-id default-placement --storage-class "$sc" >/dev/null 2>>"$D/log/rgwadmin.err" || die "zonegroup placement add $sc"
  $RGWA zone placement add --rgw-zone default --placement-id default-placement --storage-class "$sc" --data-pool default.rgw.buckets.data >/dev/null 2>>"$D/log/rgwadmin.err" || die "zone placement add $sc"
done
log "storage classes added"
# pre-create the bucket pools radosgw would otherwise create on the first CreateBucket/PutObject
"$PY" - "$C" <<'PY' || die "pool create"
import json, sys, rados
c = rados.Rados(conffile=sys.argv[1], name="client.admin"); c.connect(timeout=20)
for p in ("default.rgw.buckets.index", "default.rgw.buckets.data", "default.rgw.buckets.non-ec"):
    for cmd in ({"prefix": "osd pool create", "pool": p, "pg_num": 8}, {"prefix": "osd pool application enable", "pool": p, "app": "rgw"}):
        r, out, err = c.mon_command(json.dumps(cmd), b"")
        if r: sys.exit("%s: %s" % (cmd, err))
c.shutdown()
PY
log "bucket pools created"
[ "${SKIP_RGW:-0}" = 1 ] && { echo "SKIP_RGW: mon+osd up after $(el)s"; exit 0; }

radosgw -c "$C" -n client.rgw.a -f </dev/null > "$D/log/rgw.a.out" 2>&1 &
echo $! > "$D/run/rgw.a.fgpid"
log "radosgw started (pid $!)"
for i in $(seq 1 300); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RGW_PORT/" || true)
  [ "$code" = 200 ] && break
  kill -0 "$(cat "$D/run/rgw.a.fgpid")" 2>/dev/null || die "radosgw exited"
  sleep 0.1
  [ "$i" = 300 ] && die "radosgw not answering on $RGW_PORT"
done
echo "READY $(el)"
echo "S3_ENDPOINT=http://127.0.0.1:$RGW_PORT S3_ACCESS_KEY=$AK S3_SECRET_KEY=$SK CEPH_CONF=$C"
