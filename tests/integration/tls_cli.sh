#!/usr/bin/env bash
# `alpaserve tls init` writes a CA, one certificate per node and one for clients (keys 0600,
# folder 0700), keeps existing files unless --force, and `config check` validates the material
# when tls.enabled: a certificate from another CA, a key of another certificate or a missing
# file exit 2 naming the file.
set -u
BIN=$(readlink -f "${1:?usage: tls_cli.sh path/to/alpaserve}")
WORK=$(mktemp -d /tmp/alpaserve-tls-cli.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mode() { stat -c %a "$1"; }

cat >"$WORK/cluster.toml" <<'TOML'
name = "tls-cli"
[[nodes]]
name = "c"
host = "127.0.0.1"
port = 7001
roles = ["controller", "worker"]
devices = [{ kind = "emulated-v100", count = 1, memory_gib = 13 }]
[[nodes]]
name = "w"
host = "127.0.0.1"
port = 7002
devices = [{ kind = "emulated-v100", count = 1, memory_gib = 13 }]
[[models]]
name = "m"
type = "test-2GB-100ms"
slo_ms = 1000
rate = 1
[tls]
enabled = true
TOML
T=$WORK/tls

out=$("$BIN" tls init --help 2>&1) || fail "tls init --help exited $?"
grep -q -- "--force" <<<"$out" || fail "help lacks --force: $out"
out=$("$BIN" tls init 2>&1); rc=$?
[ $rc = 2 ] || fail "tls init without --config exited $rc: $out"
out=$("$BIN" tls init --config "$WORK/none.toml" 2>&1); rc=$?
[ $rc = 2 ] && grep -q "none.toml" <<<"$out" || fail "missing config: rc $rc: $out"
out=$("$BIN" tls init --config "$WORK/cluster.toml" --days 0 2>&1); rc=$?
[ $rc = 2 ] || fail "--days 0 exited $rc: $out"

# Before init, enabled TLS without a CA is a config error naming the file, line and key.
out=$("$BIN" config check "$WORK/cluster.toml" 2>&1); rc=$?
[ $rc = 2 ] || fail "config check without material exited $rc: $out"
grep -q "cluster.toml:[0-9]*:[0-9]*: tls.enabled: no CA certificate $T/ca.pem; create the cluster's material with \`alpaserve tls init" <<<"$out" \
  || fail "config check without material said: $out"

out=$("$BIN" tls init --config "$WORK/cluster.toml" 2>&1) || fail "tls init exited $?: $out"
for f in ca node-c node-w client; do
  [ -s "$T/$f.pem" ] || fail "no $f.pem"
  [ "$(mode "$T/$f.key")" = 600 ] || fail "$f.key has mode $(mode "$T/$f.key")"
  [ "$(mode "$T/$f.pem")" = 644 ] || fail "$f.pem has mode $(mode "$T/$f.pem")"
done
[ "$(mode "$T")" = 700 ] || fail "tls folder has mode $(mode "$T")"
[ "$(ls -A "$T" | wc -l)" = 8 ] || fail "unexpected files: $(ls -A "$T")"
# The material is what openssl itself accepts: chains to the CA, usable as server and client.
if command -v openssl >/dev/null; then
  for f in node-c node-w client; do
    openssl verify -CAfile "$T/ca.pem" -purpose sslserver "$T/$f.pem" >/dev/null || fail "openssl rejects $f.pem as server"
    openssl verify -CAfile "$T/ca.pem" -purpose sslclient "$T/$f.pem" >/dev/null || fail "openssl rejects $f.pem as client"
  done
  openssl x509 -in "$T/node-w.pem" -noout -subject | grep -q "CN = w" || fail "node-w.pem is not for w"
  openssl x509 -in "$T/ca.pem" -noout -text | grep -q "CA:TRUE" || fail "ca.pem is not a CA"
fi

out=$("$BIN" config check "$WORK/cluster.toml" 2>&1) || fail "config check exited $?: $out"
grep -q "^tls node c .*ok" <<<"$out" && grep -q "^tls node w .*ok" <<<"$out" && grep -q "^tls clients .*ok" <<<"$out" \
  || fail "config check does not report the material ok: $out"

# A second init keeps everything; a half-present pair is refused untouched.
ca_before=$(md5sum <"$T/ca.pem")
out=$("$BIN" tls init --config "$WORK/cluster.toml" 2>&1) || fail "second tls init exited $?: $out"
grep -q "0 certificates written" <<<"$out" || fail "second init rewrote files: $out"
[ "$(md5sum <"$T/ca.pem")" = "$ca_before" ] || fail "second init replaced the CA"
mv "$T/node-w.key" "$WORK/w.key"
out=$("$BIN" tls init --config "$WORK/cluster.toml" 2>&1); rc=$?
[ $rc = 2 ] && grep -q "node-w.pem: exists without its key" <<<"$out" || fail "half pair: rc $rc: $out"
out=$("$BIN" config check "$WORK/cluster.toml" 2>&1); rc=$?
[ $rc = 2 ] && grep -q "cluster.toml: tls: node w: $T/node-w.key: cannot read: No such file or directory" <<<"$out" \
  || fail "missing key: rc $rc: $out"
mv "$WORK/w.key" "$T/node-w.key"

# The key of another certificate.
cp "$T/node-c.key" "$WORK/c.key"
cp "$T/node-w.key" "$T/node-c.key"
out=$("$BIN" config check "$WORK/cluster.toml" 2>&1); rc=$?
[ $rc = 2 ] && grep -q "node c: $T/node-c.key: private key does not match the certificate $T/node-c.pem" <<<"$out" \
  || fail "mismatched key: rc $rc: $out"
cp "$WORK/c.key" "$T/node-c.key"

# A certificate from another CA (a second init into another folder).
out=$("$BIN" tls init --config "$WORK/cluster.toml" --out "$WORK/other" 2>&1) || fail "init --out exited $?: $out"
grep -q "note: writing to $WORK/other" <<<"$out" || fail "init --out gives no note: $out"
cp "$T/node-w.pem" "$WORK/w.pem"; cp "$T/node-w.key" "$WORK/w.key"
cp "$WORK/other/node-w.pem" "$WORK/other/node-w.key" "$T/"
out=$("$BIN" config check "$WORK/cluster.toml" 2>&1); rc=$?
[ $rc = 2 ] && grep -q "node w: $T/node-w.pem: certificate does not chain to the CA in $T/ca.pem" <<<"$out" \
  || fail "other CA: rc $rc: $out"
cp "$WORK/w.pem" "$T/node-w.pem"; cp "$WORK/w.key" "$T/node-w.key"
"$BIN" config check "$WORK/cluster.toml" >/dev/null 2>&1 || fail "restored material does not check"

# --force replaces everything with a new CA.
out=$("$BIN" tls init --config "$WORK/cluster.toml" --force 2>&1) || fail "init --force exited $?: $out"
[ "$(md5sum <"$T/ca.pem")" != "$ca_before" ] || fail "--force kept the CA"
"$BIN" config check "$WORK/cluster.toml" >/dev/null 2>&1 || fail "material after --force does not check"

# TLS off: the material is neither needed nor checked.
sed 's/^enabled = true/enabled = false/' "$WORK/cluster.toml" >"$WORK/off.toml"
rm -rf "$T"
out=$("$BIN" config check "$WORK/off.toml" 2>&1) || fail "TLS off exited $?: $out"
grep -q "^tls: off" <<<"$out" || fail "TLS off not reported: $out"
echo PASS
