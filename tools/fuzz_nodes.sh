#!/usr/bin/env bash
# Long mode of tests/integration/runtime_fuzz.sh: hostile network input against every node port
# of a 3-node emulated cluster under bench load, plain text then TLS, for --minutes each.
# usage: tools/fuzz_nodes.sh [--bin path/to/alpaserve] [--minutes N (10)] [--modes "plain tls"]
set -u
HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN="$HERE/build/bin/alpaserve"
MINUTES=10
MODES="plain tls"
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$2; shift 2 ;;
    --minutes) MINUTES=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "fuzz_nodes.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
SECS=$(python3 -c "print(max(5, int(float('$MINUTES') * 60)))")
exec bash "$HERE/tests/integration/runtime_fuzz.sh" "$BIN" "$SECS" "$MODES"
