#!/usr/bin/env bash
# planner/, kernels/ and metrics/ must not include CAF (10 s per translation unit); planner/ not
# CUDA either; metrics/ includes no other alpaserve layer (actors/ and tools/ call into it).
set -u
build_dir=""
[ -n "${1:-}" ] && build_dir=$(dirname "$(dirname "$(readlink -f "$1")")")  # <build>/bin/alpaserve
cd "$(dirname "$0")/../.."
bad=$(grep -rnE '#include\s*[<"]caf/' planner kernels metrics || true)
bad+=$(grep -rnE '#include\s*[<"](cuda|cublas|cudnn|nccl)' planner || true)
bad+=$(grep -rnE '#include\s*[<"](planner|config|kernels|net|actors|tools)/' metrics || true)
# tools/ reaches the runtime only through net/client.hpp and actors/node_runtime.hpp, which
# include no CAF: checked on what the compiler actually reads (build/compile_commands.json).
bad+=$(grep -rnE '#include\s*[<"]caf/' tools || true)
cc=${build_dir:-build}/compile_commands.json
if [ -f "$cc" ]; then
  bad+=$(python3 - "$cc" <<'PY'
import json, shlex, subprocess, sys
for e in json.load(open(sys.argv[1])):
    if "/tools/" not in e["file"]:
        continue
    args, skip = [], False
    for a in shlex.split(e["command"]):
        if skip:
            skip = False
            continue
        if a in ("-o", "-MF", "-MT"):
            skip = True
            continue
        if a in ("-c", "-MD"):
            continue
        args.append(a)
    deps = subprocess.run(args + ["-M"], cwd=e["directory"], capture_output=True, text=True)
    if deps.returncode != 0:
        print(f"{e['file']}: could not list its includes")
    elif "/caf/" in deps.stdout:
        print(f"{e['file']} includes CAF (through its headers)")
PY
)
fi
if [ -n "$bad" ]; then
  echo "layering violation:"; echo "$bad"; exit 1
fi
echo "layering ok: planner/, kernels/, metrics/ and tools/ free of CAF, planner/ free of CUDA," \
  "metrics/ free of other layers"
