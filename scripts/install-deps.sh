#!/usr/bin/env bash
# Installs the Debian 12 packages tierscore builds, tests and demos with;
# `install-deps.sh check` adds the tools of `make check` (clang's
# thread-safety build, clang-format, clang-tidy; buf comes from the npm
# registry through the machine's npm, see scripts/buf.sh). Idempotent: installs only
# what is missing, so `make test` stays fast on a machine that has them.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config ninja-build
  libabsl-dev
  libprotobuf-dev protobuf-compiler
  libgrpc++-dev protobuf-compiler-grpc grpc-proto
  libhiredis-dev redis-server
  libspdlog-dev libfmt-dev
  prometheus-cpp-dev
  libcli11-dev
  libyaml-cpp-dev
  libxxhash-dev
  zlib1g-dev
  libgtest-dev libgmock-dev googletest
  bc  # bench/run.sh
  openssl  # scripts/dev-certs.sh (the demo's and the tests' certificates)
  iproute2  # network namespaces of network_fault_test
)

if [ "${1:-}" = "check" ]; then
  PACKAGES+=(clang-14 clang-format-14 clang-tidy-14 libclang-rt-14-dev)  # rt: sanitizers, libFuzzer
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
