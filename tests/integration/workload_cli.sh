#!/usr/bin/env bash
# `alpaserve workload`: generation is deterministic per seed, stats read what was written, bad
# input exits 2 with the problem named, and the Azure replays run on the bundled fixture.
set -euo pipefail
bin="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$bin" workload gamma --models 4 --total-rate 40 --rate-distribution power-law --cv 2 \
  --duration 200 --seed 3 -o "$tmp/a.csv" >/dev/null 2>&1
"$bin" workload gamma --models 4 --total-rate 40 --rate-distribution power-law --cv 2 \
  --duration 200 --seed 3 -o "$tmp/b.csv" >/dev/null 2>&1
cmp -s "$tmp/a.csv" "$tmp/b.csv" || fail "same seed gave different files"
"$bin" workload gamma --models 4 --total-rate 40 --cv 2 --duration 200 --seed 4 \
  -o "$tmp/c.csv" >/dev/null 2>&1
cmp -s "$tmp/a.csv" "$tmp/c.csv" && fail "different seeds gave the same file"
[ "$(head -1 "$tmp/a.csv")" = "arrival_s,model" ] || fail "missing header"

stats=$("$bin" workload stats "$tmp/a.csv")
lines=$(($(wc -l < "$tmp/a.csv") - 1))
echo "$stats" | grep -q "^$lines requests, 4 models" || fail "stats count: $stats"
# Overall rate is within 10% of 40/s.
echo "$stats" | awk '$1=="(all)" { exit !($3 > 36 && $3 < 44) }' || fail "overall rate: $stats"

printf 'arrival_s,model\n0.5,a\nx,b\n' > "$tmp/bad.csv"
set +e
err=$("$bin" workload stats "$tmp/bad.csv" 2>&1); rc=$?
set -e
[ $rc -eq 2 ] || fail "bad CSV exit code $rc"
echo "$err" | grep -q "bad.csv: line 3: arrival_s 'x' is not a number" || fail "message: $err"

set +e
"$bin" workload gamma --models 2 --cv -1 -o "$tmp/x.csv" >/dev/null 2>&1; rc=$?
set -e
[ $rc -eq 2 ] || fail "negative cv exit code $rc"

"$bin" workload make-azure-fixture --dir "$tmp/fx" > /dev/null
"$bin" workload azure-v1 --trace "$tmp/fx" --models a,b --start 0.0.0 --end 0.1.0 \
  --interval 60 --distribution gamma --cv-scale 4 -o "$tmp/v1.csv" > /dev/null 2>&1
[ "$(wc -l < "$tmp/v1.csv")" -gt 1000 ] || fail "azure-v1 replay too small"
"$bin" workload azure-v2 --trace "$tmp/fx" --models 4 --start 0.0.0 --end 0.2.0 \
  --distribution vanilla -o "$tmp/v2.csv" > /dev/null 2>&1
# Vanilla replays every invocation of the window: 3 + 1 sparse/single + the two streams.
[ "$(wc -l < "$tmp/v2.csv")" -gt 20000 ] || fail "azure-v2 vanilla replay too small"
set +e
err=$("$bin" workload azure-v1 --trace "$tmp/fx" --models 2 --interval 90 -o "$tmp/x.csv" 2>&1)
rc=$?
set -e
[ $rc -eq 2 ] || fail "bad interval exit code $rc"
echo "$err" | grep -q "multiple of 60" || fail "message: $err"
echo "workload CLI ok"
