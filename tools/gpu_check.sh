#!/usr/bin/env bash
# The whole GPU check in one command: every GPU test CTest knows in a CUDA build (test_kernels_cuda,
# test_cuda_cudnn, test_cuda_nccl/*, integration: real_cuda*) and bench_cuda_layers, then a summary
# table (docs/backends.md "Checking a GPU machine"). Build first (README); this only runs.
set -u

usage() {
  cat <<'EOF'
usage: tools/gpu_check.sh [options] [build-dir]

Runs every GPU test of a CUDA build (ctest: test_kernels_cuda, test_cuda_*, integration:
real_cuda*) and build-dir/bin/bench_cuda_layers, and prints a summary: each test passed /
failed / skipped, and the bench's figures per batch size.

  build-dir            the CMake build directory (default: build)
  --bench-args "ARGS"  arguments for bench_cuda_layers (default: "--layers 8 --reps 20")
  --no-bench           run the tests only
  --log-dir DIR        keep the ctest and bench output there (default: a temporary directory,
                       removed at exit unless something failed)
  -h, --help           this text

Exit status: 0 when a GPU was found and every test ran and passed (the two-GPU tests may skip
on a machine with one GPU) and the bench ran; 77 when there is no GPU (nvidia-smi absent or
listing no device) and so everything skipped; 1 on any failure, or a skip on a machine that has
a GPU; 2 on a usage error.
EOF
}

BUILD=build
BENCH_ARGS="--layers 8 --reps 20"
RUN_BENCH=1
LOG_DIR=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --bench-args) [ $# -ge 2 ] || { echo "--bench-args needs a value" >&2; exit 2; }
      BENCH_ARGS=$2; shift 2 ;;
    --no-bench) RUN_BENCH=0; shift ;;
    --log-dir) [ $# -ge 2 ] || { echo "--log-dir needs a value" >&2; exit 2; }
      LOG_DIR=$2; shift 2 ;;
    -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    *) BUILD=$1; shift ;;
  esac
done
if [ ! -f "$BUILD/CTestTestfile.cmake" ]; then
  echo "gpu_check: $BUILD is not a configured build directory (see --help)" >&2
  exit 2
fi
BUILD=$(cd "$BUILD" && pwd)
KEEP_LOGS=1
if [ -z "$LOG_DIR" ]; then
  LOG_DIR=$(mktemp -d /tmp/alpaserve-gpu-check.XXXXXX)
  KEEP_LOGS=0
fi
mkdir -p "$LOG_DIR"
LOG_DIR=$(cd "$LOG_DIR" && pwd)

# GPUs as the driver lists them; 0 without nvidia-smi.
GPUS=0
GPU_NOTE="nvidia-smi not found"
if command -v nvidia-smi >/dev/null 2>&1; then
  GPUS=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
  GPUS=${GPUS:-0}
  GPU_NOTE=$(nvidia-smi -L 2>/dev/null | head -1)
  [ -n "$GPU_NOTE" ] || GPU_NOTE="nvidia-smi lists no device"
fi

# The GPU tests: a CUDA build registers them (tests/CMakeLists.txt); each exits 77 without the
# devices it needs. Names with 2gpu or real_cuda_pipeline need two GPUs.
GPU_TESTS='^(test_kernels_cuda|test_cuda_.*|integration: real_cuda.*)$'
NEEDS_TWO='2gpu|real_cuda_pipeline'

ctest --test-dir "$BUILD" -R "$GPU_TESTS" --output-on-failure >"$LOG_DIR/ctest.log" 2>&1
# "  3/7 Test #390: test_cuda_cudnn ..........***Skipped   0.01 sec" -> name <TAB> outcome
names=()
results=()
while IFS=$'\t' read -r name outcome; do
  [ -n "$name" ] || continue
  names+=("$name")
  results+=("$outcome")
done < <(sed -nE 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: (.*[^ ]) +\.+ *(.*)$/\1\t\2/p' \
  "$LOG_DIR/ctest.log")

passed=0 failed=0 skipped=0 unexpected=0 gpu_ran=0
rows=()
for i in "${!names[@]}"; do
  name=${names[$i]}
  outcome=${results[$i]}
  if [[ $outcome =~ ^Passed ]]; then
    status=passed
    passed=$((passed + 1))
    [[ $name =~ nogpu ]] || gpu_ran=1
  elif [[ $outcome =~ Skipped ]]; then
    status=skipped
    skipped=$((skipped + 1))
    if [[ $name =~ $NEEDS_TWO ]] && [ "$GPUS" -lt 2 ]; then
      status="skipped (needs 2 GPUs)"
    elif [ "$GPUS" -gt 0 ]; then
      status="skipped (a GPU is present!)"
      unexpected=$((unexpected + 1))
    fi
  else
    outcome=${outcome#\*\*\*}
    status="FAILED (${outcome%% *})"
    failed=$((failed + 1))
  fi
  rows+=("$(printf '%-44s %s' "$name" "$status")")
done

# The bench: batch lines and, in builds with cuDNN, the attention comparison lines.
bench_status="not run (--no-bench)"
bench_rc=0
BENCH="$BUILD/bin/bench_cuda_layers"
if [ $RUN_BENCH = 1 ]; then
  if [ ! -x "$BENCH" ]; then
    bench_status="FAILED (missing: $BENCH)"
    bench_rc=1
  else
    # shellcheck disable=SC2086  # BENCH_ARGS is a word list on purpose
    "$BENCH" $BENCH_ARGS >"$LOG_DIR/bench.log" 2>&1
    bench_rc=$?
    case $bench_rc in
      0) bench_status=passed; gpu_ran=1 ;;
      77) bench_status=skipped; bench_rc=0
        if [ "$GPUS" -gt 0 ]; then bench_status="skipped (a GPU is present!)"; bench_rc=1; fi ;;
      *) bench_status="FAILED (exit $bench_rc)" ;;
    esac
  fi
fi

echo "GPU check: build $BUILD; $GPUS GPU(s) ($GPU_NOTE)"
echo
printf '%-44s %s\n' "test" "result"
printf '%-44s %s\n' "----" "------"
for r in "${rows[@]}"; do echo "$r"; done
printf '%-44s %s\n' "bench_cuda_layers $BENCH_ARGS" "$bench_status"
echo
if [ "$bench_status" = passed ]; then
  head -1 "$LOG_DIR/bench.log"
  printf '%-6s %12s %10s %14s %9s %12s %12s %14s\n' batch "backend ms" "TFLOP/s" "cuBLAS-only ms" \
    ratio "kernel ms" "cudnn ms" "kernel/cudnn"
  # batch lines: "batch  N: backend X ms Y TFLOP/s | cuBLAS GEMMs alone Z ms ... | ratio R | ..."
  # attention lines: "attention batch  N: fused kernel K ms | cuBLAS + cuDNN softmax D ms | ..."
  awk '
    /^batch / { b = $2; sub(":", "", b); order[++n] = b; ms[b] = $4; tf[b] = $6
                for (i = 1; i <= NF; ++i) {
                  if ($i == "alone" && !(b in gm)) gm[b] = $(i + 1)
                  if ($i == "ratio" && !(b in ratio)) ratio[b] = $(i + 1)
                } }
    /^attention batch / { b = $3; sub(":", "", b); k[b] = $6; d[b] = $13; s[b] = $NF }
    END { for (i = 1; i <= n; ++i) { b = order[i]
            printf "%-6s %12s %10s %14s %9s %12s %12s %14s\n", b, ms[b], tf[b], gm[b], ratio[b],
              (b in k) ? k[b] : "-", (b in d) ? d[b] : "-", (b in s) ? s[b] : "-" } }
  ' "$LOG_DIR/bench.log"
  echo "(ratio: time of the bare cuBLAS GEMMs / the backend's; kernel/cudnn above 1: the cuDNN"
  echo " attention path is faster; --log-dir keeps the bench's own output)"
  echo
fi
echo "tests: ${#rows[@]} run, $passed passed, $failed failed, $skipped skipped"

status=0
if [ ${#rows[@]} = 0 ]; then
  echo "no GPU tests in this build (configured without CUDA?)"
  status=1
  [ "$GPUS" = 0 ] && status=77
elif [ $failed -gt 0 ] || [ $bench_rc != 0 ] || [ $unexpected -gt 0 ]; then
  status=1
elif [ $gpu_ran = 0 ]; then
  echo "no GPU: every GPU test skipped (exit 77)"
  status=77
fi
if [ $status = 1 ]; then
  echo "GPU check FAILED; ctest and bench output: $LOG_DIR"
elif [ $status = 0 ]; then
  echo "GPU check passed"
fi
if [ $KEEP_LOGS = 0 ] && [ $status != 1 ]; then rm -rf "$LOG_DIR"; fi
exit $status
