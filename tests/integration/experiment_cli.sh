#!/usr/bin/env bash
# `alpaserve experiment motivation --quick`: writes the CSV with the documented columns, a
# set-up file, a findings file with PASS/FAIL lines; an unknown experiment exits 2.
set -u
alpaserve=$1
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

"$alpaserve" experiment nosuch --out "$tmp/x" > /dev/null 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "unknown experiment exited $rc, expected 2"
echo "ok"
