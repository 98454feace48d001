#!/usr/bin/env bash
# Weights over CAF (docs/real-execution.md "Weights over CAF"): a 2-node local cpu cluster whose
# node-1 runs in its own mount namespace with the models folder hidden (an empty tmpfs over it).
# The placement puts a 2-stage pipeline of bert-tiny across node-0 | node-1 and a 2-way tensor-
# parallel bert-tiny on node-1; both read their weights from a safetensors file under the hidden
# folder. Checks: node-1's log says each of its ranks fetched the weights over CAF from node-0,
# node-0 loaded its stage from the file (no fetch), and both models' served logits
# (`submit --print-result`) equal a NumPy implementation (lib/model_numpy_ref.py) within
# max|served - numpy| <= 2e-5 * max(1, max|numpy|), as tests/integration/model_numpy.sh.
# The smallest caf.max_message_bytes (2 MiB: 512 KiB chunks) makes the large tensors take several.
# Needs unshare + mount (root): exits 77 (skipped) when they are not permitted.
set -u
ROOT=$(pwd)
REF="$ROOT/tests/integration/lib/model_numpy_ref.py"
source "$ROOT/tests/integration/lib/up_cluster.sh"
fail() {
  echo "FAIL: $*"
  for f in node0.log node1.log; do [ -f "$WORK/$f" ] && { echo "--- $f"; tail -25 "$WORK/$f"; }; done
  exit 1
}
source "$(dirname "$0")/lib/numpy_python.sh"
mkdir -p "$WORK/probe"
if ! unshare -m sh -c "mount -t tmpfs none '$WORK/probe'" 2>/dev/null; then
  echo "SKIP: unshare -m / mount -t tmpfs not permitted here"
  exit 77
fi
export OPENBLAS_NUM_THREADS=1
TOL=2e-5
cd "$WORK"

"$BIN" model export --architecture bert-tiny --seed 1 --out models/tiny >/dev/null ||
  fail "export bert-tiny"
WEIGHTS="$WORK/models/tiny/model.safetensors"
port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P0=$(port)
P1=$(port)
{
  printf '[[nodes]]\nname = "node-0"\nhost = "127.0.0.1"\nport = %s\nroles = ["controller", "worker"]\n' "$P0"
  printf 'devices = [{ kind = "cpu", count = 1, memory_gib = 1 }]\n'
  printf '[[nodes]]\nname = "node-1"\nhost = "127.0.0.1"\nport = %s\nroles = ["worker"]\n' "$P1"
  printf 'devices = [{ kind = "cpu", count = 3, memory_gib = 1 }]\n'
  for m in tiny-pipe tiny-tp; do
    printf '[[models]]\nname = "%s"\nprofile_file = "%s/examples/profiles/cpu-bert.json"\n' "$m" "$ROOT"
    printf 'architecture = "bert-tiny"\nweights = "models/tiny/model.safetensors"\nslo_ms = 5000\nrate = 1\n'
  done
  printf '[planner]\nplacement_file = "placement.json"\n'
  printf '[dispatcher]\nmax_payload_bytes = 1048576\n'
  printf '[caf]\nscheduler_policy = "sharing"\nmax_threads = 2\nmax_message_bytes = 2097152\n'
} >cluster.toml
cat >placement.json <<'EOF'
{
  "cluster": {"num_devices": 4, "mem_budget_gib": 1},
  "models": [{"name": "tiny-pipe", "slo": 5, "rate": 1}, {"name": "tiny-tp", "slo": 5, "rate": 1}],
  "groups": [
    {"op": 1, "pp": 2, "models": ["tiny-pipe"]},
    {"op": 2, "pp": 1, "models": ["tiny-tp"]}
  ]
}
EOF
"$BIN" config check cluster.toml >check.log 2>&1 || fail "config check: $(cat check.log)"

"$BIN" node --config "$WORK/cluster.toml" --name node-0 --startup-timeout 60 >node0.log 2>&1 &
# node-1 sees an empty models folder: the weights file is not there for it.
unshare -m sh -c "mount -t tmpfs none '$WORK/models' && test ! -e '$WEIGHTS' && \
  exec '$BIN' node --config '$WORK/cluster.toml' --name node-1 --startup-timeout 60" \
  >node1.log 2>&1 &
[ -r "$WEIGHTS" ] || fail "the weights file vanished for this (the outer) namespace"

served=""
for _ in $(seq 1 300); do
  if timeout 10 "$BIN" submit --config cluster.toml --model tiny-tp --shape 1,16 >/dev/null 2>&1 &&
    timeout 10 "$BIN" submit --config cluster.toml --model tiny-pipe --shape 1,16 >/dev/null 2>&1; then
    served=1
    break
  fi
  sleep 0.2
done
[ -n "$served" ] || fail "the cluster did not serve both models"

# Where things ran: the pipeline's stage 0 on node-0, its stage 1 and both tp ranks on node-1.
grep -q "node-0: loading group [0-9]* stage 0/2" node0.log || fail "no pipeline stage on node-0"
grep -q "node-1: loading group [0-9]* stage 1/2" node1.log || fail "no pipeline stage on node-1"
fetched=$(grep -c "weights of model .* fetched over CAF from node-0" node1.log)
grep "fetched over CAF" node1.log | sed 's/.*\] //'
[ "$fetched" = 3 ] || fail "node-1 fetched the weights $fetched times, expected 3 (pipe stage 1, tp ranks 0 and 1)"
grep -q "weights of model tiny-pipe fetched over CAF from node-0" node1.log || fail "no fetch for tiny-pipe"
grep -q "op rank 1/2: weights of model tiny-tp fetched over CAF from node-0" node1.log ||
  fail "no fetch for tp rank 1"
# Several chunks per large tensor: the head alone is 1024 x 256 f32 = 1 MiB, in 512 KiB chunks.
line=$(grep "weights of model tiny-pipe fetched" node1.log)
tensors=$(sed 's/.*(\([0-9]*\) tensors.*/\1/' <<<"$line")
chunks=$(sed 's/.* in \([0-9]*\) chunks.*/\1/' <<<"$line")
[ "${chunks:-0}" -gt $((${tensors:-0} + 5)) ] || fail "$chunks chunks for $tensors tensors: $line"
grep -q "fetched over CAF" node0.log && fail "node-0 can read the file but fetched over CAF"
grep -qi "error" node1.log && fail "errors on node-1: $(grep -i error node1.log | head -3)"

"$PY" "$REF" logits models/tiny 1,16 >want.json || fail "numpy reference"
for m in tiny-pipe tiny-tp; do
  timeout 30 "$BIN" submit --config cluster.toml --model $m --shape 1,16 --print-result \
    >"got-$m.txt" 2>&1 || fail "submit $m: $(cat "got-$m.txt")"
  res=$("$PY" "$REF" compare $TOL want.json "got-$m.txt") || fail "$m differs from numpy: $res"
  echo "$m [1,16]: $res"
done

# Kill the nodes (cleanup would find only node-0 by its command line inside the namespace too).
for p in $(jobs -p); do kill -INT "$p" 2>/dev/null; done
for _ in $(seq 1 50); do [ -z "$(jobs -pr)" ] && break; sleep 0.1; done
for p in $(jobs -pr); do kill -9 "$p" 2>/dev/null; done
echo PASS
