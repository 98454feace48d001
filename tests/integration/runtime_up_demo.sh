#!/usr/bin/env bash
# `alpaserve up` with no config starts the built-in demo cluster (3 nodes, 8 models placed by
# the configured policy) and serves it. The demo's fixed port 24710 is held by another listener
# here, so `up` must move that node to a free port and say so.
set -u
BIN=$(readlink -f "${1:?usage: runtime_up_demo.sh path/to/alpaserve}")
WORK=$(mktemp -d /tmp/alpaserve-updemo.XXXXXX)
UP=""
HOLDER=""
cleanup() {
  [ -n "$UP" ] && kill -9 "$UP" 2>/dev/null
  [ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null
  if [ -n "$UP" ]; then
    for p in $(pgrep -f -- "--config /tmp/alpaserve-demo-$UP.toml --name"); do kill -9 "$p" 2>/dev/null; done
  fi
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -30 "$WORK/up.log" 2>/dev/null; exit 1; }

# Hold 24710 (if something else already holds it, it is busy either way).
python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", 24710)); s.listen(1)
except OSError:
    pass
time.sleep(600)' &
HOLDER=$!
sleep 0.5

"$BIN" up >"$WORK/up.log" 2>&1 &
UP=$!
for _ in $(seq 1 600); do grep -q "cluster serving" "$WORK/up.log" && break; kill -0 "$UP" 2>/dev/null || break; sleep 0.2; done
grep -q "cluster serving" "$WORK/up.log" || fail "the demo never served"
grep -q "port 24710 of node-0 is in use; using" "$WORK/up.log" || fail "busy port 24710 not remapped"
grep -q "serving 8 models" "$WORK/up.log" || fail "the demo does not serve its 8 models"
line=$(grep "submit with:" "$WORK/up.log") || fail "no submit hint"
host=$(sed -n 's/.*--host \([^ ]*\).*/\1/p' <<<"$line")
port=$(sed -n 's/.*--port \([0-9]*\).*/\1/p' <<<"$line")
[ -n "$port" ] && [ "$port" != 24710 ] || fail "submit hint does not name the moved port: $line"
out=$(timeout 30 "$BIN" submit --host "$host" --port "$port" --model bert-1.3b-0 -n 3 2>&1) ||
  fail "submit to the demo failed: $out"
kill -INT "$UP"
for _ in $(seq 1 100); do kill -0 "$UP" 2>/dev/null || break; sleep 0.1; done
kill -0 "$UP" 2>/dev/null && fail "up did not stop within 10 s of SIGINT"
wait "$UP"; rc=$?
UP=""
[ $rc = 0 ] || fail "up exited $rc after SIGINT"
echo PASS
