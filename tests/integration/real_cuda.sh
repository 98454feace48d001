#!/usr/bin/env bash
# The cuda backend end to end: `alpaserve profile --device cuda` measures bert-tiny on the GPU,
# and a one-node cluster with a cuda device serves it (bench --overhead: every request ok, measured
# vs profiled stage time printed). The numerics of the CUDA backend against the CPU one are
# checked by test_kernels_cuda; bench_cuda_layers (the backend vs bare cuBLAS) runs once, short.
# Skipped (exit 77) on machines without a CUDA device.
set -u
BIN=$(readlink -f "${1:?usage: real_cuda.sh path/to/alpaserve}")
WORK=$(mktemp -d /tmp/alpaserve-cuda.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$WORK"/*.log; do echo "--- $f"; tail -20 "$f"; done; exit 1; }

"$BIN" profile --model bert-tiny --device cuda --batch-sizes 1,2 --ops 1 --pps 1,2 --quiet \
  --out "$WORK/p.json" >"$WORK/profile.log" 2>&1
rc=$?
if [ $rc = 77 ]; then echo "SKIP: no CUDA device"; exit 77; fi
[ $rc = 0 ] || fail "profile --device cuda exited $rc"
cat "$WORK/profile.log"

P0=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$WORK/cluster.toml" <<TOML
name = "it-cuda"
[[nodes]]
name = "gpu"
host = "127.0.0.1"
port = $P0
roles = ["controller", "worker"]
devices = [{ kind = "cuda", count = 1, memory_gib = 8 }]
[[models]]
name = "tiny"
profile_file = "p.json"
architecture = "bert-tiny"
slo_ms = 1000
rate = 5
TOML
"$BIN" node --config "$WORK/cluster.toml" --name gpu --startup-timeout 30 >"$WORK/node.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 150); do grep -q "dispatcher serving" "$WORK/node.log" && break; sleep 0.2; done
grep -q "dispatcher serving" "$WORK/node.log" || fail "cluster never served"
out=$(timeout 60 "$BIN" bench --config "$WORK/cluster.toml" --overhead 40 --shape 1,64 2>&1) \
  || fail "bench --overhead: $out"
echo "$out"
grep -q "stage 0: measured run p50" <<<"$out" || fail "no stage comparison"

# The GPU efficiency benchmark runs wherever this test does (short: 2 layers, 5 repeats).
BENCH="$(dirname "$BIN")/bench_cuda_layers"
[ -x "$BENCH" ] || fail "$BENCH missing from a CUDA build"
bench=$("$BENCH" --layers 2 --reps 5 2>&1) || fail "bench_cuda_layers: $bench"
echo "$bench"
[ "$(grep -c '^batch .* ratio ' <<<"$bench")" = 5 ] || fail "bench_cuda_layers: not 5 batch sizes"
echo PASS
