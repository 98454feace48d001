#!/usr/bin/env bash
# A node on a routable host listens on every interface unless `bind_address` names one; with it
# (per node, or [caf] for all) the node port and the metrics port listen on that address only.
# Exits 77 without a non-loopback IPv4 address or without `ss`.
set -u
BIN=$(readlink -f "${1:?usage: runtime_bind.sh path/to/alpaserve}")
WORK=$(mktemp -d /tmp/alpaserve-bind.XXXXXX)
NODE=""
cleanup() {
  [ -n "$NODE" ] && kill -9 "$NODE" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -20 "$WORK/node.log" 2>/dev/null; exit 1; }
command -v ss >/dev/null || { echo "SKIP: ss needed"; exit 77; }
IP=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' | grep -v '^127\.' | head -1)
[ -n "$IP" ] || { echo "SKIP: no non-loopback IPv4 address"; exit 77; }
read -r PORT < <(python3 -c 'import socket; s=socket.socket(); s.bind(("",0)); print(s.getsockname()[1])')

listening() {  # bind line for the node section ("" = none); prints the local addresses of PORT
  cat >"$WORK/cluster.toml" <<TOML
name = "bind-it"
[[nodes]]
name = "c"
host = "$IP"
port = $PORT
roles = ["controller", "worker"]
devices = [{ kind = "emulated-v100", count = 1, memory_gib = 13 }]
$1
[[models]]
name = "m"
type = "test-2GB-100ms"
slo_ms = 1000
rate = 1
[planner]
replan_interval_s = 0
TOML
  "$BIN" node --config "$WORK/cluster.toml" --name c >"$WORK/node.log" 2>&1 &
  NODE=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$WORK/node.log" && break; sleep 0.1; done
  grep -q "listening on" "$WORK/node.log" || fail "node did not listen ($1)"
  sleep 0.5
  ss -ltnH "sport = :$PORT or sport = :$((PORT + 1000))" | awk '{print $4}' | sort | tr '\n' ' '
  kill -INT "$NODE"; wait "$NODE" 2>/dev/null; NODE=""
}

all=$(listening "")
echo "without bind_address: $all"
grep -qE "(0\.0\.0\.0|\*|\[::\]):$PORT " <<<"$all " || fail "expected every interface, got: $all"
one=$(listening "bind_address = \"$IP\"")
echo "with bind_address = $IP: $one"
[ "$one" = "$IP:$PORT $IP:$((PORT + 1000)) " ] || fail "expected only $IP (node and metrics port), got: $one"
echo PASS
