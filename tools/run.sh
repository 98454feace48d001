#!/usr/bin/env bash
# The README's run command: build, then `alpaserve up` (the built-in local demo cluster) or the
# subcommand given as arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${ALPASERVE_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target alpaserve
if [ $# -eq 0 ]; then set -- up; fi
exec "$build_dir/bin/alpaserve" "$@"
