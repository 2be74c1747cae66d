#!/usr/bin/env bash
# The chart's tests (tests/helm/chart_test.mjs): fetches helm and the
# Kubernetes API models (scripts/helm-tools.sh, cached in BUILD_DIR/tools)
# and runs them with node's test runner against BUILD_DIR's binaries.
# Usage: scripts/helm-test.sh BUILD_DIR
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "${1:?usage: helm-test.sh BUILD_DIR}")
tools="$build/tools/helm"
bash "$repo/scripts/helm-tools.sh" "$tools"
TIERSCORE_TOOLS="$tools" TIERSCORE_BUILD="$build" exec node --test --test-reporter=spec \
  "$repo/tests/helm/chart_test.mjs"
