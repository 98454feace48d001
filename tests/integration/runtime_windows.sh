#!/usr/bin/env bash
# Time windows (Clockwork++) in the runtime: a placement with windows switches groups at each
# window start through the re-shard path (make before break, the old groups drain), and the
# event simulator predicts each window's attainment. Twice on a 1-node emulated cluster (two
# V100s, 6 GiB each: two bert-1.3b per device):
#   A. from a placement file with three 15 s windows that host different models
#      (m0 m1 | m2 m3 | all four), so each window's attainment differs;
#   B. by policy sr-replace-15 (its windows come from the configured traffic; the controller
#      writes the schedule it runs to cluster.windows.json).
# Each run replays one Gamma trace with `alpaserve bench --windows ... --window-clock-zero T`
# (T: the controller's logged window clock zero) and simulates it with `simulate --mode event
# --window-offset` (the replay's clock against the window clock). Checks: the controller
# switched at each window start (within 2 s of it), every request got exactly one reply and none
# failed, inspect shows the last window, and each window's attainment is within
# WINDOWS_POINTS (default 2) points of the simulator's.
# Environment: WINDOWS_DURATION (s, default 40), WINDOWS_RATE (total r/s, default 8),
# WINDOWS_KEEP=dir keeps the files.
source "$(dirname "$0")/lib/up_cluster.sh"
DURATION=${WINDOWS_DURATION:-40}
RATE=${WINDOWS_RATE:-8}
POINTS=${WINDOWS_POINTS:-2}
keep() { if [ -n "${WINDOWS_KEEP:-}" ]; then mkdir -p "$WINDOWS_KEEP" && cp -r "$WORK"/. "$WINDOWS_KEEP"/; fi; }
fail() { echo "FAIL: $*"; grep -v "loading group" "$WORK/up.log" 2>/dev/null | tail -30; keep; exit 1; }

read -r P0 < <(python3 -c '
import socket
s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
config() {  # planner section lines
  echo 'name = "it-windows"'
  printf '[[nodes]]\nname = "n0"\nhost = "127.0.0.1"\nport = %s\nroles = ["controller", "worker"]\n' "$P0"
  printf 'devices = [{ kind = "emulated-v100", count = 2, memory_gib = 6 }]\n'
  for i in 0 1 2 3; do
    printf '[[models]]\nname = "m%s"\ntype = "bert-1.3b"\nslo_scale = 5\nrate = 2\n' $i
  done
  printf '[planner]\ndevice_preset = "v100"\n%s\n' "$1"
  printf '[caf]\nscheduler_policy = "sharing"\nmax_threads = 2\n'
}
cat >"$WORK/placement.json" <<'JSON'
{
  "cluster": {"num_devices": 2, "mem_budget_gib": 6},
  "models": [
    {"name": "m0", "profile": "bert-1.3b", "slo_scale": 5},
    {"name": "m1", "profile": "bert-1.3b", "slo_scale": 5},
    {"name": "m2", "profile": "bert-1.3b", "slo_scale": 5},
    {"name": "m3", "profile": "bert-1.3b", "slo_scale": 5}
  ],
  "segments": [
    {"start": 0, "groups": [{"op": 1, "pp": 1, "models": ["m0", "m1"]},
                            {"op": 1, "pp": 1, "models": ["m0", "m1"]}]},
    {"start": 15, "groups": [{"op": 1, "pp": 1, "models": ["m2", "m3"]},
                             {"op": 1, "pp": 1, "models": ["m2", "m3"]}]},
    {"start": 30, "groups": [{"op": 1, "pp": 1, "models": ["m0", "m2"]},
                             {"op": 1, "pp": 1, "models": ["m1", "m3"]}]}
  ]
}
JSON
"$BIN" workload gamma --models m0,m1,m2,m3 --total-rate "$RATE" --cv 2 \
  --rate-distribution uniform --duration "$DURATION" --seed 11 -o "$WORK/w.csv" >/dev/null 2>&1 ||
  fail "workload generation failed"
expected=$(($(wc -l <"$WORK/w.csv") - 1))
t0=$(sed -n 2p "$WORK/w.csv" | cut -d, -f1)

# run LABEL PLANNER_LINE SCHEDULE_FILE
run() {
  local label=$1 schedule=$3
  rm -f "$WORK"/cluster.deployment.json "$WORK"/cluster.windows.json
  config "$2" >"$WORK/cluster.toml"
  : >"$WORK/up.log"
  "$BIN" up --config "$WORK/cluster.toml" >"$WORK/up.log" 2>&1 &
  UP=$!
  for _ in $(seq 1 300); do grep -q "cluster serving" "$WORK/up.log" && break; sleep 0.2; done
  grep -q "cluster serving" "$WORK/up.log" || fail "$label: the cluster never reported serving"
  for _ in $(seq 1 50); do grep -q "window clock zero at unix" "$WORK/up.log" && break; sleep 0.1; done
  local zero
  zero=$(sed -n 's/.*window clock zero at unix \([0-9.]*\).*/\1/p' "$WORK/up.log" | head -1)
  [ -n "$zero" ] || fail "$label: no window clock zero logged"
  [ -f "$schedule" ] || fail "$label: no schedule file $schedule"
  local starts
  starts=$(python3 -c 'import json,sys; print(",".join(str(s["start"]) for s in json.load(open(sys.argv[1]))["segments"]))' "$schedule")
  timeout 150 "$BIN" bench --config "$WORK/cluster.toml" --workload "$WORK/w.csv" \
    --csv "$WORK/bench-$label.csv" --windows "$starts" --window-clock-zero "$zero" \
    >"$WORK/bench-$label.log" 2>"$WORK/bench-$label.err" ||
    fail "$label: bench failed: $(tail -5 "$WORK/bench-$label.err")"
  sleep 1
  local out
  out=$(timeout 30 "$BIN" inspect --config "$WORK/cluster.toml") || fail "$label: inspect: $out"
  echo "$out" >"$WORK/inspect-$label.txt"
  kill -INT "$UP"; wait "$UP"; UP=""
  cp "$WORK/up.log" "$WORK/up-$label.log"

  local replay_start
  replay_start=$(sed -n 's/^replay started at unix \([0-9.]*\).*/\1/p' "$WORK/bench-$label.err")
  [ -n "$replay_start" ] || fail "$label: bench printed no replay start"
  local offset
  offset=$(python3 -c "import sys; print(float(sys.argv[1]) - float(sys.argv[2]) - float(sys.argv[3]))" \
    "$replay_start" "$zero" "$t0")
  "$BIN" simulate --mode event --placement "$schedule" --workload "$WORK/w.csv" \
    --profiles zoo:v100 --queue-cap 1024 --max-batch-size 16 --window-offset "$offset" --json \
    >"$WORK/simulate-$label.json" 2>"$WORK/simulate-$label.err" ||
    fail "$label: simulate: $(cat "$WORK/simulate-$label.err")"

  # Exactly one reply per request, none failed.
  local total failed
  total=$(($(wc -l <"$WORK/bench-$label.csv") - 1))
  [ "$total" = "$expected" ] || fail "$label: $total replies for $expected requests"
  failed=$(awk -F, 'NR>1 && $4 ~ /^failed/' "$WORK/bench-$label.csv" | wc -l)
  [ "$failed" = 0 ] || fail "$label: $failed requests failed"
  # A switch at each window start the replay reached (the controller logs the window clock).
  python3 - "$WORK/up-$label.log" "$starts" "$replay_start" "$zero" "$WORK/bench-$label.csv" <<'PY' || fail "$label: window switches"
import re, sys
log, starts, replay_start, zero, csv = sys.argv[1:]
starts = [float(s) for s in starts.split(",")]
shift = float(replay_start) - float(zero)
last = max(float(l.split(",")[2]) for l in open(csv).read().splitlines()[1:])
served = {int(m.group(1)): float(m.group(2)) for m in
          re.finditer(r"window (\d+) of \d+ serving at ([0-9.]+) s", open(log).read())}
reached = [k for k in range(1, len(starts)) if starts[k] < last + shift]
print("window starts", starts, "; the replay reached", reached, "; switched at", served)
ok = len(reached) >= 2
for k in reached:
    if k not in served or not (starts[k] <= served[k] <= starts[k] + 2):
        print(f"window {k} (start {starts[k]}) not switched in time: {served.get(k)}"); ok = False
sys.exit(0 if ok else 1)
PY
  local lastwin
  lastwin=$(sed -n 's/.*\[window \([0-9]*\) of.*/\1/p' "$WORK/inspect-$label.txt" | head -1)
  [ -n "$lastwin" ] && [ "$lastwin" -ge 2 ] || fail "$label: inspect shows window '$lastwin': $(grep -i controller "$WORK/inspect-$label.txt")"
  grep -q "window_clock_s=" "$WORK/inspect-$label.txt" || fail "$label: inspect shows no window clock"
  # Per-window attainment: runtime (bench) against the event simulator.
  python3 - "$label" "$WORK/bench-$label.log" "$WORK/simulate-$label.json" "$POINTS" <<'PY' || fail "$label: per-window attainment gap above $POINTS points"
import json, re, sys
label, bench, sim, pts = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
runtime = {int(m.group(1)): (int(m.group(2)), float(m.group(3))) for m in re.finditer(
    r"window (\d+) from .*?: (\d+) requests, .*attainment ([0-9.]+)%", open(bench).read())}
predicted = {w["window"]: (w["requests"], 100 * w["attainment"]) for w in json.load(open(sim))["windows"]}
ok = len(runtime) > 0
for k in sorted(runtime):
    n, r = runtime[k]
    pn, p = predicted.get(k, (0, 0.0))
    if n == 0 and pn == 0: continue
    gap = abs(r - p)
    print(f"{label} window {k}: runtime {r:6.2f}% of {n:4d}  simulator {p:6.2f}% of {pn:4d}  gap {gap:.2f}")
    ok = ok and gap <= pts and abs(n - pn) <= max(2, n // 50)
sys.exit(0 if ok else 1)
PY
}

run file 'placement_file = "placement.json"' "$WORK/placement.json"
# The file's windows host different models: window 0 serves no m2/m3 request, window 1 no m0/m1.
awk -F, 'NR>1 && $4 == "ok" {print $2}' "$WORK/bench-file.csv" | sort | uniq -c | tr '\n' ' '; echo
run policy 'policy = "sr-replace-15"' "$WORK/cluster.windows.json"
keep
echo PASS
