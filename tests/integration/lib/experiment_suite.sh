#!/usr/bin/env bash
# One CTest test per suite (tests/CMakeLists.txt): `alpaserve experiment <suite> --quick` must
# exit 0, print and write every finding the suite checks (the list below) as PASS, write a CSV
# with the documented header and well-formed rows, and one PNG per sweep. docs/experiments.md.
# Without gnuplot the PNG part cannot run: the rest is checked with --no-plot, then it exits 77.
set -u
bin=${1:?usage: experiment_suite.sh path/to/alpaserve suite}
suite=${2:?usage: experiment_suite.sh path/to/alpaserve suite}
tmp=$(mktemp -d "/tmp/alpaserve-experiment-$suite.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL [$suite]: $*"; exit 1; }

# The findings each suite must report (claim text before the ':'). A new finding in
# planner/experiment/experiment_suites.cpp must be added here, so none goes unchecked.
synthetic=(
  "AlpaServe >= SR at every point"
  "at slo_scale <= 1 SR and Clockwork++ reach 0"
  "at slo_scale 0.75 and 1 AlpaServe does not reach 0"
  "AlpaServe's lead over SR grows with CV"
  "the rate_scale AlpaServe sustains at >= 99% is several (>= 2) times SR's"
  "the cv_scale AlpaServe sustains at >= 99% is several (>= 2) times SR's"
  "Ours >= AlpaServe at every point (independent test workload)"
  "Ours > AlpaServe on average"
)
case $suite in
  s1 | s2 | s3) claims=("${synthetic[@]}") ;;
  s4) claims=("search matches the best fixed (pp,op) shape within 0.01 at every point") ;;
  robustness)
    claims=("placed on one window, AlpaServe >= SR on the drifted test window at every drift") ;;
  ablation)
    claims=("Greedy placement >= Round robin on average"
      "greedy + group partitioning >= Greedy placement on average") ;;
  motivation)
    claims=("model parallelism has lower mean latency than dedicated devices at high CV"
      "the mean-latency gain of model parallelism grows with CV") ;;
  *) fail "unknown suite" ;;
esac

plot=1
command -v gnuplot > /dev/null 2>&1 || plot=0
# ours stops at its local optimum or evaluation cap (deterministic), not at the 5 s default
# clock budget a slow or loaded machine could hit first.
args=(experiment "$suite" --quick --ours-budget 60 --out "$tmp/out")
[ $plot -eq 1 ] || args+=(--no-plot)
start=$(date +%s.%N)
"$bin" "${args[@]}" > "$tmp/stdout" 2> "$tmp/stderr"
rc=$?
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "alpaserve experiment $suite --quick: exit $rc in ${secs} s"
if [ $rc -ne 0 ]; then
  tail -n 20 "$tmp/stdout" "$tmp/stderr"
  fail "exited $rc"
fi

# Findings: exactly the expected claims, each PASS, in the file and on stdout.
findings=$tmp/out/$suite-findings.txt
[ -s "$findings" ] || fail "no findings file"
for claim in "${claims[@]}"; do
  line=$(grep -F "[$suite] $claim: " "$findings")
  [ -n "$line" ] || fail "finding missing: $claim"
  [ "$(grep -cF "[$suite] $claim: " "$findings")" -eq 1 ] || fail "finding twice: $claim"
  case $line in
    "PASS [$suite] $claim: "*) echo "ok: $line" ;;
    *) fail "finding not PASS: $line" ;;
  esac
  grep -qxF -- "$line" "$tmp/stdout" || fail "finding not printed: $line"
done
n=$(grep -c . "$findings")
[ "$n" -eq "${#claims[@]}" ] || {
  cat "$findings"
  fail "$n findings, expected ${#claims[@]} (update the list in $(basename "$0"))"
}
[ -s "$tmp/out/$suite-setup.txt" ] || fail "no set-up file"

# The CSV: documented header, well-formed rows, every policy at every point of every sweep.
python3 - "$tmp/out/$suite.csv" "$suite" > "$tmp/x_names" 2>&1 <<'PY'
import csv, math, sys
def fail(why):
    print(why)
    sys.exit(1)
path, suite = sys.argv[1], sys.argv[2]
header = ("experiment,x_name,x,policy,label,attainment,latency_mean,train_score,solve_seconds,"
          "groups,replicas,shapes").split(",")
with open(path, newline="") as f:
    rows = list(csv.reader(f))
if not rows or rows[0] != header:
    fail(f"header is {rows[0] if rows else 'missing'}")
if len(rows) < 2:
    sys.exit("no data rows")
points = {}
for i, r in enumerate(rows[1:], start=2):
    if len(r) != len(header):
        fail(f"line {i}: {len(r)} fields, expected {len(header)}")
    d = dict(zip(header, r))
    if d["experiment"] != suite:
        fail(f"line {i}: experiment {d['experiment']!r}")
    try:
        x, att, lat = float(d["x"]), float(d["attainment"]), float(d["latency_mean"])
        float(d["train_score"]), float(d["solve_seconds"]), int(d["groups"]), int(d["replicas"])
    except ValueError as e:
        fail(f"line {i}: {e}")
    if not 0 <= att <= 1:
        fail(f"line {i}: attainment {att} outside [0, 1]")
    if math.isnan(lat) or lat < 0:
        fail(f"line {i}: latency_mean {lat}")
    if not d["policy"] or not d["label"]:
        fail(f"line {i}: empty policy or label")
    points.setdefault(d["x_name"], {}).setdefault(x, []).append(d["policy"])
for name, xs in points.items():
    if len(xs) < 2:
        fail(f"sweep {name} has {len(xs)} point(s)")
    sets = {tuple(sorted(p)) for p in xs.values()}
    if len(sets) != 1 or any(len(set(p)) != len(p) for p in xs.values()):
        fail(f"sweep {name}: policies differ between points or repeat: {sorted(sets)}")
print(" ".join(sorted(points)))
PY
[ $? -eq 0 ] || fail "CSV malformed: $(cat "$tmp/x_names")"
x_names=$(cat "$tmp/x_names")
echo "ok: $suite.csv, sweeps: $x_names"

# One PNG per sweep, and nothing else.
if [ $plot -eq 0 ]; then
  echo "SKIP: gnuplot not found, PNGs not checked"
  exit 77
fi
for x in $x_names; do
  png=$tmp/out/$suite-$x.png
  [ -s "$png" ] || fail "no plot $suite-$x.png"
  [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] ||
    fail "$suite-$x.png is not a PNG"
done
pngs=$(find "$tmp/out" -name '*.png' | wc -l)
[ "$pngs" -eq "$(wc -w <<< "$x_names")" ] || fail "$pngs PNGs for sweeps: $x_names"
echo "ok: $pngs PNGs"
