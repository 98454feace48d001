#!/usr/bin/env bash
# A client whose dispatcher's node goes away fails every outstanding request at once, with an
# explicit failed_node_lost reply, instead of waiting out its request timeout (60 s here):
#  1. the dispatcher's node is frozen (SIGSTOP): the client's transport declares it dead after
#     5 heartbeats (500 ms each: 2.5 s) and every outstanding and later request fails;
#  2. the dispatcher's node is killed (SIGKILL): the connection drops and the same happens at once.
# Every request gets exactly one reply (one CSV row per request id, ids 0..n-1 each once).
set -u
BIN=${1:?usage: runtime_client_lost.sh path/to/alpaserve}
BIN=$(readlink -f "$BIN")
WORK=$(mktemp -d /tmp/alpaserve-it.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$WORK"/*.log; do echo "--- $f"; tail -15 "$f"; done; exit 1; }

start_cluster() {
  read -r P0 P1 < <(python3 -c '
import socket
ss=[socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1",0))
print(*[s.getsockname()[1] for s in ss])')
  cat >"$WORK/cluster.toml" <<TOML
name = "client-lost"
[[nodes]]
name = "c"
host = "127.0.0.1"
port = $P0
roles = ["controller"]
[[nodes]]
name = "w"
host = "127.0.0.1"
port = $P1
roles = ["worker"]
devices = [{ kind = "emulated-v100", count = 2, memory_gib = 13 }]
[[models]]
name = "m0"
type = "test-2GB-100ms"
slo_ms = 5000
rate = 10
[planner]
replan_interval_s = 0
[caf]
heartbeat_interval_ms = 500
TOML
  PIDS=()
  for n in c w; do
    "$BIN" node --config "$WORK/cluster.toml" --name $n --startup-timeout 30 >"$WORK/node-$n-$1.log" 2>&1 &
    PIDS+=($!)
  done
  for _ in $(seq 1 100); do
    timeout 10 "$BIN" submit --config "$WORK/cluster.toml" --model m0 --timeout 5 >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  fail "cluster did not become ready"
}

# check <csv> <bench seconds> <what>: one reply per request, failures explicit, prompt.
check() {
  local csv=$1 took=$2 what=$3
  local rows ids lost timeouts ok
  rows=$(($(wc -l <"$csv") - 1))
  ids=$(awk -F, 'NR>1 {print $1}' "$csv" | sort -n | uniq | wc -l)
  lost=$(grep -c ',failed_node_lost,' "$csv")
  timeouts=$(grep -c ',failed_timeout,' "$csv")
  ok=$(grep -c ',ok,' "$csv")
  echo "$what: $rows requests in ${took}s: ok=$ok failed_node_lost=$lost failed_timeout=$timeouts"
  [ "$rows" -gt 30 ] || fail "$what: too few requests ($rows)"
  [ "$ids" = "$rows" ] || fail "$what: $rows rows but $ids distinct request ids"
  [ "$(awk -F, 'NR>1 {print $1}' "$csv" | sort -n | tail -1)" = $((rows - 1)) ] || fail "$what: ids are not 0..$((rows - 1))"
  [ "$ok" -gt 5 ] || fail "$what: nothing served before the loss"
  [ "$lost" -gt 0 ] || fail "$what: no explicit failure"
  [ "$timeouts" = 0 ] || fail "$what: requests waited out the timeout"
  [ $((ok + lost)) = "$rows" ] || fail "$what: replies other than ok / failed_node_lost"
}

# 1. Frozen dispatcher node: a 6 s replay; the node freezes after 2 s. Without the monitor the
# bench would wait 60 s for its outstanding requests.
start_cluster stop
t0=$(date +%s.%N)
timeout 120 "$BIN" bench --config "$WORK/cluster.toml" --duration 6 --total-rate 20 --seed 3 \
  --timeout 60 --csv "$WORK/stop.csv" >"$WORK/bench-stop.log" 2>&1 &
BENCH=$!
sleep 2
kill -STOP "${PIDS[0]}"
wait $BENCH || fail "bench (frozen) failed: $(tail -5 "$WORK/bench-stop.log")"
took=$(python3 -c "import time; print(round(time.time() - $t0, 1))")
check "$WORK/stop.csv" "$took" "frozen dispatcher node"
# 6 s replay + 2.5 s heartbeat bound + start-up and slack; far below the 60 s timeout.
python3 -c "import sys; sys.exit(0 if $took < 20 else 1)" || fail "frozen: bench took ${took}s"
for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
wait 2>/dev/null

# 2. Killed dispatcher node.
start_cluster kill
t0=$(date +%s.%N)
timeout 120 "$BIN" bench --config "$WORK/cluster.toml" --duration 6 --total-rate 20 --seed 4 \
  --timeout 60 --csv "$WORK/kill.csv" >"$WORK/bench-kill.log" 2>&1 &
BENCH=$!
sleep 2
kill -9 "${PIDS[0]}"
wait $BENCH || fail "bench (killed) failed: $(tail -5 "$WORK/bench-kill.log")"
took=$(python3 -c "import time; print(round(time.time() - $t0, 1))")
check "$WORK/kill.csv" "$took" "killed dispatcher node"
python3 -c "import sys; sys.exit(0 if $took < 15 else 1)" || fail "killed: bench took ${took}s"
echo PASS
