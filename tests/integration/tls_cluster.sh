#!/usr/bin/env bash
# A cluster with [tls] on serves over CAF's OpenSSL transport; clients and nodes without a
# certificate of the cluster's CA get nothing: a plain-text client, a client of another CA, a
# node of another CA and a plain-text node all fail to connect, and the cluster keeps serving.
# Raw TCP peers that stall their handshake (silent, a partial ClientHello, garbage) do not stop
# it either; the CPU the controller burns meanwhile is printed (CAF bug 1060 in 0.17.6).
# Every node listens on its configured port only (no plain-text port).
set -u
BIN=$(readlink -f "${1:?usage: tls_cluster.sh path/to/alpaserve}")
WORK=$(mktemp -d /tmp/alpaserve-tls-cluster.XXXXXX)
UP=""
STRAY=""
cleanup() {
  [ -n "$UP" ] && kill -9 "$UP" 2>/dev/null
  [ -n "$STRAY" ] && kill -9 "$STRAY" 2>/dev/null
  for p in $(pgrep -f -- "--config $WORK/"); do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -30 "$WORK/up.log" 2>/dev/null; exit 1; }
command -v python3 >/dev/null || { echo "SKIP: python3 needed"; exit 77; }

read -r P0 P1 P2 < <(python3 -c '
import socket
ss=[socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1",0))
print(*[s.getsockname()[1] for s in ss])')
cat >"$WORK/cluster.toml" <<TOML
name = "tls-it"
[[nodes]]
name = "c"
host = "127.0.0.1"
port = $P0
roles = ["controller", "worker"]
devices = [{ kind = "emulated-v100", count = 1, memory_gib = 13 }]
[[nodes]]
name = "w"
host = "127.0.0.1"
port = $P1
devices = [{ kind = "emulated-v100", count = 1, memory_gib = 13 }]
[[models]]
name = "m"
type = "test-2GB-100ms"
slo_ms = 1000
rate = 1
[planner]
replan_interval_s = 0
[tls]
enabled = true
TOML
"$BIN" tls init --config "$WORK/cluster.toml" >/dev/null || fail "tls init"
# The same cluster seen by an intruder: material of another CA, or no TLS at all; its node "x"
# listens on a third port.
sed -e 's/^enabled = true/enabled = true\ndir = "other"/' "$WORK/cluster.toml" >"$WORK/other.toml"
printf '[[nodes]]\nname = "x"\nhost = "127.0.0.1"\nport = %s\ndevices = [{ kind = "emulated-v100", count = 1, memory_gib = 13 }]\n' "$P2" >>"$WORK/other.toml"
"$BIN" tls init --config "$WORK/other.toml" >/dev/null || fail "tls init of the other CA"
sed -e 's/^enabled = true/enabled = false/' "$WORK/other.toml" >"$WORK/plain.toml"

"$BIN" up --config "$WORK/cluster.toml" >"$WORK/up.log" 2>&1 &
UP=$!
for _ in $(seq 1 150); do grep -q "cluster serving" "$WORK/up.log" && break; sleep 0.2; done
grep -q "cluster serving" "$WORK/up.log" || fail "up never reported serving"
grep -q "c: listening on 127.0.0.1:$P0 (controller, dispatcher) over TLS" "$WORK/up.log" || fail "controller not over TLS"
grep -q "w: listening on 127.0.0.1:$P1 over TLS" "$WORK/up.log" || fail "worker not over TLS"
grep -q "plain-text transport" "$WORK/up.log" && fail "TLS cluster warns about plain text"

submit_ok() {
  out=$(timeout 30 "$BIN" submit --config "$WORK/cluster.toml" --model m -n 2 2>&1) || fail "$1: submit: $out"
  [ "$(grep -c ': ok in' <<<"$out")" = 2 ] || fail "$1: submit not ok: $out"
}
submit_ok "start"

# Only the configured ports listen: the node's CAF port (TLS) and its metrics HTTP port
# (port + metrics.port_offset 1000, docs/config.md "[metrics]"); no plain-text CAF port.
if command -v ss >/dev/null; then
  for n in c w; do
    pid=$(pgrep -f -- "--config $WORK/cluster.toml --name $n$")
    ports=$(ss -ltnpH 2>/dev/null | grep "pid=$pid," | awk '{print $4}' | sed 's/.*://' | sort -u | tr '\n' ' ')
    p=$([ $n = c ] && echo "$P0" || echo "$P1")
    want=$(printf '%s\n' "$p" "$((p + 1000))" | sort -u | tr '\n' ' ')
    [ "$ports" = "$want" ] || fail "node $n listens on ports '$ports', want '$want'"
  done
fi

# Intruders: clients and nodes.
refused() {  # what, command...
  local what=$1; shift
  out=$(timeout 60 "$@" 2>&1); rc=$?
  [ $rc != 0 ] || fail "$what was served: $out"
  [ $rc != 124 ] || fail "$what hung"
  grep -q "disconnect_during_handshake\|cannot reach\|cannot connect" <<<"$out" || fail "$what: unexpected failure (rc $rc): $out"
  echo "refused: $what (rc $rc)"
}
refused "plain-text client" "$BIN" submit --host 127.0.0.1 --port "$P0" --model m
refused "client of another CA" "$BIN" submit --config "$WORK/other.toml" --model m
refused "plain-text client (config without TLS)" "$BIN" submit --config "$WORK/plain.toml" --model m
refused "inspect with another CA" "$BIN" inspect --config "$WORK/other.toml"
refused "node of another CA" "$BIN" node --config "$WORK/other.toml" --name x --startup-timeout 3
refused "plain-text node" "$BIN" node --config "$WORK/plain.toml" --name x --startup-timeout 3
grep -q "node x registered" "$WORK/up.log" && fail "an intruder node registered"
submit_ok "after the intruders"

# Stalled handshakes on the controller's and the worker's port, held while a client is served.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
CPID=$(pgrep -f -- "--config $WORK/cluster.toml --name c$")
python3 - "$P0" "$P1" <<'PY' &
import socket, sys, time
held = []
for port in map(int, sys.argv[1:]):
    held.append(socket.create_connection(("127.0.0.1", port)))                 # silent
    s = socket.create_connection(("127.0.0.1", port)); s.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    held.append(s)                                                              # partial ClientHello
    s = socket.create_connection(("127.0.0.1", port)); s.send(b"\x7f" * 64)
    held.append(s)                                                              # garbage
time.sleep(6)
PY
STRAY=$!
sleep 1
t0=$(cpu_ticks "$CPID")
sleep 2
t1=$(cpu_ticks "$CPID")
echo "controller CPU with stalled handshakes open: $(( (t1 - t0) * 100 / $(getconf CLK_TCK) / 2 ))% of a core"
submit_ok "with stalled handshakes open"
wait "$STRAY"; STRAY=""
sleep 1
t0=$(cpu_ticks "$CPID"); sleep 2; t1=$(cpu_ticks "$CPID")
echo "controller CPU after they closed: $(( (t1 - t0) * 100 / $(getconf CLK_TCK) / 2 ))% of a core"
submit_ok "after the stalled handshakes"
out=$(timeout 60 "$BIN" bench --config "$WORK/cluster.toml" --duration 3 2>&1) || fail "bench: $out"
grep -q "SLO attainment" <<<"$out" || fail "bench printed no attainment: $out"

grep -E "lost|exited" "$WORK/up.log" && fail "a node was lost"
[ "$(pgrep -f -- "--config $WORK/cluster.toml --name" | wc -l)" = 2 ] || fail "expected 2 node children"
kill -INT "$UP"
for _ in $(seq 1 100); do kill -0 "$UP" 2>/dev/null || break; sleep 0.1; done
wait "$UP"; rc=$?
UP=""
[ $rc = 0 ] || fail "up exited $rc after SIGINT"
echo PASS
