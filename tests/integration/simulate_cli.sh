#!/usr/bin/env bash
# `alpaserve simulate` on the example files: tables, JSON and per-request CSV in both modes, and
# exit code 2 with a message naming the file for broken placement, workload and profile inputs.
set -u
bin=${1:?usage: simulate_cli.sh path/to/alpaserve}
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
placement=examples/placements/small.json
workload=examples/simulate/small-workload.csv
fail() { echo "FAIL: $*"; exit 1; }

# expect_exit CODE PATTERN ARGS...: runs simulate, checks the exit code and that the output
# (stdout + stderr) matches PATTERN.
expect_exit() {
  local want=$1 pattern=$2
  shift 2
  "$bin" simulate "$@" >"$tmp/out" 2>&1
  local rc=$?
  [ "$rc" -eq "$want" ] || { cat "$tmp/out"; fail "exit $rc, expected $want: simulate $*"; }
  grep -qE "$pattern" "$tmp/out" || { cat "$tmp/out"; fail "no /$pattern/ in output of: simulate $*"; }
}

requests=$(grep -cvE '^(#|arrival_s)' "$workload")

expect_exit 0 'SLO attainment: [0-9.]+ %' --profiles zoo:v100 --placement $placement --workload $workload \
  --per-request "$tmp/event.csv"
grep -qE "^requests: $requests " "$tmp/out" || fail "event table does not count $requests requests"
grep -qE '^m0 +[0-9]+ ' "$tmp/out" || fail "no per-model line for m0"
grep -qE '^ +0 +\(1,1,2\) ' "$tmp/out" || fail "no utilization line for group 0"
[ "$(head -1 "$tmp/event.csv")" = "arrival_s,model,group,finish_s,latency_s,verdict" ] ||
  fail "per-request CSV header"
[ "$(($(wc -l <"$tmp/event.csv") - 1))" -eq "$requests" ] || fail "per-request CSV line count"
awk -F, 'NR > 1 && ($6 != "good" && $6 != "late" && $6 !~ /^rejected_/ || $4 < $1) { bad = 1 }
         END { exit bad }' "$tmp/event.csv" || fail "per-request CSV has a bad verdict or finish < arrival"

expect_exit 0 '"attainment": [0-9.e-]+' --profiles zoo:v100 --placement $placement --workload $workload \
  --json --jitter-cv 0.2 --seed 3 --max-batch-size 4 --queue-cap 8 --hop-ms 0.5
grep -q '"stage_utilization"' "$tmp/out" || fail "JSON lacks stage_utilization"
grep -q '"rejected_overloaded"' "$tmp/out" || fail "JSON lacks the verdict counts"

expect_exit 0 '^mode: approx' --profiles zoo:v100 --placement $placement --workload $workload \
  --mode approx --warmup 5 --per-request "$tmp/approx.csv"
[ -s "$tmp/approx.csv" ] || fail "approx per-request CSV missing"

# Built-in reference profiles; workload models the placement does not register are rejected.
expect_exit 0 'unknown [1-9]' --profiles reference --placement examples/simulate/reference-placement.json \
  --workload $workload --per-request "$tmp/ref.csv"
grep -q ',m2,-1,.*,rejected_unknown$' "$tmp/ref.csv" || fail "m2 not rejected_unknown in the CSV"
# A profile database file with batch-2 latencies, batching on.
expect_exit 0 'max batch 2' --profiles examples/profiles/small.json \
  --placement examples/simulate/batching-placement.json --workload $workload --max-batch-size 2

# Broken inputs: exit 2 and an error naming the file.
printf '{"cluster": {"num_devices": 4},\n "models": [\n' >"$tmp/broken.json"
expect_exit 2 'broken\.json' --profiles zoo:v100 --placement "$tmp/broken.json" --workload $workload
sed 's/"m2"\]/"nobody"]/' $placement >"$tmp/unknown-model.json"
expect_exit 2 'unknown-model\.json' --profiles zoo:v100 --placement "$tmp/unknown-model.json" \
  --workload $workload
printf 'arrival_s,model\n0.5,m0\nsoon,m1\n' >"$tmp/broken.csv"
expect_exit 2 'broken\.csv.*line 3' --profiles zoo:v100 --placement $placement --workload "$tmp/broken.csv"
printf '{"models": [{"name": 5}]}\n' >"$tmp/profiles.json"
expect_exit 2 'profiles\.json' --profiles "$tmp/profiles.json" --placement $placement --workload $workload
expect_exit 2 'x999' --profiles zoo:x999 --placement $placement --workload $workload
expect_exit 2 'missing\.csv' --profiles zoo:v100 --placement $placement --workload "$tmp/missing.csv"
expect_exit 2 'mode' --profiles zoo:v100 --placement $placement --workload $workload --mode fast
echo "simulate cli ok"
