#!/usr/bin/env bash
# Runs buf (https://buf.build), pinned, fetched once from the npm registry
# (Debian has no package) into build-tools/: `scripts/buf.sh lint`,
# `scripts/buf.sh breaking`. The protos are checked with buf.yaml;
# "breaking" compares them with protos/baseline/tierscore-v1.binpb, the API
# as last released (make it anew with `scripts/buf.sh baseline` when a
# release is cut).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=1.47.2
TOOLS=build-tools
BUF=$TOOLS/buf-$VERSION/bin/buf

if [ ! -x "$BUF" ]; then
  if ! command -v npm >/dev/null; then
    echo "buf.sh: npm is needed to fetch buf from the npm registry (install Node.js)" >&2
    exit 1
  fi
  mkdir -p "$TOOLS/buf-$VERSION"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "@bufbuild/buf-linux-x64@$VERSION" >/dev/null)
  tar xzf "$tmp"/bufbuild-buf-linux-x64-$VERSION.tgz -C "$TOOLS/buf-$VERSION" --strip-components=1
fi

case "${1:-}" in
  lint) exec "$BUF" lint ;;
  breaking) exec "$BUF" breaking --against protos/baseline/tierscore-v1.binpb ;;
  baseline) exec "$BUF" build -o protos/baseline/tierscore-v1.binpb ;;
  *) echo "usage: $0 lint|breaking|baseline" >&2; exit 2 ;;
esac
