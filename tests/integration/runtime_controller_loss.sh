#!/usr/bin/env bash
# The cluster survives its controller (issue 13, "Controller loss"). Four node processes: the
# controller (no devices), the dispatcher with the group managers (no devices), and two workers
# of 2 emulated V100s (6 GiB: each device holds one bert-2.6b). Eight models, a0-a3 hot; drift
# re-planning every 4 s.
#   A) Under load, kill -9 of the controller's process. The dispatcher and the groups keep
#      serving the last placement; 12 s later `alpaserve up` on the same config starts the one
#      node that is missing (the controller) and it adopts the running cluster (no worker
#      restarts, no shard loaded again, epoch 2). Then the traffic drifts (a4-a7 hot) and the
#      new controller re-plans and re-shards.
#   B) On a fresh cluster: the controller killed, then a worker killed while there is none; the
#      controller started again adopts the groups left and re-places the lost worker's models.
#   C) Two controller candidates (ctl, ctl2): ctl killed, the controller started on ctl2 from a
#      copy of the config in another folder (as on another machine: no record file there). It
#      adopts from the record copies the nodes bring, as epoch 2.
# Checked for every request of each replay: exactly one reply (one CSV row per id, ids 0..n-1);
# no failure except failed_node_lost from a group on the killed worker (B); attainment while
# the controller was down within 2 points of before (A); `inspect` shows the controller epoch.
set -u
BIN=${1:?usage: runtime_controller_loss.sh path/to/alpaserve}
BIN=$(readlink -f "$BIN")
WORK=$(mktemp -d /tmp/alpaserve-ctl-loss.XXXXXX)
PIDS=()
cleanup() {
  exec 2>/dev/null  # no "Killed" job notices
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  pkill -9 -f "node --config $WORK/" 2>/dev/null  # a node `up` started
  wait 2>/dev/null
  if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$WORK"/*.log; do echo "--- $f"; grep -v "loading group" "$f" | tail -25; done
  exit 1
}
NAMES=(ctl disp w1 w2 ctl2)

# start_cluster <tag>: a fresh cluster; waits until it serves. Pids in PIDS[0..3] (NAMES order).
start_cluster() {
  local tag=$1 ports i
  read -r -a ports < <(python3 -c '
import socket
ss=[socket.socket() for _ in range(5)]
for s in ss: s.bind(("127.0.0.1",0))
print(*[s.getsockname()[1] for s in ss])')
  CFG="$WORK/$tag.toml"
  {
    printf 'name = "ctl-loss-%s"\n' "$tag"
    printf '[[nodes]]\nname = "ctl"\nhost = "127.0.0.1"\nport = %s\nroles = ["controller"]\n' "${ports[0]}"
    printf '[[nodes]]\nname = "disp"\nhost = "127.0.0.1"\nport = %s\nroles = ["dispatcher"]\n' "${ports[1]}"
    [ "$tag" = c ] && printf '[[nodes]]\nname = "ctl2"\nhost = "127.0.0.1"\nport = %s\nroles = ["controller"]\n' "${ports[4]}"
    for i in 2 3; do
      printf '[[nodes]]\nname = "%s"\nhost = "127.0.0.1"\nport = %s\nroles = ["worker"]\n' "${NAMES[$i]}" "${ports[$i]}"
      printf 'devices = [{ kind = "emulated-v100", count = 2, memory_gib = 6 }]\n'
    done
    for i in 0 1 2 3 4 5 6 7; do
      rate=$([ $i -lt 4 ] && echo 1.0 || echo 0.1)
      printf '[[models]]\nname = "a%s"\ntype = "bert-2.6b"\nslo_scale = 5\nrate = %s\ncv = 1.0\n' $i $rate
    done
    printf '[planner]\npolicy = "mp-search-sep"\nreplan_interval_s = 4\ndevice_preset = "v100"\n'
    # B starts from a placement file: one 2-stage group on each worker.
    [ "$tag" = b ] && printf 'placement_file = "%s"\n' "$WORK/placement.json"
    printf '[caf]\nheartbeat_interval_ms = 500\n[runtime]\nrequest_timeout_s = 30\n'
    printf '[metrics]\nenabled = false\n'
  } >"$CFG"
  PIDS=()
  for i in 0 1 2 3; do start_node "$tag" $i; done
  for _ in $(seq 1 150); do
    timeout 10 "$BIN" submit --config "$CFG" --model a0 --timeout 5 >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  fail "$tag: the cluster did not serve"
}
# start_node <tag> <i>: (re)starts node NAMES[i]; its log is appended to.
start_node() {
  "$BIN" node --config "$CFG" --name "${NAMES[$2]}" --startup-timeout 30 \
    >>"$WORK/$1-${NAMES[$2]}.log" 2>&1 &
  PIDS[$2]=$!
}
loads() { cat "$WORK/$1-w1.log" "$WORK/$1-w2.log" | grep -c "loading group"; }

# check_replies <tag> <lost groups>: one reply per request; failures only failed_node_lost from
# the given groups. Sets ROWS.
check_replies() {
  local tag=$1 lost_groups=" $2 " csv="$WORK/$1.csv" ids other bad
  ROWS=$(($(wc -l <"$csv") - 1))
  ids=$(awk -F, 'NR>1 {print $1}' "$csv" | sort -n | uniq | wc -l)
  [ "$ROWS" -gt 100 ] || fail "$tag: too few requests ($ROWS)"
  [ "$ids" = "$ROWS" ] || fail "$tag: $ROWS rows but $ids distinct request ids"
  [ "$(awk -F, 'NR>1 {print $1}' "$csv" | sort -n | tail -1)" = $((ROWS - 1)) ] || fail "$tag: ids are not 0..$((ROWS - 1))"
  other=$(awk -F, 'NR>1 && $4 ~ /^failed/ && $4 != "failed_node_lost"' "$csv" | wc -l)
  [ "$other" = 0 ] || fail "$tag: failures other than failed_node_lost: $(awk -F, 'NR>1 && $4 ~ /^failed/ && $4 != "failed_node_lost"' "$csv" | head -3)"
  # Group -1: the dispatcher's own answer while every group of the model was lost.
  bad=$(awk -F, -v ok="$lost_groups -1 " 'NR>1 && $4 == "failed_node_lost" && index(ok, " " $8 " ") == 0' "$csv" | head -3)
  [ -z "$bad" ] || fail "$tag: failed_node_lost from a group not on a lost node (lost:$lost_groups): $bad"
  echo "$tag: $ROWS requests, one reply each: $(awk -F, 'NR>1 {print $4}' "$csv" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
}
# attainment <csv> <from s> <to s>: ok replies within their SLO / requests sent in [from, to).
attainment() {
  awk -F, -v a="$2" -v b="$3" 'NR==1 {for (i=1;i<=NF;i++) c[$i]=i; next}
    $3 >= a && $3 < b {n++; if ($4 == "ok" && (!("good" in c) || $c["good"] == 1)) g++}
    END {printf "%.4f %d", (n ? g / n : 0), n}' "$1"
}

# ---- A: controller killed under load, restarted, adopts, re-plans the next drift -------------
start_cluster a
# 60 s: a0-a3 at 1 r/s until 36 s, then a4-a7 (the drift the restarted controller must see).
python3 - "$WORK/a-load.csv" <<'PY'
import random, sys
random.seed(11)
rows = []
for lo, hi, hot in ((0, 36, range(0, 4)), (36, 60, range(4, 8))):
    for m in range(8):
        # Before the flip the cold models get no requests: attainment before and during the
        # outage then measures the same placed models.
        rate = 1.0 if m in hot else (0.1 if lo > 0 else 0)
        if rate == 0:
            continue
        t = lo + random.expovariate(rate)
        while t < hi:
            rows.append((t, f"a{m}"))
            t += random.expovariate(rate)
rows.sort()
with open(sys.argv[1], "w") as f:
    f.write("arrival_s,model\n")
    for t, m in rows:
        f.write(f"{t:.6f},{m}\n")
PY
loads_before=$(loads a)
ctl_line=$(wc -l <"$WORK/a-ctl.log")
timeout 150 "$BIN" bench --config "$CFG" --workload "$WORK/a-load.csv" --timeout 60 \
  --csv "$WORK/a.csv" >"$WORK/a-bench.log" 2>&1 &
bench=$!
sleep 14
kill -9 "${PIDS[0]}"
wait "${PIDS[0]}" 2>/dev/null
t_kill=$(date +%s.%N)
echo "a: controller killed (kill -9) at ~14 s of the replay"
sleep 12
"$BIN" up --config "$CFG" >>"$WORK/a-ctl.log" 2>&1 &
UP=$!
t_start=$(date +%s.%N)
for _ in $(seq 1 150); do
  grep -q "adopted the running placement" "$WORK/a-ctl.log" && break
  sleep 0.1
done
grep -q "adopted the running placement" "$WORK/a-ctl.log" || fail "a: the restarted controller did not adopt the cluster"
for n in disp w1 w2; do
  grep -q "^$n already runs on .*; not started again" "$WORK/a-ctl.log" || fail "a: up did not leave $n running as it was"
done
adopt_s=$(python3 -c "print(f'{$(date +%s.%N) - $t_start:.2f}')")
loads_adopted=$(loads a)
echo "a: controller restarted; adopted after ${adopt_s}s: $(grep -o 'adopted the running placement.*' "$WORK/a-ctl.log" | tail -1)"
[ "$loads_adopted" = "$loads_before" ] || fail "a: shards were loaded again on adoption ($loads_before -> $loads_adopted)"
for i in 1 2 3; do kill -0 "${PIDS[$i]}" 2>/dev/null || fail "a: ${NAMES[$i]} exited while the controller was down"; done
grep -q "controller epoch 2" "$WORK/a-ctl.log" || fail "a: the restarted controller is not epoch 2"
out=$(timeout 20 "$BIN" inspect --config "$CFG") || fail "a: inspect: $out"
grep -q "epoch=2" <<<"$out" || fail "a: inspect does not show epoch 2: $out"
wait $bench || fail "a: bench failed: $(tail -5 "$WORK/a-bench.log")"
# The drift after 36 s is re-planned by the new controller.
sed -n "$((ctl_line + 1)),\$p" "$WORK/a-ctl.log" | grep -q "traffic drifted" || fail "a: the restarted controller did not see the drift"
for _ in $(seq 1 100); do
  grep -q "re-sharded onto" "$WORK/a-ctl.log" && break
  sleep 0.2
done
grep -q "re-sharded onto" "$WORK/a-ctl.log" || fail "a: the drift was not re-sharded"
echo "a: drift re-planned by the restarted controller: $(grep -o 'traffic drifted.*' "$WORK/a-ctl.log" | head -1 | cut -c1-100)"
check_replies a ""
read -r att_before n_before < <(attainment "$WORK/a.csv" 2 14)
read -r att_outage n_outage < <(attainment "$WORK/a.csv" 15 26)
echo "a: attainment before the kill (2-14 s): $att_before of $n_before; controller down (15-26 s): $att_outage of $n_outage"
python3 -c "import sys; sys.exit(0 if $att_outage >= $att_before - 0.02 else 1)" ||
  fail "a: attainment fell by more than 2 points while the controller was down"
grep -h "\[error\]" "$WORK"/a-disp.log "$WORK"/a-w*.log && fail "a: error lines in the node logs"
# Ctrl-C on that `up`: the controller stops in order, and with it the cluster.
kill -INT "$UP"
for _ in $(seq 1 150); do kill -0 "$UP" 2>/dev/null || break; sleep 0.1; done
kill -0 "$UP" 2>/dev/null && fail "a: up did not stop on SIGINT"
for i in 1 2 3; do
  for _ in $(seq 1 100); do kill -0 "${PIDS[$i]}" 2>/dev/null || break; sleep 0.1; done
  kill -0 "${PIDS[$i]}" 2>/dev/null && fail "a: ${NAMES[$i]} still runs after the controller stopped in order"
done
grep -q '"serving": false' "$WORK/a.deployment.json" || fail "a: the record is not marked stopped: $(cat "$WORK/a.deployment.json")"
for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
wait 2>/dev/null
PIDS=()

# ---- B: a worker killed while there is no controller ---------------------------------------
cat >"$WORK/placement.json" <<'JSON'
{
  "cluster": {"num_devices": 4, "mem_budget_gib": 6},
  "models": [
    {"name": "a0", "profile": "bert-2.6b", "slo": 0.74},
    {"name": "a1", "profile": "bert-2.6b", "slo": 0.74},
    {"name": "a2", "profile": "bert-2.6b", "slo": 0.74},
    {"name": "a3", "profile": "bert-2.6b", "slo": 0.74}
  ],
  "groups": [
    {"op": 1, "pp": 2, "models": ["a0", "a1"]},
    {"op": 1, "pp": 2, "models": ["a2", "a3"]}
  ]
}
JSON
start_cluster b
"$BIN" workload gamma --models a0,a1,a2,a3,a4,a5,a6,a7 --total-rate 4.4 \
  --rate-distribution 1,1,1,1,0.1,0.1,0.1,0.1 --cv 1 --duration 34 --seed 5 \
  -o "$WORK/b-load.csv" >/dev/null 2>&1 || fail "b: workload generation failed"
w2_groups=$(grep "ctl: group [0-9]* (.*) on .*w2:" "$WORK/b-ctl.log" | sed 's/.*ctl: group \([0-9]*\) .*/\1/' | tr '\n' ' ')
timeout 150 "$BIN" bench --config "$CFG" --workload "$WORK/b-load.csv" --timeout 60 \
  --csv "$WORK/b.csv" >"$WORK/b-bench.log" 2>&1 &
bench=$!
sleep 6
kill -9 "${PIDS[0]}"
wait "${PIDS[0]}" 2>/dev/null
sleep 3
kill -9 "${PIDS[3]}"
wait "${PIDS[3]}" 2>/dev/null
echo "b: controller killed, then worker w2 (groups $w2_groups) killed while there was no controller"
sleep 5
ctl_line=$(wc -l <"$WORK/b-ctl.log")
start_node b 0
for _ in $(seq 1 200); do
  sed -n "$((ctl_line + 1)),\$p" "$WORK/b-ctl.log" | grep -q "re-sharded onto" && break
  sleep 0.1
done
tail_log=$(sed -n "$((ctl_line + 1)),\$p" "$WORK/b-ctl.log")
grep -q "adopted the running placement" <<<"$tail_log" || fail "b: the restarted controller did not adopt"
grep -q "re-sharded onto" <<<"$tail_log" || fail "b: the lost worker's models were not re-placed"
echo "b: $(grep -o 'adopted the running placement.*' <<<"$tail_log"); then $(grep -o 're-sharded onto.*' <<<"$tail_log" | head -1)"
wait $bench || fail "b: bench failed: $(tail -5 "$WORK/b-bench.log")"
check_replies b "$w2_groups"
[ -n "$w2_groups" ] || fail "b: no group on w2"
# After the recovery one worker (2 devices of 6 GiB) holds two of the models: the others are
# rejected as not placed, explicitly; nothing fails any more.
for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
wait 2>/dev/null
PIDS=()
late=$(awk -F, 'NR>1 && $3 > 26' "$WORK/b.csv" | wc -l)
late_ok=$(awk -F, 'NR>1 && $3 > 26 && $4 == "ok"' "$WORK/b.csv" | wc -l)
late_failed=$(awk -F, 'NR>1 && $3 > 26 && $4 ~ /^failed/' "$WORK/b.csv" | wc -l)
echo "b: after the recovery (26-34 s): $late_ok of $late ok, $late_failed failed"
[ "$late_failed" = 0 ] || fail "b: requests still fail after the recovery"
[ $((late_ok * 3)) -ge "$late" ] || fail "b: only $late_ok of $late served after the recovery"

# ---- C: the controller started on another candidate, without the record file -----------------
start_cluster c
loads_before=$(loads c)
timeout 150 "$BIN" bench --config "$CFG" --workload "$WORK/b-load.csv" --timeout 60 \
  --csv "$WORK/c.csv" >"$WORK/c-bench.log" 2>&1 &
bench=$!
sleep 6
kill -9 "${PIDS[0]}"
wait "${PIDS[0]}" 2>/dev/null
sleep 4
mkdir -p "$WORK/other"
cp "$CFG" "$WORK/other/c.toml"
"$BIN" node --config "$WORK/other/c.toml" --name ctl2 >"$WORK/c-ctl2.log" 2>&1 &
PIDS[4]=$!
for _ in $(seq 1 150); do
  grep -q "adopted the running placement" "$WORK/c-ctl2.log" && break
  sleep 0.1
done
grep -q "adopting the placement of node .*'s record copy" "$WORK/c-ctl2.log" || fail "c: ctl2 did not take the nodes' record copy"
grep -q "adopted the running placement (epoch 2)" "$WORK/c-ctl2.log" || fail "c: ctl2 did not adopt the cluster as epoch 2"
echo "c: ctl2 $(grep -o 'adopted the running placement.*' "$WORK/c-ctl2.log")"
[ "$(loads c)" = "$loads_before" ] || fail "c: shards were loaded again on adoption"
grep -q '"epoch": 2' "$WORK/other/c.deployment.json" || fail "c: ctl2 did not write its record"
wait $bench || fail "c: bench failed: $(tail -5 "$WORK/c-bench.log")"
check_replies c ""
echo PASS
