#!/usr/bin/env bash
# Every Catch2 test case must be its own CTest test: a test name that CTest cannot pass back to
# Catch (e.g. an unbalanced '[') would otherwise merge several cases into one entry that runs none.
set -u
bin=$1
build=$(cd "$(dirname "$bin")/.." && pwd)
status=0
for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  cases=$("$t" --list-test-names-only 2>/dev/null | grep -c .)
  listing=$(ctest --test-dir "$build" -N 2>/dev/null)
  entries=$(grep -c "Test *#[0-9]*: $name:" <<<"$listing")
  if grep -q "Test *#[0-9]*: $name\$" <<<"$listing"; then
    echo "ok: $name runs as one CTest test (own main, e.g. skips with 77)"
    continue
  fi
  # Own main split by Catch tag into entries <name>/<part> (test_cuda_nccl: --gpus N per part).
  parts=$(grep -c "Test *#[0-9]*: $name/[a-z0-9]*\$" <<<"$listing")
  if [ "$parts" -gt 0 ]; then
    echo "ok: $name runs as $parts CTest tests by tag (own main, e.g. skips with 77)"
    continue
  fi
  if [ "$cases" -ne "$entries" ]; then
    echo "FAIL: $name has $cases test cases but $entries CTest entries"
    status=1
  else
    echo "ok: $name: $cases test cases, $entries CTest entries"
  fi
done
exit $status
