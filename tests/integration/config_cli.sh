#!/usr/bin/env bash
# `alpaserve config`: the printed default config checks clean (exit 0), the examples check clean,
# and a broken file exits 2 with every problem as file:line:column: key: problem.
set -u
alpaserve=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$alpaserve" config default > "$tmp/demo.toml" || fail "config default exited $?"
cmp -s "$tmp/demo.toml" examples/local-demo.toml || fail "config default differs from examples/local-demo.toml"
out=$("$alpaserve" config check "$tmp/demo.toml") || fail "config check of the default exited $?"
grep -q '3 nodes, 8 devices' <<<"$out" || fail "summary lacks '3 nodes, 8 devices': $out"
"$alpaserve" config check examples/multi-node.toml > /dev/null || fail "multi-node example exited $?"

cat > "$tmp/bad.toml" <<'TOML'
[[nodes]]
name = "a"
host = "127.0.0.1"
prot = 7000
devices = [{ kind = "emulated-v100", count = 1, memory_gib = 13 }]

[[models]]
name = "m"
type = "bert-1.3b"
slo_ms = "500"
rate = 1
TOML
"$alpaserve" config check "$tmp/bad.toml" > "$tmp/out.txt" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "broken config exited $rc, wanted 2"
grep -q "$tmp/bad.toml:4:1: nodes\[0\].prot: unknown key; did you mean \"port\"?" "$tmp/out.txt" ||
  fail "no unknown-key line: $(cat "$tmp/out.txt")"
grep -q "$tmp/bad.toml:10:10: models\[0\].slo_ms: expected a number, got string" "$tmp/out.txt" ||
  fail "no wrong-type line: $(cat "$tmp/out.txt")"
grep -q "nodes: no node has the role \"controller\"" "$tmp/out.txt" ||
  fail "no controller line: $(cat "$tmp/out.txt")"
echo "config cli ok"
