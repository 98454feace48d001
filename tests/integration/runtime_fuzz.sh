#!/usr/bin/env bash
# Hostile network input against every node port of a running 3-node emulated cluster, in plain
# text and with [tls] on (docs/runtime.md "Hostile input"): random bytes, truncated BASP frames,
# headers announcing huge payloads, valid-looking BASP handshakes, TLS ClientHellos, half-open
# connections (tests/integration/lib/node_fuzz.py), while `alpaserve bench` drives load.
# Checks: every node process alive, `inspect` lists every node, no node's RSS rises by more than
# [caf] max_message_bytes (= max_pending_message_bytes here) + 4 MiB, every hostile huge header refused, and the cluster keeps serving (no
# failed_* replies; attainment within 5 points of a run without fuzz).
#
# usage: runtime_fuzz.sh path/to/alpaserve [fuzz seconds per mode (default 12)] [modes]
# modes: "plain tls" (default). tools/fuzz_nodes.sh runs it for longer.
set -u
BIN=$(readlink -f "${1:?usage: runtime_fuzz.sh path/to/alpaserve [seconds] [modes]}")
SECS=${2:-12}
BASE_SECS=$((SECS < 30 ? SECS : 30))  # the run without fuzz, for comparison
MODES=${3:-plain tls}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/alpaserve-fuzz.XXXXXX)
UP=""
cleanup() {
  [ -n "$UP" ] && kill -9 "$UP" 2>/dev/null
  for p in $(pgrep -f -- "--config $WORK/"); do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -30 "$WORK/up.log" 2>/dev/null; exit 1; }
command -v python3 >/dev/null || { echo "SKIP: python3 needed"; exit 77; }
MAX_MSG=$((24 << 20))  # [caf] max_message_bytes (= max_pending_message_bytes) of the test cluster
# Payloads being read at once (held half-sent by the fuzzer) may add up to the pending budget,
# here max_message_bytes; 4 MiB more is left for the node's own churn under bench.
RSS_LIMIT=$((MAX_MSG + (4 << 20)))

read -r P0 P1 P2 < <(python3 -c '
import socket
ss=[socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1",0))
print(*[s.getsockname()[1] for s in ss])')

write_config() {  # tls: true/false
  cat >"$WORK/cluster.toml" <<TOML
name = "fuzz-it"
[[nodes]]
name = "c"
host = "127.0.0.1"
port = $P0
roles = ["controller", "worker"]
devices = [{ kind = "emulated-v100", count = 1, memory_gib = 13 }]
[[nodes]]
name = "w1"
host = "127.0.0.1"
port = $P1
devices = [{ kind = "emulated-v100", count = 1, memory_gib = 13 }]
[[nodes]]
name = "w2"
host = "127.0.0.1"
port = $P2
devices = [{ kind = "emulated-v100", count = 1, memory_gib = 13 }]
[[models]]
name = "m"
type = "test-2GB-100ms"
slo_ms = 1000
rate = 12
[planner]
replan_interval_s = 0
[caf]
max_message_bytes = $MAX_MSG
max_pending_message_bytes = $MAX_MSG
[dispatcher]
max_payload_bytes = $((8 << 20))
[metrics]
enabled = false
[tls]
enabled = $1
TOML
}

bench() {  # seconds, output file
  timeout $(($1 + 60)) "$BIN" bench --config "$WORK/cluster.toml" --duration "$1" --seed 7 >"$2" 2>&1
}
attainment() { grep -o 'SLO attainment[^0-9]*[0-9.]*' "$1" | grep -o '[0-9.]*$' | head -1; }
failed_count() { grep -o 'failed_[a-z_]*[^0-9]*[0-9]*' "$1" | grep -o '[0-9]*$' | awk '{s+=$1} END {print s+0}'; }

run_mode() {  # plain | tls
  local mode=$1 tls=false
  [ "$mode" = tls ] && tls=true
  write_config "$tls"
  if [ "$tls" = true ]; then "$BIN" tls init --config "$WORK/cluster.toml" >/dev/null || fail "tls init"; fi
  "$BIN" up --config "$WORK/cluster.toml" >"$WORK/up.log" 2>&1 &
  UP=$!
  for _ in $(seq 1 200); do grep -q "cluster serving" "$WORK/up.log" && break; sleep 0.2; done
  grep -q "cluster serving" "$WORK/up.log" || fail "$mode: up never reported serving"
  local pids=() args=()
  for n in c w1 w2; do
    pid=$(pgrep -f -- "--config $WORK/cluster.toml --name $n$") || fail "$mode: no process for node $n"
    pids+=("$pid"); args+=(--pid "$pid")
  done
  bench "$BASE_SECS" "$WORK/base.txt" || fail "$mode: bench without fuzz: $(tail -5 "$WORK/base.txt")"
  local base; base=$(attainment "$WORK/base.txt")
  [ -n "$base" ] || fail "$mode: bench printed no attainment: $(cat "$WORK/base.txt")"

  local fz=(--port "$P0" --port "$P1" --port "$P2" "${args[@]}" --duration "$SECS"
    --max-message-bytes "$MAX_MSG" --max-rss-jump "$RSS_LIMIT" --seed 11)
  [ "$tls" = true ] && fz+=(--tls --tls-cert "$WORK/tls/client.pem" --tls-key "$WORK/tls/client.key")
  python3 "$HERE/lib/node_fuzz.py" "${fz[@]}" >"$WORK/fuzz.txt" 2>&1 &
  local fpid=$!
  bench "$SECS" "$WORK/load.txt"; local brc=$?
  wait "$fpid"; local frc=$?
  echo "== $mode"
  cat "$WORK/fuzz.txt"
  [ $frc = 0 ] || fail "$mode: fuzz found a problem (rc $frc)"
  [ $brc = 0 ] || fail "$mode: bench under fuzz failed: $(tail -5 "$WORK/load.txt")"
  local under; under=$(attainment "$WORK/load.txt")
  local failed; failed=$(failed_count "$WORK/load.txt")
  echo "  bench: attainment $base without fuzz, $under under fuzz; failed_* replies: $failed"
  [ "$failed" = 0 ] || fail "$mode: $failed requests failed under fuzz: $(cat "$WORK/load.txt")"
  python3 -c "import sys; sys.exit(0 if float('$under') >= float('$base') - 5 else 1)" ||
    fail "$mode: attainment fell from $base to $under under fuzz"
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || fail "$mode: node process $pid died"; done
  out=$(timeout 30 "$BIN" inspect --config "$WORK/cluster.toml" 2>&1) || fail "$mode: inspect: $out"
  for n in c w1 w2; do
    grep -q "^== $n (" <<<"$out" || fail "$mode: inspect does not show node $n: $out"
  done
  grep -q "nodes_alive=3" <<<"$out" || fail "$mode: the controller does not count 3 live nodes: $out"
  grep -qiE "node .* (lost|exited)" "$WORK/up.log" && fail "$mode: a node was lost"
  echo "  refusals logged by the nodes: $(grep -c 'BASP: ' "$WORK/up.log")" \
    "(first: $(grep -m1 -o 'BASP: .*' "$WORK/up.log" | cut -c1-140))"
  kill -INT "$UP"
  for _ in $(seq 1 100); do kill -0 "$UP" 2>/dev/null || break; sleep 0.1; done
  wait "$UP" 2>/dev/null
  UP=""
  rm -rf "$WORK/tls"
}

for mode in $MODES; do run_mode "$mode"; done
echo PASS
