#!/bin/bash
# Stops the throw-away Ceph started by scripts/ceph/start-ceph.sh.
#   usage: scripts/ceph/stop-ceph.sh [--kill] [--wipe]      env: CEPH_DIR (default <repo>/tmp/ceph)
#   default: SIGTERM, wait up to 10 s each, then SIGKILL (radosgw needs ~5-6 s to exit gracefully)
#   --kill:  SIGKILL at once (fine for a throw-away memstore cluster: its data is gone either way)
#   --wipe:  remove the cluster dir afterwards
# Daemons are found by the PIDs start-ceph.sh recorded (rgw, mgr, osd, mon order) and, in case those
# files are gone, by their command line naming this cluster's $CEPH_DIR/ceph.conf: never by name alone,
# so another cluster (another checkout, a real one) is left alone.
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
D=${CEPH_DIR:-$REPO/tmp/ceph}
SIG=TERM; WIPE=0
for a in "$@"; do case $a in --kill) SIG=KILL;; --wipe) WIPE=1;; esac; done

comm_of() { cat "/proc/$1/comm" 2>/dev/null; }
# alive = exists and is not a zombie (the daemons are re-parented to PID 1, which may reap them late)
alive() { local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]; }
is_ceph_daemon() { case $(comm_of "$1") in ceph-mon|ceph-osd|ceph-mgr|radosgw) return 0;; esac; return 1; }

stop_pid() { # stop_pid <name> <pid>
  local n=$1 pid=$2 i
  alive "$pid" || return 0
  kill -"$SIG" "$pid" 2>/dev/null
  for i in $(seq 1 200); do alive "$pid" || break; sleep 0.05; done
  if alive "$pid"; then kill -KILL "$pid" 2>/dev/null; echo "$n ($pid) did not exit on SIG$SIG in 10 s: killed -9"
  else echo "$n ($pid) stopped (SIG$SIG)"; fi
}

for n in rgw.a mgr.x osd.0 mon.a; do
  f="$D/run/$n.fgpid"
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  # guard against a stale pid file whose PID now belongs to something else
  if [ -n "$pid" ] && is_ceph_daemon "$pid"; then stop_pid "$n" "$pid"; fi
  rm -f "$f"
done

# daemons of this cluster whose pid files were lost (e.g. the dir was wiped while they ran)
conf="$D/ceph.conf"
for p in /proc/[0-9]*; do
  pid=${p#/proc/}
  is_ceph_daemon "$pid" || continue
  if tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep -qF -- "-c $conf "; then
    stop_pid "$(comm_of "$pid")" "$pid"
  fi
done

rm -f "$D/owner"
[ $WIPE = 1 ] && rm -rf "$D"
exit 0
