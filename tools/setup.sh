#!/usr/bin/env bash
# Installs every build and test dependency of alpaserve from Debian packages.
# Idempotent: packages already present are skipped by apt.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git
  libcaf-dev libspdlog-dev libfmt-dev libmsgpack-cxx-dev catch2
  libopenblas-dev libgloo-dev libtomlplusplus-dev nlohmann-json3-dev
  libcli11-dev gnuplot-nox clang-format
  # metrics/: the HTTP exporter (cpp-httplib), and promtool + a Prometheus server for the tests
  libcpp-httplib-dev prometheus
  # TLS material (net/tls_material.cpp) and `openssl` for inspecting it
  libssl-dev openssl
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
