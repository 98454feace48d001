#!/usr/bin/env bash
# Soak test: a 3-node emulated cluster (or --config F) serves ~80 % of its capacity for a given
# time while every node process's RSS and open file descriptors are sampled into a CSV. At the
# end it reports whether any process grew beyond its level of the warm-up (the first 5 minutes,
# or the first sixth of a run shorter than 30 minutes) by more than 5 % (file descriptors: 5 %
# and at least 2), and exits 1 if one did.
#
# usage: tools/soak.sh [--bin path/to/alpaserve] [--minutes N (30)] [--interval S (10)]
#                      [--rate R (r/s; default 80 % of the built-in cluster's capacity)]
#                      [--config F (a cluster already described; started here with `up`)]
#                      [--tls] [--csv out.csv] [--chunk S (bench run length, 60)]
# The built-in cluster: 3 nodes x 1 emulated V100, 3 models of test-2GB-100ms (0.1 s each; the
# planner puts every model on every device, so ~30 r/s); 80 % = 24 r/s.
set -u
HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN="$HERE/build/bin/alpaserve"
MINUTES=30
INTERVAL=10
RATE=""
CONFIG=""
TLS=false
CSV=""
CHUNK=60
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$2; shift 2 ;;
    --minutes) MINUTES=$2; shift 2 ;;
    --interval) INTERVAL=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --config) CONFIG=$(readlink -f "$2"); shift 2 ;;
    --tls) TLS=true; shift ;;
    --csv) CSV=$2; shift 2 ;;
    --chunk) CHUNK=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "soak.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
BIN=$(readlink -f "$BIN")
[ -x "$BIN" ] || { echo "soak.sh: no alpaserve at $BIN (--bin)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/alpaserve-soak.XXXXXX)
[ -n "$CSV" ] || CSV="$WORK/soak.csv"
UP=""
cleanup() {
  [ -n "$UP" ] && kill -INT "$UP" 2>/dev/null && sleep 2 && kill -9 "$UP" 2>/dev/null
  for p in $(pgrep -f -- "--config $CFG --name"); do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  case "$CSV" in "$WORK"/*) ;; *) rm -rf "$WORK" ;; esac  # keep the folder only if it holds the CSV
}
trap cleanup EXIT

if [ -z "$CONFIG" ]; then
  read -r P0 P1 P2 < <(python3 -c '
import socket
ss=[socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1",0))
print(*[s.getsockname()[1] for s in ss])')
  CFG="$WORK/cluster.toml"
  {
    echo 'name = "soak"'
    for i in 0 1 2; do
      port=$(eval echo "\$P$i")
      echo "[[nodes]]"
      echo "name = \"n$i\""
      echo 'host = "127.0.0.1"'
      echo "port = $port"
      [ $i = 0 ] && echo 'roles = ["controller", "worker"]'
      echo 'devices = [{ kind = "emulated-v100", count = 1, memory_gib = 13 }]'
    done
    for m in a b c; do
      printf '[[models]]\nname = "%s"\ntype = "test-2GB-100ms"\nslo_ms = 500\nrate = 8\n' "$m"
    done
    printf '[planner]\nreplan_interval_s = 60\n[metrics]\nenabled = false\n[tls]\nenabled = %s\n' "$TLS"
  } >"$CFG"
  [ "$TLS" = true ] && { "$BIN" tls init --config "$CFG" >/dev/null || exit 1; }
  [ -n "$RATE" ] || RATE=24
else
  CFG="$CONFIG"
fi
RATE_ARGS=()
[ -n "$RATE" ] && RATE_ARGS=(--total-rate "$RATE")

"$BIN" up --config "$CFG" >"$WORK/up.log" 2>&1 &
UP=$!
for _ in $(seq 1 300); do grep -q "cluster serving" "$WORK/up.log" && break; sleep 0.2; done
grep -q "cluster serving" "$WORK/up.log" || { echo "soak: cluster did not start"; tail "$WORK/up.log"; exit 1; }
mapfile -t NAMES < <(pgrep -af -- "--config $CFG --name" | sed 's/.*--name \([^ ]*\).*/\1/')
declare -A PID
for n in "${NAMES[@]}"; do PID[$n]=$(pgrep -f -- "--config $CFG --name $n\$"); done
PID[up]=$UP
echo "soak: $MINUTES min at ${RATE:-the configured} r/s, sampling every $INTERVAL s into $CSV"
echo "soak: processes: $(for n in "${!PID[@]}"; do printf '%s=%s ' "$n" "${PID[$n]}"; done)"

echo "elapsed_s,process,pid,rss_kib,fds" >"$CSV"
END=$(($(date +%s) + MINUTES * 60))
START=$(date +%s)
sampler() {
  while [ "$(date +%s)" -lt "$END" ]; do
    local t=$(($(date +%s) - START))
    for n in "${!PID[@]}"; do
      local p=${PID[$n]}
      local rss fds
      rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null) || rss=""
      fds=$(ls "/proc/$p/fd" 2>/dev/null | wc -l)
      echo "$t,$n,$p,${rss:-dead},$fds" >>"$CSV"
    done
    sleep "$INTERVAL"
  done
}
sampler &
SAMPLER=$!
# Load in chunks so attainment is printed as it goes.
chunk=0
while [ "$(date +%s)" -lt "$END" ]; do
  left=$((END - $(date +%s)))
  d=$((left < CHUNK ? left : CHUNK))
  [ "$d" -lt 5 ] && break
  chunk=$((chunk + 1))
  out=$(timeout $((d + 120)) "$BIN" bench --config "$CFG" --duration "$d" --seed "$chunk" "${RATE_ARGS[@]}" 2>&1)
  att=$(grep -o 'SLO attainment[^0-9]*[0-9.]*' <<<"$out" | grep -o '[0-9.]*$' | head -1)
  fails=$(grep -o 'failed_[a-z_]*[^0-9]*[0-9]*' <<<"$out" | tr '\n' ' ')
  echo "soak: t=$(($(date +%s) - START)) s: bench ${d} s: attainment ${att:-?} ${fails}"
done
wait "$SAMPLER"

python3 - "$CSV" "$MINUTES" <<'PY'
import csv, sys, collections
path, minutes = sys.argv[1], float(sys.argv[2])
warm = 300 if minutes >= 30 else minutes * 60 / 6
rows = collections.defaultdict(list)
with open(path) as f:
    for r in csv.DictReader(f):
        rows[r["process"]].append(r)
bad = False
print(f"soak: warm-up {warm:.0f} s; level = the largest sample in it; limit +5 % (fds: +5 %, at least +2)")
print(f"{'process':8} {'RSS warm-up MiB':>16} {'RSS after max':>14} {'growth':>7} {'fds warm-up':>12} {'fds after max':>14} verdict")
for name in sorted(rows):
    rs = rows[name]
    if any(r["rss_kib"] == "dead" for r in rs):
        print(f"{name:8} DIED during the soak"); bad = True; continue
    w = [r for r in rs if float(r["elapsed_s"]) <= warm]
    a = [r for r in rs if float(r["elapsed_s"]) > warm]
    if not w or not a:
        print(f"{name:8} too few samples"); continue
    rw = max(int(r["rss_kib"]) for r in w); ra = max(int(r["rss_kib"]) for r in a)
    fw = max(int(r["fds"]) for r in w); fa = max(int(r["fds"]) for r in a)
    grow = (ra - rw) / rw * 100
    ok = ra <= rw * 1.05 and fa <= max(fw * 1.05, fw + 2)
    bad = bad or not ok
    print(f"{name:8} {rw/1024:16.1f} {ra/1024:14.1f} {grow:+6.1f}% {fw:12d} {fa:14d} {'ok' if ok else 'GREW'}")
sys.exit(1 if bad else 0)
PY
rc=$?
echo "soak: CSV at $CSV; $( [ $rc = 0 ] && echo 'no process grew beyond its warm-up level' || echo 'GROWTH found')"
exit $rc
