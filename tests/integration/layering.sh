#!/usr/bin/env bash
# planner/, kernels/ and metrics/ must not include CAF (10 s per translation unit); planner/ not
# CUDA either; metrics/ includes no other alpaserve layer (actors/ and tools/ call into it).
set -u
cd "$(dirname "$0")/../.."
bad=$(grep -rnE '#include\s*[<"]caf/' planner kernels metrics || true)
bad+=$(grep -rnE '#include\s*[<"](cuda|cublas|cudnn|nccl)' planner || true)
bad+=$(grep -rnE '#include\s*[<"](planner|config|kernels|net|actors|tools)/' metrics || true)
if [ -n "$bad" ]; then
  echo "layering violation:"; echo "$bad"; exit 1
fi
echo "layering ok: planner/, kernels/ and metrics/ free of CAF, planner/ free of CUDA," \
  "metrics/ free of other layers"
