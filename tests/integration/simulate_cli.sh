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

# Per-group counts in both modes: every request of this workload has a hosting group, so the
# groups' counts add up to the requests; the approx table lists the groups like the event one.
# (sums the "requests" of the JSON's groups array; keys are sorted, "latency_s" follows it.)
group_sum() { tr -d ' \n' <"$1" | sed 's/.*"groups":\[//; s/"latency_s".*//' | grep -oE '"requests":[0-9]+' |
  awk -F: '{ s += $2 } END { print s + 0 }'; }
for mode in event approx; do
  expect_exit 0 '"groups"' --profiles zoo:v100 --placement $placement --workload $workload \
    --mode $mode --json
  [ "$(group_sum "$tmp/out")" -eq "$requests" ] || fail "$mode: group counts do not add up to $requests"
  grep -q '"config": "(1,1,2)"' "$tmp/out" || fail "$mode: JSON groups lack their config"
done
expect_exit 0 'group +config +requests' --profiles zoo:v100 --placement $placement \
  --workload $workload --mode approx
grep -qE '^ +2 +\(1,1,1\) +[1-9][0-9]* *$' "$tmp/out" || fail "approx table lacks group 2's count"

# --warmup-rule reference: the first and last int(warmup / span * N) requests are trimmed (10 s
# by default, the reference's DEFAULT_WARMUP); ours keeps the requests after the warm-up only.
skip_for() { grep -vE '^(#|arrival_s)' "$workload" | awk -F, -v w="$1" \
  'NR == 1 { first = $1 } { last = $1; n++ } END { print int(w / (last - first) * n) }'; }
for warm in "" 5 25; do
  args=(--warmup-rule reference)
  [ -n "$warm" ] && args+=(--warmup "$warm")
  skip=$(skip_for "${warm:-10}")
  [ "$skip" -gt 0 ] || fail "test workload too short for a non-zero skip"
  for mode in event approx; do
    expect_exit 0 "^requests: $((requests - 2 * skip)) \(first and last $skip trimmed" \
      --profiles zoo:v100 --placement $placement --workload $workload --mode $mode "${args[@]}"
  done
done
expect_exit 0 '"warmup_skipped_each_end": [1-9]' --profiles zoo:v100 --placement $placement \
  --workload $workload --warmup-rule reference --json
late=$(grep -vE '^(#|arrival_s)' "$workload" | awk -F, 'NR == 1 { f = $1 } $1 >= f + 25 { n++ } END { print n }')
expect_exit 0 "^requests: $late \(arriving >= 25 s" --profiles zoo:v100 --placement $placement \
  --workload $workload --warmup 25
expect_exit 2 'warmup-rule' --profiles zoo:v100 --placement $placement --workload $workload \
  --warmup-rule sometimes

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
