#!/usr/bin/env bash
# 64 emulated devices on this small machine: 4 node processes x 16 emulated V100s, 24 zoo models
# placed by mp-search-sep (groups of op 2 and op 4 that device order would split across nodes,
# so the controller must pack stages onto nodes), a 15 s Gamma replay. Checks that every request
# is answered, that attainment is high, and that emulated stages do not burn CPU: the four node
# processes together use well under one core while serving.
source "$(dirname "$0")/lib/up_cluster.sh"
fail() { echo "FAIL: $*"; tail -30 "$WORK/up.log" 2>/dev/null; exit 1; }

python3 - "$WORK/cluster.toml" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(4)]
for s in socks: s.bind(("127.0.0.1", 0))
ports = [s.getsockname()[1] for s in socks]
out = ['name = "it-scale-64"']
for n, port in enumerate(ports):
    out += ['[[nodes]]', f'name = "node-{n}"', 'host = "127.0.0.1"', f'port = {port}',
            'roles = ["controller", "worker"]' if n == 0 else 'roles = ["worker"]',
            'devices = [{ kind = "emulated-v100", count = 16, memory_gib = 13 }]']
types = ["bert-1.3b", "bert-2.6b", "bert-6.7b"]
for i in range(24):
    out += ['[[models]]', f'name = "m{i}"', f'type = "{types[i % 3]}"', 'slo_scale = 5',
            f'rate = {4.0 if i % 2 == 0 else 2.0}', 'cv = 2.0']
out += ['[planner]', 'policy = "mp-search-sep"', 'replan_interval_s = 0', 'device_preset = "v100"',
        '[caf]', 'scheduler_policy = "sharing"', 'max_threads = 2', 'heartbeat_interval_ms = 1000',
        '[dispatcher]', 'overhead_s = 0.0002']
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
CFG="$WORK/cluster.toml"

"$BIN" up --config "$CFG" >"$WORK/up.log" 2>&1 &
UP=$!
for _ in $(seq 1 300); do grep -q "cluster serving" "$WORK/up.log" && break; sleep 0.2; done
grep -q "cluster serving" "$WORK/up.log" || fail "the 64-device cluster never reported serving"
grep -q "group [0-9]* (1,[24],[0-9]*) on" "$WORK/up.log" || fail "expected intra-op groups"
ngroups=$(grep -c "node-0: group [0-9]* (" "$WORK/up.log")
[ "$ngroups" -gt 8 ] || fail "expected many groups, got $ngroups"
# Every stage's op devices share one node: "(1,4,x) on node-a:0,1,2,3 | ..." never names two
# nodes inside one stage (a stage lists its devices after a single node name).
if grep "node-0: group [0-9]* (" "$WORK/up.log" | sed 's/.* on //; s/: m.*//' | tr '|' '\n' |
  grep -q "node-[0-9]*:[0-9,]*node-"; then
  fail "a stage straddles nodes"
fi

PIDS=$(pgrep -f -- "--config $CFG --name" | tr '\n' ' ')
[ "$(wc -w <<<"$PIDS")" = 4 ] || fail "expected 4 node processes, got: $PIDS"
ticks() { for p in $PIDS; do awk '{print $14 + $15}' "/proc/$p/stat"; done | paste -sd+ | bc; }
t0=$(ticks)
s0=$(date +%s.%N)
timeout 120 "$BIN" bench --config "$CFG" --duration 15 --seed 11 --csv "$WORK/bench.csv" \
  --png "$WORK/bench.png" >"$WORK/bench.log" 2>&1 || fail "bench failed: $(tail -5 "$WORK/bench.log")"
t1=$(ticks)
s1=$(date +%s.%N)
hz=$(getconf CLK_TCK)
cpu_share=$(python3 -c "print(($t1 - $t0) / $hz / ($s1 - $s0))")
total=$(($(wc -l <"$WORK/bench.csv") - 1))
ok=$(grep -c ',ok,' "$WORK/bench.csv")
att=$(python3 -c "print($ok / $total if $total else 0)")
echo "64 devices, $ngroups groups: $total requests, attainment $att, node CPU $cpu_share cores"
[ "$total" -gt 500 ] || fail "too few requests replayed: $total"
grep -q "requests: $total " "$WORK/bench.log" || fail "bench did not account for every request"
python3 -c "import sys; sys.exit(0 if $att >= 0.95 else 1)" || fail "attainment $att < 0.95"
python3 -c "import sys; sys.exit(0 if $cpu_share < 0.5 else 1)" ||
  fail "emulated devices burned $cpu_share cores while serving"
echo PASS
