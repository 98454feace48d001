# Sourced by integration scripts that run a cluster with `alpaserve up` from $WORK/cluster.toml.
# Sets BIN (the alpaserve binary, first argument), WORK (a fresh temp dir, removed on exit) and
# UP (set it to up's pid); on exit, up is stopped with SIGINT (then SIGKILL) and any node left
# over is killed. Scripts define their own fail().
set -u
BIN=$(readlink -f "${1:?usage: $(basename "$0") path/to/alpaserve}")
WORK=$(mktemp -d "/tmp/alpaserve-$(basename "$0" .sh).XXXXXX")
UP=""
cleanup() {
  if [ -n "$UP" ]; then
    kill -INT "$UP" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$UP" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$UP" 2>/dev/null
  fi
  for p in $(pgrep -f -- "--config $WORK/cluster.toml --name"); do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
