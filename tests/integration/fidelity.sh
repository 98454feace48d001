#!/usr/bin/env bash
# Fidelity: the event simulator predicts what the runtime does. One 3-node local emulated cluster
# (8 emulated V100s, 3 + 3 + 2, so one pipeline spans two nodes), 8 models on a fixed placement,
# one Gamma workload written as a trace CSV; `alpaserve bench` replays it against the cluster,
# `alpaserve simulate --mode event` predicts it from the same placement and trace. The SLO
# attainments must agree within FIDELITY_POINTS (default 2) percentage points.
#
# Environment: FIDELITY_DURATION (s, default 60), FIDELITY_RATE (total requests/s, default 50: ~91% attainment),
# FIDELITY_CV (default 3), FIDELITY_SEED (default 7), FIDELITY_BATCH (max_batch_size of both the
# runtime and the simulator, default 16 = the runtime's default; 1 = batching off),
# FIDELITY_KEEP=dir keeps the files.
set -u
BIN=$(readlink -f "${1:?usage: fidelity.sh path/to/alpaserve}")
DURATION=${FIDELITY_DURATION:-60}
RATE=${FIDELITY_RATE:-50}
POINTS=${FIDELITY_POINTS:-2}
CV=${FIDELITY_CV:-3}
SEED=${FIDELITY_SEED:-7}
BATCH=${FIDELITY_BATCH:-16}
WORK=$(mktemp -d /tmp/alpaserve-fidelity.XXXXXX)
UP=""
cleanup() {
  [ -n "$UP" ] && kill -INT "$UP" 2>/dev/null && wait "$UP" 2>/dev/null
  for p in $(pgrep -f -- "--config $WORK/cluster.toml --name"); do kill -9 "$p" 2>/dev/null; done
  if [ -n "${FIDELITY_KEEP:-}" ]; then mkdir -p "$FIDELITY_KEEP" && cp -r "$WORK"/. "$FIDELITY_KEEP"/; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -20 "$WORK/up.log" 2>/dev/null; exit 1; }

read -r P0 P1 P2 < <(python3 -c '
import socket
ss=[socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1",0))
print(*[s.getsockname()[1] for s in ss])')
node() {  # name port roles count
  printf '[[nodes]]\nname = "%s"\nhost = "127.0.0.1"\nport = %s\nroles = %s\ndevices = [{ kind = "emulated-v100", count = %s, memory_gib = 13 }]\n' "$@"
}
{
  echo 'name = "fidelity"'
  node n0 "$P0" '["controller", "worker"]' 3
  node n1 "$P1" '["worker"]' 3
  node n2 "$P2" '["worker"]' 2
  for i in 0 1 2 3; do printf '[[models]]\nname = "m%s"\ntype = "bert-1.3b"\nslo_scale = 4\nrate = 4\n' $i; done
  for i in 4 5 6 7; do printf '[[models]]\nname = "m%s"\ntype = "bert-2.6b"\nslo_scale = 4\nrate = 4\n' $i; done
  printf '[planner]\ndevice_preset = "v100"\nplacement_file = "placement.json"\nmax_batch_size = %s\n' "$BATCH"
  printf '[caf]\nscheduler_policy = "sharing"\nmax_threads = 1\n'
} >"$WORK/cluster.toml"
# Four pipelines of two stages: devices 0-1 (n0), 2-3 (n0 -> n1: spans two nodes), 4-5 (n1),
# 6-7 (n2).
cat >"$WORK/placement.json" <<'JSON'
{
  "cluster": {"num_devices": 8, "mem_budget_gib": 13},
  "models": [
    {"name": "m0", "profile": "bert-1.3b", "slo_scale": 4},
    {"name": "m1", "profile": "bert-1.3b", "slo_scale": 4},
    {"name": "m2", "profile": "bert-1.3b", "slo_scale": 4},
    {"name": "m3", "profile": "bert-1.3b", "slo_scale": 4},
    {"name": "m4", "profile": "bert-2.6b", "slo_scale": 4},
    {"name": "m5", "profile": "bert-2.6b", "slo_scale": 4},
    {"name": "m6", "profile": "bert-2.6b", "slo_scale": 4},
    {"name": "m7", "profile": "bert-2.6b", "slo_scale": 4}
  ],
  "groups": [
    {"op": 1, "pp": 2, "models": ["m0", "m1", "m2", "m4", "m5"]},
    {"op": 1, "pp": 2, "models": ["m2", "m3", "m0", "m6", "m7"]},
    {"op": 1, "pp": 2, "models": ["m4", "m5", "m6", "m1", "m3"]},
    {"op": 1, "pp": 2, "models": ["m6", "m7", "m4", "m0", "m1"]}
  ]
}
JSON
"$BIN" workload gamma --models m0,m1,m2,m3,m4,m5,m6,m7 --total-rate "$RATE" --cv "$CV" \
  --rate-distribution power-law --duration "$DURATION" --seed "$SEED" --output "$WORK/w.csv" \
  >"$WORK/workload.log" 2>&1 || fail "workload: $(cat "$WORK/workload.log")"

"$BIN" up --config "$WORK/cluster.toml" >"$WORK/up.log" 2>&1 &
UP=$!
for _ in $(seq 1 300); do grep -q "cluster serving" "$WORK/up.log" && break; sleep 0.2; done
grep -q "cluster serving" "$WORK/up.log" || fail "cluster never served"

"$BIN" bench --config "$WORK/cluster.toml" --workload "$WORK/w.csv" --csv "$WORK/bench.csv" \
  >"$WORK/bench.log" 2>"$WORK/bench.err" || fail "bench: $(cat "$WORK/bench.err")"
"$BIN" simulate --mode event --placement "$WORK/placement.json" --workload "$WORK/w.csv" \
  --profiles zoo:v100 --queue-cap 1024 --max-batch-size "$BATCH" >"$WORK/simulate.log" 2>&1 ||
  fail "simulate: $(cat "$WORK/simulate.log")"
kill -INT "$UP"; wait "$UP"; UP=""

runtime=$(sed -n 's/.*SLO attainment: \([0-9.]*\)%.*/\1/p' "$WORK/bench.log")
predicted=$(sed -n 's/^SLO attainment: *\([0-9.]*\) %.*/\1/p' "$WORK/simulate.log" | head -1)
[ -n "$runtime" ] || fail "no attainment in bench output: $(cat "$WORK/bench.log")"
[ -n "$predicted" ] || fail "no attainment in simulate output: $(cat "$WORK/simulate.log")"
requests=$(wc -l <"$WORK/w.csv")
answered=$(($(wc -l <"$WORK/bench.csv") - 1))
[ "$answered" = "$((requests - 1))" ] || fail "bench answered $answered of $((requests - 1)) requests"
echo "requests $((requests - 1))  runtime attainment ${runtime}%  event simulator ${predicted}%"
sed -n '/^requests:/,/^latency/p' "$WORK/bench.log"
python3 - "$runtime" "$predicted" "$POINTS" <<'PY' || fail "attainment gap above ${POINTS} points"
import sys
r, p, pts = map(float, sys.argv[1:])
print(f"gap {abs(r - p):.2f} points (limit {pts})")
sys.exit(0 if abs(r - p) <= pts else 1)
PY
echo PASS
