#!/usr/bin/env bash
# `alpaserve profile` on the cpu backend writes a profile database that parses, has every
# requested (op, pp) config with its layer boundaries, and predicts the stage compute times a
# real two-node cpu cluster then measures (bench --overhead prints the per-stage error). The
# 10% target is reported; the assertion is looser (50%) because two shared vCPUs are noisy, and
# a miss is profiled and measured once more before it fails.
set -u
BIN=$(readlink -f "${1:?usage: real_profile.sh path/to/alpaserve}")
WORK=$(mktemp -d /tmp/alpaserve-prof.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$WORK"/*.log; do echo "--- $f"; tail -20 "$f"; done; exit 1; }
export OPENBLAS_NUM_THREADS=1  # profile and runtime alike: one core per device thread

# Bad input: exit 2 naming the option.
out=$("$BIN" profile --model bert-nope --out "$WORK/x.json" 2>&1); rc=$?
[ $rc = 2 ] || fail "unknown model exited $rc: $out"
grep -q "bert-nope" <<<"$out" || fail "message does not name the model: $out"

profile() {
  "$BIN" profile --model bert-tiny --batch-sizes 1,2 --ops 1,2 --pps 1,2 --seq 32 --repeats 15 \
    --quiet --out "$WORK/p.json" >"$WORK/profile.log" 2>&1 || fail "profile failed"
}
profile
python3 - "$WORK/p.json" <<'PY' || fail "profile database malformed"
import json, sys
db = json.load(open(sys.argv[1]))
assert db["format"] == "alpaserve-profiles"
(m,) = db["models"]
assert m["name"] == "bert-tiny"
got = {(c["op"], c["pp"]) for c in m["configs"]}
assert got == {(1, 1), (2, 1), (1, 2), (2, 2)}, got
for c in m["configs"]:
    assert c["boundaries"][0] == 0 and c["boundaries"][-1] == 4 and len(c["boundaries"]) == c["pp"] + 1
    assert set(c["latency"]) == {"1", "2"}
    assert all(t > 0 for t in c["latency"]["1"])
PY

read -r P0 P1 < <(python3 -c '
import socket
ss=[socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1",0))
print(*[s.getsockname()[1] for s in ss])')
cat >"$WORK/cluster.toml" <<TOML
name = "it-real-profile"
[[nodes]]
name = "node-0"
host = "127.0.0.1"
port = $P0
roles = ["controller", "worker"]
devices = [{ kind = "cpu", count = 1, memory_gib = 1 }]
[[nodes]]
name = "node-1"
host = "127.0.0.1"
port = $P1
roles = ["worker"]
devices = [{ kind = "cpu", count = 1, memory_gib = 1 }]
[[models]]
name = "tiny"
profile_file = "p.json"
architecture = "bert-tiny"
slo_ms = 1000
rate = 5
[planner]
placement_file = "placement.json"
[caf]
max_threads = 2
TOML
# A 2-stage pipeline across the two processes, cut where the profile says.
cat >"$WORK/placement.json" <<'JSON'
{"cluster": {"num_devices": 2, "mem_budget_gib": 1},
 "models": [{"name": "tiny", "slo": 1.0, "rate": 5}],
 "groups": [{"op": 1, "pp": 2, "models": ["tiny"]}]}
JSON
start_cluster() {
  PIDS=()
  for n in 0 1; do
    "$BIN" node --config "$WORK/cluster.toml" --name node-$n --startup-timeout 30 >"$WORK/node$n.log" 2>&1 &
    PIDS+=($!)
  done
  local ok=0
  for _ in $(seq 1 150); do
    grep -q "dispatcher serving" "$WORK/node0.log" && { ok=1; break; }
    sleep 0.2
  done
  [ $ok = 1 ] || fail "cluster never served"
}

# Sequential requests: measured stage compute vs the profile's (1,1,2) stage latencies.
# Returns 1 when a stage is off by more than 50 %.
measure() {
  out=$(timeout 120 "$BIN" bench --config "$WORK/cluster.toml" --overhead 40 --shape 1,32 2>&1) \
    || fail "bench --overhead: $out"
  echo "$out"
  n=$(grep -c "stage [01]: measured run p50" <<<"$out")
  [ "$n" = 2 ] || fail "expected two stage comparisons"
  python3 - <<PY
import re
errs = [float(e) for e in re.findall(r"error ([+-][0-9.]+)%", """$out""")]
print("profile vs measured stage error (%):", errs, "target |error| <= 10")
assert errs and all(abs(e) <= 50 for e in errs), errs
PY
}

start_cluster
if ! measure; then
  # A burst of other work on the two shared vCPUs while profiling or measuring skews one side
  # (seen once in CI, right after another test's cluster: profile 4.1 ms, served 1.9 ms). Profile
  # and measure once more on a fresh cluster; a real mismatch fails both times.
  echo "retrying once: profile and measurement again"
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  profile
  start_cluster
  measure || fail "measured stage times are far from the profile (twice)"
fi

# Open-loop traffic: attainment and latency are reported.
out=$(timeout 60 "$BIN" bench --config "$WORK/cluster.toml" --duration 5 --shape 1,32 \
  --csv "$WORK/b.csv" 2>&1) || fail "bench: $out"
echo "$out"
grep -q "SLO attainment" <<<"$out" || fail "no attainment line"
grep -q "latency of served requests" <<<"$out" || fail "no latency line"
echo PASS
