#!/usr/bin/env bash
# "Batching pays" (docs/runtime.md "Batching"): the largest request rate served at >= 99 % SLO
# attainment with batching on (max_batch_size BATCH) and off (1), measured on the runtime (a
# 3-node local emulated cluster: 8 emulated V100s, 3 + 3 + 2, four 2-stage pipelines, the fixed
# placement of tests/integration/fidelity.sh) and predicted by `alpaserve simulate --mode event`
# with the same max_batch_size, on one Gamma workload per rate.
#
# Usage: tools/batching_pays.sh path/to/alpaserve OUTDIR
# Environment: KIND (bert: the fidelity test's models, bert-1.3b x4 + bert-2.6b x4; moe:
# moe-1.3b x4 + moe-2.4b x4 on the same placement; cpu: one real bert-tiny on one CPU device of a
# one-node cluster, 16-token inputs, SLO 50 ms, profiled first with `alpaserve profile`), RATES (total requests/s, ascending),
# DURATION (s per rate, default 20), CV (default 3), SEED (default 7), BATCH (default 16),
# TARGET (attainment %, default 99).
# Writes OUTDIR/batching-KIND.csv (one row per batch setting and rate), OUTDIR/batching-KIND.png
# and prints the max rate at TARGET for each setting (linear between the last sweep rate at or
# above TARGET and the first below it) and their ratio.
set -u
BIN=$(readlink -f "${1:?usage: batching_pays.sh path/to/alpaserve OUTDIR}")
OUT=$(mkdir -p "${2:?usage: batching_pays.sh path/to/alpaserve OUTDIR}" && readlink -f "$2")
KIND=${KIND:-bert}
DURATION=${DURATION:-20}
CV=${CV:-3}
SEED=${SEED:-7}
BATCH=${BATCH:-16}
TARGET=${TARGET:-99}
case "$KIND" in
  bert) A=bert-1.3b B=bert-2.6b RATES=${RATES:-"10 15 20 25 30 40"} ;;
  moe) A=moe-1.3b B=moe-2.4b RATES=${RATES:-"60 90 120 150 180 220"} ;;
  cpu) RATES=${RATES:-"100 200 300 400 500"} ;;
  *) echo "KIND must be bert, moe or cpu"; exit 2 ;;
esac
WORK=$(mktemp -d /tmp/alpaserve-batching.XXXXXX)
UP=""
cleanup() {
  [ -n "$UP" ] && kill -INT "$UP" 2>/dev/null && wait "$UP" 2>/dev/null
  for p in $(pgrep -f -- "--config $WORK/cluster.toml --name"); do kill -9 "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -20 "$WORK/up.log" 2>/dev/null; exit 1; }

write_cpu_cluster() {  # max_batch_size
  P0=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  [ -f "$WORK/profiles.json" ] || {
    OPENBLAS_NUM_THREADS=1 "$BIN" profile --model bert-tiny --name tiny --ops 1 --pps 1 --seq 16 \
      --repeats 5 --quiet --out "$WORK/profiles.json" >"$WORK/profile.log" 2>&1 || fail "profile"
  }
  cat >"$WORK/cluster.toml" <<TOML
name = "batching-cpu"
[[nodes]]
name = "n0"
host = "127.0.0.1"
port = $P0
roles = ["controller", "worker"]
devices = [{ kind = "cpu", count = 1, memory_gib = 1 }]
[[models]]
name = "tiny"
profile_file = "profiles.json"
architecture = "bert-tiny"
slo_ms = 50
rate = 100
[planner]
placement_file = "placement.json"
max_batch_size = $1
[caf]
scheduler_policy = "sharing"
max_threads = 1
TOML
  echo '{"cluster": {"num_devices": 1, "mem_budget_gib": 1}, "models": [{"name": "tiny", "slo": 0.05}],
 "groups": [{"op": 1, "pp": 1, "models": ["tiny"]}]}' >"$WORK/placement.json"
}

write_cluster() {  # max_batch_size
  [ "$KIND" = cpu ] && { write_cpu_cluster "$1"; return; }
  read -r P0 P1 P2 < <(python3 -c '
import socket
ss=[socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1",0))
print(*[s.getsockname()[1] for s in ss])')
  node() {
    printf '[[nodes]]\nname = "%s"\nhost = "127.0.0.1"\nport = %s\nroles = %s\ndevices = [{ kind = "emulated-v100", count = %s, memory_gib = 13 }]\n' "$@"
  }
  {
    echo 'name = "batching"'
    node n0 "$P0" '["controller", "worker"]' 3
    node n1 "$P1" '["worker"]' 3
    node n2 "$P2" '["worker"]' 2
    for i in 0 1 2 3; do printf '[[models]]\nname = "m%s"\ntype = "%s"\nslo_scale = 4\nrate = 4\n' $i "$A"; done
    for i in 4 5 6 7; do printf '[[models]]\nname = "m%s"\ntype = "%s"\nslo_scale = 4\nrate = 4\n' $i "$B"; done
    printf '[planner]\ndevice_preset = "v100"\nplacement_file = "placement.json"\nmax_batch_size = %s\n' "$1"
    printf '[caf]\nscheduler_policy = "sharing"\nmax_threads = 1\n'
  } >"$WORK/cluster.toml"
  python3 - "$A" "$B" "$WORK/placement.json" <<'PY'
import json, sys
a, b, f = sys.argv[1:]
models = [{"name": f"m{i}", "profile": a if i < 4 else b, "slo_scale": 4} for i in range(8)]
groups = [["m0", "m1", "m2", "m4", "m5"], ["m2", "m3", "m0", "m6", "m7"],
          ["m4", "m5", "m6", "m1", "m3"], ["m6", "m7", "m4", "m0", "m1"]]
json.dump({"cluster": {"num_devices": 8, "mem_budget_gib": 13}, "models": models,
           "groups": [{"op": 1, "pp": 2, "models": g} for g in groups]}, open(f, "w"), indent=1)
PY
}

CSV="$OUT/batching-$KIND.csv"
echo "cluster,max_batch_size,rate,requests,runtime_attainment,simulated_attainment,p99_ms" >"$CSV"
for bs in 1 "$BATCH"; do
  write_cluster "$bs"
  OPENBLAS_NUM_THREADS=1 "$BIN" up --config "$WORK/cluster.toml" >"$WORK/up.log" 2>&1 &
  UP=$!
  for _ in $(seq 1 300); do grep -q "cluster serving" "$WORK/up.log" && break; sleep 0.2; done
  grep -q "cluster serving" "$WORK/up.log" || fail "cluster never served"
  for rate in $RATES; do
    if [ "$KIND" = cpu ]; then MODELS=tiny SHAPE="--shape 1,16" PROFILES="$WORK/profiles.json"
    else MODELS=m0,m1,m2,m3,m4,m5,m6,m7 SHAPE="" PROFILES=zoo:v100; fi
    "$BIN" workload gamma --models "$MODELS" --total-rate "$rate" --cv "$CV" \
      --rate-distribution power-law --duration "$DURATION" --seed "$SEED" --output "$WORK/w.csv" \
      >/dev/null 2>&1 || fail "workload"
    # shellcheck disable=SC2086
    "$BIN" bench --config "$WORK/cluster.toml" --workload "$WORK/w.csv" $SHAPE >"$WORK/bench.log" \
      2>"$WORK/bench.err" || fail "bench: $(cat "$WORK/bench.err")"
    "$BIN" simulate --mode event --placement "$WORK/placement.json" --workload "$WORK/w.csv" \
      --profiles "$PROFILES" --queue-cap 1024 --max-batch-size "$bs" >"$WORK/sim.log" 2>&1 ||
      fail "simulate: $(cat "$WORK/sim.log")"
    runtime=$(sed -n 's/.*SLO attainment: \([0-9.]*\)%.*/\1/p' "$WORK/bench.log")
    predicted=$(sed -n 's/^SLO attainment: *\([0-9.]*\) %.*/\1/p' "$WORK/sim.log" | head -1)
    p99=$(sed -n 's/.*p99 \([0-9.]*\).*/\1/p' "$WORK/bench.log" | head -1)
    n=$(($(wc -l <"$WORK/w.csv") - 1))
    echo "$KIND,$bs,$rate,$n,$runtime,$predicted,${p99:-}" | tee -a "$CSV"
  done
  kill -INT "$UP"; wait "$UP"; UP=""
done

python3 - "$CSV" "$TARGET" "$BATCH" <<'PY'
import csv, sys
path, target, batch = sys.argv[1], float(sys.argv[2]), sys.argv[3]
rows = list(csv.DictReader(open(path)))
def max_rate(bs, col):
    pts = [(float(r["rate"]), float(r[col])) for r in rows if r["max_batch_size"] == bs]
    best = 0.0
    for i, (rate, att) in enumerate(pts):
        if att < target:
            if i > 0:  # linear between the last point at or above the target and this one
                r0, a0 = pts[i - 1]
                best = r0 + (rate - r0) * (a0 - target) / (a0 - att) if a0 > att else r0
            return best
        best = rate
    return best
for col in ("runtime_attainment", "simulated_attainment"):
    off, on = max_rate("1", col), max_rate(batch, col)
    ratio = on / off if off > 0 else float("nan")
    print(f"{col}: max rate at {target:g}% attainment: batching off {off:.1f} r/s, "
          f"on (max_batch_size {batch}) {on:.1f} r/s, ratio {ratio:.2f}x")
gaps = [abs(float(r["runtime_attainment"]) - float(r["simulated_attainment"]))
        for r in rows if r["max_batch_size"] == batch]
print(f"runtime vs event simulator with max_batch_size {batch}: largest gap "
      f"{max(gaps):.2f} points over {len(gaps)} rates")
PY

if command -v gnuplot >/dev/null; then
  gnuplot <<GP
set terminal pngcairo size 900,560 noenhanced
set output "$OUT/batching-$KIND.png"
set datafile separator ","
set key bottom left
set grid
set xlabel "total request rate (requests/s)"
set ylabel "SLO attainment (%)"
set title "Batching on (max_batch_size $BATCH) vs off: $KIND ($([ "$KIND" = cpu ] && echo "bert-tiny on 1 CPU device" || echo "8 emulated V100s"))"
set arrow from graph 0, first $TARGET to graph 1, first $TARGET nohead dt 2
plot "< awk -F, 'NR>1 && \$2==1' $CSV" using 3:5 with linespoints lw 2 title "runtime, batching off", \
     "< awk -F, 'NR>1 && \$2==1' $CSV" using 3:6 with linespoints dt 2 title "event simulator, off", \
     "< awk -F, 'NR>1 && \$2==$BATCH' $CSV" using 3:5 with linespoints lw 2 title "runtime, batching on", \
     "< awk -F, 'NR>1 && \$2==$BATCH' $CSV" using 3:6 with linespoints dt 2 title "event simulator, on"
GP
  echo "plot: $OUT/batching-$KIND.png"
fi
echo "csv: $CSV"
