#!/usr/bin/env bash
# Three node processes on 127.0.0.1 from one config: 4 models on two 2-stage pipeline groups that
# span nodes (node-0|node-1 and node-1|node-2; the config's planner.placement_file). Checks every reply kind, then kills node-2 with
# SIGKILL mid-run: its in-flight requests must fail explicitly (failed_node_lost), the rest keep
# being served, no request goes unanswered, nothing hangs.
set -u
BIN=${1:?usage: runtime_cluster.sh path/to/alpaserve}
BIN=$(readlink -f "$BIN")
WORK=$(mktemp -d /tmp/alpaserve-it.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$WORK"/*.log; do echo "--- $f"; tail -20 "$f"; done; exit 1; }

read -r P0 P1 P2 < <(python3 -c '
import socket
ss=[socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1",0))
print(*[s.getsockname()[1] for s in ss])')

cat > "$WORK/cluster.toml" <<TOML
name = "it-3node"
[[nodes]]
name = "node-0"
host = "127.0.0.1"
port = $P0
roles = ["controller", "worker"]
devices = [{ kind = "emulated-v100", count = 1, memory_gib = 13 }]
[[nodes]]
name = "node-1"
host = "127.0.0.1"
port = $P1
roles = ["worker"]
devices = [{ kind = "emulated-v100", count = 2, memory_gib = 13 }]
[[nodes]]
name = "node-2"
host = "127.0.0.1"
port = $P2
roles = ["worker"]
devices = [{ kind = "emulated-v100", count = 1, memory_gib = 13 }]
[[models]]
name = "m0"
type = "test-2GB-100ms"
slo_ms = 2000
rate = 4
[[models]]
name = "m1"
type = "test-4GB-150ms"
slo_ms = 2000
rate = 4
[[models]]
name = "m2"
type = "bert-1.3b"
slo_ms = 2000
rate = 4
[[models]]
name = "m3"
type = "bert-2.6b"
slo_ms = 2000
rate = 4
[planner]
placement_file = "placement.json"
[caf]
scheduler_policy = "sharing"
max_threads = 2
heartbeat_interval_ms = 500
[dispatcher]
max_payload_bytes = 100000
TOML
CFG="$WORK/cluster.toml"
# Two 2-stage pipelines with all four models: devices node-0:0 | node-1:0 and node-1:1 | node-2:0
# (planner.placement_file; profiles named by the models' types).
cat > "$WORK/placement.json" <<'JSON'
{
  "cluster": {"num_devices": 4, "mem_budget_gib": 13},
  "models": [
    {"name": "m0", "profile": "test-2GB-100ms", "slo": 2},
    {"name": "m1", "profile": "test-4GB-150ms", "slo": 2},
    {"name": "m2", "profile": "bert-1.3b", "slo": 2},
    {"name": "m3", "profile": "bert-2.6b", "slo": 2}
  ],
  "groups": [
    {"op": 1, "pp": 2, "models": ["m0", "m1", "m2", "m3"]},
    {"op": 1, "pp": 2, "models": ["m0", "m1", "m2", "m3"]}
  ]
}
JSON

# ALPASERVE_IT_TLS=1 (CTest "integration: runtime_cluster over TLS"): the same run with [tls] on,
# every node and the clients on certificates of one CA (stage-to-stage traffic across nodes
# included).
if [ "${ALPASERVE_IT_TLS:-0}" = 1 ]; then
  printf '[tls]\nenabled = true\n' >>"$CFG"
  "$BIN" tls init --config "$CFG" >/dev/null || fail "tls init"
fi

for n in 0 1 2; do
  "$BIN" node --config "$CFG" --name node-$n --startup-timeout 30 >"$WORK/node$n.log" 2>&1 &
  PIDS+=($!)
done

# Wait (bounded) until the cluster serves.
ready=0
for _ in $(seq 1 150); do
  if timeout 10 "$BIN" submit --config "$CFG" --model m0 --timeout 5 >"$WORK/probe.out" 2>&1; then ready=1; break; fi
  sleep 0.2
done
[ $ready = 1 ] || fail "cluster did not become ready: $(cat "$WORK/probe.out")"
if [ "${ALPASERVE_IT_TLS:-0}" = 1 ]; then
  for n in 0 1 2; do grep -q "listening on .* over TLS" "$WORK/node$n.log" || fail "node-$n not over TLS"; done
fi
grep -q "group 0 (1,1,2) on node-0:0 | node-1:0" "$WORK/node0.log" || fail "group 0 does not span node-0|node-1"
grep -q "group 1 (1,1,2) on node-1:1 | node-2:0" "$WORK/node0.log" || fail "group 1 does not span node-1|node-2"

# Every model is served.
for m in m0 m1 m2 m3; do
  out=$(timeout 20 "$BIN" submit --config "$CFG" --model $m -n 2) || fail "model $m: $out"
  [ "$(grep -c ': ok in' <<<"$out")" = 2 ] || fail "model $m not served: $out"
done

# Explicit rejections: unknown model, malformed payload, oversized payload, unattainable SLO.
out=$(timeout 20 "$BIN" submit --config "$CFG" --model nope); rc=$?
[ $rc = 4 ] && grep -q "rejected_unknown_model" <<<"$out" || fail "unknown model: rc=$rc $out"
printf 'definitely not msgpack' >"$WORK/garbage.bin"
out=$(timeout 20 "$BIN" submit --config "$CFG" --model m0 --payload-file "$WORK/garbage.bin"); rc=$?
[ $rc = 4 ] && grep -q "rejected_bad_input.*malformed" <<<"$out" || fail "malformed payload: rc=$rc $out"
out=$(timeout 20 "$BIN" submit --config "$CFG" --model m0 --shape 1,50000); rc=$?
[ $rc = 4 ] && grep -q "rejected_bad_input.*exceeds" <<<"$out" || fail "oversized payload: rc=$rc $out"
out=$(timeout 20 "$BIN" submit --config "$CFG" --model m1 --slo-ms 10); rc=$?
[ $rc = 4 ] && grep -q "rejected_slo" <<<"$out" || fail "unattainable SLO: rc=$rc $out"

# A client that disconnects mid-request disturbs nobody.
"$BIN" submit --config "$CFG" --model m3 -n 5 >/dev/null 2>&1 &
CLIENT=$!
sleep 0.15
kill -9 $CLIENT 2>/dev/null
wait $CLIENT 2>/dev/null
out=$(timeout 20 "$BIN" submit --config "$CFG" --model m3) || fail "after client disconnect: $out"

# inspect lists every actor.
out=$(timeout 30 "$BIN" inspect --config "$CFG") || fail "inspect: $out"
for role in node-agent controller dispatcher group-manager stage-worker; do
  grep -q "$role" <<<"$out" || fail "inspect lacks $role: $out"
done
[ "$(grep -c 'stage-worker' <<<"$out")" = 4 ] || fail "inspect should list 4 stage workers: $out"

# The controller node's request counters (metrics port: port + 1000) before the replay below.
scrape_requests() {
  curl -s --max-time 5 "http://127.0.0.1:$((P0 + 1000))/metrics" >"$WORK/$1.prom" ||
    fail "no /metrics on the controller node"
}
scrape_requests before

# Node kill mid-run: a 8 s replay at ~20 req/s; node-2 freezes after 3 s and dies at 4 s.
timeout 120 "$BIN" bench --config "$CFG" --duration 8 --total-rate 20 --cv 1 --seed 7 \
  --csv "$WORK/kill.csv" --timeout 20 >"$WORK/bench.log" 2>&1 &
BENCH=$!
sleep 3
# Freeze node-2 first so requests routed to group 1 pile up in flight (the dispatcher's mirror
# still predicts they will finish; 1 s is well under the 2.5 s hung-node timeout), then kill it:
# a bare SIGKILL can land in a gap with nothing in flight on group 1 and prove nothing.
kill -STOP "${PIDS[2]}"
sleep 1
kill -9 "${PIDS[2]}"
wait $BENCH || fail "bench failed: $(cat "$WORK/bench.log")"
total=$(($(wc -l <"$WORK/kill.csv") - 1))
[ "$total" -gt 100 ] || fail "too few requests replayed: $total"
lost=$(grep -c ',failed_node_lost,' "$WORK/kill.csv")
timeouts=$(grep -c ',failed_timeout,' "$WORK/kill.csv")
ok_after=$(awk -F, 'NR>1 && $3>5.0 && $4=="ok"' "$WORK/kill.csv" | wc -l)
ok_g1_before=$(awk -F, 'NR>1 && $3<2.5 && $4=="ok" && $8==1' "$WORK/kill.csv" | wc -l)
echo "replayed $total: failed_node_lost=$lost failed_timeout=$timeouts ok_after_kill=$ok_after ok_on_group1_before=$ok_g1_before"
[ "$timeouts" = 0 ] || fail "requests timed out instead of failing explicitly"
[ "$lost" -gt 0 ] || fail "no in-flight request failed explicitly on the node kill"
[ "$ok_after" -gt 20 ] || fail "requests after the kill were not served"
[ "$ok_g1_before" -gt 0 ] || fail "group 1 served nothing before the kill"
grep -q "lost its stage 1 worker" "$WORK/node0.log" || fail "controller node did not notice the lost stage"
# The metrics counted every replayed request exactly once, by outcome (also the failed ones).
scrape_requests after
python3 - "$WORK" <<'PY' || fail "the controller's request counters do not match bench's CSV"
import collections, csv, re, sys
work = sys.argv[1]
def counts(name):
    c = collections.Counter()
    for line in open(f'{work}/{name}.prom'):
        m = re.match(r'alpaserve_requests_total\{model="[^"]*",outcome="(\w+)"\} (\S+)', line)
        if m: c[m.group(1)] += int(float(m.group(2)))
    return c
delta = counts('after'); delta.subtract(counts('before'))
delta = {k: v for k, v in delta.items() if v}
want = dict(collections.Counter(r['status'] for r in csv.DictReader(open(f'{work}/kill.csv'))))
print(f'metrics by outcome during the replay: {delta}; bench: {want}')
sys.exit(0 if delta == want else 1)
PY
# Still serving every model after the kill (group 0 holds all four).
for m in m0 m1 m2 m3; do
  out=$(timeout 20 "$BIN" submit --config "$CFG" --model $m) || fail "after kill, $m: $out"
done
echo "PASS"
