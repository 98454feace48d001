#!/usr/bin/env bash
# Live re-sharding of real weights (docs/runtime.md "Re-sharding real models"): a 3-node local
# cpu cluster (3 node processes, one cpu device each) serves four bert-tiny model folders a-d
# (docs/models.md; each with its own weights), started from a placement file ({a}, {b}, {c}; d not placed) with
# `replan_with_placement_file = true`. node-2 runs in its own mount namespace without the models
# folder, so every shard it loads comes over CAF from another node. Then the traffic drifts (a
# goes cold, d hot): the controller re-plans and moves the models between groups, twice over:
#   phase "room":  devices of 0.025 GiB hold one model each, so the new groups cannot load beside
#                  the old ones: the group in the way (a's) is drained and unloaded first, b and c
#                  keep running untouched;
#   phase "beside": devices of 1 GiB: the new generation loads beside the old one (make before
#                  break).
# Checks per phase: the drift is seen, the switch is made the expected way and its time printed,
# every reply before, during and after equals a NumPy implementation of the model
# (lib/model_numpy_ref.py; `bench --expect`, max|served - numpy| <= 2e-5 * max(1, max|numpy|)),
# every request gets exactly one reply, none accepted is lost (no failed_* reply), requests
# turned away while a model had no group say so (rejected_not_placed "being re-sharded"),
# and d is served after the switch.
set -u
ROOT=$(pwd)
REF="$ROOT/tests/integration/lib/model_numpy_ref.py"
source "$ROOT/tests/integration/lib/up_cluster.sh"
fail() {
  echo "FAIL: $*"
  for f in node0.log node1.log node2.log bench.log; do
    [ -f "$PHASE_DIR/$f" ] && { echo "--- $f"; grep -v "loading group" "$PHASE_DIR/$f" | tail -25; }
  done
  exit 1
}
PHASE_DIR=$WORK
source "$(dirname "$0")/lib/numpy_python.sh"
HIDE=1
mkdir -p "$WORK/probe"
if ! unshare -m sh -c "mount -t tmpfs none '$WORK/probe'" 2>/dev/null; then
  echo "note: unshare -m / mount not permitted: node-2 reads the models folder itself"
  HIDE=0
fi
export OPENBLAS_NUM_THREADS=1
TOL=2e-5
cd "$WORK"
seed=1
for m in a b c d; do
  "$BIN" model export --architecture bert-tiny --seed $seed --out "models/$m" >/dev/null || fail "export $m"
  "$PY" "$REF" logits "models/$m" 1,16 >"want-$m.json" || fail "numpy reference of $m"
  seed=$((seed + 1))
done
# Their profiles: the measured bert-tiny profile of examples/profiles/cpu-bert.json under each name.
"$PY" - "$ROOT/examples/profiles/cpu-bert.json" profiles.json <<'PY' || fail "profiles"
import json, sys
src = json.load(open(sys.argv[1]))
tiny = next(m for m in src["models"] if m["name"] == "bert-tiny")
src["models"] = [dict(tiny, name=n) for n in "abcd"]
json.dump(src, open(sys.argv[2], "w"))
PY
# The flipped traffic: a cold, b-d at 3 r/s each, 30 s.
"$BIN" workload gamma --models a,b,c,d --total-rate 9.05 --rate-distribution 0.05,3,3,3 --cv 1 \
  --duration 30 --seed 11 -o flipped.csv >/dev/null 2>&1 || fail "workload generation"

port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# run_phase NAME MEMORY_GIB EXPECTED_MODE_REGEX MIN_KEPT_GROUPS
run_phase() {
  local name=$1 mem=$2 mode=$3 min_kept=$4
  PHASE_DIR="$WORK/$name"
  mkdir -p "$PHASE_DIR"
  local cfg="$WORK/cluster.toml"
  local p0 p1 p2
  p0=$(port) p1=$(port) p2=$(port)
  {
    echo "name = \"it-reshard-$name\""
    local n=0
    for p in $p0 $p1 $p2; do
      local roles='["worker"]'
      [ $n = 0 ] && roles='["controller", "worker"]'
      printf '[[nodes]]\nname = "node-%s"\nhost = "127.0.0.1"\nport = %s\nroles = %s\n' $n "$p" "$roles"
      printf 'devices = [{ kind = "cpu", count = 1, memory_gib = %s }]\n' "$mem"
      n=$((n + 1))
    done
    for m in a b c d; do
      rate=3
      [ $m = d ] && rate=0.05
      printf '[[models]]\nname = "%s"\nprofile_file = "profiles.json"\n' $m
      printf 'folder = "models/%s"\nslo_ms = 1000\nrate = %s\ncv = 1.0\n' $m $rate
    done
    printf '[planner]\npolicy = "sr-greedy"\nplacement_file = "placement.json"\n'
    printf 'replan_with_placement_file = true\nreplan_interval_s = 3\nmax_batch_size = 4\n'
    printf '[caf]\nscheduler_policy = "sharing"\nmax_threads = 2\nheartbeat_interval_ms = 1000\n'
  } >"$cfg"
  cat >placement.json <<EOF
{
  "cluster": {"num_devices": 3, "mem_budget_gib": $mem},
  "models": [{"name": "a", "slo": 1, "rate": 3}, {"name": "b", "slo": 1, "rate": 3},
             {"name": "c", "slo": 1, "rate": 3}, {"name": "d", "slo": 1, "rate": 0.05}],
  "groups": [
    {"op": 1, "pp": 1, "models": ["a"]},
    {"op": 1, "pp": 1, "models": ["b"]},
    {"op": 1, "pp": 1, "models": ["c"]}
  ]
}
EOF
  "$BIN" config check "$cfg" >"$PHASE_DIR/check.log" 2>&1 || fail "config check: $(cat "$PHASE_DIR/check.log")"
  rm -f "$WORK"/cluster.deployment.json
  "$BIN" node --config "$cfg" --name node-0 --startup-timeout 60 >"$PHASE_DIR/node0.log" 2>&1 &
  "$BIN" node --config "$cfg" --name node-1 --startup-timeout 60 >"$PHASE_DIR/node1.log" 2>&1 &
  if [ $HIDE = 1 ]; then
    unshare -m sh -c "mount -t tmpfs none '$WORK/models' && test ! -e '$WORK/models/a' && \
      exec '$BIN' node --config '$cfg' --name node-2 --startup-timeout 60" >"$PHASE_DIR/node2.log" 2>&1 &
  else
    "$BIN" node --config "$cfg" --name node-2 --startup-timeout 60 >"$PHASE_DIR/node2.log" 2>&1 &
  fi
  local up=""
  for _ in $(seq 1 300); do
    grep -q "cluster serving\|dispatcher serving" "$PHASE_DIR/node0.log" && { up=1; break; }
    sleep 0.2
  done
  [ -n "$up" ] || fail "$name: the cluster never served"
  timeout 20 "$BIN" submit --config "$cfg" --model a --shape 1,16 >/dev/null 2>&1 || fail "$name: a not served at start"
  if [ $HIDE = 1 ]; then
    grep -q "fetched over CAF" "$PHASE_DIR/node2.log" ||
      fail "$name: node-2 cannot read the weights yet did not fetch them over CAF"
  fi

  timeout 150 "$BIN" bench --config "$cfg" --workload flipped.csv --shape 1,16 \
    --csv "$PHASE_DIR/bench.csv" --expect a=want-a.json --expect b=want-b.json \
    --expect c=want-c.json --expect d=want-d.json --expect-tol $TOL >"$PHASE_DIR/bench.log" 2>&1
  local rc=$?
  sleep 1
  [ $rc = 0 ] || fail "$name: bench exited $rc: $(grep -E 'outputs checked|error' "$PHASE_DIR/bench.log")"
  grep -q "traffic drifted" "$PHASE_DIR/node0.log" || fail "$name: the controller never saw the drift"
  local switch
  switch=$(grep -o "switch [0-9]* took .*" "$PHASE_DIR/node0.log" | head -1)
  [ -n "$switch" ] || fail "$name: no re-shard"
  grep -Eq "$mode" <<<"$switch" || fail "$name: the switch was not made as expected ($mode): $switch"
  local kept
  kept=$(grep -c "(kept running)" "$PHASE_DIR/node0.log")
  [ "$kept" -ge "$min_kept" ] || fail "$name: $kept groups kept running through the switch, expected >= $min_kept"
  grep -q "0 differ" "$PHASE_DIR/bench.log" || fail "$name: $(grep 'outputs checked' "$PHASE_DIR/bench.log")"

  local total expected lost turned_away late_all late_ok
  total=$(($(wc -l <"$PHASE_DIR/bench.csv") - 1))
  expected=$(($(wc -l <flipped.csv) - 1))
  [ "$total" = "$expected" ] || fail "$name: $total replies for $expected requests"
  lost=$(awk -F, 'NR>1 && $4 ~ /^failed/' "$PHASE_DIR/bench.csv" | wc -l)
  [ "$lost" = 0 ] || fail "$name: $lost accepted requests failed: $(awk -F, 'NR>1 && $4 ~ /^failed/' "$PHASE_DIR/bench.csv" | head -3)"
  turned_away=$(awk -F, 'NR>1 && $4 == "rejected_not_placed" && $14 ~ /being re-sharded/' "$PHASE_DIR/bench.csv" | wc -l)
  late_all=$(awk -F, 'NR>1 && $3 > 20 && $2 == "d"' "$PHASE_DIR/bench.csv" | wc -l)
  late_ok=$(awk -F, 'NR>1 && $3 > 20 && $2 == "d" && $4 == "ok"' "$PHASE_DIR/bench.csv" | wc -l)
  [ "$late_all" -gt 10 ] && [ $((late_ok * 10)) -ge $((late_all * 9)) ] ||
    fail "$name: after the switch only $late_ok of $late_all requests for d were served"
  echo "$name (devices of $mem GiB): $switch"
  echo "  groups kept running through the switch: $kept"
  grep -o "node-0: group [0-9]* (.*" "$PHASE_DIR/node0.log" | sed 's/^/    /'
  echo "  $(grep 'outputs checked' "$PHASE_DIR/bench.log")"
  echo "  replies $total of $expected; statuses: $(awk -F, 'NR>1 {print $4}' "$PHASE_DIR/bench.csv" | sort | uniq -c | tr '\n' ' ')"
  echo "  rejected while their model was being re-sharded: $turned_away; d served after 20 s: $late_ok of $late_all"
  if [ $HIDE = 1 ]; then
    echo "  node-2 fetched weights over CAF $(grep -c 'fetched over CAF' "$PHASE_DIR/node2.log") times"
  fi
  for p in $(jobs -pr); do kill -INT "$p" 2>/dev/null; done
  for _ in $(seq 1 50); do [ -z "$(jobs -pr)" ] && break; sleep 0.1; done
  for p in $(jobs -pr); do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
}

# b and c keep their groups through the "room" switch: only a's group makes room for d.
run_phase room 0.025 "drained and unloaded group [0-9]* first" 2
run_phase beside 1 "make before break" 0
echo PASS
