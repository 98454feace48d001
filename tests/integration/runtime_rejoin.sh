#!/usr/bin/env bash
# Nodes rejoin; recovery is not optional (issue 13, "Rejoin"). Under load (a bench replay), on
# two clusters, each a controller node (dispatcher and group managers, no devices) and two
# worker nodes of 2 emulated devices:
#   policy: placed by mp-search-sep, drift re-planning on (every 60 s: it never fires here);
#   file:   started from a placement file (one 2-stage group per worker), replan_interval_s = 0:
#           recovery re-places with the configured policy (the default, `ours`).
# On each:
#   a) worker node-2 is killed (kill -9) and started again 2 s later;
#   b) worker node-1 is frozen (SIGSTOP) for 10 s, past the heartbeat bound (5 x 500 ms), then
#      resumed (SIGCONT): it drops its old stage workers, looks the controller up again and
#      registers again; it must not exit.
# Checked: after each comeback the controller re-places onto the node (a group on it) within
# 10 s, and requests are served by a group on it; every request of the replay has exactly one
# reply (one CSV row per id, ids 0..n-1); the only failures are failed_node_lost, from groups on
# the lost node; no failed_timeout.
set -u
BIN=${1:?usage: runtime_rejoin.sh path/to/alpaserve}
BIN=$(readlink -f "$BIN")
WORK=$(mktemp -d /tmp/alpaserve-rejoin.XXXXXX)
PIDS=()
cleanup() {
  exec 2>/dev/null  # no "Killed" job notices
  for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$WORK"/*.log; do echo "--- $f"; grep -v "loading group" "$f" | tail -25; done
  exit 1
}
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }

# start_cluster <tag>: a fresh cluster; waits until it serves. Node pids in PIDS[0..2].
start_cluster() {
  local tag=$1
  read -r P0 P1 P2 < <(python3 -c '
import socket
ss=[socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1",0))
print(*[s.getsockname()[1] for s in ss])')
  CFG="$WORK/$tag.toml"
  {
    printf 'name = "rejoin-%s"\n' "$tag"
    printf '[[nodes]]\nname = "node-0"\nhost = "127.0.0.1"\nport = %s\nroles = ["controller"]\n' "$P0"
    for n in 1 2; do
      port=$([ $n = 1 ] && echo "$P1" || echo "$P2")
      printf '[[nodes]]\nname = "node-%s"\nhost = "127.0.0.1"\nport = %s\nroles = ["worker"]\n' $n "$port"
      printf 'devices = [{ kind = "emulated-v100", count = 2, memory_gib = 13 }]\n'
    done
    printf '[[models]]\nname = "m0"\ntype = "test-2GB-100ms"\nslo_ms = 2000\nrate = 6\n'
    printf '[[models]]\nname = "m1"\ntype = "test-4GB-150ms"\nslo_ms = 2000\nrate = 4\n'
    if [ "$tag" = policy ]; then
      printf '[planner]\npolicy = "mp-search-sep"\nreplan_interval_s = 60\n'
    else
      printf '[planner]\nplacement_file = "%s"\nreplan_interval_s = 0\n' "$WORK/placement.json"
    fi
    printf '[caf]\nheartbeat_interval_ms = 500\n[runtime]\nrequest_timeout_s = 30\n'
  } >"$CFG"
  cat >"$WORK/placement.json" <<'JSON'
{
  "cluster": {"num_devices": 4, "mem_budget_gib": 13},
  "models": [
    {"name": "m0", "profile": "test-2GB-100ms", "slo": 2},
    {"name": "m1", "profile": "test-4GB-150ms", "slo": 2}
  ],
  "groups": [
    {"op": 1, "pp": 2, "models": ["m0", "m1"]},
    {"op": 1, "pp": 2, "models": ["m0", "m1"]}
  ]
}
JSON
  PIDS=()
  for n in 0 1 2; do start_node "$tag" $n; done
  for _ in $(seq 1 150); do
    timeout 10 "$BIN" submit --config "$CFG" --model m0 --timeout 5 >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  fail "$tag: the cluster did not serve"
}
# start_node <tag> <n>: (re)starts node-n; its log is appended to.
start_node() {
  "$BIN" node --config "$CFG" --name node-$2 --startup-timeout 30 >>"$WORK/$1-node$2.log" 2>&1 &
  PIDS[$2]=$!
}

# wait_placed <tag> <node> <from line>: waits (at most 20 s) until the controller log, after line
# <from line>, shows a re-shard that includes a group on <node>. Prints the new groups on it.
wait_placed() {
  local log="$WORK/$1-node0.log" node=$2 from=$3
  for _ in $(seq 1 200); do
    if sed -n "$from,\$p" "$log" | grep -q "re-sharded onto" &&
      sed -n "$from,\$p" "$log" | grep -q "node-0: group [0-9]* (.*) on .*$node:"; then
      sed -n "$from,\$p" "$log" | grep "node-0: group [0-9]* (.*) on .*$node:" |
        sed 's/.*node-0: group \([0-9]*\) .*/\1/'
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# scenario <tag>: both faults under one replay on a fresh cluster.
scenario() {
  local tag=$1 log
  start_cluster "$tag"
  log="$WORK/$tag-node0.log"
  local first_groups
  first_groups=$(grep "node-0: group [0-9]* (" "$log")
  echo "$tag: serving: $(sed 's/.*node-0: //' <<<"$first_groups" | tr '\n' ';')"
  timeout 150 "$BIN" bench --config "$CFG" --duration 32 --total-rate 10 --seed 7 --timeout 60 \
    --csv "$WORK/$tag.csv" >"$WORK/$tag-bench.log" 2>&1 &
  local bench=$! line t_back took groups2 groups1
  sleep 3
  # a) kill -9 node-2, start it again 2 s later.
  local lost2_groups
  lost2_groups=$(grep "node-0: group [0-9]* (.*) on .*node-2:" "$log" | sed 's/.*node-0: group \([0-9]*\) .*/\1/' | tr '\n' ' ')
  kill -9 "${PIDS[2]}"
  wait "${PIDS[2]}" 2>/dev/null
  sleep 2
  line=$(($(wc -l <"$log") + 1))
  start_node "$tag" 2
  t_back=$(now)
  groups2=$(wait_placed "$tag" node-2 "$line") || fail "$tag: node-2 restarted but not placed onto"
  took=$(elapsed "$t_back" "$(now)")
  sed -n "$line,\$p" "$log" | grep -q "node node-2 registered again" || fail "$tag: node-2 did not register again"
  echo "$tag a) node-2 killed and restarted: placed again after ${took}s in groups $(echo $groups2)"
  python3 -c "import sys; sys.exit(0 if $took < 10 else 1)" || fail "$tag: node-2 back after ${took}s"
  sleep 3
  # b) freeze node-1 for 10 s, then resume it.
  local lost1_groups
  lost1_groups=$(sed -n "$line,\$p" "$log" | grep "node-0: group [0-9]* (.*) on .*node-1:" | sed 's/.*node-0: group \([0-9]*\) .*/\1/' | tr '\n' ' ')
  kill -STOP "${PIDS[1]}"
  sleep 10
  line=$(($(wc -l <"$log") + 1))
  kill -CONT "${PIDS[1]}"
  t_back=$(now)
  groups1=$(wait_placed "$tag" node-1 "$line") || fail "$tag: node-1 resumed but not placed onto"
  took=$(elapsed "$t_back" "$(now)")
  kill -0 "${PIDS[1]}" 2>/dev/null || fail "$tag: node-1 exited after SIGCONT"
  grep -q "looking it up again" "$WORK/$tag-node1.log" || fail "$tag: node-1 did not look the controller up again"
  echo "$tag b) node-1 frozen 10 s and resumed: placed again after ${took}s in groups $(echo $groups1)"
  python3 -c "import sys; sys.exit(0 if $took < 10 else 1)" || fail "$tag: node-1 back after ${took}s"
  sed -n "1,$line p" "$log" | grep -q "node node-1 lost" || fail "$tag: the freeze was not detected"
  wait $bench || fail "$tag: bench failed: $(tail -5 "$WORK/$tag-bench.log")"

  # Replies: one row per id 0..n-1; only ok, rejections, and failed_node_lost from groups on a
  # node when it was lost.
  local csv="$WORK/$tag.csv" rows ids ok lost other
  rows=$(($(wc -l <"$csv") - 1))
  ids=$(awk -F, 'NR>1 {print $1}' "$csv" | sort -n | uniq | wc -l)
  [ "$rows" -gt 200 ] || fail "$tag: too few requests ($rows)"
  [ "$ids" = "$rows" ] || fail "$tag: $rows rows but $ids distinct request ids"
  [ "$(awk -F, 'NR>1 {print $1}' "$csv" | sort -n | tail -1)" = $((rows - 1)) ] || fail "$tag: ids are not 0..$((rows - 1))"
  ok=$(awk -F, 'NR>1 && $4 == "ok"' "$csv" | wc -l)
  lost=$(awk -F, 'NR>1 && $4 == "failed_node_lost"' "$csv" | wc -l)
  other=$(awk -F, 'NR>1 && $4 ~ /^failed/ && $4 != "failed_node_lost"' "$csv" | wc -l)
  local rejected
  rejected=$(awk -F, 'NR>1 && $4 ~ /^rejected/ {print $4}' "$csv" | sort | uniq -c | tr '\n' ' ')
  echo "$tag: $rows requests: ok=$ok failed_node_lost=$lost other failures=$other rejected: ${rejected:-none}"
  [ "$other" = 0 ] || fail "$tag: failures other than failed_node_lost: $(awk -F, 'NR>1 && $4 ~ /^failed/ && $4 != "failed_node_lost"' "$csv" | head -3)"
  local bad
  bad=$(awk -F, -v ok=" $lost2_groups $lost1_groups " 'NR>1 && $4 == "failed_node_lost" && index(ok, " " $8 " ") == 0' "$csv" | head -3)
  [ -z "$bad" ] || fail "$tag: failed_node_lost from a group not on a lost node (lost: $lost2_groups/$lost1_groups): $bad"
  # Requests served by the groups placed on the nodes that came back.
  for g in $groups2 $groups1; do
    local n
    n=$(awk -F, -v g="$g" 'NR>1 && $4 == "ok" && $8 == g' "$csv" | wc -l)
    echo "$tag: group $g (on a node that came back) served $n requests"
    [ "$n" -gt 0 ] || fail "$tag: group $g placed on a returning node served nothing"
  done
  [ $((ok * 10)) -ge $((rows * 7)) ] || fail "$tag: only $ok of $rows served"
  grep -h "\[error\]" "$WORK/$tag"-node*.log && fail "$tag: error lines in the node logs"
  out=$(timeout 20 "$BIN" inspect --config "$CFG") || fail "$tag: inspect: $out"
  grep -q "nodes_alive=2" <<<"$out" || fail "$tag: inspect does not show both workers alive: $out"
  for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  PIDS=()
}

scenario policy
scenario file
echo PASS
