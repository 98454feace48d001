#!/usr/bin/env bash
# Our approximate simulator against the reference AlpaServe's numba kernel, side by side on one
# machine (docs/simulators.md, "Against the reference's numba kernel").
#
#   bench/approx_vs_reference.sh --mms /path/to/alpa-projects/mms [--build build]
#                                [--requests 10000000] [--rounds 3] [--reps 5]
#
# bench_approx_simulator dumps its case once; then each round runs, back to back, the reference
# (bench/reference_approx_speed.py: fresh outputs, every request, numba), our run() with
# ALPASERVE_KERNEL=portable, and our run() with the default build (AVX-512 where the CPU has
# it). Figures are thread CPU ns/request, best of --reps calls; each round's ratio compares
# figures taken seconds apart, and the summary takes medians over rounds. Exit 77 when the
# reference checkout or numpy/numba is missing.
set -euo pipefail

mms="" build="build" requests=10000000 rounds=3 reps=5
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
  echo "skipped: no reference checkout (--mms DIR, github.com/alpa-projects/mms)" >&2
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
"$bench" "$requests" 1 --dump "$case_dir" > "$case_dir/dump.log"
grep -E "^requests|^attainment" "$case_dir/dump.log"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), AVX-512: $(grep -q avx512f /proc/cpuinfo && echo yes || echo no)"

# "run()" best ns/request of one benchmark invocation; $1: ALPASERVE_KERNEL, empty for the default.
ours() {
  env -u ALPASERVE_KERNEL ${1:+ALPASERVE_KERNEL=$1} "$bench" "$requests" "$reps" |
    awk '$1 == "run()" { print $4 }'
}
ref() {
  "$python" "$here/reference_approx_speed.py" --mms "$mms" --case "$case_dir" --reps "$reps" \
    2> "$case_dir/ref.err" | tee "$case_dir/ref.log" | awk '/numba run/ { print $6 }'
  grep -q "same as ours" "$case_dir/ref.log" || { cat "$case_dir/ref.log" "$case_dir/ref.err" >&2; exit 1; }
}

printf "%-6s %12s %12s %12s %10s %10s\n" round reference portable default portable/ref default/ref
declare -a r_ref r_port r_def q_port q_def
for ((i = 1; i <= rounds; ++i)); do
  # The reference runs first in odd rounds and last in even ones, so drift favours neither.
  if ((i % 2)); then a="$(ref)"; fi
  b="$(ours portable)"
  c="$(ours "")"
  if ((i % 2 == 0)); then a="$(ref)"; fi
  r_ref+=("$a") r_port+=("$b") r_def+=("$c")
  q_port+=("$(awk -v x="$b" -v y="$a" 'BEGIN { printf "%.3f", x / y }')")
  q_def+=("$(awk -v x="$c" -v y="$a" 'BEGIN { printf "%.3f", x / y }')")
  printf "%-6s %12s %12s %12s %10s %10s\n" "$i" "$a" "$b" "$c" "${q_port[-1]}" "${q_def[-1]}"
done
median() { printf "%s\n" "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf "%-6s %12s %12s %12s %10s %10s\n" median "$(median "${r_ref[@]}")" "$(median "${r_port[@]}")" \
  "$(median "${r_def[@]}")" "$(median "${q_port[@]}")" "$(median "${q_def[@]}")"
echo "(run() thread CPU ns/request, best of $reps calls; ratios: ours / reference in the same round)"
