#!/usr/bin/env bash
# A cuda pipeline across two GPUs: bert-tiny on (op 1, pp 2) over devices 0 and 1 of one node,
# so stage 0 hands its activations to stage 1 over an NCCL link (ncclSend / ncclRecv, no host
# copy). Checks that inspect reports the link, that every request is answered ok, and that the
# logits equal those of the same model on one device (pp 1) to 1e-3 relative error (fp16
# storage on both). Skipped (exit 77) with fewer than two CUDA devices.
set -u
BIN=$(readlink -f "${1:?usage: real_cuda_pipeline.sh path/to/alpaserve}")
gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
if [ "${gpus:-0}" -lt 2 ]; then echo "SKIP: ${gpus:-0} CUDA device(s), this test needs 2"; exit 77; fi
WORK=$(mktemp -d /tmp/alpaserve-cuda-pp.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$WORK"/*.log; do echo "--- $f"; tail -30 "$f"; done; exit 1; }

"$BIN" profile --model bert-tiny --device cuda --batch-sizes 1 --ops 1 --pps 1,2 --quiet \
  --out "$WORK/p.json" >"$WORK/profile.log" 2>&1 || fail "profile --device cuda"

start_cluster() {  # $1: pp of the group holding both models
  P0=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$WORK/placement.json" <<JSON
{"cluster": {"num_devices": 2, "mem_budget_gib": 8},
 "models": [{"name": "tiny", "slo": 1.0, "rate": 5}],
 "groups": [{"op": 1, "pp": $1, "models": ["tiny"]}]}
JSON
  cat >"$WORK/cluster.toml" <<TOML
name = "it-cuda-pp"
[[nodes]]
name = "gpu"
host = "127.0.0.1"
port = $P0
roles = ["controller", "worker"]
devices = [{ kind = "cuda", count = 2, memory_gib = 8 }]
[[models]]
name = "tiny"
profile_file = "p.json"
architecture = "bert-tiny"
seed = 3
slo_ms = 1000
rate = 5
[planner]
placement_file = "placement.json"
TOML
  "$BIN" node --config "$WORK/cluster.toml" --name gpu --startup-timeout 60 >"$WORK/node-pp$1.log" 2>&1 &
  NODE=$!
  PIDS+=($NODE)
  for _ in $(seq 1 300); do grep -q "dispatcher serving" "$WORK/node-pp$1.log" && break; sleep 0.2; done
  grep -q "dispatcher serving" "$WORK/node-pp$1.log" || fail "pp $1 cluster never served"
}

start_cluster 2
status=$("$BIN" inspect --config "$WORK/cluster.toml" 2>&1) || fail "inspect: $status"
grep -q "activations over NCCL" <<<"$status" || fail "no NCCL link in inspect: $status"
grep -q "activations over NCCL link" "$WORK/node-pp2.log" || fail "no link in the node log"
out=$(timeout 120 "$BIN" bench --config "$WORK/cluster.toml" --overhead 30 --shape 1,64 2>&1) \
  || fail "bench --overhead over the link: $out"
echo "$out"
"$BIN" submit --config "$WORK/cluster.toml" --model tiny --shape 1,8 --print-result \
  >"$WORK/pp2.out" 2>&1 || fail "submit over the link: $(cat "$WORK/pp2.out")"
kill "$NODE"; wait "$NODE" 2>/dev/null

start_cluster 1
"$BIN" submit --config "$WORK/cluster.toml" --model tiny --shape 1,8 --print-result \
  >"$WORK/pp1.out" 2>&1 || fail "submit on one device: $(cat "$WORK/pp1.out")"
python3 - "$WORK/pp2.out" "$WORK/pp1.out" <<'PY' || fail "pp 2 over NCCL differs from pp 1"
import re, sys
def nums(path):
    line = [l for l in open(path) if l.startswith("result [")][0]
    return [float(x) for x in line.split(":", 1)[1].split()]
a, b = nums(sys.argv[1]), nums(sys.argv[2])
assert a and len(a) == len(b), (len(a), len(b))
err = max(abs(x - y) for x, y in zip(a, b)) / max(abs(y) for y in b)
print(f"pp 2 over NCCL vs pp 1: {len(a)} values, relative error {err:.2e}")
assert err < 1e-3
PY
echo PASS
