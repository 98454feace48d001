#!/usr/bin/env bash
# Live re-planning: a 2-node emulated cluster (4 devices, 6 GiB each) placed by mp-search-sep for
# traffic where a0-a3 are hot and a4-a7 cold. Memory holds only four of the eight models, so the
# cold ones are left out. Then the traffic flips (a4-a7 hot): the controller sees the drift in
# the dispatcher's arrivals, re-plans, starts the new groups next to the old ones, switches the
# routing table, and retires the old groups once drained. Checks: the drift is named, the new
# groups serve a4-a7, requests for them succeed after the switch, every request gets exactly one
# reply, no accepted request is dropped (no failed_* replies), the old groups are gone.
source "$(dirname "$0")/lib/up_cluster.sh"
fail() { echo "FAIL: $*"; grep -v "loading group" "$WORK/up.log" 2>/dev/null | tail -40; exit 1; }

read -r P0 P1 < <(python3 -c '
import socket
ss=[socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1",0))
print(*[s.getsockname()[1] for s in ss])')
{
  echo 'name = "it-replan"'
  for n in 0 1; do
    port=$([ $n = 0 ] && echo "$P0" || echo "$P1")
    roles=$([ $n = 0 ] && echo '["controller", "worker"]' || echo '["worker"]')
    printf '[[nodes]]\nname = "node-%s"\nhost = "127.0.0.1"\nport = %s\nroles = %s\n' $n "$port" "$roles"
    printf 'devices = [{ kind = "emulated-v100", count = 2, memory_gib = 6 }]\n'
  done
  for i in 0 1 2 3 4 5 6 7; do
    rate=$([ $i -lt 4 ] && echo 3.0 || echo 0.1)
    printf '[[models]]\nname = "a%s"\ntype = "bert-2.6b"\nslo_scale = 4\nrate = %s\ncv = 1.0\n' $i $rate
  done
  printf '[planner]\npolicy = "mp-search-sep"\nreplan_interval_s = 4\ndevice_preset = "v100"\n'
  printf '[caf]\nscheduler_policy = "sharing"\nmax_threads = 2\nheartbeat_interval_ms = 1000\n'
} >"$WORK/cluster.toml"
CFG="$WORK/cluster.toml"

# The flipped traffic: a4-a7 at 3 r/s, a0-a3 at 0.1 r/s, 24 s.
"$BIN" workload gamma --models a0,a1,a2,a3,a4,a5,a6,a7 --total-rate 12.4 \
  --rate-distribution 0.1,0.1,0.1,0.1,3,3,3,3 --cv 1 --duration 24 --seed 5 \
  -o "$WORK/flipped.csv" >/dev/null 2>&1 || fail "workload generation failed"

"$BIN" up --config "$CFG" >"$WORK/up.log" 2>&1 &
UP=$!
for _ in $(seq 1 300); do grep -q "cluster serving" "$WORK/up.log" && break; sleep 0.2; done
grep -q "cluster serving" "$WORK/up.log" || fail "the cluster never reported serving"
first=$(grep "node-0: group [0-9]* (" "$WORK/up.log")
grep -q "a4\|a5\|a6\|a7" <<<"$first" && fail "the cold models should not be placed at start: $first"

timeout 120 "$BIN" bench --config "$CFG" --workload "$WORK/flipped.csv" --csv "$WORK/bench.csv" \
  --png "$WORK/bench.png" --timeout 30 >"$WORK/bench.log" 2>&1 || fail "bench failed: $(tail -5 "$WORK/bench.log")"
sleep 1
grep -q "traffic drifted" "$WORK/up.log" || fail "the controller never saw the drift"
grep -q "traffic drifted.*a4 rate 0.10 -> " "$WORK/up.log" || fail "the drift does not name a4"
grep -q "re-sharded onto" "$WORK/up.log" || fail "the controller did not re-shard"
new=$(grep "node-0: group [0-9]* (" "$WORK/up.log" | sed -n "$(($(wc -l <<<"$first") + 1)),\$p")
for m in a4 a5 a6 a7; do grep -q "$m" <<<"$new" || fail "the new placement lacks $m: $new"; done
grep -q "stopped [0-9]* stage workers of retired group" "$WORK/up.log" || fail "old groups not retired"

total=$(($(wc -l <"$WORK/bench.csv") - 1))
expected=$(($(wc -l <"$WORK/flipped.csv") - 1))
[ "$total" = "$expected" ] || fail "$total replies for $expected requests"
failed=$(awk -F, 'NR>1 && $4 ~ /^failed/' "$WORK/bench.csv" | wc -l)
[ "$failed" = 0 ] || fail "$failed requests failed: $(awk -F, 'NR>1 && $4 ~ /^failed/' "$WORK/bench.csv" | head -3)"
# a4-a7 in the last third of the replay are served (before the switch they were not placed).
late_ok=$(awk -F, 'NR>1 && $3 > 16 && $2 ~ /^a[4-7]$/ && $4 == "ok"' "$WORK/bench.csv" | wc -l)
late_all=$(awk -F, 'NR>1 && $3 > 16 && $2 ~ /^a[4-7]$/' "$WORK/bench.csv" | wc -l)
early_ok=$(awk -F, 'NR>1 && $3 < 3 && $2 ~ /^a[4-7]$/ && $4 == "ok"' "$WORK/bench.csv" | wc -l)
echo "replies $total; a4-a7 ok before 3 s: $early_ok; after 16 s: $late_ok of $late_all"
[ "$early_ok" = 0 ] || fail "a4-a7 were served before any re-plan"
[ "$late_all" -gt 20 ] && [ $((late_ok * 10)) -ge $((late_all * 9)) ] ||
  fail "after the re-plan only $late_ok of $late_all a4-a7 requests were served"

out=$(timeout 30 "$BIN" inspect --config "$CFG") || fail "inspect: $out"
grep -q "replans=1" <<<"$out" || fail "inspect does not count the re-plan: $out"
grep -q "retiring" <<<"$out" && fail "a retired group is still listed: $out"
# The controller node's metrics (default port: port + 1000): one re-plan, placement generation 2,
# and every bench request counted exactly once across the re-shard.
metric() { curl -s --max-time 5 "http://127.0.0.1:$((P0 + 1000))/metrics" | awk -v n="$1" '$1 == n {print $2}'; }
sum_requests() {
  curl -s --max-time 5 "http://127.0.0.1:$((P0 + 1000))/metrics" |
    awk '/^alpaserve_requests_total\{/ {s += $2} END {print s + 0}'
}
[ "$(metric alpaserve_replans_total)" = 1 ] || fail "metrics: replans_total '$(metric alpaserve_replans_total)'"
[ "$(metric alpaserve_placement_generation)" = 2 ] ||
  fail "metrics: placement_generation '$(metric alpaserve_placement_generation)'"
[ "$(sum_requests)" = "$total" ] || fail "metrics count $(sum_requests) requests, bench $total"

# Node loss: node-1 dies; the controller re-places every model on node-0's two devices.
before=$(grep -c "node-0: group [0-9]* (" "$WORK/up.log")
pkill -9 -f -- "--config $CFG --name node-1"
for _ in $(seq 1 100); do grep -q "re-sharded onto" <(sed -n "/lost node-1/,\$p" "$WORK/up.log") && break; sleep 0.2; done
grep -q "lost node-1; re-placing every model on the 2 devices left" "$WORK/up.log" ||
  fail "the controller did not re-place after losing node-1"
sed -n "/lost node-1/,\$p" "$WORK/up.log" | grep -q "re-sharded onto" || fail "no re-shard after the loss"
after=$(grep "node-0: group [0-9]* (" "$WORK/up.log" | sed -n "$((before + 1)),\$p")
[ -n "$after" ] || fail "no groups placed after the loss"
grep -q "node-1:" <<<"$after" && fail "groups placed on the lost node: $after"
served=0
for m in a4 a5 a6 a7; do
  grep -q "$m" <<<"$after" || continue
  out=$(timeout 20 "$BIN" submit --config "$CFG" --model $m) || fail "after the loss, $m: $out"
  served=$((served + 1))
done
[ "$served" -ge 1 ] || fail "no hot model placed on the surviving node: $after"
out=$(timeout 30 "$BIN" inspect --config "$CFG"); rc=$?
echo "$out" >"$WORK/inspect-after-loss.txt"
grep -q "replans=2" <<<"$out" || fail "inspect (rc $rc) does not count the second re-plan: $out"
[ "$(metric alpaserve_replans_total)" = 2 ] && [ "$(metric alpaserve_placement_generation)" = 3 ] ||
  fail "metrics after the loss: replans $(metric alpaserve_replans_total), generation $(metric alpaserve_placement_generation)"
echo "after losing node-1: $(wc -l <<<"$after") groups on node-0, $served hot models served"
echo PASS
