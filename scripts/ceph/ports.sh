# Port checks of start-ceph.sh (sourced; also sourced alone by test/integration/ceph-ports.test.ts).
# The caller defines log MSG and die MSG, and sets PY (a python3), AUTO_PORTS (0|1) and, optionally,
# PORT_WAIT_S (how long to wait for non-listening sockets to let a port go; default 65).
#
# A port is busy only when something LISTENS on it (another server). A port that no one listens on may
# still be held by non-listening sockets: a client connection whose local (ephemeral, 32768-60999)
# port it is, or such a connection's TIME-WAIT after it closed (60 s). The daemons' bind
# (SO_REUSEADDR) fails while one of those lives, so check_port waits for them to go (or, with
# AUTO_PORTS=1, moves at once) instead of calling the port busy.

# The listening TCP sockets on port $1 (any local address); empty when there is none.
port_listeners() { ss -Hltn "sport = :$1"; }

# The states of the other TCP sockets on local port $1, e.g. "TIME-WAIT" or "ESTAB TIME-WAIT".
port_socket_states() {
  local states
  states=$(ss -Htan "sport = :$1" | awk '{print $1}' | sort -u | paste -sd' ' -)
  echo "${states:-(none seen)}"
}

# True when 127.0.0.1:$1 can be bound and listened on now, as ceph and beast do it (SO_REUSEADDR).
port_bindable() {
  "$PY" - "$1" <<'PY'
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

# "<pid>/<comm>,..." of the processes listening on TCP port $1 (those this user may see), or "unknown".
port_holders() {
  "$PY" - "$1" <<'PY'
import os, sys
port = int(sys.argv[1])
inodes = set()
for f in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        for line in open(f).read().splitlines()[1:]:
            p = line.split()
            if int(p[1].rsplit(":", 1)[1], 16) == port and p[3] == "0A":  # LISTEN
                inodes.add(p[9])
    except OSError:
        pass
holders = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        for fd in os.listdir("/proc/%s/fd" % pid):
            l = os.readlink("/proc/%s/fd/%s" % (pid, fd))
            if l.startswith("socket:[") and l[8:-1] in inodes:
                holders.append("%s/%s" % (pid, open("/proc/%s/comm" % pid).read().strip())); break
    except OSError:
        pass
print(",".join(holders) or "unknown")
PY
}

# Prints "free", "busy <holders>" (someone listens) or "held <socket states>" (no listener; sockets
# such as a client's TIME-WAIT still hold the local address).
port_state() {
  local port=$1
  if [ -n "$(port_listeners "$port")" ]; then
    echo "busy $(port_holders "$port")"
  elif port_bindable "$port"; then
    echo free
  else
    echo "held $(port_socket_states "$port")"
  fi
}

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# check_port VAR: the port in $VAR is free, or waited for, or (AUTO_PORTS=1) replaced by a free one;
# else die.
check_port() {
  local var=$1 port st i
  port=${!var}
  for i in 1 2 3; do # a daemon killed a moment ago may take a little while to let go
    st=$(port_state "$port")
    [ "${st%% *}" = busy ] || break
    sleep 0.2
  done
  case "$st" in
    free) return 0 ;;
    busy*)
      if [ "$AUTO_PORTS" = 1 ]; then
        printf -v "$var" '%s' "$(free_port)"
        log "$var $port is busy (a listener: ${st#busy }): using ${!var}"
        return 0
      fi
      die "$var $port is busy (a listener: ${st#busy }): stop that process, or set $var / AUTO_PORTS=1"
      ;;
  esac
  # held: no listener, only sockets that go away by themselves (a TIME-WAIT within 60 s)
  if [ "$AUTO_PORTS" = 1 ]; then
    printf -v "$var" '%s' "$(free_port)"
    log "$var $port is not bindable yet (no listener; sockets ${st#held }): using ${!var}"
    return 0
  fi
  local wait_s=${PORT_WAIT_S:-65} t0=$SECONDS busy_msg="stop that process, or set $var / AUTO_PORTS=1"
  log "$var $port: no listener, but sockets ${st#held } still hold it: waiting up to ${wait_s} s for them to go"
  while [ $((SECONDS - t0)) -lt "$wait_s" ]; do
    sleep 1
    st=$(port_state "$port")
    [ "$st" = free ] && return 0
    [ "${st%% *}" = busy ] && die "$var $port is busy (a listener: ${st#busy }): $busy_msg"
  done
  die "$var $port is still held after ${wait_s} s (no listener; sockets ${st#held }): set $var / AUTO_PORTS=1"
}
