#!/usr/bin/env bash
# planner/ and kernels/ must not include CAF (10 s per translation unit); planner/ not CUDA either.
set -u
cd "$(dirname "$0")/../.."
bad=$(grep -rnE '#include\s*[<"]caf/' planner kernels || true)
bad+=$(grep -rnE '#include\s*[<"](cuda|cublas|cudnn|nccl)' planner || true)
if [ -n "$bad" ]; then
  echo "layering violation:"; echo "$bad"; exit 1
fi
echo "layering ok: planner/ and kernels/ free of CAF, planner/ free of CUDA"
