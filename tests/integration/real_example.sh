#!/usr/bin/env bash
# The shipped real-execution example: `alpaserve up` on examples/cpu-cluster.toml (ports moved to
# free ones; its planner.placement_file) serves bert-small (op 2, pp 2 across two processes) and bert-tiny
# (pp 2); `alpaserve bench` reports attainment and latency; both models answer ok.
set -u
BIN=$(readlink -f "${1:?usage: real_example.sh path/to/alpaserve}")
ROOT=$(pwd)
WORK=$(mktemp -d /tmp/alpaserve-realex.XXXXXX)
UP=""
cleanup() {
  [ -n "$UP" ] && kill -INT "$UP" 2>/dev/null && sleep 1 && kill -9 "$UP" 2>/dev/null
  for p in $(pgrep -f -- "--config $WORK/cpu-cluster.toml --name"); do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -40 "$WORK/up.log"; exit 1; }
export OPENBLAS_NUM_THREADS=1

mkdir -p "$WORK/profiles" "$WORK/placements"
cp "$ROOT/examples/profiles/cpu-bert.json" "$WORK/profiles/"
cp "$ROOT/examples/placements/cpu-cluster.json" "$WORK/placements/"
read -r P0 P1 P2 < <(python3 -c '
import socket
ss=[socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1",0))
print(*[s.getsockname()[1] for s in ss])')
sed -e "s/port = 24720/port = $P0/" -e "s/port = 24721/port = $P1/" -e "s/port = 24722/port = $P2/" \
  "$ROOT/examples/cpu-cluster.toml" >"$WORK/cpu-cluster.toml"
"$BIN" up --config "$WORK/cpu-cluster.toml" >"$WORK/up.log" 2>&1 &
UP=$!
for _ in $(seq 1 200); do grep -q "cluster serving" "$WORK/up.log" && break; sleep 0.2; done
grep -q "cluster serving" "$WORK/up.log" || fail "up never reported serving"
for m in bert-small bert-tiny; do
  out=$(timeout 30 "$BIN" submit --config "$WORK/cpu-cluster.toml" --model $m --shape 1,64 2>&1) \
    || fail "submit $m: $out"
done
# The op 2 stages of bert-small show their all-reduce (Gloo on cpu) in inspect.
out=$(timeout 30 "$BIN" inspect --config "$WORK/cpu-cluster.toml" 2>&1) || fail "inspect: $out"
grep -q "all-reduce gloo" <<<"$out" || fail "inspect shows no all-reduce for the op 2 stages: $out"
out=$(timeout 60 "$BIN" bench --config "$WORK/cpu-cluster.toml" --duration 8 --shape 1,64 \
  --csv "$WORK/bench.csv" 2>&1) || fail "bench: $out"
echo "$out"
grep -q "SLO attainment" <<<"$out" || fail "no attainment"
grep -q "bert-small" <<<"$out" || fail "no per-model line"
python3 - "$WORK/bench.csv" <<'PY' || fail "too few requests served"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
ok = [r for r in rows if r["status"] == "ok"]
by = {m: sum(1 for r in ok if r["model"] == m) for m in ("bert-small", "bert-tiny")}
print("served:", by, "of", len(rows))
assert all(v > 0 for v in by.values()), by
assert len(ok) >= 0.5 * len(rows), (len(ok), len(rows))
PY
echo PASS
