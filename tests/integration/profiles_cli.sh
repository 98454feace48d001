#!/usr/bin/env bash
# `alpaserve zoo` and `alpaserve import-profiles`: outputs, and exit code 2 with a clear message
# for bad input.
set -euo pipefail
bin="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$bin" zoo --list > "$tmp/list.txt"
grep -q "^bert-6.7b" "$tmp/list.txt" || fail "zoo --list lacks bert-6.7b"
grep -q "^moe-5.3b" "$tmp/list.txt" || fail "zoo --list lacks moe-5.3b"

"$bin" zoo --calibration --models bert-1.3b > "$tmp/cal.txt"
grep -q "bert-103.5b" "$tmp/cal.txt" || fail "calibration table lacks bert-103.5b"

"$bin" zoo --device h100 --models bert-tiny,bert-small --out "$tmp/zoo.json"
grep -q '"name": "bert-small"' "$tmp/zoo.json" || fail "zoo --out lacks bert-small"
grep -q '"alpaserve-profiles"' "$tmp/zoo.json" || fail "zoo --out lacks the format tag"

set +e
"$bin" zoo --device tpu > "$tmp/out.txt" 2>&1; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "unknown device exited $rc, expected 2"
grep -q "v100, a100, h100" "$tmp/out.txt" || fail "unknown device message lacks the valid names"

set +e
"$bin" zoo --models bert-1.3b,gpt-x > "$tmp/out.txt" 2>&1; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "unknown model exited $rc, expected 2"
grep -q "gpt-x" "$tmp/out.txt" || fail "unknown model message lacks the name"

"$bin" import-profiles --csv examples/profiles/reference_profiles.tsv --out "$tmp/imp.json"
grep -q '"name": "bert-1.3b"' "$tmp/imp.json" || fail "import lacks bert-1.3b"
"$bin" import-profiles --csv examples/profiles/reference_profiles.tsv \
  --merge examples/profiles/small.json --out "$tmp/merged.json"
grep -q '"name": "test-2GB-100ms"' "$tmp/merged.json" || fail "merge lost small.json's model"

# The reference's synthetic profiles carry no activation memory: imported with a warning that
# names the file, and the profile has latencies and weights but no act_mem.
printf 'ModelName\tBS\t#Microbatch\tDP\tOP\tPP\t#GPU\tMeanTime(s)\tStdTime(s)\tTFLOPs\tStageWeights(B)\tStageLatencies(s)\n' > "$tmp/noact.tsv"
printf 'test-2GB-100ms\t1\t1\t1\t1\t1\t1\t0.1\t0\t0\t[2147483648]\t[0.100]\n' >> "$tmp/noact.tsv"
printf 'test-2GB-100ms\t1\t1\t1\t1\t2\t2\t0.1\t0\t0\t[1073741824,1073741824]\t[0.051,0.051]\n' >> "$tmp/noact.tsv"
"$bin" import-profiles --csv "$tmp/noact.tsv" --out "$tmp/noact.json" > "$tmp/out.txt" 2>&1 ||
  fail "import without activation memory exited $?: $(cat "$tmp/out.txt")"
grep -qi "warn.*noact.tsv: 2 of 2 rows have no activation memory" "$tmp/out.txt" ||
  fail "no warning for the missing activation memory: $(cat "$tmp/out.txt")"
grep -q '"weight_mem": \[' "$tmp/noact.json" || fail "imported profile lacks weights"
grep -q '0.051' "$tmp/noact.json" || fail "imported profile lacks the pp=2 latencies"
if grep -q '"act_mem"' "$tmp/noact.json"; then fail "act_mem invented for a profile without it"; fi
# The full example has activation memory everywhere: no warning.
"$bin" import-profiles --csv examples/profiles/reference_profiles.tsv --out "$tmp/imp2.json" > "$tmp/out.txt" 2>&1
if grep -qi "activation" "$tmp/out.txt"; then fail "warning for a CSV with activation memory"; fi

printf 'm\t1\t1\t1\t1\t1\t1\t0\t0\t0\t[1]\t[1]\t[0.1]\n' > "$tmp/bad.tsv"
set +e
"$bin" import-profiles --csv "$tmp/bad.tsv" --out "$tmp/x.json" > "$tmp/out.txt" 2>&1; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "bad csv exited $rc, expected 2"
grep -q "bad.tsv: line 1, column StagePeakMem(B)" "$tmp/out.txt" || fail "bad csv message: $(cat "$tmp/out.txt")"
echo "ok"
