#!/usr/bin/env bash
# Bring your own model, checked against an independent implementation (docs/models.md):
# model folders (a seeded bert-tiny export, a small MoE exported from a definition, and a random
# checkpoint in Hugging Face BERT naming converted by `model import-hf`) are profiled by
# `alpaserve profile --model-folder`, served by one local cpu cluster (bert on a single device, a
# 2-stage pipeline and 2-way tensor parallel, the MoE the same three ways, the HF import on a
# single device and as a batch of 2), and every served output (`submit --print-result`) equals a
# from-scratch NumPy implementation of the documented layers (lib/model_numpy_ref.py, float64)
# within max|served - numpy| <= 2e-5 * max(1, max|numpy|). Bad input: folders with a missing
# tensor, a wrong shape or a wrong dtype are refused naming the file and the tensor; an input of
# the wrong shape is answered rejected_bad_input and the model keeps serving.
set -u
BIN=$(readlink -f "${1:?usage: model_numpy.sh path/to/alpaserve}")
ROOT=$(pwd)
REF="$ROOT/tests/integration/lib/model_numpy_ref.py"
source "$(dirname "$0")/lib/numpy_python.sh"
WORK=$(mktemp -d /tmp/alpaserve-numpy.XXXXXX)
UP=""
cleanup() {
  [ -n "$UP" ] && kill -INT "$UP" 2>/dev/null && sleep 1 && kill -9 "$UP" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$WORK/up.log" ] && tail -30 "$WORK/up.log"; exit 1; }
export OPENBLAS_NUM_THREADS=1
TOL=2e-5
cd "$WORK"

# --- the folders ---------------------------------------------------------------------------
"$BIN" model export --architecture bert-tiny --seed 1 --out tiny >/dev/null || fail "export bert-tiny"
cat >moe.json <<'EOF'
{"kind": "moe", "hidden": 64, "heads": 4, "ffn": 128, "layers": 2, "vocab": 100, "seq_len": 32,
 "experts": 4, "expert_every": 2, "top_k": 2, "activation": "gelu_erf"}
EOF
"$BIN" model export --definition moe.json --seed 3 --out moe >/dev/null || fail "export moe"
"$PY" "$REF" write-hf hf-ckpt || fail "write the HF checkpoint"
out=$("$BIN" model import-hf --from hf-ckpt --out hf 2>&1) || fail "import-hf: $out"
grep -q "activation gelu_erf" <<<"$out" || fail "import-hf did not pick the erf GELU: $out"

out=$("$BIN" model export --architecture bert-tinyy --out x 2>&1); rc=$?
[ $rc = 2 ] && grep -q "unknown model architecture 'bert-tinyy'" <<<"$out" || fail "export typo: rc $rc: $out"
cp -r hf-ckpt hf-bad
"$PY" - hf-bad/model.safetensors "$REF" <<'PY' || fail "could not break the HF checkpoint"
import sys, importlib.util
spec = importlib.util.spec_from_file_location("ref", sys.argv[2]); ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
t = dict(ref.read_st(sys.argv[1])); del t["encoder.layer.1.attention.self.key.bias"]; ref.write_st(sys.argv[1], t)
PY
out=$("$BIN" model import-hf --from hf-bad --out hf-bad-out 2>&1); rc=$?
[ $rc = 2 ] && grep -q "missing tensor 'encoder.layer.1.attention.self.key.bias'" <<<"$out" ||
  fail "import-hf of a checkpoint without a tensor: rc $rc: $out"
sed -i 's/"gelu"/"relu"/' hf-bad/config.json
out=$("$BIN" model import-hf --from hf-bad --out hf-bad-out 2>&1); rc=$?
[ $rc = 2 ] && grep -q "config.json: key 'hidden_act': 'relu' is not supported" <<<"$out" ||
  fail "import-hf with hidden_act relu: rc $rc: $out"

# --- bad folders: refused naming the file and the tensor ------------------------------------
for how in missing shape dtype; do
  "$PY" "$REF" break moe "bad-$how" "$how" || fail "break $how"
  out=$("$BIN" profile --model-folder "bad-$how" --out p.json --quiet 2>&1); rc=$?
  [ $rc = 2 ] || fail "profile of a folder with a $how tensor exited $rc: $out"
  case $how in
    missing) want="bad-missing/model.safetensors': missing tensor 'layers.0.ffn.fc2.weight'" ;;
    shape) want="tensor 'layers.0.attn.out.weight' has shape [64, 32], expected [64, 64]" ;;
    dtype) want="tensor 'embed.norm.bias' has dtype F64" ;;
  esac
  grep -qF "$want" <<<"$out" || fail "profile: no '$want' in: $out"
  printf '[[nodes]]\nname = "n"\nhost = "127.0.0.1"\nport = 1\nroles = ["controller", "worker"]\ndevices = [{ kind = "cpu", count = 1, memory_gib = 1 }]\n[[models]]\nname = "m"\nprofile_file = "p.json"\nfolder = "bad-%s"\nslo_ms = 1000\nrate = 1\n' "$how" >bad.toml
  echo '{}' >p.json
  out=$("$BIN" config check bad.toml 2>&1); rc=$?
  [ $rc = 2 ] || fail "config check of a $how folder exited $rc: $out"
  grep -qF "$want" <<<"$out" && grep -q "bad.toml:10:[0-9]*: models\[0\].folder" <<<"$out" && grep -q "folder" <<<"$out" ||
    fail "config check: no file:line:key with '$want' in: $out"
done
echo "bad folders refused (missing tensor, wrong shape, wrong dtype)"

# --- profiles ------------------------------------------------------------------------------
for m in tiny moe hf; do
  "$BIN" profile --model-folder $m --batch-sizes 1,2 --ops 1,2 --pps 1,2 --seq 16 --repeats 1 \
    --gap-ms 0 --out "profile-$m.json" --quiet >"profile-$m.log" 2>&1 ||
    fail "profile $m: $(cat "profile-$m.log")"
done
grep -q '"name": "tiny"' profile-tiny.json || grep -q '"tiny"' profile-tiny.json ||
  fail "profile-tiny.json names no model 'tiny'"

# --- one cluster: 11 cpu devices (threads; mostly idle) --------------------------------------------------------------
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{
  printf '[[nodes]]\nname = "node-0"\nhost = "127.0.0.1"\nport = %s\nroles = ["controller", "worker"]\n' "$PORT"
  printf 'devices = [{ kind = "cpu", count = 11, memory_gib = 1 }]\n'
  for spec in tiny-single:tiny tiny-pipe:tiny tiny-tp:tiny moe-single:moe moe-pipe:moe moe-tp:moe hf-single:hf; do
    printf '[[models]]\nname = "%s"\nprofile_file = "profile-%s.json"\nfolder = "%s"\nslo_ms = 5000\nrate = 1\n' \
      "${spec%%:*}" "${spec##*:}" "${spec##*:}"
  done
  printf '[planner]\nplacement_file = "placement.json"\n[caf]\nscheduler_policy = "sharing"\nmax_threads = 2\n'
} >cluster.toml
cat >placement.json <<'EOF'
{
  "cluster": {"num_devices": 11, "mem_budget_gib": 1},
  "models": [
    {"name": "tiny-single", "slo": 5, "rate": 1}, {"name": "tiny-pipe", "slo": 5, "rate": 1},
    {"name": "tiny-tp", "slo": 5, "rate": 1}, {"name": "moe-single", "slo": 5, "rate": 1},
    {"name": "moe-pipe", "slo": 5, "rate": 1}, {"name": "moe-tp", "slo": 5, "rate": 1},
    {"name": "hf-single", "slo": 5, "rate": 1}
  ],
  "groups": [
    {"op": 1, "pp": 1, "models": ["tiny-single"]},
    {"op": 1, "pp": 2, "models": ["tiny-pipe"]},
    {"op": 2, "pp": 1, "models": ["tiny-tp"]},
    {"op": 1, "pp": 1, "models": ["moe-single"]},
    {"op": 1, "pp": 2, "models": ["moe-pipe"]},
    {"op": 2, "pp": 1, "models": ["moe-tp"]},
    {"op": 1, "pp": 1, "models": ["hf-single"]}
  ]
}
EOF
"$BIN" up --config cluster.toml >up.log 2>&1 &
UP=$!
for _ in $(seq 1 300); do grep -q "cluster serving" up.log && break; sleep 0.2; done
grep -q "cluster serving" up.log || fail "up never reported serving"

"$PY" "$REF" logits tiny 1,16 >want-tiny.json || fail "numpy tiny"
"$PY" "$REF" logits moe 1,16 >want-moe.json || fail "numpy moe"
"$PY" "$REF" hf-logits hf-ckpt 1,16 >want-hf.json || fail "numpy hf"
"$PY" "$REF" hf-logits hf-ckpt 2,16 >want-hf2.json || fail "numpy hf batch 2"
check() {  # model, shape, expected
  timeout 30 "$BIN" submit --config cluster.toml --model "$1" --shape "$2" --print-result \
    >"got-$1.txt" 2>&1 || fail "submit $1: $(cat "got-$1.txt")"
  res=$("$PY" "$REF" compare $TOL "$3" "got-$1.txt") || fail "$1 ($2) differs from numpy: $res"
  echo "$1 [$2]: $res"
}
check tiny-single 1,16 want-tiny.json
check tiny-pipe 1,16 want-tiny.json
check tiny-tp 1,16 want-tiny.json
check moe-single 1,16 want-moe.json
check moe-pipe 1,16 want-moe.json
check moe-tp 1,16 want-moe.json
check hf-single 1,16 want-hf.json
check hf-single 2,16 want-hf2.json

# --- bad input: an explicit error reply, and the worker keeps serving -------------------------
out=$(timeout 30 "$BIN" submit --config cluster.toml --model tiny-single --shape 1,16,3 2>&1); rc=$?
[ $rc = 4 ] && grep -q "rejected_bad_input" <<<"$out" || fail "wrong input shape: rc $rc: $out"
grep -q "is not \[batch, seq\] token ids" <<<"$out" || fail "the rejection does not say why: $out"
echo "wrong shape: $(grep -o 'rejected_bad_input.*' <<<"$out" | head -c 200)"
check tiny-single 1,16 want-tiny.json
echo PASS
