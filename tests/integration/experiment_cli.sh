#!/usr/bin/env bash
# `alpaserve experiment motivation --quick`: writes the CSV with the documented columns, a
# set-up file, a findings file with PASS/FAIL lines; an unknown experiment exits 2. The exit
# status: 1 when a finding FAILs (forced with ALPASERVE_EXPERIMENT_FORCE_FAIL, the test hook) or
# a plot cannot be made (gnuplot missing or failing: ALPASERVE_GNUPLOT, PATH) unless --no-plot.
# Each suite's findings, CSV and PNGs: lib/experiment_suite.sh, one CTest test per suite
# (checked here).
set -u
alpaserve=$(readlink -f "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$alpaserve" experiment motivation --quick --no-plot --out "$tmp/out" > "$tmp/stdout" 2>/dev/null \
  || fail "experiment motivation exited $?"
header=$(head -1 "$tmp/out/motivation.csv")
[ "$header" = "experiment,x_name,x,policy,label,attainment,latency_mean,train_score,solve_seconds,groups,replicas,shapes" ] \
  || fail "unexpected CSV header: $header"
rows=$(($(wc -l < "$tmp/out/motivation.csv") - 1))
[ "$rows" -eq 18 ] || fail "expected 18 rows (6 cv x 3 placements), got $rows"
grep -q '^motivation,cv,8,model-parallel,' "$tmp/out/motivation.csv" || fail "no cv=8 model-parallel row"
grep -q 'SLO 1000x latency' "$tmp/out/motivation-setup.txt" || fail "set-up file lacks the set-up"
grep -Eq '^(PASS|FAIL) \[motivation\]' "$tmp/out/motivation-findings.txt" || fail "no findings"
grep -q 'motivation: latency_mean vs cv' "$tmp/stdout" || fail "no summary table"
[ -z "$(find "$tmp/out" -name '*.png')" ] || fail "--no-plot wrote a PNG"

"$alpaserve" experiment nosuch --out "$tmp/x" > "$tmp/nosuch.log" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "unknown experiment exited $rc, expected 2"

# Every suite the binary knows has its CTest test "experiment: <suite>" (tests/CMakeLists.txt).
suites=$(sed -n 's/.*unknown experiment; valid: //p' "$tmp/nosuch.log" | tr -d ',' |
  sed 's/ all$//')
[ -n "$suites" ] || fail "no list of experiments in: $(cat "$tmp/nosuch.log")"
build=$(cd "$(dirname "$alpaserve")/.." && pwd)
listing=$(ctest --test-dir "$build" -N 2> /dev/null)
for s in $suites; do
  grep -q "Test *#[0-9]*: experiment: $s\$" <<< "$listing" || fail "no CTest test for suite $s"
done
echo "ok: a CTest test per suite: $suites"

# run <name> [env...] -- <args>: runs the motivation suite, leaves the status in $rc and the
# output (stdout and stderr) in $tmp/<name>.log.
run() {
  local name=$1
  shift
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" "$alpaserve" experiment motivation --quick --out "$tmp/$name" "$@" \
    > "$tmp/$name.log" 2>&1
  rc=$?
}

# A FAILed finding makes the exit status 1 and is named; the others are still checked.
run forced ALPASERVE_EXPERIMENT_FORCE_FAIL="grows with CV" -- --no-plot
[ "$rc" -eq 1 ] || fail "a FAIL finding exited $rc, expected 1"
grep -q '^FAIL \[motivation\] the mean-latency gain of model parallelism grows with CV: .*forced' \
  "$tmp/forced/motivation-findings.txt" || fail "the forced finding is not FAIL"
grep -q '^PASS \[motivation\] model parallelism has lower mean latency' \
  "$tmp/forced/motivation-findings.txt" || fail "the other finding is not PASS"
grep -q '1 of 2 findings FAIL' "$tmp/forced.log" || fail "no message for the FAIL finding"
echo "ok: a FAIL finding exits 1"

# gnuplot cannot run: exit 1 before the sweeps, saying how to go on.
run missing ALPASERVE_GNUPLOT=false --
[ "$rc" -eq 1 ] || fail "ALPASERVE_GNUPLOT=false exited $rc, expected 1"
grep -q "cannot plot: 'false --version' exited 1.*--no-plot" "$tmp/missing.log" \
  || fail "no clear message: $(cat "$tmp/missing.log")"
[ ! -e "$tmp/missing/motivation.csv" ] || fail "the sweeps ran although gnuplot cannot"
run nopath PATH=/nonexistent --
[ "$rc" -eq 1 ] || fail "PATH without gnuplot exited $rc, expected 1"
grep -q "cannot plot: 'gnuplot --version' was not found.*--no-plot" "$tmp/nopath.log" \
  || fail "no clear message: $(cat "$tmp/nopath.log")"
run noplot ALPASERVE_GNUPLOT=false PATH=/nonexistent -- --no-plot
[ "$rc" -eq 0 ] || fail "--no-plot without gnuplot exited $rc, expected 0"
echo "ok: a missing gnuplot exits 1, unless --no-plot"

# gnuplot runs but fails on the plot script, or writes no PNG: exit 1 once the findings are out.
printf '#!/bin/sh\n[ "$1" = --version ] && exit 0\necho "simulated gnuplot error" >&2\nexit 3\n' \
  > "$tmp/bad-gnuplot"
chmod +x "$tmp/bad-gnuplot"
run erroring ALPASERVE_GNUPLOT="$tmp/bad-gnuplot" --
[ "$rc" -eq 1 ] || fail "a failing gnuplot exited $rc, expected 1"
grep -q "plot failed: .*motivation-cv.png: .*exited 3 (simulated gnuplot error" \
  "$tmp/erroring.log" \
  || fail "no clear message: $(cat "$tmp/erroring.log")"
grep -q '^PASS \[motivation\]' "$tmp/erroring/motivation-findings.txt" \
  || fail "the findings were not written"
run silent ALPASERVE_GNUPLOT=true --
[ "$rc" -eq 1 ] || fail "a gnuplot that writes no PNG exited $rc, expected 1"
grep -q "plot failed: .*motivation-cv.png: 'true' wrote no PNG" "$tmp/silent.log" \
  || fail "no clear message: $(cat "$tmp/silent.log")"
echo "ok: a failing gnuplot exits 1"

# With a working gnuplot: a PNG from an earlier run into the same folder does not count.
if command -v gnuplot > /dev/null 2>&1; then
  run stale --
  [ "$rc" -eq 0 ] || fail "with gnuplot exited $rc: $(tail -5 "$tmp/stale.log")"
  [ -s "$tmp/stale/motivation-cv.png" ] || fail "no PNG"
  run stale ALPASERVE_GNUPLOT=true --
  [ "$rc" -eq 1 ] || fail "a stale PNG passed for a new one (exit $rc)"
  echo "ok: a stale PNG does not count"
fi
echo "ok"
