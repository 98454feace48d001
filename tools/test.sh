#!/usr/bin/env bash
# The README's test command: configure, build everything, run the whole suite with CTest.
# Skipped tests (exit 77, e.g. CUDA tests without a GPU) are reported as skipped, not passed.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${ALPASERVE_BUILD_DIR:-build}
jobs=${ALPASERVE_JOBS:-$(nproc)}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build_dir" -j "$jobs"
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" "$@"
