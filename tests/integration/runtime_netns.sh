#!/usr/bin/env bash
# Real networking (issue 13, "Partition"): every node in its own Linux network namespace, as
# separate machines would be: a "switch" namespace holds a bridge, each node namespace is joined
# to it by a veth pair and has its own address (10.77.0.10 controller, .11 and .12 workers, .100
# the client), and every process binds and connects through those (the config names the
# addresses; a routable host binds 0.0.0.0, the per-node metrics port too).
# Under load (bench from the client namespace), node-2's link is taken down at the switch
# (`ip link set <veth> down`: a partition; its process keeps running):
#   - its in-flight requests fail explicitly (failed_node_lost) within the heartbeat bound
#     (5 x caf.heartbeat_interval_ms = 2.5 s), the controller re-places on node-1, and requests
#     keep being served during the partition;
#   - after `ip link set up` node-2, without a restart, looks the controller up again, registers
#     again and is placed onto again (a group on it serves).
# Every request has exactly one reply (one CSV row per id), no failed_timeout, no failure other
# than failed_node_lost. Needs root and `ip netns`: exits 77 (skipped) otherwise.
set -u
BIN=${1:?usage: runtime_netns.sh path/to/alpaserve}
BIN=$(readlink -f "$BIN")
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
  echo "SKIP: needs root and iproute2 (ip netns)"
  exit 77
fi
# Names unique per run (interface names: at most 15 characters).
TAG="a$(( $$ % 10000 ))$(( RANDOM % 100 ))"
SW="$TAG-sw"
NSS=()
WORK=$(mktemp -d /tmp/alpaserve-netns.XXXXXX)
PIDS=()
cleanup() {
  exec 2>/dev/null  # no "Killed" job notices
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  for ns in "${NSS[@]}"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null; done
  wait 2>/dev/null
  for ns in "${NSS[@]}"; do ip netns del "$ns" 2>/dev/null; done  # removes their veths too
  if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$WORK"/*.log; do echo "--- $f"; grep -v "loading group" "$f" | tail -20; done
  exit 1
}
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }

if ! ip netns add "$SW" 2>/dev/null; then
  echo "SKIP: cannot create network namespaces here"
  exit 77
fi
NSS+=("$SW")
ip -n "$SW" link add br0 type bridge || { echo "SKIP: no bridge support"; exit 77; }
ip -n "$SW" link set br0 up
ip -n "$SW" link set lo up
# join <name> <address>: namespace $TAG-<name> with veth $TAG-<name> (inside: eth0) bridged at
# the switch as $TAG-<name>s.
join() {
  local ns="$TAG-$1"
  ip netns add "$ns" || fail "ip netns add $ns"
  NSS+=("$ns")
  ip link add "$TAG-$1s" type veth peer name "$TAG-$1n" || fail "veth for $1"
  ip link set "$TAG-$1s" netns "$SW"
  ip link set "$TAG-$1n" netns "$ns"
  ip -n "$ns" link set "$TAG-$1n" name eth0
  ip -n "$ns" addr add "$2/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ip -n "$SW" link set "$TAG-$1s" master br0
  ip -n "$SW" link set "$TAG-$1s" up
}
join n0 10.77.0.10
join n1 10.77.0.11
join n2 10.77.0.12
join c 10.77.0.100

CFG="$WORK/cluster.toml"
cat >"$CFG" <<TOML
name = "netns"
[[nodes]]
name = "node-0"
host = "10.77.0.10"
port = 7000
roles = ["controller"]
[[nodes]]
name = "node-1"
host = "10.77.0.11"
port = 7000
roles = ["worker"]
devices = [{ kind = "emulated-v100", count = 2, memory_gib = 13 }]
[[nodes]]
name = "node-2"
host = "10.77.0.12"
port = 7000
roles = ["worker"]
devices = [{ kind = "emulated-v100", count = 2, memory_gib = 13 }]
[[models]]
name = "m0"
type = "test-2GB-100ms"
slo_ms = 2000
rate = 6
[[models]]
name = "m1"
type = "test-4GB-150ms"
slo_ms = 2000
rate = 4
[planner]
policy = "mp-search-sep"
replan_interval_s = 0
[caf]
heartbeat_interval_ms = 500
[runtime]
request_timeout_s = 30
TOML
for n in 0 1 2; do
  ip netns exec "$TAG-n$n" "$BIN" node --config "$CFG" --name node-$n --startup-timeout 30 \
    >"$WORK/node$n.log" 2>&1 &
  PIDS+=($!)
done
client() { ip netns exec "$TAG-c" "$@"; }
ready=0
for _ in $(seq 1 150); do
  if client timeout 10 "$BIN" submit --config "$CFG" --model m0 --timeout 5 >/dev/null 2>&1; then
    ready=1
    break
  fi
  sleep 0.2
done
[ $ready = 1 ] || fail "the cluster did not serve"
grep -q "listening on 10.77.0.12:7000" "$WORK/node2.log" || fail "node-2 not listening on its address"
# The metrics port (node port + 1000) answers on the node's own address, from the client.
client curl -s --max-time 5 "http://10.77.0.11:8000/healthz" >/dev/null || fail "no /healthz on node-1"
LOG="$WORK/node0.log"
echo "serving: $(grep "node-0: group [0-9]* (" "$LOG" | sed 's/.*node-0: //' | tr '\n' ';')"
g2=$(grep "node-0: group [0-9]* (.*) on .*node-2:" "$LOG" | sed 's/.*node-0: group \([0-9]*\) .*/\1/' | tr '\n' ' ')
[ -n "$g2" ] || fail "nothing placed on node-2"

client timeout 120 "$BIN" bench --config "$CFG" --duration 24 --total-rate 10 --seed 11 --timeout 60 \
  --csv "$WORK/bench.csv" >"$WORK/bench.log" 2>&1 &
BENCH=$!
t_bench=$(now)
sleep 4
# Partition: node-2's link down at the switch.
line=$(($(wc -l <"$LOG") + 1))
ip -n "$SW" link set "$TAG-n2s" down
t_down=$(now)
for _ in $(seq 1 100); do sed -n "$line,\$p" "$LOG" | grep -q "node node-2 lost" && break; sleep 0.05; done
t_lost=$(now)
sed -n "$line,\$p" "$LOG" | grep -q "node node-2 lost" || fail "the partition was not detected"
detect=$(elapsed "$t_down" "$t_lost")
echo "partition: node-2 declared lost ${detect}s after its link went down (bound 2.5 s)"
# The bound, plus 0.2 s to see it (the log line is polled every 50 ms, the VM is shared).
python3 -c "import sys; sys.exit(0 if $detect <= 2.7 else 1)" || fail "detection took ${detect}s (bound 2.5 s)"
sleep 6
kill -0 "${PIDS[2]}" 2>/dev/null || fail "node-2 exited during the partition"
# Heal.
line=$(($(wc -l <"$LOG") + 1))
ip -n "$SW" link set "$TAG-n2s" up
t_up=$(now)
back=""
for _ in $(seq 1 200); do
  if sed -n "$line,\$p" "$LOG" | grep -q "re-sharded onto" &&
    sed -n "$line,\$p" "$LOG" | grep -q "node-0: group [0-9]* (.*) on .*node-2:"; then
    back=$(sed -n "$line,\$p" "$LOG" | grep "node-0: group [0-9]* (.*) on .*node-2:" |
      sed 's/.*node-0: group \([0-9]*\) .*/\1/' | tr '\n' ' ')
    break
  fi
  sleep 0.1
done
[ -n "$back" ] || fail "node-2 not placed onto again after the link came back"
took=$(elapsed "$t_up" "$(now)")
echo "healed: node-2 placed onto again ${took}s after its link came up (groups $back), no restart"
sed -n "$line,\$p" "$LOG" | grep -q "node node-2 registered again" || fail "node-2 did not register again"
kill -0 "${PIDS[2]}" 2>/dev/null || fail "node-2 is not the same process"
wait $BENCH || fail "bench failed: $(tail -5 "$WORK/bench.log")"

csv="$WORK/bench.csv"
rows=$(($(wc -l <"$csv") - 1))
ids=$(awk -F, 'NR>1 {print $1}' "$csv" | sort -n | uniq | wc -l)
[ "$rows" -gt 150 ] || fail "too few requests ($rows)"
[ "$ids" = "$rows" ] || fail "$rows rows but $ids distinct request ids"
[ "$(awk -F, 'NR>1 {print $1}' "$csv" | sort -n | tail -1)" = $((rows - 1)) ] || fail "ids are not 0..$((rows - 1))"
ok=$(awk -F, 'NR>1 && $4 == "ok"' "$csv" | wc -l)
lost=$(awk -F, 'NR>1 && $4 == "failed_node_lost"' "$csv" | wc -l)
other=$(awk -F, 'NR>1 && $4 ~ /^failed/ && $4 != "failed_node_lost"' "$csv" | wc -l)
# Arrival offsets of the partition window in the replay's time (bench started ~t_bench).
d0=$(elapsed "$t_bench" "$t_down"); d1=$(elapsed "$t_bench" "$t_up")
during=$(awk -F, -v a="$d0" -v b="$d1" 'NR>1 && $3 > a + 1 && $3 < b - 1 && $4 == "ok"' "$csv" | wc -l)
slow_lost=$(awk -F, 'NR>1 && $4 == "failed_node_lost" && $5 > 4500' "$csv" | wc -l)
echo "$rows requests: ok=$ok failed_node_lost=$lost other failures=$other; ok during the partition: $during"
[ "$other" = 0 ] || fail "failures other than failed_node_lost"
[ "$lost" -gt 0 ] || fail "no in-flight request failed on the partition"
bad=$(awk -F, -v ok=" $g2 " 'NR>1 && $4 == "failed_node_lost" && index(ok, " " $8 " ") == 0' "$csv" | head -3)
[ -z "$bad" ] || fail "failed_node_lost from a group not on node-2: $bad"
[ "$slow_lost" = 0 ] || fail "$slow_lost failed_node_lost replies took over 4.5 s (bound 2.5 s + queueing)"
[ "$during" -gt 20 ] || fail "only $during requests served during the partition"
for g in $back; do
  n=$(awk -F, -v g="$g" 'NR>1 && $4 == "ok" && $8 == g' "$csv" | wc -l)
  echo "group $g (on node-2 after the heal) served $n requests"
  [ "$n" -gt 0 ] || fail "group $g on node-2 served nothing after the heal"
done
out=$(client timeout 20 "$BIN" inspect --config "$CFG") || fail "inspect: $out"
grep -q "nodes_alive=2" <<<"$out" || fail "inspect does not show both workers alive: $out"
grep -h "\[error\]" "$WORK"/node*.log && fail "error lines in the node logs"
echo PASS
