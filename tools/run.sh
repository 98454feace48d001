#!/usr/bin/env bash
# The README's run command: build, then start the built-in local demo.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${ALPASERVE_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target alpaserve
exec "$build_dir/bin/alpaserve" "${@:-demo}"
