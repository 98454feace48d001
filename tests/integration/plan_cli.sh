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

"$bin" plan --models "bert-1.3b" --devices 2 --policy no-such-policy > "$tmp/err" 2>&1
[ $? -eq 2 ] || fail "unknown policy should exit 2"
grep -q "valid policies" "$tmp/err" || fail "unknown policy error does not list the valid ones"

"$bin" plan --models "bert-1.3b" --devices 0 > "$tmp/err" 2>&1
[ $? -eq 2 ] || fail "zero devices should exit 2"

"$bin" plan --models "bert-103.5b" --devices 2 --policy sr-greedy --quiet > "$tmp/err" 2>&1
[ $? -eq 2 ] || fail "a model too large for every group should exit 2"
grep -q "bert-103.5b" "$tmp/err" || fail "the too-large model is not named"
echo ok
