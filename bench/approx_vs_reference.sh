#!/usr/bin/env bash
# Our approximate simulator against the reference AlpaServe's numba kernel, side by side on one
# machine (docs/simulators.md, "Against the reference's numba kernel").
#
#   bench/approx_vs_reference.sh --mms /path/to/alpa-projects/mms [--build build]
#                                [--requests 10000000] [--rounds 3] [--reps 5]
#
# --mms defaults to $ALPASERVE_MMS. The reference's outcome (good count, per-group dispatch
# counts) must equal ours, else exit 1; tests/CMakeLists.txt runs a tiny case as a smoke test.
#
# bench_approx_simulator dumps its case once; then each round runs, back to back, the reference
# (bench/reference_approx_speed.py: fresh outputs, every request, numba) and
# bench_approx_simulator, whose run() alternates the portable build and the AVX-512 one (where
# the CPU has it). Figures are thread CPU ns/request, best of --reps calls; each round's ratio
# compares figures taken seconds apart, and the summary takes medians over rounds. Exit 77 when
# the reference checkout or numpy/numba is missing.
set -euo pipefail

mms="${ALPASERVE_MMS:-}" build="build" requests=10000000 rounds=3 reps=5
while [[ $# -gt 0 ]]; do
  case "$1" in
    --mms) mms="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --requests) requests="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
here="$(cd "$(dirname "$0")" && pwd)"
bench="$build/bin/bench_approx_simulator"
[[ -x "$bench" ]] || { echo "no $bench (build target bench_approx_simulator)" >&2; exit 2; }
if [[ -z "$mms" || ! -f "$mms/alpa_serve/simulator/controller.py" ]]; then
  echo "skipped: no reference checkout (--mms DIR or ALPASERVE_MMS, github.com/alpa-projects/mms)" >&2
  exit 77
fi
# The first python that has numpy and numba (a pyenv shim may shadow the system one).
python=""
for p in ${PYTHON:-} python3 /usr/bin/python3; do
  if "$p" -c "import numpy, numba" 2>/dev/null; then python="$p"; break; fi
done
[[ -n "$python" ]] || { echo "skipped: no python3 with numpy and numba" >&2; exit 77; }

case_dir="$(mktemp -d)"
trap 'rm -rf "$case_dir"' EXIT
"$bench" "$requests" 1 --run-only --dump "$case_dir" > "$case_dir/dump.log"
grep -E "^requests" "$case_dir/dump.log"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), AVX-512: $(grep -q avx512f /proc/cpuinfo && echo yes || echo no)"

# "run()" best ns/request of each build: "portable avx512" ("-" for a build this CPU lacks).
ours() {
  "$bench" "$requests" "$reps" --run-only |
    awk '$1 == "run()" { v[$2] = $5 } END { print (v["portable"] ? v["portable"] : "-"), (v["avx512"] ? v["avx512"] : "-") }'
}
ratio() { [[ "$1" == "-" ]] && echo "-" || awk -v x="$1" -v y="$2" 'BEGIN { printf "%.3f", x / y }'; }
ref() {
  "$python" "$here/reference_approx_speed.py" --mms "$mms" --case "$case_dir" --reps "$reps" \
    2> "$case_dir/ref.err" | tee "$case_dir/ref.log" | awk '/numba run/ { print $6 }'
  grep -q "same as ours" "$case_dir/ref.log" || { cat "$case_dir/ref.log" "$case_dir/ref.err" >&2; exit 1; }
}

printf "%-6s %10s %10s %10s %14s %14s\n" round reference portable avx512 portable/ref avx512/ref
declare -a r_ref r_port r_avx q_port q_avx
for ((i = 1; i <= rounds; ++i)); do
  # The reference runs first in odd rounds and last in even ones, so drift favours neither.
  if ((i % 2)); then a="$(ref)"; fi
  read -r b c <<< "$(ours)"
  if ((i % 2 == 0)); then a="$(ref)"; fi
  r_ref+=("$a") r_port+=("$b") r_avx+=("$c")
  q_port+=("$(ratio "$b" "$a")") q_avx+=("$(ratio "$c" "$a")")
  printf "%-6s %10s %10s %10s %14s %14s\n" "$i" "$a" "$b" "$c" "${q_port[-1]}" "${q_avx[-1]}"
done
median() {
  printf "%s\n" "$@" | grep -v '^-$' | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
printf "%-6s %10s %10s %10s %14s %14s\n" median "$(median "${r_ref[@]}")" "$(median "${r_port[@]}")" \
  "$(median "${r_avx[@]}")" "$(median "${q_port[@]}")" "$(median "${q_avx[@]}")"
echo "(run() thread CPU ns/request, best of $reps calls; ratios: ours / reference in the same round;"
echo " target: portable/ref <= 0.333)"
