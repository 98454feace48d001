#!/usr/bin/env bash
# Every node of a local 3-node cluster serves /metrics, /healthz and /readyz (docs/metrics.md):
# the controller's /readyz is 503 until the placement is installed and 200 after; after
# `alpaserve bench` plus two rejected submits (unknown model, 1 ms SLO), alpaserve_requests_total summed over
# the nodes equals what was sent, per model and outcome as bench's CSV says, the latency
# histogram's buckets hold exactly the ok requests' server-side latencies, and `promtool check
# metrics` accepts every node's text. With the Debian package `prometheus` installed, a real
# Prometheus server scrapes the nodes and its HTTP API must give the same counts and latency
# quantile (that part is skipped, with a message, without it).
set -u
source "$(dirname "$0")/lib/up_cluster.sh"
PROM=""
PIDS=()
fail() {
  echo "FAIL: $*"
  for f in "$WORK"/*.log; do echo "--- $f"; tail -15 "$f"; done
  exit 1
}
stop_all() {
  [ -n "$PROM" ] && kill "$PROM" 2>/dev/null
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
}
trap 'stop_all; cleanup' EXIT
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }

read -r P0 P1 P2 M0 M1 M2 PP < <(python3 -c '
import socket
ss=[socket.socket() for _ in range(7)]
for s in ss: s.bind(("127.0.0.1",0))
print(*[s.getsockname()[1] for s in ss])')
cat >"$WORK/cluster.toml" <<TOML
name = "it-metrics"
[[nodes]]
name = "c"
host = "127.0.0.1"
port = $P0
metrics_port = $M0
roles = ["controller", "worker"]
devices = [{ kind = "emulated-v100", count = 1, memory_gib = 13 }]
[[nodes]]
name = "w1"
host = "127.0.0.1"
port = $P1
metrics_port = $M1
devices = [{ kind = "emulated-v100", count = 2, memory_gib = 13 }]
[[nodes]]
name = "w2"
host = "127.0.0.1"
port = $P2
metrics_port = $M2
devices = [{ kind = "emulated-v100", count = 1, memory_gib = 13 }]
[[models]]
name = "m0"
type = "test-2GB-100ms"
slo_ms = 1500
rate = 6
[[models]]
name = "m1"
type = "test-4GB-150ms"
slo_ms = 190
rate = 14
[planner]
replan_interval_s = 0
[metrics]
enabled = true
TOML
MPORTS=("$M0" "$M1" "$M2")
NODES=(c w1 w2)
http_code() { curl -s -o "$2" -w '%{http_code}' --max-time 5 "$1"; }

# The controller alone: alive, not ready (no placement without its workers).
"$BIN" node --config "$WORK/cluster.toml" --name c >"$WORK/c.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
  [ "$(http_code "http://127.0.0.1:$M0/healthz" "$WORK/h")" = 200 ] && break
  sleep 0.1
done
[ "$(http_code "http://127.0.0.1:$M0/healthz" "$WORK/h")" = 200 ] || fail "controller /healthz not 200"
code=$(http_code "http://127.0.0.1:$M0/readyz" "$WORK/r")
[ "$code" = 503 ] || fail "controller /readyz before the placement: $code $(cat "$WORK/r")"
grep -q "^not ready: dispatcher: " "$WORK/r" || fail "controller /readyz reason: $(cat "$WORK/r")"
http_code "http://127.0.0.1:$M0/metrics" "$WORK/early.txt" >/dev/null
grep -qx "alpaserve_placement_generation 0" "$WORK/early.txt" ||
  fail "placement generation before the placement: $(grep placement_generation "$WORK/early.txt")"
[ "$(http_code "http://127.0.0.1:$M0/nope" "$WORK/n")" = 404 ] || fail "unknown path is not 404"
echo "before placement: controller /healthz 200, /readyz 503 ($(cat "$WORK/r"))"

for n in w1 w2; do
  "$BIN" node --config "$WORK/cluster.toml" --name $n >"$WORK/$n.log" 2>&1 &
  PIDS+=($!)
done
ready=0
for _ in $(seq 1 300); do
  ready=0
  for p in "${MPORTS[@]}"; do
    [ "$(http_code "http://127.0.0.1:$p/readyz" "$WORK/r")" = 200 ] && ready=$((ready + 1))
  done
  [ $ready = 3 ] && break
  sleep 0.1
done
[ $ready = 3 ] || fail "only $ready of 3 nodes ready after 30 s"
grep -q "serving" "$WORK/c.log" || fail "controller log does not say it serves"
for i in 0 1 2; do
  [ "$(http_code "http://127.0.0.1:${MPORTS[$i]}/healthz" "$WORK/h")" = 200 ] ||
    fail "${NODES[$i]} /healthz not 200"
done
echo "after placement: /readyz and /healthz 200 on all 3 nodes"

timeout 120 "$BIN" bench --config "$WORK/cluster.toml" --duration 4 --seed 7 \
  --csv "$WORK/bench.csv" >"$WORK/bench.log" 2>&1 || fail "bench failed"
# Two rejections whatever the load: an unknown model, and an SLO no stage can meet.
timeout 20 "$BIN" submit --config "$WORK/cluster.toml" --model no-such-model >"$WORK/submit.log" 2>&1
grep -q rejected_unknown_model "$WORK/submit.log" || fail "unknown model: $(cat "$WORK/submit.log")"
timeout 20 "$BIN" submit --config "$WORK/cluster.toml" --model m1 --slo-ms 1 >"$WORK/submit.log" 2>&1
grep -q rejected_slo "$WORK/submit.log" || fail "1 ms SLO: $(cat "$WORK/submit.log")"

for i in 0 1 2; do
  [ "$(http_code "http://127.0.0.1:${MPORTS[$i]}/metrics" "$WORK/${NODES[$i]}.prom")" = 200 ] ||
    fail "${NODES[$i]} /metrics not 200"
  [ "$(http_code "http://127.0.0.1:${MPORTS[$i]}/readyz" "$WORK/r")" = 200 ] ||
    fail "${NODES[$i]} /readyz after bench: $(cat "$WORK/r")"
done
if command -v promtool >/dev/null; then
  for n in "${NODES[@]}"; do
    promtool check metrics <"$WORK/$n.prom" >"$WORK/promtool-$n.log" 2>&1 ||
      fail "promtool check metrics on $n: $(cat "$WORK/promtool-$n.log")"
  done
  echo "promtool check metrics: ok on all 3 nodes"
else
  echo "promtool not installed: exposition format check skipped"
fi

# Everything that follows compares the scraped text with bench's CSV, in Python.
python3 - "$WORK" >"$WORK/compare.log" 2>&1 <<'PY' || fail "metrics do not match bench: $(cat "$WORK/compare.log")"
import collections, csv, math, re, sys
work = sys.argv[1]
line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
def parse(path):
    out = []
    for line in open(path):
        if line.startswith('#') or not line.strip():
            continue
        m = line_re.match(line.rstrip('\n'))
        assert m, f'{path}: unparsable line {line!r}'
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ''))
        out.append((m.group(1), labels, float(m.group(3))))
    return out
nodes = {n: parse(f'{work}/{n}.prom') for n in ('c', 'w1', 'w2')}
rows = list(csv.DictReader(open(f'{work}/bench.csv')))
assert rows, 'bench wrote no requests'
want = collections.Counter((r['model'], r['status']) for r in rows)
want[('_unknown', 'rejected_unknown_model')] += 1  # the submits
want[('m1', 'rejected_slo')] += 1
got = collections.Counter()
for n, series in nodes.items():
    for name, l, v in series:
        if name == 'alpaserve_requests_total' and v:
            got[(l['model'], l['outcome'])] += int(v)
errors = []
total_sent = len(rows) + 2
if sum(got.values()) != total_sent:
    errors.append(f'sum(alpaserve_requests_total) = {sum(got.values())}, sent {total_sent}')
for k in sorted(set(want) | set(got)):
    if want[k] != got[k]:
        errors.append(f'requests {k}: metrics {got[k]}, bench {want[k]}')
if len({r['status'] for r in rows}) < 2:
    print('note: bench itself saw one outcome only; the submits add two rejections')
# Worker nodes answer no request: their counters stay 0.
for n in ('w1', 'w2'):
    if any(v for name, l, v in nodes[n] if name == 'alpaserve_requests_total'):
        errors.append(f'{n} counted requests')
c = nodes['c']
def value(series, name, **labels):
    vals = [v for nm, l, v in series if nm == name and all(l.get(k) == x for k, x in labels.items())]
    return vals[0] if len(vals) == 1 else None
# Latency histogram: each bucket holds exactly the ok requests with server latency <= le.
oks = collections.defaultdict(list)
for r in rows:
    if r['status'] == 'ok':
        oks[r['model']].append(float(r['server_ms']) / 1e3)
for model, lat in oks.items():
    buckets = [(l['le'], v) for nm, l, v in c
               if nm == 'alpaserve_request_latency_seconds_bucket' and l.get('model') == model]
    if not buckets:
        errors.append(f'no latency buckets for {model}')
    for le, v in buckets:
        bound = math.inf if le == '+Inf' else float(le)
        expect = sum(1 for x in lat if x <= bound)
        if int(v) != expect:
            errors.append(f'latency bucket {model} le={le}: {int(v)}, bench {expect}')
    for fam in ('alpaserve_queue_latency_seconds_count', 'alpaserve_batch_size_count',
                'alpaserve_stage_measured_seconds_count', 'alpaserve_stage_predicted_seconds_count'):
        v = value(c, fam, model=model, **({'stage': '0'} if 'stage' in fam else {}))
        if v != len(lat):
            errors.append(f'{fam}{{model={model}}} = {v}, ok requests {len(lat)}')
    s = value(c, 'alpaserve_request_latency_seconds_sum', model=model)
    if s is None or abs(s - sum(lat)) > 1e-6 * len(lat) + 1e-9:
        errors.append(f'latency sum {model}: {s} vs bench {sum(lat)}')
    att = value(c, 'alpaserve_slo_attainment_ratio', model=model)
    slo = float([r for r in rows if r['model'] == model][0]['slo_ms']) / 1e3
    mine = [r for r in rows if r['model'] == model] + ([{'status': 'rejected_slo'}] if model == 'm1' else [])
    good = sum(1 for r in mine if r['status'] == 'ok' and float(r['server_ms']) / 1e3 <= slo)
    if att is None or abs(att - good / len(mine)) > 1e-9:
        errors.append(f'attainment {model}: {att} vs server-side {good}/{len(mine)}')
if value(c, 'alpaserve_placement_generation') != 1:
    errors.append(f'placement generation {value(c, "alpaserve_placement_generation")}, want 1')
gens = [v for nm, l, v in c if nm == 'alpaserve_group_generation']
if not gens or any(v != 1 for v in gens):
    errors.append(f'group generations {gens}')
if value(c, 'alpaserve_replans_total') != 0:
    errors.append('replans_total is not 0 with re-planning off')
# Devices: weights loaded and busy time on the nodes that hold groups, labelled by node.
weights = {n: sum(v for nm, l, v in s if nm == 'alpaserve_loaded_weight_bytes') for n, s in nodes.items()}
busy = {n: max([v for nm, l, v in s if nm == 'alpaserve_device_busy_ratio'] or [0]) for n, s in nodes.items()}
if sum(weights.values()) <= 0:
    errors.append(f'no weights loaded: {weights}')
if max(busy.values()) <= 0:
    errors.append(f'no device busy: {busy}')
for n, s in nodes.items():
    for nm, l, v in s:
        if nm in ('alpaserve_loaded_weight_bytes', 'alpaserve_device_busy_ratio') and \
                not l['device'].startswith(n + '/'):
            errors.append(f'{n} exports device {l["device"]}')
        if nm == 'alpaserve_device_busy_ratio' and not 0 <= v <= 1:
            errors.append(f'busy ratio {v} on {l["device"]}')
print('requests by (model, outcome):', dict(sorted(got.items())))
print('weights by node (GB):', {n: round(w / 1e9, 2) for n, w in weights.items()},
      'max busy ratio by node:', {n: round(b, 3) for n, b in busy.items()})
if errors:
    print('\n'.join(errors))
    sys.exit(1)
PY
cat "$WORK/compare.log"
echo "metrics match bench: $(($(wc -l <"$WORK/bench.csv") - 1)) bench requests + 2 submitted rejections"

# A real Prometheus server, if installed, scraping the three nodes.
PROMETHEUS=${ALPASERVE_TEST_PROMETHEUS:-prometheus}  # another name: test the skip path
if ! command -v "$PROMETHEUS" >/dev/null; then
  echo "SKIP (part): prometheus not installed (Debian package prometheus); Prometheus API checks skipped"
  echo PASS
  exit 0
fi
cat >"$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: alpaserve
    static_configs:
      - targets: ["127.0.0.1:$M0", "127.0.0.1:$M1", "127.0.0.1:$M2"]
YML
"$PROMETHEUS" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom-data" \
  --web.listen-address="127.0.0.1:$PP" >"$WORK/prometheus.log" 2>&1 &
PROM=$!
query() {  # the single value of an instant query (empty when there is none)
  curl -s --max-time 5 --get "http://127.0.0.1:$PP/api/v1/query" --data-urlencode "query=$1" |
    python3 -c 'import json,sys
r=json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if len(r)==1 else "")' 2>/dev/null
}
want_total=$(($(wc -l <"$WORK/bench.csv") - 1 + 2))
got=""
for _ in $(seq 1 60); do
  got=$(query 'sum(alpaserve_requests_total)')
  [ "$got" = "$want_total" ] && [ "$(query 'count(up == 1)')" = 3 ] && break
  sleep 0.5
done
[ "$got" = "$want_total" ] || fail "Prometheus: sum(alpaserve_requests_total) = '$got', sent $want_total"
[ "$(query 'count(up == 1)')" = 3 ] || fail "Prometheus does not scrape all 3 nodes"
# Per outcome, and the p90 latency of m0 from the histogram against the same interpolation of
# bench's ok latencies over the exporter's buckets.
python3 - "$WORK" "$PP" >"$WORK/prom-compare.log" 2>&1 <<'PY' || fail "Prometheus API: $(cat "$WORK/prom-compare.log")"
import collections, csv, json, math, sys, urllib.parse, urllib.request
work, port = sys.argv[1], sys.argv[2]
def query(q):
    url = f'http://127.0.0.1:{port}/api/v1/query?' + urllib.parse.urlencode({'query': q})
    return json.load(urllib.request.urlopen(url, timeout=5))['data']['result']
rows = list(csv.DictReader(open(f'{work}/bench.csv')))
want = collections.Counter(r['status'] for r in rows)
want['rejected_unknown_model'] += 1
want['rejected_slo'] += 1
got = {r['metric']['outcome']: int(float(r['value'][1]))
       for r in query('sum by (outcome) (alpaserve_requests_total)')}
errors = [f'outcome {o}: prometheus {got.get(o, 0)}, bench {n}' for o, n in want.items()
          if got.get(o, 0) != n]
errors += [f'outcome {o}: prometheus {n}, bench 0' for o, n in got.items() if n and o not in want]
bounds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60]
lat = sorted(float(r['server_ms']) / 1e3 for r in rows if r['model'] == 'm0' and r['status'] == 'ok')
def quantile(q, lat):  # Prometheus' histogram_quantile over the exporter's buckets
    counts = [sum(1 for x in lat if x <= b) for b in bounds] + [len(lat)]
    rank = q * len(lat)
    for i, c in enumerate(counts):
        if c >= rank:
            if i == len(bounds):
                return bounds[-1]
            lo = 0 if i == 0 else bounds[i - 1]
            below = 0 if i == 0 else counts[i - 1]
            return lo + (bounds[i] - lo) * (rank - below) / (c - below)
res = query('histogram_quantile(0.9, sum by (le) (alpaserve_request_latency_seconds_bucket{model="m0"}))')
p90 = float(res[0]['value'][1]) if res else float('nan')
mine = quantile(0.9, lat)
if not lat or not abs(p90 - mine) <= 1e-9 * max(1, mine):
    errors.append(f'p90 latency of m0: prometheus {p90}, from bench {mine} ({len(lat)} ok)')
print(f'prometheus: by outcome {got}; m0 p90 latency {p90:.4f} s (bench, same buckets: {mine:.4f} s)')
if errors:
    print('\n'.join(errors))
    sys.exit(1)
PY
cat "$WORK/prom-compare.log"
echo PASS
