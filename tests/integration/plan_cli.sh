#!/usr/bin/env bash
# `alpaserve plan`: a small mp-search plan on the built-in zoo writes a placement file whose
# groups hold every model, and bad input exits with code 2 and a message naming the problem.
set -u
bin="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$bin" plan --models "bert-2.6b,bert-1.3b x2" --devices 4 --cv 4 --policy mp-search \
  --quiet --json --out "$tmp/p.json" > "$tmp/out.json" || fail "plan exited $?"
grep -q '"train_attainment"' "$tmp/out.json" || fail "no attainment in the JSON output"
[ -s "$tmp/p.json" ] || fail "no placement file"
for m in bert-2.6b-0 bert-1.3b-0 bert-2.6b-1 bert-1.3b-1; do
  grep -q "\"$m\"" "$tmp/p.json" || fail "model $m missing from the placement file"
done

# The solve time is printed and in the JSON.
grep -qE '"solve_seconds": [0-9.e-]+' "$tmp/out.json" || fail "no solve_seconds in the JSON"
"$bin" plan --models "bert-1.3b x2" --devices 2 --policy sr-greedy --quiet > "$tmp/table.txt" ||
  fail "plan (table) exited $?"
grep -qE '^policy sr-greedy .*; solved in [0-9]+\.[0-9]+ s$' "$tmp/table.txt" ||
  fail "the table does not print the solve time: $(head -2 "$tmp/table.txt")"

# --workload F: F is the train workload; rates and CVs are measured from it unless given on the
# command line (nominal values, as the reference's synthetic cases pass them with their trace).
# bert-1.3b every 0.5 s and bert-2.6b every 1 s for 100 s: measured rates 2 and 1, CV 0 -> 1.
{ echo "arrival_s,model"
  awk 'BEGIN { for (i = 0; i < 200; i++) { printf "%.1f,bert-1.3b\n", i * 0.5
                                           if (i % 2 == 0) printf "%.1f,bert-2.6b\n", i * 0.5 } }'
} > "$tmp/train.csv"
rate_of() { tr -d ' \n' <"$1" | grep -oE "\"name\":\"$2\",\"rate\":[0-9.e-]+" | sed 's/.*://'; }
cv_of() { tr -d ' \n' <"$1" | grep -oE "\"cv\":[0-9.e-]+,\"name\":\"$2\"" | sed 's/"cv"://; s/,.*//'; }
near() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a - b < 1e-4 && b - a < 1e-4) }'; }
plan_w() { "$bin" plan --models "bert-1.3b,bert-2.6b" --devices 2 --policy sr-greedy --quiet --json \
  --workload "$tmp/train.csv" "$@" > "$tmp/w.json" || fail "plan --workload $* exited $?"; }
plan_w
near "$(rate_of "$tmp/w.json" bert-1.3b)" 2.0 || fail "measured rate of bert-1.3b: $(rate_of "$tmp/w.json" bert-1.3b)"
near "$(rate_of "$tmp/w.json" bert-2.6b)" 1.0 || fail "measured rate of bert-2.6b"
near "$(cv_of "$tmp/w.json" bert-1.3b)" 1.0 || fail "CV 0 of a periodic trace should read as 1"
grep -q '"train_requests": 300' "$tmp/w.json" || fail "the train workload is not the 300-request file"
grep -q '"rate_source": "measured from' "$tmp/w.json" || fail "rate_source not measured"
plan_w --rate 6 --rate-distribution uniform --cv 3
near "$(rate_of "$tmp/w.json" bert-1.3b)" 3.0 || fail "nominal rate not kept with --workload"
near "$(rate_of "$tmp/w.json" bert-2.6b)" 3.0 || fail "nominal rate not kept with --workload"
near "$(cv_of "$tmp/w.json" bert-2.6b)" 3.0 || fail "nominal CV not kept with --workload"
grep -q '"train_requests": 300' "$tmp/w.json" || fail "nominal rates replaced the train workload"
grep -q '"rate_source": "nominal"' "$tmp/w.json" || fail "rate_source not nominal"
plan_w --cv 2.5
near "$(rate_of "$tmp/w.json" bert-1.3b)" 2.0 || fail "--cv alone changed the measured rate"
near "$(cv_of "$tmp/w.json" bert-1.3b)" 2.5 || fail "--cv alone not kept"
"$bin" plan --models "bert-1.3b" --devices 1 --workload "$tmp/train.csv" --cv 0 > "$tmp/err" 2>&1
[ $? -eq 2 ] || fail "--cv 0 should exit 2"

"$bin" plan --models "bert-1.3b" --devices 2 --policy no-such-policy > "$tmp/err" 2>&1
[ $? -eq 2 ] || fail "unknown policy should exit 2"
grep -q "valid policies" "$tmp/err" || fail "unknown policy error does not list the valid ones"

"$bin" plan --models "bert-1.3b" --devices 0 > "$tmp/err" 2>&1
[ $? -eq 2 ] || fail "zero devices should exit 2"

"$bin" plan --models "bert-103.5b" --devices 2 --policy sr-greedy --quiet > "$tmp/err" 2>&1
[ $? -eq 2 ] || fail "a model too large for every group should exit 2"
grep -q "bert-103.5b" "$tmp/err" || fail "the too-large model is not named"

# --min-devices: the fewest devices reaching the target; one device fewer does not reach it.
M="bert-6.7b,bert-2.6b,bert-1.3b x4"
"$bin" plan --models "$M" --devices 16 --rate 8 --cv 4 --min-devices --target-attainment 0.9 \
  --json > "$tmp/min.json" 2> "$tmp/min.err" || fail "--min-devices: $(cat "$tmp/min.err")"
read -r n att used < <(python3 -c "
import json; d = json.load(open('$tmp/min.json'))
print(d['min_devices'], d['train_attainment'], sum(g['devices'][1] - g['devices'][0] + 1 for g in d['groups']))")
[ "$n" -lt 16 ] && [ "$used" = "$n" ] || fail "--min-devices chose $n devices, the plan uses $used"
python3 -c "import sys; sys.exit(0 if $att >= 0.9 else 1)" || fail "--min-devices plan reaches only $att"
grep -q "$n devices reach" "$tmp/min.err" || fail "--min-devices does not show its search"
fewer=$("$bin" plan --models "$M" --devices $((n - 1)) --rate 8 --cv 4 --json 2>/dev/null |
  python3 -c "import json, sys; print(json.load(sys.stdin)['train_attainment'])")
python3 -c "import sys; sys.exit(0 if $fewer < 0.9 else 1)" || fail "$((n - 1)) devices reach $fewer too"
"$bin" plan --models "$M" --devices 3 --rate 8 --cv 4 --min-devices --target-attainment 0.99 \
  --quiet > "$tmp/err" 2>&1
[ $? -eq 1 ] && grep -q "below the target" "$tmp/err" || fail "an unreachable target should exit 1"
echo ok
