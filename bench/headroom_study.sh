#!/usr/bin/env bash
# Headroom study (issue #14 item 1, docs/policies.md "Where a longer search pays"): SLO
# attainment on the held-out test workload (--test-seed 1000) of mp-search-sep, ours with its
# default budget, and ours with a 10x budget plus restarts, with solve times (one thread).
#
# Usage: bench/headroom_study.sh path/to/alpaserve OUT.csv [CASES...]
# CASES (default: all): bert72 (72 models, devices DEVICES), syn16, syn32, s1, s2, s3, s4.
# Environment: DEVICES (bert72 device counts, default "36 38 40 42 44 46 48"), LONG (ours' long
# time budget in seconds, default 50 = 10x the default 5 s; candidates scale with it), RESTARTS
# (default 1000: the budget ends them), NICE (default 5).
set -u
BIN=$(readlink -f "${1:?usage: headroom_study.sh path/to/alpaserve OUT.csv [CASES...]}")
OUT=${2:?usage: headroom_study.sh path/to/alpaserve OUT.csv [CASES...]}
shift 2
CASES=${*:-"bert72 syn16 syn32 s1 s2 s3 s4"}
DEVICES=${DEVICES:-"36 38 40 42 44 46 48"}
LONG=${LONG:-50}
RESTARTS=${RESTARTS:-1000}
NICE=${NICE:-5}
BERT="bert-6.7b,bert-2.6b,bert-1.3b"
MIXED="bert-6.7b,moe-5.3b,bert-2.6b,moe-2.4b,bert-1.3b,moe-1.3b"

# N models cycling bert-6.7b, bert-2.6b, bert-1.3b (named like "x N" names them), as a list file.
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
bert_cycle() {
  local types=(bert-6.7b bert-2.6b bert-1.3b) i
  for ((i = 0; i < $1; i++)); do echo "${types[i % 3]} ${types[i % 3]}-$((i / 3))"; done >"$TMP/bert$1"
  echo "$TMP/bert$1"
}

[ -s "$OUT" ] || echo "case,devices,variant,test_attainment,train_attainment,train_score,solve_s,debug" >"$OUT"

# run CASE DEVICES VARIANT plan-args...
run() {
  local name=$1 devices=$2 variant=$3
  shift 3
  local extra=()
  case "$variant" in
    mp-search-sep) extra=(--policy mp-search-sep) ;;
    ours) extra=(--policy ours) ;;
    ours-long) extra=(--policy ours --time-budget "$LONG" --restarts "$RESTARTS") ;;
  esac
  local json
  json=$(nice -n "$NICE" "$BIN" plan "$@" --devices "$devices" --test-seed 1000 --threads 1 \
    --json --quiet "${extra[@]}" 2>/dev/null) || {
    echo "$name,$devices,$variant,,,,,failed" >>"$OUT"
    echo "$name $devices $variant: failed" >&2
    return
  }
  python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
dbg = " | ".join(l for l in j.get("debug", "").splitlines() if l.startswith("ours: ") and
                 ("accepted" in l or "restarts" in l)).replace(",", ";")
print("%s,%s,%s,%.6f,%.6f,%.6f,%.3f,%s" % (sys.argv[1], sys.argv[2], sys.argv[3],
      j["test_attainment"], j["train_attainment"], j["train_score"], j["solve_seconds"], dbg))
' "$name" "$devices" "$variant" <<<"$json" | tee -a "$OUT"
}

# case NAME "DEVICE COUNTS" plan-args...
sweep() {
  local name=$1 counts=$2
  shift 2
  for d in $counts; do
    for v in mp-search-sep ours ours-long; do run "$name" "$d" "$v" "$@"; done
  done
}

for c in $CASES; do
  case "$c" in
    # The 72-model case of docs/policies.md "Fewest devices" (2 r/s per model, power law, CV 4).
    bert72) sweep bert72 "$DEVICES" --models "$BERT x24" --cv 4 ;;
    # The reference's synthetic all-transformers cases at 16 / 16 and 32 / 32 (bench_policies).
    syn16) sweep syn16 16 --models "$(bert_cycle 16)" --cv 4 ;;
    syn32) sweep syn32 32 --models "$(bert_cycle 32)" --cv 4 ;;
    # The paper's S1-S4 at the fixed points of `alpaserve experiment s1..s4` (synthetic Gamma).
    s1) sweep s1 16 --models "bert-1.3b x48" --rate 40 --cv 4 ;;
    s2) sweep s2 48 --models "bert-6.7b x48" --rate 24 --cv 4 ;;
    s3) sweep s3 32 --models "$MIXED x8" --rate 28 --cv 4 ;;
    s4) sweep s4 64 --models "bert-103.5b x4" --rate 8 --cv 4 --slo-scale 2 ;;
    *) echo "unknown case $c" >&2 ;;
  esac
done
